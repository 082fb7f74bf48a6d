/**
 * hio's HTTP client and server in one Doist: a ServerDoer hosts a fetch app on a free port, a
 * ClientDoer talks to it over one kept-alive connection, and a third doer queues requests and
 * prints each response and server-sent event as it arrives. The Doist's limit ends the run.
 *
 *   npx tsx examples/client.ts
 */
import { Doist, doify, http } from "../src/index.ts";
import type { DoOptions, Dog, Tymth } from "../src/index.ts";

const encoder = new TextEncoder();

async function app(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/events") {
    let n = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 100)); // one event every 0.1 s
        n += 1;
        controller.enqueue(encoder.encode(`id: ${n}\nevent: tick\ndata: ${new Date().toISOString()}\n\n`));
        if (n === 3) controller.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream" } });
  }
  if (request.method === "POST") return Response.json({ echoed: await request.json() });
  return Response.json({ hello: url.searchParams.get("name") ?? "world" });
}

const doist = new Doist({ real: true, tock: 1 / 64, limit: 1.5 });
const server = http.openServer({ app, host: "127.0.0.1", port: 0, tymth: doist.tymen() });
const [host, port] = server.eha;
const client = new http.Client({ hostname: host, port });

/** Queues the requests, then prints what comes back, stamped with the tyme. */
function* converse(tymth: Tymth, { tock = 0 }: DoOptions = {}): Dog {
  client.request({ path: "/hello", qargs: { name: "hio" } });
  client.request({ method: "POST", path: "/echo", data: { answer: 42 } });
  client.request({ path: "/events" });
  client.request({ method: "HEAD", path: "/hello" });
  for (;;) {
    yield tock;
    const tyme = tymth().toFixed(3);
    for (let response = client.respond(); response !== null; response = client.respond()) {
      const { method, path } = response.request;
      const shown = response.data !== null ? JSON.stringify(response.data) : `${response.body.length} bytes`;
      console.log(`${tyme}  ${method} ${path} -> ${response.status} ${response.reason}  ${shown}`);
    }
    for (const event of client.events.splice(0)) {
      console.log(`${tyme}  event #${event.id} ${event.name}: ${event.data}`);
    }
  }
}

console.log(`serving on http://${host}:${port}/ for ${doist.limit} s of tyme`);
await doist.do({
  doers: [new http.ServerDoer({ server }), new http.ClientDoer({ client }), doify(converse)],
});
console.log(`done: ${client.connections} connection(s) opened by the client`);
