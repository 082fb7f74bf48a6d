/**
 * Load generators for bench/http.ts, each in a process of its own pinned to the loader's CPU:
 * wrk (one thread, `--latency`; its report parsed) and autocannon (bench/harness/autocannon-load.ts).
 * A run reports req/s, p50/p99 latency, errors, the server's CPU over the run (percent of a core,
 * and user/kernel µs per request) and the loader's own CPU (percent of a core: near 100 means
 * the loader, not the server, set the pace).
 */
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { cpuBetween, hasTaskset, readCpu, spawnPinned, track, untrack } from "./procs.ts";
import type { Cpu } from "./procs.ts";

export type Loader = "wrk" | "autocannon";

const here = path.dirname(fileURLToPath(import.meta.url));

export interface LoadOptions {
  host: string;
  port: number;
  connections: number;
  /** Whole seconds (wrk takes no fractions). */
  seconds: number;
  /** Paths requested in turn; one path: every request GETs it. */
  paths: readonly string[];
  /** The server's pid, whose CPU is read before and after. */
  serverPid: number | undefined;
  /** taskset CPU list of the loader; null: not pinned. */
  cpu: string | null;
  /** Node binary and repo root for autocannon's process. */
  node: string;
  root: string;
}

export interface LoadResult {
  loader: Loader;
  connections: number;
  requests: number;
  rps: number;
  /** Latency percentiles, ms; null when not reported. */
  p50: number | null;
  p99: number | null;
  /** Socket errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Server CPU over the run: percent of a core, µs per request, and percent of the run it waited for a CPU. */
  server: { percent: number; userUs: number; systemUs: number; waitPercent: number | null } | null;
  /** Loader CPU over the run, percent of a core. */
  loaderCpu: number | null;
}

/** Whether wrk is on PATH. */
export function hasWrk(): boolean {
  return spawnSync("wrk", ["--version"], { stdio: "ignore" }).error === undefined;
}

/** wrk's time with its unit (us, ms, s, m, h) in ms. */
function wrkMs(value: string, unit: string): number {
  const scale: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  return Number(value) * (scale[unit] ?? NaN);
}

/** The figures of a `wrk --latency` report. */
export function parseWrk(text: string): { requests: number; seconds: number; rps: number; p50: number | null; p99: number | null; errors: number; non2xx: number } {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (total === null || rps === null) throw new Error(`unreadable wrk report:\n${text}`);
  const percentile = (p: string): number | null => {
    const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m").exec(text);
    return match === null ? null : wrkMs(match[1] as string, match[2] as string);
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requests: Number(total[1]),
    seconds: wrkMs(total[2] as string, total[3] as string) / 1000,
    rps: Number(rps[1]),
    p50: percentile("50"),
    p99: percentile("99"),
    errors: socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
  };
}

/** Server CPU over a run as the result's figures. */
function serverCpu(before: Cpu | null, after: Cpu | null, requests: number): LoadResult["server"] {
  const used = cpuBetween(before, after);
  if (used === null) return null;
  return {
    percent: used.percent,
    userUs: requests > 0 ? (1e6 * used.user) / requests : NaN,
    systemUs: requests > 0 ? (1e6 * used.system) / requests : NaN,
    waitPercent: used.waitPercent,
  };
}

/**
 * One wrk run. bash runs wrk pinned in the background (its pid is reported and tracked, so a
 * Ctrl-C or an error kills it too), waits for it, then prints `times`: the CPU its children used,
 * which is wrk's, as /proc is gone once it has exited.
 */
