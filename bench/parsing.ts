/**
 * Micro benchmark of the Requestant: nanoseconds per parsed request, the way a server uses it
 * (one Requestant over one receive buffer, reinit between requests), for a typical GET and a
 * chunked POST, arriving whole and in three pieces; plus the cost of the state stepping alone.
 *
 *   npx tsx bench/parsing.ts
 */
import { ByteBuffer } from "../src/base/buffering.ts";
import { Stepper } from "../src/base/machining.ts";
import { Requestant, requestantTable } from "../src/http/server/requestant.ts";

const get = Buffer.from(
  "GET /api/items?page=2&sort=name HTTP/1.1\r\n" +
    "Host: localhost:8080\r\n" +
    "User-Agent: bench/1.0 (hio-ts)\r\n" +
    "Accept: application/json\r\n" +
    "Accept-Encoding: gzip, deflate\r\n" +
    "Connection: keep-alive\r\n" +
    "Cookie: session=abc123\r\n" +
    "\r\n",
  "latin1",
);

const post = Buffer.from(
  "POST /upload HTTP/1.1\r\n" +
    "Host: localhost:8080\r\n" +
    "Content-Type: application/json\r\n" +
    "Transfer-Encoding: chunked\r\n" +
    "\r\n" +
    "10\r\n{\"name\":\"alpha\",\r\n" +
    "12;ext=1\r\n\"items\":[1,2,3,4]}\r\n" +
    "0\r\n\r\n",
  "latin1",
);

function pieces(bytes: Buffer, n: number): Buffer[] {
  const size = Math.ceil(bytes.length / n);
  return Array.from({ length: n }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
}

/** Median ns per request over `rounds` timed runs of `count` requests each. */
function measure(parts: Buffer[], count: number, rounds = 7): number {
  const msg = new ByteBuffer(8192);
  const requestant = new Requestant({ msg });
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      for (const part of parts) {
        msg.push(part);
        requestant.parse();
      }
      if (!requestant.ended) throw new Error(`not parsed: ${requestant.error?.detail ?? requestant.stepper.value}`);
      requestant.reinit();
    }
  };
  run(count); // warm up
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    run(count);
    samples.push(Number(process.hrtime.bigint() - start) / count);
  }
  return samples.sort((a, b) => a - b)[rounds >> 1] as number;
}

/** Median ns for the table steps a chunked request takes (2 chunks), without any bytes. */
function measureSteps(count: number, rounds = 7): { ns: number; steps: number } {
  const events = ["line.parsed", "head.parsed.chunked", "chunk.sized", "chunk.parsed", "chunk.sized", "chunk.parsed",
    "chunk.last", "trailers.parsed", "reset"].map((type) => requestantTable.eventIndex(type));
  const stepper = new Stepper(requestantTable);
  let sink = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      for (const e of events) stepper.step(e);
      sink += stepper.state;
    }
  };
  run(count);
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    run(count);
    samples.push(Number(process.hrtime.bigint() - start) / count);
  }
  if (sink < 0) console.log(sink);
  return { ns: samples.sort((a, b) => a - b)[rounds >> 1] as number, steps: events.length };
}

const N = 200_000;
const rows: Array<[string, number, number]> = [
  ["GET, 7 fields, whole", get.length, measure([get], N)],
  ["GET, 7 fields, 3 pieces", get.length, measure(pieces(get, 3), N)],
  ["chunked POST, 2 chunks, whole", post.length, measure([post], N)],
  ["chunked POST, 2 chunks, 3 pieces", post.length, measure(pieces(post, 3), N)],
];
const steps = measureSteps(N * 5);

console.log(`Requestant parse, node ${process.version}, median of 7 runs of ${N} requests\n`);
console.log("| request | bytes | ns / request | MB/s |");
console.log("| --- | ---: | ---: | ---: |");
for (const [name, bytes, ns] of rows) console.log(`| ${name} | ${bytes} | ${ns.toFixed(0)} | ${((bytes / ns) * 1e3).toFixed(0)} |`);
console.log(`| state stepping only (${steps.steps} table steps) | - | ${steps.ns.toFixed(1)} | - |`);
