/**
 * The Steward as its machines drive it, seen through `server.inspect` in simulated tyme: every
 * error answer goes through the Responder, deadlines are guarded ticks, and a FIN after more
 * pipelined requests than one tick takes still gets them all answered.
 */
import { describe, expect, it } from "vitest";
import { http, tcp, testing } from "../../src/index.ts";

const GET = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
const TOCK = 1 / 16;

function serve(deadlines: Partial<http.Deadlines> = {}) {
  const network = new tcp.MemoryNetwork({ latency: 1 / 64, window: 1 << 16 });
  const server = http.openServer({
    app: () => new Response("ok"), network, host: "127.0.0.1", port: 80,
    deadlines: { headers: 1, request: 2, idle: 1, send: 1, linger: 0.5, ...deadlines },
  });
  const seen: http.Inspection[] = [];
  server.inspect((inspection) => seen.push(inspection));
  const steps = (machine: http.ConnectionMachine): string[] =>
    seen.filter((s) => s.machine === machine).map((s) => `${s.from} -${s.event}${s.facts.length > 0 ? ` [${s.facts.join(",")}]` : ""}-> ${s.to}`);
  return { network, server, doer: new http.ServerDoer({ server }), steps };
}

describe("Steward", () => {
  it("answers a malformed request through the Responder, then closes", async () => {
    const { network, doer, steps } = serve();
    const peer = new testing.Peer({ network, send: "GET / HTTP/1.1\r\nHost: a\r\nBad Field: x\r\n\r\n" });
    await testing.runUntil([doer, peer], { until: () => peer.closed, limit: 5, tock: TOCK });
    expect(peer.text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*connection: close\r\n/i);
    expect(steps("responder")).toEqual([
      "idle -request.dispatched-> pending",
      "pending -app.settled-> settled",
      "settled -reply.written-> ended",
    ]);
    expect(steps("steward").slice(0, 3)).toEqual([
      "waiting -request.begun-> receiving.plain",
      "receiving.plain -request.failed-> refusing",
      "refusing -answered-> closing",
    ]);
  });

  it("answers 408 at the headers deadline through the Responder: a tick whose facts say expired", async () => {
    const { network, doer, steps } = serve({ headers: 0.5, idle: 5 });
    const peer = new testing.Peer({ network, send: "GET / HTTP/1.1\r\n" });
    await testing.runUntil([doer, peer], { until: () => peer.closed, limit: 5, tock: TOCK });
    expect(peer.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[^]*connection: close\r\n/i);
    expect(steps("steward")).toEqual([
      "waiting -request.begun-> receiving.plain",
      "receiving.plain -tick [starved,expired]-> refusing",
      "refusing -answered-> closing",
      "closing -tick [starved]-> lingering", // the 408 has left: our FIN
      "lingering -cutoff-> closed", // the peer closed, and the run's end closed the server
    ]);
    expect(steps("responder")).toEqual(["idle -request.dispatched-> pending", "pending -app.settled-> settled", "settled -reply.written-> ended"]);
  });

  it("answers every pipelined request before a FIN that came with them, more than one tick takes", async () => {
    const { network, doer, steps } = serve();
    const count = http.Steward.Rounds + 4;
    const peer = new testing.Peer({ network, send: GET.repeat(count), fin: true });
    await testing.runUntil([doer, peer], { until: () => peer.closed, limit: 5, tock: TOCK });
    expect(peer.text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(count);
    const steward = steps("steward");
    expect(steward.filter((s) => s.includes("-answered [persists]-> waiting"))).toHaveLength(count);
    // The FIN was seen while Rounds requests were answered and more were in hand: not starved, so
    // the connection waited; it closed only once every one was answered and everything had left.
    expect(steward.slice(-2)).toEqual(["waiting -tick [starved,peerEnded,sending]-> closing", "closing -tick [starved,peerEnded]-> closed"]);
  });

  it("closes a connection that says nothing at the idle deadline: a tick, no transition before it", async () => {
    const { network, doer, steps } = serve({ idle: 0.5 });
    const peer = new testing.Peer({ network });
    await testing.runUntil([doer, peer], { until: () => peer.closed, limit: 5, tock: TOCK });
    expect(peer.text).toBe("");
    expect(steps("steward")).toEqual(["waiting -tick [starved,expired]-> closed"]);
  });
});
