/**
 * Deadlines, in tyme: each part of a connection's life has one (headers, request, idle, send,
 * linger). In simulated tyme over the in-memory network each is exact and the same on every run;
 * over real sockets the same rules hold (tyme there is stepped by the test).
 */
import net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { Doer, http, tcp, testing } from "../../src/index.ts";
import { drive, rawRequest } from "../helpers.ts";
import { closeServed, serveApp } from "./clients.ts";

/**
 * Runs a server and one testing.Peer writing `script` in simulated tyme (tock 1/16, latency 1/64)
 * until the server has forgotten the connection and the peer has seen the close (or stopped
 * reading once `read` bytes came); `forgot` is the tyme of that tick.
 */
async function run(
  script: Array<[number, string]>,
  options: Partial<http.ServerOptions>,
  app: http.FetchApp = () => new Response("ok"),
  { read = Infinity, limit = 200 } = {},
): Promise<{ peer: testing.Peer; server: http.BareServer; forgot: number | null }> {
  const network = new tcp.MemoryNetwork({ latency: 1 / 64, window: 1 << 16 });
  const server = http.openServer({ app, network, host: "127.0.0.1", port: 80, onError: () => {}, ...options });
  const peer = new testing.Peer({ network, script, read });
  const forgotten = (): boolean => server.stewards.size === 0 && (peer.received.length > 0 || peer.closed);
  const run = await testing.runUntil([new http.ServerDoer({ server }), peer], {
    until: () => forgotten() && (peer.closed || peer.stalled), limit, tock: 1 / 16,
  });
  return { peer, server, forgot: run.met ? run.tyme : null };
}

/** Tymes of a peer's first arrival and of the close it saw. */
const answeredAndClosed = (peer: testing.Peer): [number | undefined, number | undefined] =>
  [peer.events.find(([, what]) => what === "rx")?.[0], peer.closedAt ?? undefined];

