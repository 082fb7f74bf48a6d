/**
 * HTTP hello-world benchmark: keep-alive throughput and latency of examples/hello.ts (an
 * http.Server in a real-time Doist, as a user runs it) beside plain node:http
 * (bench/node-hello.mjs), both loaded by autocannon from this process while each server runs in
 * a child process of its own, one server at a time, on 127.0.0.1.
 *
 *   npm run bench:http -- --duration 5 --warmup 1 --connections 10,100 --tocks 1/1024,1/8192
 *   npm run bench:http -- --cpu-prof <dir>   # also profile our servers; prints top self time
 *   npm run bench:http -- --servers hio      # only some of: node, node-fetch, hio-engine, hio
 *
 * Each flag may be given as an environment variable instead (DURATION, WARMUP, CONNECTIONS,
 * PIPELINING, TOCKS, CPU_PROF, SERVERS). Latency percentiles are computed from autocannon's per-response
 * times (fractions of a millisecond), as its own histogram keeps whole milliseconds only.
 */
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const HOST = "127.0.0.1";
const BODY = "Hello World!";

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    pipelining: { type: "string" },
    tocks: { type: "string" },
    "cpu-prof": { type: "string" },
    servers: { type: "string" },
  },
});
const env = process.env;
const duration = Number(flags.duration ?? env.DURATION ?? 5);
const warmup = Number(flags.warmup ?? env.WARMUP ?? 1);
const connectionCounts = list(flags.connections ?? env.CONNECTIONS ?? "10,100").map(Number);
const pipelining = Number(flags.pipelining ?? env.PIPELINING ?? 1);
const tocks = list(flags.tocks ?? env.TOCKS ?? "1/1024,1/8192");
const profileDir = flags["cpu-prof"] ?? env.CPU_PROF;
/**
 * Which servers to load: node (plain node:http), node-fetch (node:http + fetch objects), hio
 * (examples/hello.ts), hio-engine (bench/hio-prebuilt.ts: the app returns one prebuilt Response).
 */
const servers = new Set(list(flags.servers ?? env.SERVERS ?? "node,node-fetch,hio-engine,hio"));

interface Subject {
  name: string;
  /** Arguments to node, the script last. */
  args: string[];
  env: Record<string, string>;
  ours: boolean;
}

interface Row {
  server: string;
  ours: boolean;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  serverCpu: number | null;
  /** Server CPU per request, µs: [user, system]; null where /proc is missing. */
  perRequest: [user: number, system: number] | null;
  loaderCpu: number;
}

function list(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** "1/1024" or "0.001" as a number. */
function fraction(text: string): number {
  const [a, b] = text.split("/");
  const value = b === undefined ? Number(a) : Number(a) / Number(b);
  if (!Number.isFinite(value) || value < 0) throw new Error(`bad tock ${text}`);
  return value;
}

/** A port free right now on the loopback (bind 0, read it back, close). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, HOST, () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

/** One GET / on a fresh connection (closed after): status, content-type and body. */
function get(port: number): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: HOST, port, path: "/", agent: false, timeout: 1000 }, (response) => {
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

/** Polls until the server answers (at most ~10 s), then checks the answer is the hello. */
async function ready(port: number, child: ChildProcess): Promise<void> {
  let last: unknown = null;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before answering`);
    try {
      const { status, type, body } = await get(port);
      if (status !== 200 || body !== BODY || !type.startsWith("text/plain")) {
        throw new Error(`wrong answer: ${status} ${type} ${JSON.stringify(body)}`);
      }
      return;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("wrong answer")) throw error;
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`server on port ${port} never answered: ${String(last)}`);
}

/** CPU seconds [user, system] the process has used so far, from /proc; null where there is none. */
function cpuSeconds(pid: number | undefined): [user: number, system: number] | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [Number(fields[11]) / 100, Number(fields[12]) / 100]; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

/** The q-th quantile of sorted values (nearest rank). */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

/** One autocannon run; latencies of 2xx answers recorded as they come. */
function load(port: number, connections: number, seconds: number) {
  let times = new Float64Array(1 << 16);
  let count = 0;
  return new Promise<{ result: autocannon.Result; latencies: Float64Array }>((resolve, reject) => {
    const instance = autocannon(
      { url: `http://${HOST}:${port}/`, connections, pipelining, duration: seconds },
      (error, result) => {
        if (error) reject(error);
        else resolve({ result, latencies: times.subarray(0, count).sort() });
      },
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      if (status < 200 || status > 299) return;
      if (count === times.length) {
        const grown = new Float64Array(times.length * 2);
        grown.set(times);
        times = grown;
      }
      times[count++] = ms;
    });
  });
}

/** Asks the child to stop (SIGINT: our Doist exits cleanly, so a CPU profile gets written). */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGINT");
  const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref());
  const done = await Promise.race([exited.then(() => true), timer]);
  if (!done && child.exitCode === null && child.signalCode === null) {
    process.kill(child.pid, "SIGKILL");
    await exited;
  }
}

