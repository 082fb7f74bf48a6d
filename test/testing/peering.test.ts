/**
 * testing.Peer against an http.Server with short deadlines, over a MemoryNetwork in simulated
 * tyme: a client that writes a byte per tick, stops reading, half-closes early or resets.
 */
import { describe, expect, it } from "vitest";
import { Doer, http, tcp, testing } from "../../src/index.ts";

const GET = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"; // 27 bytes
const TOCK = 1 / 16;

/** A server with short deadlines on a fresh network (latency 1/64), and a peer's options. */
function serve(app: http.FetchApp = () => new Response("ok"), deadlines: Partial<http.Deadlines> = {}) {
  const network = new tcp.MemoryNetwork({ latency: 1 / 64, window: 1 << 16 });
  const errors: unknown[] = [];
  const server = http.openServer({
    app, network, host: "127.0.0.1", port: 80, onError: (error) => void errors.push(error),
    deadlines: { headers: 1, request: 2, idle: 1, send: 1, linger: 0.5, ...deadlines },
  });
  return { network, server, errors, doer: new http.ServerDoer({ server }) };
}

describe("testing.Peer", () => {
  it("writes a byte per tick: answered when its head beats the headers deadline", async () => {
    const { network, doer } = serve(undefined, { headers: 2 });
    const peer = new testing.Peer({ network, send: GET, pace: 1 });
    await testing.runUntil([doer, peer], { until: () => peer.closed, limit: 10, tock: TOCK });
    expect(peer.writes).toHaveLength(27);
    expect(peer.writes.every(({ bytes }) => bytes.length === 1)).toBe(true);
    expect(peer.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/);
    const [connected, sent, rx, cut] = peer.events;
    expect(connected).toEqual([TOCK, "connected"]);
    expect(sent).toEqual([TOCK * 27, "sent", 27]); // one byte per tick from the first
    expect(rx?.slice(1)).toEqual(["rx", peer.received.length]);
    expect(cut?.[1]).toBe("cut"); // then the idle deadline (1) resets it
    expect(cut![0] - rx![0]).toBeGreaterThanOrEqual(1);
    expect(cut![0] - rx![0]).toBeLessThan(1.25);
  });

  it("writes a byte per tick: 408 at the headers deadline when its head is too slow", async () => {
    const { network, doer } = serve(undefined, { headers: 1 });
    const peer = new testing.Peer({ network, send: GET, pace: 1 });
    await testing.runUntil([doer, peer], { until: () => peer.closed, limit: 10, tock: TOCK });
    expect(peer.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[^]*connection: close\r\n/i);
    const answered = peer.events.find(([, what]) => what === "rx")![0];
    expect(answered).toBeGreaterThanOrEqual(TOCK + 1); // the first byte left at 1/16
    expect(answered).toBeLessThan(TOCK + 1.25);
    expect(peer.written).toBeLessThan(27);
    expect(peer.events.at(-1)?.[1]).toBe("closed"); // a reply, then a FIN: no reset
  });

  it("writes a byte every 2 s (a tock of its own) into a 408, though a byte keeps arriving", async () => {
    const { network, doer } = serve(undefined, { headers: 5, idle: 10 }); // idle 1 would end it before a byte
    const peer = new testing.Peer({ network, send: GET, pace: 1, tock: 2 });
    await testing.runUntil([doer, peer], { until: () => peer.closed, limit: 30, tock: TOCK });
    expect(peer.text).toMatch(/^HTTP\/1\.1 408 /);
    // connected at 2 (its first run after the dial), a byte every 2 s from then; the 408 (sent a
    // little after 2 + 5) is read at its next run, 8, after that run's byte went out
    expect(peer.writes.map(({ tyme }) => tyme)).toEqual([2, 4, 6, 8]);
    expect(peer.events.find(([, what]) => what === "rx")![0]).toBe(8);
  });

  it("writes a script at its tymes, then half-closes once all of it is written", async () => {
    const { network, doer } = serve();
    const script: Array<[number, string]> = [[0.5, "Host: a\r\n"], [0, "GET / HTTP/1.1\r\n"], [0.75, "\r\n"]];
    const peer = new testing.Peer({ network, script, fin: true });
    await testing.runUntil([doer, peer], { until: () => peer.closed, limit: 5, tock: TOCK });
    expect(peer.writes.map(({ tyme, bytes }) => [tyme, bytes.length])).toEqual([[TOCK, 16], [0.5, 9], [0.75, 2]]);
    expect(peer.events.find(([, what]) => what === "half-closed")).toEqual([0.75, "half-closed", 27]);
    expect(peer.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it("stops reading after 100 bytes: dropped at the send deadline, its request's signal aborted", async () => {
    const aborted: number[] = [];
    const piece = new Uint8Array(65536);
    const { network, server, doer, errors } = serve((request) => {
      request.signal.addEventListener("abort", () => aborted.push(1));
      return new Response(new ReadableStream({ pull: (controller) => controller.enqueue(piece) }));
    });
    const peer = new testing.Peer({ network, send: GET, read: 100 });
    const run = await testing.runUntil([doer, peer], {
      until: () => peer.stalled && server.stewards.size === 0, limit: 10, tock: TOCK,
    });
    expect(run.met).toBe(true);
    expect(peer.received.length).toBe(100);
    const stalled = peer.events.find(([, what]) => what === "stalled")!;
    expect(stalled.slice(1)).toEqual(["stalled", 100]);
    expect(aborted).toEqual([1]);
    expect(errors).toEqual([]);
    // the window fills within a few ticks of the stall; the send deadline (1) runs from then
    expect(run.tyme - stalled[0]).toBeGreaterThanOrEqual(1);
    expect(run.tyme - stalled[0]).toBeLessThan(1.5);
  });

  it("half-closes after its whole request: still answered, then closed", async () => {
    const { network, doer } = serve();
    const peer = new testing.Peer({ network, send: GET, fin: true });
    await testing.runUntil([doer, peer], { until: () => peer.closed, limit: 5, tock: TOCK });
    expect(peer.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/);
    expect(peer.events.map(([, what, count]) => [what, count])).toEqual([
      ["connected", undefined], ["sent", 27], ["half-closed", 27], ["rx", peer.received.length], ["closed", undefined],
    ]);
  });

  it("half-closes inside its request line: closed without a reply", async () => {
    const { network, doer, errors } = serve();
    const peer = new testing.Peer({ network, send: GET, fin: 10 });
    await testing.runUntil([doer, peer], { until: () => peer.closed, limit: 5, tock: TOCK });
    expect(peer.text).toBe("");
    expect(peer.events.map(([, what, count]) => [what, count])).toEqual([
      ["connected", undefined], ["half-closed", 10], ["closed", undefined],
    ]);
    expect(errors).toEqual([]);
  });

  it("resets inside its request: the server forgets the connection, quietly", async () => {
    const { network, server, doer, errors } = serve();
    const peer = new testing.Peer({ network, send: GET, reset: 10 });
    const run = await testing.runUntil([doer, peer], {
      until: () => peer.closed && server.stewards.size === 0, limit: 5, tock: TOCK,
    });
    expect(run.met).toBe(true);
    expect(peer.events).toEqual([[TOCK, "connected"], [2 * TOCK, "reset", 10]]);
    expect(errors).toEqual([]);
  });

  it("resets while a response streams: the app's signal aborts", async () => {
    const aborted: number[] = [];
    const { network, server, doer } = serve((request) => {
      request.signal.addEventListener("abort", () => aborted.push(1));
      return new Response(new ReadableStream({ pull: (controller) => controller.enqueue(new Uint8Array(1024)) }));
    }, { send: 0 });
    const peer = new testing.Peer({ network, send: GET });
    const resetter = new (class extends Doer {
      override recur(): boolean {
        if (peer.received.length === 0) return false;
        peer.reset();
        return true;
      }
    })();
    const run = await testing.runUntil([doer, peer, resetter], {
      until: () => peer.closed && server.stewards.size === 0, limit: 5, tock: TOCK,
    });
    expect(run.met).toBe(true);
    expect(peer.events.at(-1)?.[1]).toBe("reset");
    expect(aborted).toEqual([1]);
  });

  it("is refused where nothing listens", async () => {
    const peer = new testing.Peer({ network: new tcp.MemoryNetwork({ latency: 1 / 64 }), send: GET });
    const run = await testing.runUntil([peer], { limit: 1, tock: TOCK });
    expect(run.done).toBe(true);
    expect(peer.events).toEqual([[TOCK, "refused"]]);
  });

  it("notes its events in a trace, rx with the text", async () => {
    const { network, doer } = serve();
    const trace = new testing.Trace();
    const peer = new testing.Peer({ network, send: GET, fin: true, trace, name: "p" });
    await testing.runUntil([doer, peer], { until: () => peer.closed, limit: 5, tock: TOCK, trace });
    expect(trace.entries.map(([, what]) => what)).toEqual(["p connected", "p sent", "p half-closed", "p rx", "p closed"]);
    const rx = trace.only("p rx")[0]!;
    expect(rx[3]).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*date: <date>\r\n[^]*ok$/);
  });
});