describe("deadlines in simulated tyme", () => {
  it("answers slowloris with 408 at the headers deadline, though a byte arrives every 2 s", async () => {
    const drip: Array<[number, string]> = [[0, "GET / HTTP/1.1\r\nHost: a\r\nX: "]];
    for (let at = 2; at < 100; at += 2) drip.push([at, "a"]);
    const { peer } = await run(drip, { deadlines: { headers: 10 } });
    expect(peer.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[^]*connection: close\r\n/i);
    const [answered, closed] = answeredAndClosed(peer);
    expect(answered).toBeGreaterThanOrEqual(10);
    expect(answered).toBeLessThan(10.5); // its first byte went out at 0 and arrived a hop later
    expect(closed).toBeLessThan(13); // drained, FIN, then the peer closes its end
  });

  it("answers a body trickled too slowly with 408 at the request deadline", async () => {
    const drip: Array<[number, string]> = [[0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"]];
    for (let at = 1; at < 100; at += 1) drip.push([at, "x"]);
    const { peer } = await run(drip, { deadlines: { headers: 10, request: 20 } });
    expect(peer.text).toMatch(/^HTTP\/1\.1 408 /);
    const [answered] = answeredAndClosed(peer);
    expect(answered).toBeGreaterThanOrEqual(20);
    expect(answered).toBeLessThan(20.5);
  });

  it("answers a streamed body trickled too slowly with 408 at the request deadline, failing the app's read", async () => {
    const drip: Array<[number, string]> = [[0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"]];
    for (let at = 1; at < 100; at += 1) drip.push([at, "x"]);
    const failures: unknown[] = [];
    const app = async (request: Request): Promise<Response> => {
      try {
        return new Response(await request.text());
      } catch (error) {
        failures.push(error);
        throw error;
      }
    };
    const { peer } = await run(drip, { deadlines: { headers: 10, request: 20 }, stream: true }, app);
    expect(peer.text).toMatch(/^HTTP\/1\.1 408 [^]*connection: close\r\n/i);
    const [answered] = answeredAndClosed(peer);
    expect(answered).toBeGreaterThanOrEqual(20);
    expect(answered).toBeLessThan(20.5);
    expect(failures).toEqual([expect.objectContaining({ status: 408 })]);
  });

  it("ends a streamed request whose app never reads nor answers at the request deadline", async () => {
    const script: Array<[number, string]> = [[0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345"]];
    const { peer, forgot } = await run(script, { deadlines: { request: 20 }, stream: true }, () => new Promise<Response>(() => {}));
    expect(peer.text).toMatch(/^HTTP\/1\.1 408 [^]*connection: close\r\n/i);
    expect([...answeredAndClosed(peer), forgot]).toEqual([20.1875, 20.25, 20.3125]);
  });

  it("closes at the request deadline a streamed request whose answer began but whose body never came", async () => {
    const script: Array<[number, string]> = [[0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345"]];
    const app = (): Response => new Response(new ReadableStream({ start: (controller) => controller.enqueue(new TextEncoder().encode("partial")) }));
    const { peer, forgot } = await run(script, { deadlines: { request: 20 }, stream: true }, app);
    expect(peer.text).toMatch(/^HTTP\/1\.1 200 /);
    expect([...answeredAndClosed(peer), forgot]).toEqual([0.25, 20.1875, 20.1875]);
  });

  it("closes a connection that says nothing at the idle deadline, without a reply", async () => {
    const { peer } = await run([], { deadlines: { idle: 5 } });
    expect(peer.text).toBe("");
    expect(peer.events.map(([, what]) => what).filter((what) => what !== "connected")).toHaveLength(1); // its close
    expect(peer.closedAt).toBeGreaterThanOrEqual(5);
    expect(peer.closedAt).toBeLessThan(5.5);
  });

  it("keeps a slow but steady reader and the idle deadline apart: tymeout is idle's old name", async () => {
    const server = http.openServer({ app: () => new Response("ok"), tymeout: 3, deadlines: { send: 7 }, network: new tcp.MemoryNetwork() });
    expect([server.deadlines.idle, server.deadlines.send, server.deadlines.headers]).toEqual([3, 7, 60]);
    server.close();
  });

  it("drops a reader that stopped reading at the send deadline and aborts its request's signal", async () => {
    const aborted: number[] = [];
    const big = new Uint8Array(4 << 20);
    const app = (request: Request): Response => {
      request.signal.addEventListener("abort", () => aborted.push(1));
      return new Response(new ReadableStream({ pull: (c) => c.enqueue(big.subarray(0, 65536)) }));
    };
    // stops reading once its reply began
    const { server, forgot } = await run([[0, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n"]], { deadlines: { idle: 2, send: 8 } }, app, { read: 1, limit: 30 });
    expect(server.stewards.size).toBe(0);
    expect(aborted).toEqual([1]);
    expect(forgot).not.toBeNull(); // the server forgot it
    expect(forgot).toBeGreaterThanOrEqual(8); // not the idle deadline of 2
    expect(forgot).toBeLessThan(9);
  });

  it("times the send deadline from when output begins to wait, not from before a long app", async () => {
    let answer: ((response: Response) => void) | null = null;
    const app = (request: Request): Response | Promise<Response> =>
      new URL(request.url).pathname === "/slow" ? new Promise((resolve) => void (answer = resolve)) : new Response("quick");
    const answerer = new (class extends Doer {
      override recur(tyme: number): boolean {
        if (tyme >= 100 && answer !== null) answer(new Response("slow"));
        return tyme >= 100;
      }
    })();
    const network = new tcp.MemoryNetwork({ latency: 1 / 64 });
    const server = http.openServer({ app, network, host: "127.0.0.1", port: 80, deadlines: { send: 10 } });
    const peer = new testing.Peer({ network, send: "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\n" });
    await testing.runUntil([new http.ServerDoer({ server }), peer, answerer], { limit: 102, tock: 1 / 16 });
    expect(peer.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nslowHTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nquick$/);
  });

  it("lingers after its FIN until the linger deadline for a peer that never closes", async () => {
    const network = new tcp.MemoryNetwork({ latency: 1 / 64 });
    const server = http.openServer({ app: () => new Response("bye"), network, host: "127.0.0.1", port: 80, deadlines: { linger: 3 } });
    // The peer reads our reply and FIN but never closes its own end: only the linger ends it.
    const peer = new (class extends testing.Peer {
      override exit(): void {}
    })({ network, send: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" });
    const run = await testing.runUntil([new http.ServerDoer({ server }), peer], {
      until: () => server.stewards.size === 0 && peer.received.length > 0, limit: 10, tock: 1 / 16,
    });
    peer.client.close();
    expect(peer.text).toMatch(/^HTTP\/1\.1 200 [^]*bye$/);
    expect(run.met).toBe(true);
    expect(run.tyme).toBeGreaterThanOrEqual(3);
    expect(run.tyme).toBeLessThan(4);
  });
});

describe("deadline options", () => {
  const make = (deadlines: unknown, tymeout?: unknown) => () =>
    http.openServer({ app: () => new Response(""), network: new tcp.MemoryNetwork(), deadlines: deadlines as never, tymeout: tymeout as never });

  it("refuses a bad value at construction, naming the deadline and the value", () => {
    expect(make({ headers: -1 })).toThrow(RangeError);
    expect(make({ headers: -1 })).toThrow(/deadlines\.headers must be a number of seconds at least 0[^]*not -1/);
    expect(make({ send: Number.NaN })).toThrow(/deadlines\.send [^]*not NaN/);
    expect(make({ idle: "5" })).toThrow(TypeError);
    expect(make({ idel: 5 })).toThrow(/deadlines has no "idel": use headers, request, idle, send, linger/);
    expect(make(5)).toThrow(/deadlines must be an object/);
    expect(make(undefined, -2)).toThrow(/tymeout must be/);
  });

  it("takes 0 and Infinity as none", () => {
    const server = make({ headers: 0, send: Infinity })() as http.BareServer;
    expect([server.deadlines.headers, server.deadlines.send]).toEqual([0, Infinity]);
    server.close();
  });
});

describe("deadlines over real sockets", () => {
  afterAll(closeServed);

  it("answers slowloris with 408 and closes, while a byte keeps arriving", async () => {
    const { step, port, server } = serveApp(() => new Response("ok"), { tymeout: 0.5, deadlines: { headers: 1 } });
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (data: Buffer) => chunks.push(data));
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("error", () => {});
    socket.write("GET / HTTP/1.1\r\nHost: a\r\nX: ");
    let ticks = 0;
    await drive(() => {
      step(); // 1/64 of tyme a step: a byte every 1/8, far inside the 0.5 idle tymeout
      if (++ticks % 8 === 0 && !socket.destroyed && socket.writable) socket.write("a");
    }, closed);
    expect(Buffer.concat(chunks).toString("latin1")).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(ticks).toBeGreaterThanOrEqual(64); // not before the headers deadline
    await drive(step, (async () => { while (server.stewards.size > 0) await new Promise((r) => setImmediate(r)); })());
  });

  it("drops a stalled reader at the send deadline, not its idle one", async () => {
    const big = new Uint8Array(1 << 16);
    const { step, port, server, tymist } = serveApp(
      () => new Response(new ReadableStream({ pull: (c) => c.enqueue(big) })),
      { tymeout: 0.25, deadlines: { send: 1 } },
    );
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.pause(); // reads nothing: the kernel's buffers fill, then nothing more is taken
    socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    await drive(step, (async () => { while (server.stewards.size === 0) await new Promise((r) => setImmediate(r)); })());
    const started = tymist.tyme;
    await drive(step, (async () => { while (server.stewards.size > 0) await new Promise((r) => setImmediate(r)); })());
    expect(tymist.tyme - started).toBeGreaterThanOrEqual(1);
    socket.destroy();
    await closed;
  });

  it("keeps at most maxConnections open; stalled ones are reaped by their deadline and a client gets in", async () => {
    const { step, port, server } = serveApp(() => new Response("ok"), { maxConnections: 3, deadlines: { headers: 0.5 } });
    expect(() => serveApp(() => new Response(""), { maxConnections: 0 })).toThrow(/maxConnections must be an integer of at least 1/);
    const stalled = Array.from({ length: 3 }, () => {
      const socket = net.connect(port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: a\r\n"));
      socket.on("error", () => {});
      return socket;
    });
    await drive(step, (async () => { while (server.stewards.size < 3) await new Promise((r) => setImmediate(r)); })());
    // A fourth is closed by the listener while three are open: it gets nothing.
    const refused = await drive(step, rawRequest(port, "GET /four HTTP/1.1\r\nHost: a\r\n\r\n", { until: () => false }));
    expect([refused.closed, refused.bytes.length]).toEqual([true, 0]);
    // The stalled three reach their headers deadline (408, closed); then a request gets in.
    const reply = await drive(step, (async () => {
      while (server.stewards.size > 0) await new Promise((r) => setImmediate(r));
      return rawRequest(port, "GET /five HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    })());
    expect(reply.bytes.toString("latin1")).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    for (const socket of stalled) socket.destroy();
  });

  it("lingers after its FIN for a peer that never closes, then closes at the linger deadline", async () => {
    const { step, port, server, tymist } = serveApp(() => new Response("bye"), { deadlines: { linger: 0.25 } });
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () => socket.write("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
    socket.on("error", () => {});
    let got = "";
    let finAt = -1;
    socket.on("data", (data: Buffer) => (got += String(data)));
    socket.on("end", () => (finAt = tymist.tyme)); // our FIN: the peer keeps its end open (allowHalfOpen)
    // The server forgets the connection (its socket destroyed) once the linger has passed; a peer
    // that keeps its end open sees nothing more (TCP), so the server's side is what is watched.
    const forgotAt = await drive(step, (async () => {
      while (finAt < 0 || server.stewards.size > 0) await new Promise((r) => setImmediate(r));
      return tymist.tyme;
    })());
    socket.destroy();
    expect(got).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nbye$/);
    expect(forgotAt - finAt).toBeGreaterThanOrEqual(0.25 - 1 / 64); // held open for the linger
    expect(forgotAt - finAt).toBeLessThan(0.25 + 4 / 64);
  });
});
