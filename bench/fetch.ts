/**
 * What the fetch interface costs per request on this Node, object by object: the Response a
 * hello-world app makes, the Request a server hands it (undici's, and ours for a bodyless GET),
 * and their parts. These are the costs a fetch-app server pays that plain node:http does not,
 * to be read beside bench/http.ts (where node:http spends about 10 µs on a whole request). Then
 * what a Responder costs to turn each kind of answer into bytes in a send buffer: head and body,
 * for a native (undici) Response, an OutgoingResponse (`http.Response`, what the global Response
 * is while a server runs) and hio's CustomReply.
 *
 * Each figure is the best of 30 rounds of 2,000 constructions after a warm-up; the event loop
 * turns between rounds, since undici's objects are finalized there (a tight loop of Responses
 * alone runs out of memory on Node 20).
 *
 *   npm run bench:fetch
 */
import { setImmediate as turn } from "node:timers/promises";
import { ByteBuffer } from "../src/base/buffering.ts";
import { incomingRequest } from "../src/http/server/incoming.ts";
import { NativeResponse, OutgoingResponse, restoreResponse } from "../src/http/server/outgoing.ts";
import { CustomResponder } from "../src/http/server/replying.ts";
import { Responder } from "../src/http/server/responder.ts";
import type { Exchange } from "../src/http/server/responder.ts";

const URL_TEXT = "http://127.0.0.1:8080/";
const FIELDS: Array<[string, string]> = [["host", "127.0.0.1:8080"], ["connection", "keep-alive"], ["user-agent", "autocannon"]];
const keep: unknown[] = [];

async function measure(make: () => unknown, rounds = 30, per = 2000): Promise<number> {
  for (let i = 0; i < 5000; i++) keep[i & 15] = make();
  await turn();
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    for (let i = 0; i < per; i++) keep[i & 15] = make();
    best = Math.min(best, ((performance.now() - started) * 1e6) / per);
    await turn();
  }
  return best;
}

const never = (): AbortSignal => new AbortController().signal;
/** What most handlers read of a request: its URL, method and a field. */
const glance = (request: Request): Request => {
  if (request.url.length === 0 || request.method.length === 0 || request.headers.get("user-agent") === null) throw new Error("unread");
  return request;
};
const HEADERS = { "content-type": "text/plain" };
const DATA = { hello: "world", n: 1 };
const custom = new CustomResponder();
restoreResponse(); // the native rows are the runtime's own Response; the light ones are named
const rows: Array<[string, () => unknown]> = [
  ["new Response(text, { headers }) (the hello app's), native", () => new NativeResponse("Hello World!", { headers: HEADERS })],
  ["new Response(text, { headers }), OutgoingResponse", () => new OutgoingResponse("Hello World!", { headers: HEADERS })],
  ["new Response(text), native", () => new NativeResponse("Hello World!")],
  ["new Response(text), OutgoingResponse", () => new OutgoingResponse("Hello World!")],
  ["Response.json(data), native", () => NativeResponse.json(DATA)],
  ["Response.json(data), OutgoingResponse", () => OutgoingResponse.json(DATA)],
  ["new Response(null), native", () => new NativeResponse(null)],
  ["CustomResponder reply(text, { headers })", () => custom.reply({ body: "Hello World!", headers: HEADERS })],
  ["new ReadableStream() (inside every Response with a body)", () => new ReadableStream()],
  ["new Request(url, { method, headers })", () => new Request(URL_TEXT, { method: "GET", headers: FIELDS })],
  ["new Request(url)", () => new Request(URL_TEXT)],
  ["incomingRequest(...) (hio-ts, bodyless GET)", () => incomingRequest({ href: URL_TEXT, method: "GET", fields: FIELDS, signal: never, exchange: 1 })],
  ["new Request(url, { method, headers }), then url, method, a field read", () => glance(new Request(URL_TEXT, { method: "GET", headers: FIELDS }))],
  ["incomingRequest(...), then url, method, a field read", () => glance(incomingRequest({ href: URL_TEXT, method: "GET", fields: FIELDS, signal: never, exchange: 1 }))],
  ["new Headers(3 fields)", () => new Headers(FIELDS)],
  ["new URL(url)", () => new URL(URL_TEXT)],
];

console.log(`Node ${process.version}, undici ${process.versions.undici ?? "?"}`);
console.log("| object | ns each |");
console.log("|---|--:|");
for (const [name, make] of rows) console.log(`| ${name} | ${Math.round(await measure(make))} |`);

/**
 * One answer through a Responder: start, service until the reply is whole in the send buffer,
 * then reset. A body read through its stream (a native Response where undici keeps its source
 * private, as on Node 22+) settles in microtasks, so it goes out a tick later: those ticks (the
 * microtasks run, then one more service) are counted, and their time with them.
 */
const EXCHANGE: Exchange = { method: "GET", chunkable: true, persisted: true };
const txbs = new ByteBuffer();
const responder = new Responder({ txbs });
restoreResponse(); // made by the Responder above: the rows name their class
let streamed = 0;
async function answer(make: () => unknown, rounds = 30, per = 2000): Promise<number> {
  const once = async (): Promise<void> => {
    responder.start(make(), EXCHANGE);
    responder.service();
    while (!responder.ended) {
      // The next tick: the microtasks a server's tick leaves behind have all run by then.
      streamed += 1;
      for (let turns = 0; turns < 8; turns++) await null;
      responder.service();
    }
    if (responder.status !== 200) throw new Error(`answered ${responder.status}, not 200`);
    responder.reset();
    txbs.clear();
  };
  for (let i = 0; i < 2000; i++) await once();
  await turn();
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    for (let i = 0; i < per; i++) await once();
    best = Math.min(best, ((performance.now() - started) * 1e6) / per);
    await turn();
  }
  return best;
}

const nativeHello = new NativeResponse("Hello World!", { headers: HEADERS });
const lightHello = new OutgoingResponse("Hello World!", { headers: HEADERS });
const reply = custom.reply({ body: "Hello World!", headers: HEADERS });
const answers: Array<[string, () => unknown]> = [
  ["native Response made per answer", () => new NativeResponse("Hello World!", { headers: HEADERS })],
  ["OutgoingResponse made per answer", () => new OutgoingResponse("Hello World!", { headers: HEADERS })],
  ["Response.json(data) per answer, native", () => NativeResponse.json(DATA)],
  ["Response.json(data) per answer, OutgoingResponse", () => OutgoingResponse.json(DATA)],
  ["CustomReply made per answer", () => custom.reply({ body: "Hello World!", headers: HEADERS })],
  ["one native Response, answered again and again", () => nativeHello],
  ["one OutgoingResponse, answered again and again", () => lightHello],
  ["one CustomReply, answered again and again", () => reply],
];
console.log("");
console.log("| answer through a Responder (head and body into the send buffer) | ns each | ticks later |");
console.log("|---|--:|--:|");
for (const [name, make] of answers) {
  streamed = 0;
  const ns = await answer(make);
  console.log(`| ${name} | ${Math.round(ns)} | ${(streamed / (2000 + 30 * 2000)).toFixed(1)} |`);
}
