/**
 * What recording costs, three ways, each a table of medians over alternating rounds:
 *
 *   hooks      a Link's receive and send over a stub conduit (no I/O): ns per receive+send pair
 *              with no Track (recording off: the null checks), and with a Track into a Recorder
 *              writing to a file (on: the copy into the batch, its flush per tick left out)
 *   in memory  http.Server over a MemoryNetwork in simulated tyme answering pipelined GETs:
 *              requests per second of wall time, record off and on (the batches do go to a file)
 *   wrk        (with --wrk) the hello server (bench/recording-server.ts) on 127.0.0.1, wrk with
 *              keep-alive connections, server and wrk pinned to a CPU each: req/s, latency,
 *              server CPU per request, and the bytes the recording wrote per request
 *
 * `--base <dir>` adds each table a row for another checkout (its src/), recording off: the cost of
 * the hooks when off is this tree's "off" against that row.
 *
 *   npm run bench:recording
 *   npm run bench:recording -- --rounds 7 --base ../hio-ts-before   # a `git archive` of the base commit
 *   npm run bench:recording -- --wrk --duration 5 --connections 50
 *
 * The wrk part is Linux only (taskset, /proc) and needs wrk: `apt-get install -y wrk`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { hasWrk, runLoad } from "./harness/loaders.ts";
import type { LoadResult } from "./harness/loaders.ts";
import { spawnPinned, stop } from "./harness/procs.ts";
import type * as Hio from "../src/index.ts";
import type { Conduit } from "../src/tcp/conduit.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "4" },
    connections: { type: "string", default: "50" },
    base: { type: "string" },
    "server-cpu": { type: "string", default: "0" },
    "loader-cpu": { type: "string", default: "1" },
    wrk: { type: "boolean", default: false },
    requests: { type: "string", default: "20000" },
    child: { type: "string" }, // internal: one measurement in a process of its own
  },
});
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// ---- hooks: receive + send on a Link over a stub conduit ----
const REQUEST = Buffer.from("GET /hello HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\n\r\n");
const REPLY = Buffer.from("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 12\r\n\r\nHello World!");
const stub: Conduit = {
  status: "connected", local: ["127.0.0.1", 80], remote: ["127.0.0.1", 40000], unread: 0, ended: false, faulted: false,
  writing: false, blocked: false,
  receive: (rxbs, _max) => { rxbs.push(REQUEST); return REQUEST.length; },
  write: (bytes) => bytes.length,
  end: () => {}, close: () => {}, destroy: () => {}, watch: () => false,
};

async function hooks(hio: typeof Hio, recorder: Hio.tcp.Recorder | null, pairs: number): Promise<number> {
  const link = new hio.tcp.Link({ tymth: () => 1.5 });
  (link as unknown as { conduit: Conduit }).conduit = stub;
  if (recorder !== null) link.track = recorder.track(0, ["127.0.0.1", 40000], ["127.0.0.1", 80]);
  let elapsed = 0n;
  for (let done = 0; done < pairs; done += 1024) { // 1024 pairs a tick, then the event loop turns
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1024; i++) {
      link.receive();
      link.rxbs.clear();
      link.send(REPLY);
    }
    elapsed += process.hrtime.bigint() - started;
    await new Promise((resolve) => setImmediate(resolve)); // the recorder's batch goes to its file
  }
  const ns = Number(elapsed) / pairs;
  if (recorder !== null) await recorder.close();
  return ns;
}

// ---- in memory: pipelined GETs through http.Server in simulated tyme ----
async function inMemory(hio: typeof Hio, file: string | null, requests: number): Promise<number> {
  const network = new hio.tcp.MemoryNetwork();
  const app = (): Response => new Response("Hello World!", { headers: { "content-type": "text/plain" } });
  const record = file === null ? {} : { record: { path: file, maxBytes: 256 << 20, files: 2 } };
  const server = new hio.http.Server({ app, network, host: "127.0.0.1", port: 80, ...record });
  const batch = 50; // requests written per tick, as a pipelining client would
  const peer = new hio.testing.Peer({ network, ha: ["127.0.0.1", 80] });
  const one = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
  let written = 0;
  let counted = 0;
  let seen = 0; // arrivals counted
  let tail = ""; // the end of the last arrival, for a status line cut between two
  const replies = (): number => {
    const arrivals = peer.arrivals;
    for (; seen < arrivals.length; seen++) {
      const text = tail + Buffer.from(arrivals[seen]!.bytes).toString("latin1");
      for (let at = text.indexOf("HTTP/1.1 200"); at !== -1; at = text.indexOf("HTTP/1.1 200", at + 1)) counted += 1;
      tail = text.slice(-11);
    }
    return counted;
  };
  const writer = new hio.Doer();
  writer.recur = (): boolean => {
    if (peer.client.connected && written < requests && replies() >= written - batch) {
      peer.write(one.repeat(batch));
      written += batch;
    }
    return false;
  };
  const started = performance.now();
  await hio.testing.runUntil([new hio.http.ServerDoer({ server }), peer, writer], {
    until: () => replies() >= requests, limit: 1e6, tock: 1 / 1024,
  });
  const elapsed = (performance.now() - started) / 1000;
  if (replies() < requests) throw new Error(`in memory: ${replies()} of ${requests} answered`);
  await (server as unknown as { recorder: Hio.tcp.Recorder | null }).recorder?.close();
  return requests / elapsed;
}

/** One measurement in a child process, so that two checkouts never share a process (each one
 * installs its own Request and Response globals): what it prints is a number. */
