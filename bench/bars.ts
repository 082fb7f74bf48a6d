/**
 * The real-time issue's throughput bars, judged on medians of interleaved rounds. bench/http.ts
 * runs each server once in turn, so a ratio mixes two moments of a machine whose speed drifts by
 * ±30% between runs; here every server of a pair is up at once (each pinned to the server CPU,
 * idle while not loaded) and the loads alternate A B B A round after round, so drift falls on
 * both sides. For each pair and connection count it prints the median req/s of each side, the
 * ratio of the medians, the spread of the per-round ratios, and PASS or FAIL against the bar.
 *
 *   npm run bench:bars
 *   npm run bench:bars -- --rounds 7 --duration 3 --node24
 *   npm run bench:bars -- --pairs hello --connections 1,10
 *
 * Pairs: hello (node:http vs examples/hello.ts at 1, 10, 50, 100 connections), native
 * (node:http vs bench/hio-native.ts at 50 and 100), hono (@hono/node-server vs hio-ts with the
 * same app at 50 and 100), and p99 latency at 100 connections from the hello pair. Flags have
 * environment equivalents: ROUNDS, DURATION, WARMUP, PAIRS, CONNECTIONS, NODES, NODE24.
 */
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { paths as honoPaths } from "./hono-app.ts";
import { hasWrk, runWrk } from "./harness/loaders.ts";
import { freePort, installNode24, versionOf } from "./harness/nodes.ts";
import type { LoadResult } from "./harness/loaders.ts";
import { aborted, gone, hasTaskset, sleep, spawnPinned, stop } from "./harness/procs.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const HOST = "127.0.0.1";

