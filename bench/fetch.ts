/**
 * What the fetch interface costs per request on this Node, object by object: the Response a
 * hello-world app makes, the Request a server hands it (undici's, and ours for a bodyless GET),
 * and their parts. These are the costs a fetch-app server pays that plain node:http does not,
 * to be read beside bench/http.ts (where node:http spends about 10 µs on a whole request).
 *
 * Each figure is the best of 30 rounds of 2,000 constructions after a warm-up; the event loop
 * turns between rounds, since undici's objects are finalized there (a tight loop of Responses
 * alone runs out of memory on Node 20).
 *
 *   npm run bench:fetch
 */
import { setImmediate as turn } from "node:timers/promises";
import { incomingRequest } from "../src/http/incoming.ts";

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
const rows: Array<[string, () => unknown]> = [
  ["new Response(text, { headers }) (the hello app's)", () => new Response("Hello World!", { headers: { "content-type": "text/plain" } })],
  ["new Response(text)", () => new Response("Hello World!")],
  ["new Response(null)", () => new Response(null)],
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