interface Job {
  part: "hooks" | "memory";
  src: string;
  record: string | null;
  count: number;
}

if (values.child !== undefined) {
  const job = JSON.parse(values.child) as Job;
  const hio = (await import(pathToFileURL(job.src).href)) as typeof Hio;
  const recorder = job.record === null ? null : new hio.tcp.Recorder({ path: job.record, maxBytes: 256 << 20, files: 2 });
  const value = job.part === "hooks" ? await hooks(hio, recorder, job.count) : await inMemory(hio, job.record, job.count);
  console.log(JSON.stringify(value));
  process.exit(0);
}

const rounds = Number(values.rounds);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "hio-bench-recording-"));
const file = path.join(scratch, "session.log");
const pairs = 1_000_000;
const requests = Number(values.requests);
const hookRuns = new Map<string, number[]>();
const memoryRuns = new Map<string, number[]>();
const thisSrc = path.join(root, "src/index.ts");
const variants: Array<{ name: string; src: string; record: string | null }> = [
  ...(values.base === undefined ? [] : [{ name: "base (off)", src: path.resolve(values.base, "src/index.ts"), record: null }]),
  { name: "record off", src: thisSrc, record: null },
  { name: "record on", src: thisSrc, record: file },
];
for (const variant of variants) if (!fs.existsSync(variant.src)) throw new Error(`no ${variant.src}: --base takes a checkout's folder`);

