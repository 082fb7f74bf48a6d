/**
 * The app the replay tests record and replay (and the CLI test loads by path): plain answers,
 * an async echo, a chunked upload, a server-sent event stream that ends, HEAD and 404. It reads
 * the tyme from `env.tyme`, never the wall clock, so a replay answers the same bytes.
 * `HIO_REPLAY_CHANGE=1` changes one answer (the body for /hello?n=4), for the tests that look
 * for the difference.
 */
import type { HttpEnv } from "../../src/index.ts";

export function makeApp({ changed = false } = {}): (request: Request, env: HttpEnv) => Promise<Response> | Response {
  return (request: Request, env: HttpEnv): Promise<Response> | Response => {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/hello": {
        const n = url.searchParams.get("n") ?? "?";
        const word = changed && n === "4" ? "HELLO" : "hello";
        return new Response(`${word} ${n} from ${env.remotePort} at ${env.tyme}`);
      }
      case "/echo":
        return (async () => {
          const body = await request.text();
          await Promise.resolve();
          return Response.json({ echo: body, length: body.length, tyme: env.tyme });
        })();
      case "/upload":
        return request.arrayBuffer().then((body) => {
          let sum = 0;
          for (const byte of new Uint8Array(body)) sum = (sum * 31 + byte) >>> 0;
          return new Response(`uploaded ${body.byteLength} bytes, sum ${sum}`);
        });
      case "/events": {
        let sent = 0;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            sent += 1;
            controller.enqueue(new TextEncoder().encode(`id: ${sent}\ndata: event ${sent} at ${env.tyme}\n\n`));
            if (sent === 4) controller.close();
          },
        });
        return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } });
      }
      default:
        return new Response(`no ${url.pathname}`, { status: 404 });
    }
  };
}

export default makeApp({ changed: process.env["HIO_REPLAY_CHANGE"] === "1" });
