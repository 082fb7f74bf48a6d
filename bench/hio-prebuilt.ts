/**
 * The hio-ts engine alone, for bench/http.ts: examples/hello.ts, except that the app returns one
 * Response made at start instead of a new one per request. Every request is still parsed,
 * handed to the app as a Request and answered with the same bytes; what is left out is the
 * app's own `new Response()`, which on Node 20 builds a web ReadableStream for its body. Not a
 * pattern for apps (a Response's body is meant to be read once; this server takes a body given
 * whole from its source without reading the stream, which is what makes the reuse work here).
 *
 *   PORT=8080 TOCK=1/8192 npx tsx bench/hio-prebuilt.ts
 */
import { Doist, http } from "../src/index.ts";

const hello = new Response("Hello World!", { headers: { "content-type": "text/plain" } });

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? "127.0.0.1";
const server = http.openServer({ app: () => hello, host, port });
const doist = new Doist({ real: true, tock: Number(process.env.TOCK ?? 1 / 1024), doers: [new http.ServerDoer({ server })] });
console.log(`hio-ts prebuilt-Response hello on http://${server.eha[0]}:${server.eha[1]}/`);
await doist.do();