function measure(job: Job): number {
  const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", JSON.stringify(job)],
    { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (child.status !== 0) throw new Error(`the ${job.part} measurement of ${job.src} failed (exit ${child.status})`);
  return Number(JSON.parse(child.stdout.trim().split("\n").pop()!));
}

for (let round = 1; round <= rounds; round++) {
  for (const { name, src, record } of variants) {
    hookRuns.set(name, [...(hookRuns.get(name) ?? []), measure({ part: "hooks", src, record, count: pairs })]);
    memoryRuns.set(name, [...(memoryRuns.get(name) ?? []), measure({ part: "memory", src, record, count: requests })]);
  }
  console.error(`round ${round} of ${rounds} done`);
}
const order = variants.map((variant) => variant.name);
console.log(`\nhooks: Link.receive + Link.send of a ${REQUEST.length}-byte request and a ${REPLY.length}-byte reply, ${pairs} pairs x ${rounds} rounds (medians), Node ${process.versions.node}\n`);
console.log("| variant | ns per pair | vs record off |");
console.log("| --- | ---: | ---: |");
const offHooks = median(hookRuns.get("record off")!);
for (const name of order) {
  const ns = median(hookRuns.get(name)!);
  console.log(`| ${name} | ${ns.toFixed(1)} | ${ns >= offHooks ? "+" : ""}${(ns - offHooks).toFixed(1)} ns |`);
}
console.log(`\nin memory: http.Server on a MemoryNetwork in simulated tyme, ${requests} pipelined GETs x ${rounds} rounds (medians)\n`);
console.log("| variant | requests/s | vs record off |");
console.log("| --- | ---: | ---: |");
const offMemory = median(memoryRuns.get("record off")!);
for (const name of order) {
  const rps = median(memoryRuns.get(name)!);
  console.log(`| ${name} | ${Math.round(rps)} | ${((100 * rps) / offMemory).toFixed(1)}% |`);
}
fs.rmSync(scratch, { recursive: true, force: true });
if (!values.wrk) process.exit(0);
if (!hasWrk()) {
  console.error("the wrk part needs wrk: apt-get install -y wrk");
  process.exit(1);
}

const seconds = Number(values.duration);
const connections = Number(values.connections);
const wrkScratch = fs.mkdtempSync(path.join(os.tmpdir(), "hio-bench-recording-"));

interface Variant {
  name: string;
  env: NodeJS.ProcessEnv;
  record: string | null;
}
const servers: Variant[] = [
  { name: "record off", env: {}, record: null },
  { name: "record on", env: {}, record: path.join(wrkScratch, "session.log") },
];
if (values.base !== undefined) {
  const src = path.resolve(values.base, "src/index.ts");
  if (!fs.existsSync(src)) throw new Error(`--base ${values.base}: no src/index.ts there`);
  servers.unshift({ name: "base (off)", env: { HIO_SRC: src }, record: null });
}

/** Starts the server, runs wrk once against it, stops it; the bytes it recorded per request. */
async function once(variant: Variant): Promise<{ load: LoadResult; bytesPerRequest: number | null }> {
  if (variant.record !== null) for (const file of fs.readdirSync(wrkScratch)) fs.rmSync(path.join(wrkScratch, file));
  const env = { ...process.env, ...variant.env, ...(variant.record === null ? {} : { RECORD: variant.record }) };
  const child = spawnPinned([process.execPath, "--import", "tsx", path.join(root, "bench/recording-server.ts")],
    { cpu: values["server-cpu"]!, cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const match = /^port (\d+)$/.exec(line);
      if (match !== null) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`the server exited with ${code} before listening`)));
  });
  try {
    await runLoad("wrk", { host: "127.0.0.1", port, connections, seconds: 1, paths: ["/"], serverPid: child.pid, cpu: values["loader-cpu"]!, node: process.execPath, root }); // warm-up
    const load = await runLoad("wrk", { host: "127.0.0.1", port, connections, seconds, paths: ["/"], serverPid: child.pid, cpu: values["loader-cpu"]!, node: process.execPath, root });
    await stop(child, "SIGTERM", 15_000);
    let bytesPerRequest: number | null = null;
    if (variant.record !== null) {
      const bytes = fs.readdirSync(wrkScratch).reduce((sum, file) => sum + fs.statSync(path.join(wrkScratch, file)).size, 0);
      bytesPerRequest = bytes / load.requests; // warm-up requests are in the file too: an upper bound
    }
    return { load, bytesPerRequest };
  } finally {
    await stop(child, "SIGKILL", 1000);
  }
}

const results = new Map<string, Array<{ load: LoadResult; bytesPerRequest: number | null }>>();
console.error("wrk:");
for (let round = 1; round <= rounds; round++) {
  for (const variant of servers) {
    const result = await once(variant);
    results.set(variant.name, [...(results.get(variant.name) ?? []), result]);
    console.error(`round ${round} ${variant.name}: ${Math.round(result.load.rps)} req/s`);
  }
}
fs.rmSync(wrkScratch, { recursive: true, force: true });

const first = servers[0]!.name;
const baseRps = median(results.get(first)!.map((r) => r.load.rps));
console.log(`\nhello, ${connections} keep-alive connections, wrk ${seconds} s x ${rounds} rounds (medians), Node ${process.versions.node}\n`);
console.log("| variant | req/s | vs " + first + " | p50 ms | p99 ms | server CPU µs/req | recorded bytes/req |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const variant of servers) {
  const runs = results.get(variant.name)!;
  const rps = median(runs.map((r) => r.load.rps));
  const p50 = median(runs.map((r) => r.load.p50 ?? NaN));
  const p99 = median(runs.map((r) => r.load.p99 ?? NaN));
  const cpu = median(runs.map((r) => (r.load.server ? r.load.server.userUs + r.load.server.systemUs : NaN)));
  const bytes = runs[0]!.bytesPerRequest === null ? "" : String(Math.round(median(runs.map((r) => r.bytesPerRequest!))));
  const ratio = `${((100 * rps) / baseRps).toFixed(1)}%`;
  console.log(`| ${variant.name} | ${Math.round(rps)} | ${ratio} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${cpu.toFixed(1)} | ${bytes} |`);
}