async function bench(subject: Subject, children: Set<ChildProcess>): Promise<Row[]> {
  const port = await freePort();
  const child = spawn(process.execPath, subject.args, {
    cwd: root,
    env: { ...process.env, ...subject.env, PORT: String(port), HOST },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const rows: Row[] = [];
  try {
    await ready(port, child);
    for (const connections of connectionCounts) {
      if (warmup > 0) await load(port, connections, warmup);
      const serverBefore = cpuSeconds(child.pid);
      const loaderBefore = process.cpuUsage();
      const started = performance.now();
      const { result, latencies } = await load(port, connections, duration);
      const elapsed = (performance.now() - started) / 1000;
      const serverAfter = cpuSeconds(child.pid);
      const loader = process.cpuUsage(loaderBefore);
      rows.push({
        server: subject.name,
        ours: subject.ours,
        connections,
        rps: result.requests.average,
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        p999: quantile(latencies, 0.999),
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
        serverCpu: serverBefore === null || serverAfter === null
          ? null
          : (100 * (serverAfter[0] + serverAfter[1] - serverBefore[0] - serverBefore[1])) / elapsed,
        perRequest: serverBefore === null || serverAfter === null || result.requests.total === 0
          ? null
          : [(1e6 * (serverAfter[0] - serverBefore[0])) / result.requests.total, (1e6 * (serverAfter[1] - serverBefore[1])) / result.requests.total],
        loaderCpu: (100 * (loader.user + loader.system)) / 1e6 / elapsed,
      });
    }
  } finally {
    await stop(child);
  }
  return rows;
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

const fmt = (ms: number) => (Number.isNaN(ms) ? "n/a" : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

function table(rows: Row[]): string {
  const lines = [
    "| server | connections | req/s | p50 ms | p99 ms | p99.9 ms | errors/timeouts/non-2xx | server CPU % | server µs/req user + sys | loader CPU % | req/s vs node:http |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const row of rows) {
    const node = rows.find((r) => !r.ours && r.connections === row.connections);
    const ratio = node !== undefined && row !== node ? (row.rps / node.rps).toFixed(2) : "";
    lines.push(
      `| ${row.server} | ${row.connections} | ${Math.round(row.rps).toLocaleString("en")} | ${fmt(row.p50)} | ${fmt(row.p99)} | ` +
        `${fmt(row.p999)} | ${row.errors}/${row.timeouts}/${row.non2xx} | ` +
        `${row.serverCpu === null ? "n/a" : row.serverCpu.toFixed(0)} | ` +
        `${row.perRequest === null ? "n/a" : `${row.perRequest[0].toFixed(1)} + ${row.perRequest[1].toFixed(1)}`} | ` +
        `${row.loaderCpu.toFixed(0)} | ${ratio} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const began = Date.now();
  const subjects: Subject[] = [];
  if (servers.has("node")) subjects.push({ name: "node:http", args: [path.join(root, "bench", "node-hello.mjs")], env: {}, ours: false });
  if (servers.has("node-fetch")) {
    subjects.push({ name: "node:http + fetch objects", args: [path.join(root, "bench", "node-fetch-hello.mjs")], env: {}, ours: false });
  }
  for (const tock of servers.has("hio-engine") ? tocks : []) {
    const args = ["--import", "tsx", path.join(root, "bench", "hio-prebuilt.ts")];
    subjects.push({ name: `hio-ts engine: prebuilt Response (tock ${tock})`, args, env: { TOCK: String(fraction(tock)) }, ours: true });
  }
  for (const tock of servers.has("hio") ? tocks : []) {
    const value = fraction(tock);
    const args = ["--import", "tsx"];
    if (profileDir !== undefined) {
      mkdirSync(profileDir, { recursive: true });
      args.push("--cpu-prof", "--cpu-prof-dir", path.join(profileDir, `tock-${tock.replace("/", "_")}`));
    }
    args.push(path.join(root, "examples", "hello.ts"));
    subjects.push({ name: `hio-ts (tock ${tock})`, args, env: { TOCK: String(value) }, ours: true });
  }
  const children = new Set<ChildProcess>();
  const rows: Row[] = [];
  try {
    for (const subject of subjects) rows.push(...(await bench(subject, children)));
  } finally {
    for (const child of children) await stop(child);
  }
  console.log(`Node ${process.version}, ${process.platform} ${process.arch}; autocannon ${duration} s after ${warmup} s warm-up, pipelining ${pipelining}`);
  console.log(table(rows));
  if (profileDir !== undefined) {
    for (const tock of tocks) {
      const dir = path.join(profileDir, `tock-${tock.replace("/", "_")}`);
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main one (tsx adds a loader thread).
      const mainThread = /\.0\.\d+\.cpuprofile$/;
      const fresh = readdirSync(dir).filter((f) => mainThread.test(f) && statSync(path.join(dir, f)).mtimeMs >= began);
      for (const file of fresh) {
        console.log(`\nTop self time, hio-ts (tock ${tock}), main thread, ${path.join(dir, file)}:`);
        for (const line of summarize(path.join(dir, file))) console.log(line);
      }
    }
  }
}

await main();