export async function runWrk(o: LoadOptions): Promise<LoadResult> {
  const args = ["-t1", `-c${o.connections}`, `-d${o.seconds}s`, "--latency", "--timeout", "10s"];
  if (o.paths.length > 1) args.push("-s", path.join(here, "paths.lua"));
  args.push(`http://${o.host}:${o.port}${o.paths[0] ?? "/"}`);
  const pin = o.cpu !== null && hasTaskset ? `taskset -c ${o.cpu} ` : "";
  const script = `${pin}wrk "$@" & pid=$!; trap 'kill $pid 2>/dev/null' INT TERM HUP; echo "@pid $pid"; wait $pid; status=$?; echo "@times"; times; exit $status`;
  const before = readCpu(o.serverPid);
  const child = spawn("bash", ["-c", script, "wrk", ...args], {
    env: { ...process.env, WRK_PATHS: o.paths.join(",") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (child.pid !== undefined) track(child.pid);
  let wrkPid: number | null = null;
  let output = "";
  let times: string[] | null = null;
  const lines = readline.createInterface({ input: child.stdout! });
  lines.on("line", (line) => {
    const pidLine = /^@pid (\d+)$/.exec(line);
    if (pidLine !== null) {
      wrkPid = Number(pidLine[1]);
      track(wrkPid);
    } else if (line === "@times") times = [];
    else if (times !== null) times.push(line);
    else output += `${line}\n`;
  });
  const code = await new Promise<number | null>((resolve) => child.once("close", (status) => resolve(status)));
  const after = readCpu(o.serverPid);
  if (child.pid !== undefined) untrack(child.pid);
  if (wrkPid !== null) untrack(wrkPid);
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${output}`);
  const report = parseWrk(output);
  // `times`: the shell's user and system time, then its children's: "0m1.234s 0m0.567s".
  const childTimes = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec((times as string[] | null)?.[1] ?? "");
  const loaderSeconds = childTimes === null
    ? null
    : 60 * Number(childTimes[1]) + Number(childTimes[2]) + 60 * Number(childTimes[3]) + Number(childTimes[4]);
  const wall = before !== null && after !== null ? after.at - before.at : report.seconds;
  return {
    loader: "wrk",
    connections: o.connections,
    requests: report.requests,
    rps: report.rps,
    p50: report.p50,
    p99: report.p99,
    errors: report.errors,
    non2xx: report.non2xx,
    server: serverCpu(before, after, report.requests),
    loaderCpu: loaderSeconds === null ? null : (100 * loaderSeconds) / wall,
  };
}

/** What bench/harness/autocannon-load.ts prints. */
interface AutocannonResult {
  requests: number;
  rps: number;
  p50: number | null;
  p99: number | null;
  errors: number;
  non2xx: number;
  /** Its CPU seconds over the run, and the run's wall seconds. */
  cpu: number;
  elapsed: number;
}

/** One autocannon run in its own process (pinned); the server's CPU is read at its "start" line and at its result. */
export async function runAutocannon(o: LoadOptions): Promise<LoadResult> {
  const job = { url: `http://${o.host}:${o.port}${o.paths[0] ?? "/"}`, connections: o.connections, duration: o.seconds, paths: o.paths };
  const child = spawnPinned([o.node, "--import", "tsx", path.join(here, "autocannon-load.ts"), JSON.stringify(job)], {
    cpu: o.cpu,
    cwd: o.root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  // Filled in by the line handler.
  const got: { before: Cpu | null; after: Cpu | null; result: AutocannonResult | null } = { before: null, after: null, result: null };
  const lines = readline.createInterface({ input: child.stdout! });
  lines.on("line", (line) => {
    if (line === "start") got.before = readCpu(o.serverPid);
    else if (line.startsWith("{")) {
      got.after = readCpu(o.serverPid);
      got.result = JSON.parse(line) as AutocannonResult;
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once("close", (status) => resolve(status)));
  const { before, after, result: done } = got;
  if (code !== 0 || done === null) throw new Error(`autocannon's process exited with ${code} and no result`);
  return {
    loader: "autocannon",
    connections: o.connections,
    requests: done.requests,
    rps: done.rps,
    p50: done.p50,
    p99: done.p99,
    errors: done.errors,
    non2xx: done.non2xx,
    server: serverCpu(before, after, done.requests),
    loaderCpu: done.elapsed > 0 ? (100 * done.cpu) / done.elapsed : null,
  };
}

export function runLoad(loader: Loader, options: LoadOptions): Promise<LoadResult> {
  return loader === "wrk" ? runWrk(options) : runAutocannon(options);
}
