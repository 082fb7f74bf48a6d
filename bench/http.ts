/**
 * HTTP benchmark of hio-ts against plain node:http: the numbers the real-time issue is judged by.
 * Each server runs alone in a child process pinned to one CPU (taskset -c 0); the load generator
 * (wrk, or autocannon for comparison) runs in another process pinned to the other CPU (-c 1), so
 * that neither steals the other's core and a loader at its own limit shows as such. Servers:
 *
 *   node        plain node:http hello (bench/node-hello.mjs): the baseline every ratio is against
 *   hio         examples/hello.ts as is: a fetch app on http.Server in a real-time Doist
 *   hio-native  bench/hio-native.ts: a BareServer whose Steward answers with CustomResponder
 *               (skipped, with a line saying so, where the file is missing)
 *   hono-hio    bench/hono-app.ts on hio-ts (bench/hono-hio.ts)
 *   hono-node   the same app on @hono/node-server, default options (bench/hono-node.ts)
 *   node-fetch  (not by default) node:http building fetch objects (bench/node-fetch-hello.mjs)
 *   hio-engine  (not by default) hello with one prebuilt Response (bench/hio-prebuilt.ts)
 *
 * For each: req/s and p50/p99 latency at each connection count after a warm-up, server CPU per
 * request (user and kernel µs) and loader CPU; CPU with no connections, then with 10,000 idle
 * keep-alive connections open (held by bench/harness/idle-conns.ts); and a run at 50 connections
 * with those idle connections open beside one without. Then the issue's bars, PASS or FAIL.
 *
 *   npm run bench:http
 *   npm run bench:http -- --duration 2 --warmup 1 --connections 1,10,50,100 --loader both
 *   npm run bench:http -- --servers node,hio --idle 3 --idle-conns 10000 --idle-load 50
 *   npm run bench:http -- --node24                 # also Node 24: NODE24=<binary>, else installed
 *   npm run bench:http -- --node /path/a/node,/path/b/node
 *   npm run bench:http -- --tock 1/8192            # TOCK for the hio servers (default: theirs, 1/1024)
 *   npm run bench:http -- --cpu-prof <dir>         # profile the TypeScript servers; prints top self time
 *   npm run bench:http -- --server-cpu 0 --loader-cpu 1
 *
 * Every flag has an environment equivalent: DURATION, WARMUP, CONNECTIONS, SERVERS, LOADER, IDLE,
 * IDLE_CONNS, IDLE_LOAD, NODES, NODE24 (a binary), TOCK, CPU_PROF, SERVER_CPU, LOADER_CPU.
 * Linux only (/proc, taskset); wrk from the distribution: `apt-get install -y wrk`.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { paths as honoPaths } from "./hono-app.ts";
import { IdleConnections } from "./harness/idle.ts";
import { freePort, installNode24, versionOf } from "./harness/nodes.ts";
import { hasWrk, runLoad } from "./harness/loaders.ts";
import type { Loader, LoadOptions } from "./harness/loaders.ts";
import { aborted, cpuBetween, gone, hasTaskset, readCpu, sleep, spawnPinned, stop } from "./harness/procs.ts";
import { bars, busyMachine, nodeTable, saturatedLoaders, summaryTable } from "./harness/report.ts";
import type { Bar, IdleMany, Settings, SubjectRun } from "./harness/report.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const HOST = "127.0.0.1";
const BODY = "Hello World!";
/** Open-file limit asked for the servers and the idle-connection helper. */
const NOFILE = 65536;
/**
 * node:http (keepAliveTimeout), @hono/node-server (node:http's default) and hio-ts (the Remoter's
 * tymeout) close a keep-alive connection idle for 5 s: each window with the idle connections open
 * starts right after one more request on each of them, lasts at most IDLE_WINDOW_MAX s and ends
 * before the first of them has been idle KEEPALIVE_BUDGET s. The helper counts them after each.
 */