const { values: flags } = parseArgs({
  options: {
    rounds: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    pairs: { type: "string" },
    connections: { type: "string" },
    node: { type: "string" },
    node24: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
const env = process.env;
if (flags.help) {
  const doc = (await import("node:fs")).readFileSync(fileURLToPath(import.meta.url), "utf8");
  console.log(doc.slice(doc.indexOf("/**") + 3, doc.indexOf("*/")).replace(/^ \* ?/gm, ""));
  process.exit(0);
}

function list(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}
function whole(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number ≥ ${min}: ${text}`);
  return value;
}

const rounds = whole("rounds", flags.rounds ?? env.ROUNDS ?? "5", 1);
const duration = whole("duration", flags.duration ?? env.DURATION ?? "3", 1);
const warmup = whole("warmup", flags.warmup ?? env.WARMUP ?? "1", 0);
const wantedPairs = list(flags.pairs ?? env.PAIRS ?? "hello,native,hono");
const onlyConnections = flags.connections ?? env.CONNECTIONS;
const pinned = hasTaskset && os.availableParallelism() >= 2;
const serverCpu = pinned ? "0" : null;
const loaderCpu = pinned ? "1" : null;

interface Server {
  key: string;
  label: string;
  script: string;
  ts: boolean;
  paths: readonly string[];
}
const SERVERS: Record<string, Server> = {
  node: { key: "node", label: "node:http", script: "bench/node-hello.mjs", ts: false, paths: ["/"] },
  hio: { key: "hio", label: "hello.ts", script: "examples/hello.ts", ts: true, paths: ["/"] },
  native: { key: "native", label: "hio-native", script: "bench/hio-native.ts", ts: true, paths: ["/"] },
  honoNode: { key: "honoNode", label: "Hono on @hono/node-server", script: "bench/hono-node.ts", ts: true, paths: honoPaths },
  honoHio: { key: "honoHio", label: "Hono on hio-ts", script: "bench/hono-hio.ts", ts: true, paths: honoPaths },
};

interface Pair {
  key: string;
  base: Server;
  subject: Server;
  connections: number[];
  /** The bar on subject/base req/s, per connection count. */
  bar: (connections: number) => number;
}
const PAIRS: Pair[] = [
  { key: "hello", base: SERVERS.node!, subject: SERVERS.hio!, connections: [1, 10, 50, 100], bar: (c) => (c >= 50 ? 1.0 : 0.9) },
  { key: "native", base: SERVERS.node!, subject: SERVERS.native!, connections: [50, 100], bar: () => 1.3 },
  { key: "hono", base: SERVERS.honoNode!, subject: SERVERS.honoHio!, connections: [50, 100], bar: () => 1.2 },
];
for (const key of wantedPairs) if (!PAIRS.some((p) => p.key === key)) throw new Error(`unknown pair ${key}; known: ${PAIRS.map((p) => p.key).join(", ")}`);
const pairs = PAIRS.filter((p) => wantedPairs.includes(p.key)).map((p) => ({
  ...p,
  connections: onlyConnections === undefined ? p.connections : p.connections.filter((c) => list(onlyConnections).map(Number).includes(c)),
})).filter((p) => p.connections.length > 0);

function answers(port: number, target: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: HOST, port, path: target, agent: false, timeout: 1000 }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode === 200));
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(false));
  });
}

interface Running {
  server: Server;
  child: ChildProcess;
  port: number;
}

async function start(node: string, server: Server): Promise<Running> {
  const port = await freePort(HOST);
  const args = [node];
  if (server.ts) args.push("--import", "tsx");
  args.push("--import", path.join(root, "bench", "harness", "orphan-guard.mjs"), path.join(root, server.script));
  const childEnv: NodeJS.ProcessEnv = { ...env, PORT: String(port), HOST };
  delete childEnv.NODE_OPTIONS;
  const child = spawnPinned(args, { cpu: serverCpu, nofile: 65536, cwd: root, env: childEnv, stdio: ["pipe", "ignore", "inherit"] });
  for (let attempt = 0; attempt < 150; attempt++) {
    if (gone(child)) throw new Error(`${server.label} exited before answering`);
    if (await answers(port, server.paths[0] ?? "/")) return { server, child, port };
    await sleep(100);
  }
  await stop(child);
  throw new Error(`${server.label} never answered on port ${port}`);
}

function load(running: Running, connections: number, seconds: number): Promise<LoadResult> {
  return runWrk({
    host: HOST, port: running.port, connections, seconds, paths: running.server.paths,
    serverPid: running.child.pid, cpu: loaderCpu, node: process.execPath, root,
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Row {
  pair: string;
  connections: number;
  base: number[];
  subject: number[];
  baseP99: number[];
  subjectP99: number[];
  bar: number;
  errors: number;
}

async function runNode(node: string): Promise<Row[]> {
  const needed = [...new Set(pairs.flatMap((p) => [p.base, p.subject]))];
  const running = new Map<string, Running>();
  const rows: Row[] = [];
  try {
    for (const server of needed) running.set(server.key, await start(node, server));
    for (const pair of pairs) {
      const a = running.get(pair.base.key)!;
      const b = running.get(pair.subject.key)!;
      for (const connections of pair.connections) {
        const row: Row = { pair: pair.key, connections, base: [], subject: [], baseP99: [], subjectP99: [], bar: pair.bar(connections), errors: 0 };
        rows.push(row);
        if (warmup > 0) {
          await load(a, connections, warmup);
          await load(b, connections, warmup);
        }
        for (let round = 0; round < rounds; round++) {
          if (aborted()) return rows;
          // A B, then B A: a drift within a round falls on both sides
          const order = round % 2 === 0 ? [a, b] : [b, a];
          for (const side of order) {
            const result = await load(side, connections, duration);
            row.errors += result.errors + result.non2xx;
            if (side === a) {
              row.base.push(result.rps);
              if (result.p99 !== null) row.baseP99.push(result.p99);
            } else {
              row.subject.push(result.rps);
              if (result.p99 !== null) row.subjectP99.push(result.p99);
            }
          }
          console.error(`    ${pair.key} ${connections} conns round ${round + 1}: ${row.base.at(-1)!.toFixed(0)} vs ${row.subject.at(-1)!.toFixed(0)} req/s`);
        }
      }
    }
  } finally {
    for (const r of running.values()) await stop(r.child);
  }
  return rows;
}

function table(version: string, rows: Row[]): string {
  const lines = [
    `| Node ${version} | conns | base req/s (median) | subject req/s (median) | ratio of medians | per-round ratios | bar | verdict |`,
    "|---|---:|---:|---:|---:|---|---:|---|",
  ];
  const names: Record<string, string> = { hello: "hello.ts vs node:http", native: "hio-native vs node:http", hono: "Hono: hio-ts vs @hono/node-server" };
  for (const row of rows) {
    const ratio = median(row.subject) / median(row.base);
    const per = row.subject.map((s, i) => s / row.base[i]!).sort((x, y) => x - y);
    const spread = `${per[0]!.toFixed(2)}–${per.at(-1)!.toFixed(2)}`;
    const verdict = row.errors > 0 ? `FAIL (${row.errors} errors)` : ratio >= row.bar ? "PASS" : "FAIL";
    lines.push(`| ${names[row.pair]} | ${row.connections} | ${median(row.base).toFixed(0)} | ${median(row.subject).toFixed(0)} | ${ratio.toFixed(2)}x | ${spread} | ≥ ${row.bar.toFixed(1)}x | ${verdict} |`);
  }
  const p99 = rows.find((r) => r.pair === "hello" && r.connections === 100);
  if (p99 !== undefined && p99.baseP99.length > 0 && p99.subjectP99.length > 0) {
    const [b, s] = [median(p99.baseP99), median(p99.subjectP99)];
    lines.push(`| p99 latency, hello.ts vs node:http | 100 | ${b.toFixed(2)} ms | ${s.toFixed(2)} ms | ${(s / b).toFixed(2)}x | | ≤ 1.0x | ${s <= b ? "PASS" : "FAIL"} |`);
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  if (!hasWrk()) {
    console.error("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu)");
    process.exit(1);
  }
  const nodes = flags.node !== undefined || env.NODES !== undefined ? list(flags.node ?? env.NODES ?? "") : [process.execPath];
  if (flags.node24 && !nodes.some((n) => versionOf(n)?.startsWith("v24."))) nodes.push(env.NODE24 ? env.NODE24 : installNode24());
  const cpus = os.cpus();
  console.log(`${cpus.length} × ${cpus[0]?.model ?? "CPU"}; load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`${pinned ? "servers on CPU 0, wrk (1 thread) on CPU 1" : "NOT pinned: servers and wrk share cores"}; ${rounds} rounds of ${duration} s per side (A B, B A, ...) after ${warmup} s warm-up each`);
  for (const node of nodes) {
    const version = versionOf(node) ?? "?";
    console.error(`Node ${version}`);
    const rows = await runNode(node);
    console.log(`\n${table(version, rows)}`);
  }
  console.log(`\nload average at end ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
}

await main();
