// Typechecked (never run) in a scratch project with hio-ts installed from its packed tarball,
// under strict settings a careful consumer may use, with skipLibCheck off: the shipped
// declarations must hold up there. `@ts-expect-error` lines prove the types are not `any`.
import {
  ByteBuffer,
  DoDoer,
  Doer,
  Doist,
  MachineTable,
  ReDoer,
  Stepper,
  Tymer,
  Tymist,
  doify,
  doize,
  http,
  tcp,
  type Dog,
  type DoOptions,
  type DoerLike,
  type EnterOptions,
  type FetchApp,
  type Tymth,
} from "hio-ts";
import { Hict, StaticSink, type ClientResponse, type ServerOptions } from "hio-ts/http";
import { MemoryNetwork, type Address } from "hio-ts/tcp";
import { Peer, Trace, replay, request, runUntil, type ReplayReport, type TestResponse, type Wire } from "hio-ts/testing";

// Tyme and doers.
class Blinker extends Doer {
  blinks = 0;
  override enter(_options: EnterOptions = {}): void {
    this.blinks = 0;
  }
  override recur(tyme: number): boolean {
    this.blinks += 1;
    return tyme >= 1;
  }
}

class Pulse extends ReDoer {
  override *recur(tock: number): Dog {
    for (let beat = 0; beat < 3; beat++) yield tock;
    return true;
  }
}

function* counter(tymth: Tymth, { tock = 0, upto = 3 }: DoOptions & { upto?: number } = {}): Dog {
  let last = tymth();
  for (let n = 0; n < upto; n++) last = yield tock;
  return last >= 0;
}

const tymist = new Tymist({ tock: 0.125 });
const tymer = new Tymer({ tymth: tymist.tymen(), duration: 1 });
const counted = doify(counter, { name: "counted", tock: 0.25, upto: 2 });
const upto: number | undefined = counted.opts.upto;
// @ts-expect-error upto is a number
doify(counter, { upto: "two" });
const ized = doize({ tock: 0.5 })(function* ized(_tymth: Tymth, { tock = 0 }: DoOptions = {}): Dog {
  yield tock;
  return true;
});
const doers: DoerLike[] = [new Blinker({ tock: 0.25 }), new Pulse(), counted, ized];
const house = new DoDoer({ doers, tock: 0 });

// A fetch app with an HTTP error, static files mounted beside it.
const statics = new StaticSink({ root: ".", base: "/static" });
const api: FetchApp = async (request, env) => {
  const url = new URL(request.url);
  if (url.pathname === "/teapot") throw new http.HTTPError({ status: 418, detail: "short and stout" });
  return Response.json({ path: url.pathname, remote: env.remoteAddress, tyme: env.tyme });
};
const app: http.FetchApp = (request, env) =>
  new URL(request.url).pathname.startsWith("/static") ? statics.fetch(request) : api(request, env);
// @ts-expect-error status is required
new http.HTTPError({ reason: "no status" });

// Simulated network: server and client in tyme, no sockets.
const network = new MemoryNetwork({ latency: 1 / 16 });
const options: ServerOptions = { app, host: "127.0.0.1", port: 80, network };
const server: http.Server = new http.Server(options);
const client = new http.Client({ hostname: "127.0.0.1", port: 80, network });
client.request({ method: "POST", path: "/echo", data: { a: 1 }, headers: { accept: "application/json" } });
const echoAt: Address = ["127.0.0.1", 7];
const echo = new tcp.EchoServerDoer({ server: new tcp.Server({ ha: echoAt, network }) });

// Options forwarded as possibly undefined, as wrappers do.
function runFor(limit: number | undefined, tyme?: number): Promise<void> {
  const doist = new Doist({ tock: 1 / 64 });
  return doist.do({ doers: [house, new http.ServerDoer({ server }), new http.ClientDoer({ client }), echo], limit, tyme });
}
await runFor(1);

const response: ClientResponse | null = client.respond();
const status: number | undefined = response?.status;
const type: string | undefined = response?.headers.get("content-type");
const headers = new Hict([["Content-Type", "text/plain"]]);

// A real server on a free port; its bound address.
const real = http.openServer({ app, host: "127.0.0.1", port: 0 });
const port: number = real.eha[1];
real.close();

// Byte buffers and machine tables from the base layer.
const buffer = new ByteBuffer();
const table: MachineTable<(typeof http.requestantTable.events)[number]> = http.requestantTable;
const stepper = new Stepper(table);
stepper.send("line.parsed");
// @ts-expect-error not an event of the request machine
stepper.send("no.such.event");

// The testing kit: a request through the wire in simulated tyme, a misbehaving peer, a trace.
const tested: TestResponse = await request(app, "/static/x", { method: "POST", body: "hi", limit: 2, tock: 1 / 64 });
const wire: Wire = tested.wire;
// @ts-expect-error limit is a number of seconds
await request(app, "/", { limit: "2" });
const trace = new Trace();
const peer = new Peer({ network, send: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", pace: 1, trace });
const run = await runUntil([new http.ServerDoer({ server }), peer], { until: () => peer.closed, limit: 5, trace });
const digest: string = trace.digest();

// Recording a server's connections, and replaying the recording in simulated tyme.
const recorded = http.openServer({ app, host: "127.0.0.1", port: 0, record: { path: "consumer.log", maxBytes: 1 << 20, files: 2 } });
recorded.close();
const drained: Promise<void> | undefined = recorded.recorder?.close();
const report: ReplayReport = await replay({ log: "consumer.log", app, tock: 1 / 256 });
const where: number | undefined = report.difference?.offset;
// @ts-expect-error record needs a path
http.openServer({ app, record: { maxBytes: 10 } });

console.log(status, type, headers, port, upto, tymer.expired, buffer, stepper.value, wire.rx.length, run.tyme, digest, drained, where);