const IDLE_WINDOW_MAX = 3;
const KEEPALIVE_BUDGET = 4.5;

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    servers: { type: "string" },
    loader: { type: "string" },
    idle: { type: "string" },
    "idle-conns": { type: "string" },
    "idle-load": { type: "string" },
    node: { type: "string" },
    node24: { type: "boolean" },
    tock: { type: "string" },
    "cpu-prof": { type: "string" },
    "server-cpu": { type: "string" },
    "loader-cpu": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
const env = process.env;

function list(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** A whole number ≥ min from a flag or the environment. */
function whole(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number ≥ ${min} (wrk takes whole seconds): ${text}`);
  return value;
}

if (flags.help) {
  const doc = readFileSync(fileURLToPath(import.meta.url), "utf8");
  console.log(doc.slice(doc.indexOf("/**") + 3, doc.indexOf("*/")).replace(/^ \* ?/gm, ""));
  process.exit(0);
}

const duration = whole("duration", flags.duration ?? env.DURATION ?? "5", 1);
const warmup = whole("warmup", flags.warmup ?? env.WARMUP ?? "1", 0);
const connectionCounts = list(flags.connections ?? env.CONNECTIONS ?? "1,10,50,100").map((c) => whole("connections", c, 1));
const idleSeconds = Number(flags.idle ?? env.IDLE ?? 3);
const idleConns = whole("idle-conns", flags["idle-conns"] ?? env.IDLE_CONNS ?? "10000", 0);
const idleLoad = whole("idle-load", flags["idle-load"] ?? env.IDLE_LOAD ?? "50", 1);
const loaderFlag = flags.loader ?? env.LOADER ?? "wrk";
const loaders: Loader[] = loaderFlag === "both" ? ["wrk", "autocannon"] : loaderFlag === "wrk" || loaderFlag === "autocannon" ? [loaderFlag] : [];
if (loaders.length === 0) throw new Error(`--loader must be wrk, autocannon or both: ${loaderFlag}`);
const tock = flags.tock ?? env.TOCK;
const profileDir = flags["cpu-prof"] ?? env.CPU_PROF;
const serverCpu = flags["server-cpu"] ?? env.SERVER_CPU ?? "0";
const loaderCpu = flags["loader-cpu"] ?? env.LOADER_CPU ?? "1";
const pinned = hasTaskset && os.availableParallelism() >= 2;

interface SubjectDef {
  key: string;
  label: string;
  /** Repo-relative script. */
  script: string;
  /** Run through tsx. */
  ts: boolean;
  hio: boolean;
  /** GET in turn; the first must answer BODY as text/plain, the others 200. */
  paths: readonly string[];
}

const SUBJECTS: SubjectDef[] = [
  { key: "node", label: "node:http", script: "bench/node-hello.mjs", ts: false, hio: false, paths: ["/"] },
  { key: "node-fetch", label: "node:http + fetch objects", script: "bench/node-fetch-hello.mjs", ts: false, hio: false, paths: ["/"] },
  { key: "hio", label: "hio (examples/hello.ts)", script: "examples/hello.ts", ts: true, hio: true, paths: ["/"] },
  { key: "hio-native", label: "hio-native (BareServer + CustomResponder)", script: "bench/hio-native.ts", ts: true, hio: true, paths: ["/"] },
  { key: "hio-engine", label: "hio engine (prebuilt Response)", script: "bench/hio-prebuilt.ts", ts: true, hio: true, paths: ["/"] },
  { key: "hono-hio", label: "Hono on hio-ts", script: "bench/hono-hio.ts", ts: true, hio: true, paths: honoPaths },
  { key: "hono-node", label: "Hono on @hono/node-server", script: "bench/hono-node.ts", ts: true, hio: false, paths: honoPaths },
];
const serverKeys = list(flags.servers ?? env.SERVERS ?? "node,hio,hio-native,hono-hio,hono-node");
for (const key of serverKeys) {
  if (!SUBJECTS.some((s) => s.key === key)) throw new Error(`unknown server ${key}; known: ${SUBJECTS.map((s) => s.key).join(", ")}`);
}
const subjects = SUBJECTS.filter((s) => serverKeys.includes(s.key));

/** The Node binaries to run the servers under: --node/NODES, else this node plus Node 24 where found. */
function nodeBinaries(): string[] {
  const given = flags.node ?? env.NODES;
  const wanted = given !== undefined ? list(given) : [process.execPath];
  if (given === undefined) {
    if (env.NODE24 !== undefined && env.NODE24 !== "") wanted.push(env.NODE24);
    else if (flags.node24) wanted.push(installNode24());
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const binary of wanted) {
    if (versionOf(binary) === null) throw new Error(`${binary} does not run (--version)`);
    let real = binary;
    try {
      real = realpathSync(binary);
    } catch {
      // a name on PATH
    }
    if (!seen.has(real)) {
      seen.add(real);
      out.push(binary);
    }
  }
  return out;
}

/** One GET on a fresh connection (closed after): status, content-type and body. */
function get(port: number, target: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: HOST, port, path: target, agent: false, timeout: 2000 }, (response) => {
      let body = "";
      response.setEncoding("latin1");
      response.on("data", (piece: string) => (body += piece));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, type: String(response.headers["content-type"]), body }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", reject);
  });
}

class WrongAnswer extends Error {}

/** Polls until the server answers (at most ~15 s), then checks its answers to every path. */
async function ready(port: number, child: ChildProcess, subject: SubjectDef): Promise<void> {
  let last: unknown = null;
  for (let attempt = 0; attempt < 150; attempt++) {
    if (gone(child)) throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before answering`);
    try {
      for (const target of subject.paths) {
        const { status, type, body } = await get(port, target);
        const first = target === subject.paths[0];
        if (status !== 200 || (first && (body !== BODY || !type.startsWith("text/plain")))) {
          throw new WrongAnswer(`wrong answer to GET ${target}: ${status} ${type} ${JSON.stringify(body.slice(0, 80))}`);
        }
      }
      return;
    } catch (error) {
      if (error instanceof WrongAnswer) throw error;
      last = error;
      await sleep(100);
    }
  }
  throw new Error(`server on port ${port} never answered: ${String(last)}`);
}

