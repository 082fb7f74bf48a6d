/**
 * Upload benchmark: one http.Server (a real-time Doist, as a user runs it) takes uploads from a
 * client in a child process (bench/upload-client.mjs) and its app counts each body as it reads
 * it (or writes it to a file with --file). Reported: time, throughput, this process's RSS before
 * and at its peak (sampled every 50 ms), and the most bytes one connection held in the server
 * (rxbs, its socket's unread queue, the body feed's unread), sampled every tick.
 *
 *   npm run bench:uploads                                   # one 1 GiB upload, streamed
 *   npm run bench:uploads -- --uploads 40 --size 16         # 40 uploads of 16 MiB at once
 *   npm run bench:uploads -- --uploads 40 --size 16 --buffered   # the same, bodies buffered whole
 *   npm run bench:uploads -- --file                         # the app writes the body to a temp file
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Doer, Doist, http } from "../src/index.ts";

const { values: flags } = parseArgs({
  options: {
    uploads: { type: "string", default: "1" },
    size: { type: "string", default: "1024" }, // MiB per upload
    buffered: { type: "boolean", default: false },
    file: { type: "boolean", default: false },
  },
});
const MiB = 1 << 20;
const uploads = Number(flags.uploads);
const size = Number(flags.size) * MiB;
const dir = flags.file ? mkdtempSync(join(tmpdir(), "hio-bench-")) : null;

async function sizeOf(stream: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stream.getReader();
  let total = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) total += read.value.length;
  return total;
}

let files = 0;
const app = async (request: Request): Promise<Response> => {
  if (dir === null) return new Response(String(await sizeOf(request.body!)));
  const file = join(dir, `upload-${files++}`);
  await pipeline(Readable.fromWeb(request.body as NodeReadableStream<Uint8Array>), createWriteStream(file));
  rmSync(file);
  return new Response("written");
};

const server = http.openServer({ app, host: "127.0.0.1", port: 0, stream: !flags.buffered, limits: { maxBody: Math.max(size, 16 * MiB) } });
let most = 0; // most bytes one connection held
const watcher = new (class extends Doer {
  override recur(): boolean {
    for (const steward of server.stewards.values()) {
      const conduit = (steward.remoter as unknown as { conduit: { unread: number } | null }).conduit;
      most = Math.max(most, steward.remoter.rxbs.length + (conduit?.unread ?? 0) + (steward.requestant.feed?.unread ?? 0));
    }
    return false;
  }
})();
global.gc?.();
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);

const client = spawn(process.execPath, [fileURLToPath(new URL("upload-client.mjs", import.meta.url)), String(server.ha[1]), String(uploads), String(size)], { stdio: ["ignore", "pipe", "inherit"] });
let out = "";
client.stdout.on("data", (data: Buffer) => (out += data.toString()));
const finished = new Promise<void>((resolve) => client.on("exit", () => resolve()));
const doers = [new http.ServerDoer({ server }), watcher];
const doist = new Doist({ real: true, tock: 1 / 1024, signals: [], doers });
const running = doist.do();
await finished;
doist.remove(doers); // exits them (the server closes); do() then ends
await running;
clearInterval(sampler);
if (dir !== null) rmSync(dir, { recursive: true, force: true });
const result = JSON.parse(out) as { ms: number; replies: Array<{ status: number; body: string }> };
const ok = result.replies.every((reply) => reply.status === 200);
console.log(JSON.stringify({
  mode: flags.buffered ? "buffered" : "streamed",
  uploads,
  sizeMiB: size / MiB,
  ok,
  seconds: +(result.ms / 1000).toFixed(2),
  MiBps: Math.round((uploads * size) / MiB / (result.ms / 1000)),
  rssBeforeMiB: Math.round(rssBefore / MiB),
  rssPeakMiB: Math.round(rssPeak / MiB),
  mostHeldPerConnectionMiB: +(most / MiB).toFixed(2),
}));
process.exit(ok ? 0 : 1);
