/**
 * What the HTTP benchmarks (bench/http.ts, bench/bars.ts) share about the machine: a Node
 * binary's version, Node 24 from npm, and a free loopback port.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** `<binary> --version`, or null when it does not run. */
export function versionOf(binary: string): string | null {
  const result = spawnSync(binary, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : null;
}

/**
 * Node 24 from npm into a scratch folder outside the repo: the platform's binary package
 * (node-<platform>-<arch>, the one the `node` package installs from its install script), reused
 * on later runs.
 */
export function installNode24(): string {
  const platform = process.platform === "win32" ? "win" : process.platform;
  const pkg = `node-${platform}-${process.arch}`;
  const dir = path.join(os.tmpdir(), "hio-ts-bench-node24");
  const binary = path.join(dir, "node_modules", pkg, "bin", "node");
  if (existsSync(binary) && versionOf(binary)?.startsWith("v24.")) return binary;
  console.error(`installing ${pkg}@24 into ${dir} (npm)`);
  mkdirSync(dir, { recursive: true });
  const npm = spawnSync("npm", ["install", "--prefix", dir, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", `${pkg}@24`], { stdio: "inherit" });
  if (npm.status !== 0 || !existsSync(binary)) throw new Error(`could not install ${pkg}@24 with npm; set NODE24 to a Node 24 binary instead`);
  return binary;
}

/** A port free right now on `host` (bind 0, read it back, close). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}