/** Percent of a core the process used over `seconds` of wall time. */
async function idleCpu(pid: number | undefined, seconds: number): Promise<number | null> {
  const before = readCpu(pid);
  await sleep(seconds * 1000);
  return cpuBetween(before, readCpu(pid))?.percent ?? null;
}

function profileDirFor(version: string, key: string): string | null {
  return profileDir === undefined ? null : path.resolve(profileDir, version, key);
}

/** Progress on stderr (the tables go to stdout). */
function note(text: string): void {
  console.error(`    ${new Date().toISOString().slice(11, 19)} ${text}`);
}

/** Runs one server under one Node through every measurement. */
async function runSubject(node: string, version: string, subject: SubjectDef): Promise<SubjectRun> {
  const run: SubjectRun = { key: subject.key, label: subject.label, hio: subject.hio, problem: null, loads: [], idle: null, idleMany: null };
  const script = path.join(root, subject.script);
  if (!existsSync(script)) {
    run.problem = `skipped: ${subject.script} not found (it comes with the BareServer + CustomResponder work)`;
    return run;
  }
  const port = await freePort(HOST);
  const args = [node];
  if (subject.ts) args.push("--import", "tsx");
  args.push("--import", path.join(root, "bench", "harness", "orphan-guard.mjs"));
  const profiles = subject.ts ? profileDirFor(version, subject.key) : null;
  if (profiles !== null) {
    mkdirSync(profiles, { recursive: true });
    args.push("--cpu-prof", "--cpu-prof-dir", profiles);
  }
  args.push(script);
  const childEnv: NodeJS.ProcessEnv = { ...env, PORT: String(port), HOST };
  delete childEnv.NODE_OPTIONS;
  if (tock !== undefined) childEnv.TOCK = String(fraction(tock));
  const child = spawnPinned(args, { cpu: pinned ? serverCpu : null, nofile: NOFILE, cwd: root, env: childEnv, stdio: ["pipe", "ignore", "inherit"] });
  const pid = child.pid;
  const base: Omit<LoadOptions, "connections" | "seconds"> = {
    host: HOST, port, paths: subject.paths, serverPid: pid, cpu: pinned ? loaderCpu : null, node: process.execPath, root,
  };
  let helper: IdleConnections | null = null;
  try {
    await ready(port, child, subject);
    for (const connections of connectionCounts) {
      for (const loader of loaders) {
        note(`${loader}, ${connections} connections`);
        if (warmup > 0) await runLoad(loader, { ...base, connections, seconds: warmup });
        run.loads.push(await runLoad(loader, { ...base, connections, seconds: duration }));
        if (gone(child)) throw new Error("server exited during the load");
      }
    }
    await sleep(1000); // let the last load's connections close and its garbage be collected
    if (idleSeconds > 0) {
      note(`idle ${idleSeconds} s, no connections`);
      run.idle = await idleCpu(pid, idleSeconds);
    }
    if (idleConns > 0) {
      const many: IdleMany = { wanted: idleConns, opened: 0, seconds: 0, cpu: null, openAfterIdle: null, openAfterLoad: null, without: null, with: null, error: null };
      run.idleMany = many;
      const primary = loaders[0] as Loader;
      const pairSeconds = Math.min(duration, IDLE_WINDOW_MAX);
      note(`${primary}, ${idleLoad} connections, ${pairSeconds} s (paired run without idle connections)`);
      many.without = await runLoad(primary, { ...base, connections: idleLoad, seconds: pairSeconds });
      await sleep(500);
      helper = new IdleConnections(process.execPath, root, pinned ? loaderCpu : null, NOFILE);
      const opened = await helper.open(HOST, port, idleConns, subject.paths[0] ?? "/");
      many.opened = opened.answered ?? 0;
      note(`opened ${many.opened} of ${idleConns} idle keep-alive connections in ${(opened.ms / 1000).toFixed(1)} s`);
      if (opened.error !== undefined || many.opened < idleConns) {
        many.error = `opened ${many.opened} of ${idleConns} idle connections${opened.error === undefined ? "" : `: ${opened.error}`}`;
      }
      if (many.opened > 0) {
        const refreshed = await helper.refresh();
        // The window ends before the first connection asked by the refresh is 4.5 s idle.
        const spent = refreshed.ms / 1000 + 0.3;
        many.seconds = Math.max(1, Math.min(idleSeconds > 0 ? idleSeconds : IDLE_WINDOW_MAX, IDLE_WINDOW_MAX, KEEPALIVE_BUDGET - spent));
        note(`one more request on each took ${(refreshed.ms / 1000).toFixed(1)} s; idle ${many.seconds.toFixed(1)} s`);
        await sleep(300);
        many.cpu = await idleCpu(pid, many.seconds);
        many.openAfterIdle = (await helper.count()).open ?? 0;
        await helper.refresh();
        note(`${primary}, ${idleLoad} connections, ${pairSeconds} s, with ${many.openAfterIdle} idle connections open`);
        many.with = await runLoad(primary, { ...base, connections: idleLoad, seconds: pairSeconds });
        many.openAfterLoad = (await helper.count()).open ?? 0;
      }
    }
  } catch (error) {
    run.problem = `failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
  } finally {
    if (helper !== null) await helper.close();
    await stop(child);
  }
  return run;
}

/** "1/1024" or "0.001" as a number. */
function fraction(text: string): number {
  const [a, b] = text.split("/");
  const value = b === undefined ? Number(a) : Number(a) / Number(b);
  if (!Number.isFinite(value) || value < 0) throw new Error(`bad tock ${text}`);
  return value;
}

/** Top self-time functions of a .cpuprofile, as lines "percent  function  file:line". */
function summarize(file: string, top = 12): string[] {
  interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
  const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    if (frame === undefined) return;
    const where = frame.url ? ` ${path.basename(frame.url)}:${frame.lineNumber + 1}` : "";
    const key = `${frame.functionName || "(anonymous)"}${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, dt]) => `${((100 * dt) / total).toFixed(1).padStart(5)}%  ${key}`);
}

