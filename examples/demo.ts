/**
 * The demo behind `npm start`: static files through StaticSink, a JSON echo, and a stream of
 * tyme as Server-Sent Events, all from one real-time Doist that runs a ServerDoer beside a
 * clock doer.
 *
 *   npm start                 # http://127.0.0.1:8080/
 *   PORT=0 npm start          # PORT=0 picks a free port
 */
import { fileURLToPath } from "node:url";
import { Doer, Doist, http } from "../src/index.ts";
import { portFromEnv } from "./env.ts";

/** A doer that wakes listeners every quarter second of tyme: how doers feed an app. */
class Clock extends Doer {
  readonly listeners = new Set<(tyme: number) => void>();

  override recur(tyme: number): boolean {
    for (const listener of this.listeners) listener(tyme);
    return false;
  }
}

const clock = new Clock({ tock: 0.25 });
const sink = new http.StaticSink({ root: fileURLToPath(new URL("./public/", import.meta.url)) });
const encoder = new TextEncoder();

async function app(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === "/") return Response.redirect(new URL("/static/", request.url), 302);
  if (pathname.startsWith("/static")) return sink.fetch(request);
  if (pathname === "/echo") {
    const body = await request.text();
    return Response.json({ method: request.method, url: request.url, headers: [...request.headers], body });
  }
  if (pathname === "/tyme") {
    let listener: ((tyme: number) => void) | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        listener = (tyme) => controller.enqueue(encoder.encode(`data: ${JSON.stringify({ tyme })}\n\n`));
        clock.listeners.add(listener);
      },
      cancel() {
        if (listener) clock.listeners.delete(listener);
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } });
  }
  return new Response("Not Found\n", { status: 404 });
}

const port = portFromEnv(8080);
const server = http.openServer({ app, host: process.env.HOST ?? "127.0.0.1", port });
const [host, bound] = server.eha;
console.log(`hio-ts demo on http://${host}:${bound}/  (Ctrl-C or SIGTERM stops it)`);
const limit = process.env.LIMIT === undefined ? null : Number(process.env.LIMIT);
const doist = new Doist({ real: true, tock: 1 / 1024, limit, doers: [new http.ServerDoer({ server }), clock] });
await doist.do();
console.log(`demo stopped at tyme ${doist.tyme}`);
