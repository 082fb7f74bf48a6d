/**
 * One program in simulated tyme, for the determinism test: a doer tree, an http.Server and two
 * clients on a MemoryNetwork (the http.Client: JSON, a chunked upload, a streamed reply, an event
 * stream, a promised reply; a Peer writing 16 bytes a tick), then testing.request() on an event
 * stream. Everything goes into one tyme-stamped Trace. Run as a script, it prints the trace's
 * digest: `node --import tsx test/testing/program.ts`.
 */
import { pathToFileURL } from "node:url";
import { DoDoer, Doer, doify, http, tcp, testing } from "../../src/index.ts";
import type { Dog, HttpEnv, Tymth } from "../../src/index.ts";

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Feeds a stream the app handed it: one part per run, then closes it. */
class Feeder extends Doer {
  controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  made = 0;
  constructor(readonly name: string, readonly parts: (tyme: number, n: number) => string | null, readonly trace: testing.Trace, tock: number) {
    super({ tock });
  }
  override recur(tyme: number): boolean {
    if (this.controller === null) return false;
    const part = this.parts(tyme, this.made + 1);
    if (part === null) {
      this.controller.close();
      this.controller = null;
      this.trace.at(tyme, `${this.name} closes`);
      return false;
    }
    this.made += 1;
    this.controller.enqueue(encode(part));
    this.trace.at(tyme, `${this.name} makes`, this.made);
    return false;
  }
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({ start: (controller) => void (this.controller = controller) });
  }
}

function* counter(tymth: Tymth, { tock = 0, label = "", trace }: { tock?: number; label?: string; trace?: testing.Trace } = {}): Dog {
  yield tock;
  for (let n = 1; n <= 3; n++) {
    trace?.at(tymth(), `tree ${label}`, n);
    yield tock;
  }
  return true;
}

export async function program(): Promise<testing.Trace> {
  const trace = new testing.Trace();
  const stream = new Feeder("stream", (tyme, n) => (n <= 3 ? `part ${n} at ${tyme};` : null), trace, 1 / 8);
  const events = new Feeder("events", (tyme, n) => (n <= 3 ? `id: ${n}\ndata: event ${n} at ${tyme}\n\n` : null), trace, 1 / 16);
  const later: Array<(response: Response) => void> = [];
  const app = async (request: Request, env: HttpEnv): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const body = request.method === "POST" ? await request.text() : "";
    trace.at(env.tyme ?? -1, "app", `${request.method} ${path} from ${env.remotePort}`, body);
    if (path === "/json") return Response.json({ tyme: env.tyme, port: env.remotePort });
    if (path === "/upload") return new Response(`took ${body.length} bytes`);
    if (path === "/stream") return new Response(stream.stream());
    if (path === "/events") return new Response(events.stream(), { headers: { "content-type": "text/event-stream" } });
    if (path === "/later") return new Promise<Response>((resolve) => void later.push(resolve));
    return new Response("not here", { status: 404 });
  };
  const resolver = new (class extends Doer {
    override recur(tyme: number): boolean {
      if (tyme < 1.5 || later.length === 0) return false;
      trace.at(tyme, "resolver answers");
      later.shift()!(new Response(`answered at ${tyme}`));
      return true;
    }
  })({ tock: 1 / 4 });

  const network = new tcp.MemoryNetwork({ latency: 1 / 32, chunk: 512, gap: 1 / 128 });
  const server = new http.Server({ app, network, host: "127.0.0.1", port: 80, onError: (error) => trace.note("server error", String(error)) });
  const client = new http.Client({ network, port: 80, wl: trace.wireLog("client") });
  client.request({ path: "/json" });
  client.request({ method: "POST", path: "/upload", body: ["chunk one,", "chunk two,", "chunk three"] });
  client.request({ path: "/stream" });
  client.request({ path: "/events" });
  client.request({ path: "/later" });
  let seenEvents = 0;
  let answered = 0;
  const watcher = new (class extends Doer {
    override recur(tyme: number): boolean {
      for (; seenEvents < client.events.length; seenEvents++) {
        const { id, data } = client.events[seenEvents]!;
        trace.at(tyme, "client event", id, data);
      }
      for (let response = client.respond(); response !== null; response = client.respond()) {
        trace.at(tyme, "client response", response.request.path, response.status, Buffer.from(response.body).toString("utf8"));
        answered += 1;
      }
      return false;
    }
  })();
  const peer = new testing.Peer({ network, send: "GET /json HTTP/1.1\r\nHost: peer\r\n\r\n", pace: 16, fin: true, trace, name: "peer" });
  const tree = new DoDoer({
    doers: [doify(counter, { tock: 1 / 4, label: "a", trace }), doify(counter, { tock: 1 / 8, label: "b", trace })],
  });
  const run = await testing.runUntil(
    [new http.ServerDoer({ server }), new http.ClientDoer({ client }), watcher, peer, stream, events, resolver, tree],
    { until: () => answered === 5 && peer.closed, limit: 5, tock: 1 / 64, trace },
  );
  trace.at(run.tyme, "run", run.ticks, run.met);

  // The kit's own request(): an event stream read to the limit, its events noted as they are made.
  const more = new Feeder("more", (tyme, n) => `data: more ${n} at ${tyme}\n\n`, trace, 1 / 4);
  const response = await testing.request(
    () => new Response(more.stream(), { headers: { "content-type": "text/event-stream" } }),
    "/more",
    { doers: [more], limit: 1, tock: 1 / 32, network: { latency: 1 / 64 }, trace },
  );
  trace.at(response.wire.tyme, "request", response.status, await response.text(), response.wire.complete);
  return trace;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log((await program()).digest());
}