function printProfiles(version: string, began: number): void {
  for (const subject of subjects) {
    const dir = profileDirFor(version, subject.key);
    if (dir === null || !existsSync(dir)) continue;
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main one (tsx adds a loader thread).
    const mainThread = /\.0\.\d+\.cpuprofile$/;
    for (const file of readdirSync(dir).filter((f) => mainThread.test(f) && statSync(path.join(dir, f)).mtimeMs >= began)) {
      console.log(`\nTop self time, ${subject.label}, Node ${version}, ${path.join(dir, file)}:`);
      for (const line of summarize(path.join(dir, file))) console.log(line);
    }
  }
}

async function main(): Promise<void> {
  if (loaders.includes("wrk") && !hasWrk()) {
    console.error("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu), or run with --loader autocannon");
    process.exit(1);
  }
  const nodes = nodeBinaries();
  const settings: Settings = { loaders, connections: connectionCounts, idleLoad, idleSeconds, idleConns };
  const cpus = os.cpus();
  console.log(`${cpus.length} × ${cpus[0]?.model ?? "CPU"}, ${os.type()} ${os.release()}; load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(
    pinned
      ? `servers pinned to CPU ${serverCpu}, loaders and the idle-connection helper to CPU ${loaderCpu} (taskset)`
      : "NOT pinned (taskset missing or fewer than 2 CPUs): servers and loaders share cores, ratios are rougher",
  );
  console.log(
    `loader ${loaders.join(" + ")} (1 thread), ${duration} s measured after ${warmup} s warm-up at ${connectionCounts.join(", ")} connections; ` +
      `idle ${idleSeconds} s; ${idleConns.toLocaleString("en")} idle keep-alive connections, ${Math.min(duration, IDLE_WINDOW_MAX)} s runs at ${idleLoad} connections with and without them`,
  );
  const perNode: { node: string; bars: Bar[]; busy: ReturnType<typeof busyMachine> }[] = [];
  for (const node of nodes) {
    const version = versionOf(node) ?? "?";
    const began = Date.now();
    console.error(`\nNode ${version} (${node}): ${subjects.map((s) => s.key).join(", ")}`);
    const runs: SubjectRun[] = [];
    for (const subject of subjects) {
      if (aborted()) return;
      const started = Date.now();
      const run = await runSubject(node, version, subject);
      console.error(`  ${subject.key}: ${run.problem ?? "done"} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      runs.push(run);
    }
    if (aborted()) return;
    const judged = bars(runs, settings);
    perNode.push({ node: `Node ${version}`, bars: judged, busy: busyMachine(runs) });
    const load = os.loadavg().map((l) => l.toFixed(2)).join(" ");
    console.log(`\n### Node ${version} (${((Date.now() - began) / 1000).toFixed(0)} s; load average after: ${load})\n`);
    console.log(nodeTable(runs, settings, judged));
    const saturated = saturatedLoaders(runs);
    if (saturated.length > 0) console.log(`\nLoader at ≥90% of its core (req/s there is the loader's ceiling, not the server's): ${saturated.join("; ")}`);
    const busy = busyMachine(runs);
    if (busy.busy > 0) {
      console.log(`\nIn ${busy.busy} of ${busy.total} load runs the server waited for its CPU ≥5% of the time (worst ${busy.worst.toFixed(0)}%, column "server wait %"): something else was using its core, so those figures are not the server's; rerun on a quiet machine before judging.`);
    }
    printProfiles(version, began);
  }
  console.log(`\n### The issue's bars (${loaders[0]} figures)\n`);
  console.log(summaryTable(perNode));
}

await main();
