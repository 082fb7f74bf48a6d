import { describe, expect, it } from "vitest";
import { Tymist } from "../../src/base/tyming.ts";
import * as tcp from "../../src/tcp/index.ts";
import { pattern, same } from "./helpers.ts";

type Entry = [tyme: number, ...what: (string | number | boolean)[]];

/** Runs `tick` once per tock until `tyme`, recording into the trace it returns. */
function run(tymist: Tymist, until: number, tick: (tyme: number) => void): void {
  while (tymist.tyme < until) {
    tick(tymist.tyme);
    tymist.tick();
  }
}

/**
 * A server that echoes and traces what changed in each of its ticks: accepts, rx pieces,
 * cutoffs, drops. Returns the tick function.
 */
function tracingEcho(server: tcp.Server, trace: Entry[]): (tyme: number) => void {
  const traced = new WeakSet<tcp.Remoter>();
  return (tyme) => {
    const before = new Set(server.ixes.keys());
    server.service();
    for (const key of before) if (!server.ixes.has(key)) trace.push([tyme, "server drop", key]);
    for (const [key, remoter] of server.ixes) {
      if (!before.has(key)) trace.push([tyme, "server accept", key]);
      if (remoter.rxbs.length > 0) {
        trace.push([tyme, "server rx", remoter.rxbs.toString()]);
        remoter.tx(remoter.rxbs.take());
      }
      if (remoter.cutoff && !traced.has(remoter)) {
        traced.add(remoter);
        trace.push([tyme, "server cutoff", remoter.ended ? "ended" : remoter.reset ? "reset" : "other"]);
      }
    }
    server.serviceSendsAllIx();
  };
}

/** The echo exchange of the first test: latency 1/8, pieces of 4 bytes 1/32 apart. */
function echoExchange(): { trace: Entry[]; network: tcp.MemoryNetwork } {
  const tymist = new Tymist({ tock: 1 / 32 });
  const network = new tcp.MemoryNetwork({ latency: 1 / 8, chunk: 4, gap: 1 / 32 });
  const trace: Entry[] = [];
  const server = tcp.openServer({ network, tymth: tymist.tymen(), tymeout: 0 });
  const client = tcp.openClient({ network, ha: server.eha, tymth: tymist.tymen() });
  client.tx("hello world");
  const serve = tracingEcho(server, trace);
  let connected = false;
  run(tymist, 1, (tyme) => {
    serve(tyme);
    if (!client.opened) return;
    client.service();
    if (client.connected && !connected) {
      connected = true;
      trace.push([tyme, "client connected", tcp.keyOf(client.ca!)]);
    }
    if (client.rxbs.length > 0) {
      trace.push([tyme, "client rx", client.rxbs.toString()]);
      if (client.rxbs.toString() === "hello world") {
        client.close();
        trace.push([tyme, "client close"]);
      } else return;
    }
  });
  server.close();
  return { trace, network };
}

describe("tcp over a MemoryNetwork in simulated tyme", () => {
  it("echoes with latency and chunking in an exact tyme-stamped trace", () => {
    const { trace, network } = echoExchange();
    expect(trace).toEqual([
      [0.125, "server accept", "127.0.0.1:49153"],
      [0.25, "client connected", "127.0.0.1:49153"],
      [0.375, "server rx", "hell"],
      [0.40625, "server rx", "o wo"],
      [0.4375, "server rx", "rld"],
      [0.5, "client rx", "hell"],
      [0.53125, "client rx", "hell" + "o wo"],
      [0.5625, "client rx", "hello world"],
      [0.5625, "client close"],
      [0.6875, "server cutoff", "ended"],
      [0.71875, "server drop", "127.0.0.1:49153"],
    ]);
    expect(network.openEnds).toBe(0);
    expect(network.openListeners).toBe(0);
  });

  it("gives the same trace on every run", () => {
    const scenario = (): Entry[] => {
      const tymist = new Tymist({ tock: 1 / 32 });
      const network = new tcp.MemoryNetwork({ latency: 3 / 32, chunk: 7, gap: 1 / 32 });
      const trace: Entry[] = [];
      using server = tcp.openServer({ network, tymth: tymist.tymen(), tymeout: 0.5, bufsize: 5 });
      const clients = Array.from({ length: 5 }, (_, i) =>
        tcp.openClient({ network, ha: server.eha, tymth: tymist.tymen(), name: `c${i}` }));
      clients.forEach((client, i) => client.tx(`message number ${i} `.repeat(i + 1)));
      const serve = tracingEcho(server, trace);
      run(tymist, 3, (tyme) => {
        serve(tyme);
        for (const client of clients) {
          client.service();
          if (client.rxbs.length > 0) trace.push([tyme, `${client.name} rx`, client.rxbs.take().length]);
        }
      });
      for (const client of clients) client.close();
      return trace;
    };
    const first = scenario();
    const second = scenario();
    expect(second).toEqual(first);
    // every client got its whole message back, and the idle tymeout dropped them all
    for (let i = 0; i < 5; i++) {
      const got = first.filter((e) => e[1] === `c${i} rx`).reduce((n, e) => n + (e[2] as number), 0);
      expect(got).toBe(`message number ${i} `.length * (i + 1));
    }
    expect(first.filter((e) => e[1] === "server drop")).toHaveLength(5);
  });

  it("moves 10 MiB both ways whole and in order through a small window", () => {
    const transfer = (): { ticks: number; ok: boolean } => {
      const tymist = new Tymist({ tock: 1 / 32 });
      const network = new tcp.MemoryNetwork({ latency: 1 / 32, chunk: 1460, window: 1 << 18 });
      using server = tcp.openServer({ network, tymth: tymist.tymen(), bufsize: 1 << 16 });
      using client = tcp.openClient({ network, ha: server.eha, tymth: tymist.tymen() });
      const size = 10 << 20;
      const sent = pattern(size, 11);
      client.tx(sent);
      const got = new Uint8Array(size);
      let total = 0;
      let ticks = 0;
      while (total < size && ticks < 100000) {
        server.service();
        for (const remoter of server.ixes.values()) {
          expect(remoter.rxbs.length).toBeLessThanOrEqual(1 << 16);
          if (remoter.rxbs.length) remoter.tx(remoter.rxbs.take());
        }
        server.serviceSendsAllIx();
        client.service();
        const bytes = client.rxbs.take();
        got.set(bytes, total);
        total += bytes.length;
        tymist.tick();
        ticks += 1;
      }
      return { ticks, ok: total === size && same(got, sent) };
    };
    const first = transfer();
    expect(first.ok).toBe(true);
    expect(first.ticks).toBeGreaterThan(160); // 10 MiB at most 64 KiB per receive
    expect(transfer()).toEqual(first);
  });

  it("cuts off both ends at latency after an injected reset", () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    const network = new tcp.MemoryNetwork({ latency: 1 / 16 });
    const trace: Entry[] = [];
    using server = tcp.openServer({ network, tymth: tymist.tymen(), tymeout: 0 });
    using client = tcp.openClient({ network, ha: server.eha, tymth: tymist.tymen() });
    const serve = tracingEcho(server, trace);
    let clientCut = false;
    run(tymist, 1, (tyme) => {
      if (tyme === 0.25) {
        expect(network.reset(client.ca!)).toBe(true);
        client.tx("lost"); // sent into the reset: never arrives
        trace.push([tyme, "reset injected"]);
      }
      serve(tyme);
      client.service();
      if (client.cutoff && !clientCut) {
        clientCut = true;
        trace.push([tyme, "client cutoff", client.reset ? "reset" : "other"]);
      }
    });
    expect(trace).toEqual([
      [0.0625, "server accept", "127.0.0.1:49153"],
      [0.25, "reset injected"],
      [0.3125, "server cutoff", "reset"],
      [0.3125, "client cutoff", "reset"],
      [0.34375, "server drop", "127.0.0.1:49153"],
    ]);
  });

  it("drops a connection idle for its tymeout at the exact tyme and keeps a busy one", () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    const network = new tcp.MemoryNetwork({ latency: 1 / 8 });
    const trace: Entry[] = [];
    using server = tcp.openServer({ network, tymth: tymist.tymen(), tymeout: 0.5 });
    using idle = tcp.openClient({ network, ha: server.eha, tymth: tymist.tymen() });
    using busy = tcp.openClient({ network, ha: server.eha, tymth: tymist.tymen() });
    const serve = tracingEcho(server, trace);
    run(tymist, 2, (tyme) => {
      serve(tyme);
      if (tyme % 0.375 === 0) busy.tx("."); // every 0.375 < tymeout
      idle.service();
      busy.service();
      busy.rxbs.clear();
      if (idle.cutoff && !trace.some((e) => e[1] === "idle cutoff")) trace.push([tyme, "idle cutoff"]);
    });
    const events = trace.filter((e) => e[1] !== "server rx");
    expect(events).toEqual([
      [0.125, "server accept", "127.0.0.1:49153"],
      [0.125, "server accept", "127.0.0.1:49154"],
      [0.625, "server drop", "127.0.0.1:49153"], // accepted at 0.125, silent for 0.5
      [0.75, "idle cutoff"], // the FIN takes latency
    ]);
    expect(server.ixes.has("127.0.0.1:49154")).toBe(true);
  });

  it("times out a busy connection when not refreshable, and never with tymeout 0", () => {
    const dropTyme = (opts: { refreshable?: boolean; tymeout: number }): number | null => {
      const tymist = new Tymist({ tock: 1 / 32 });
      const network = new tcp.MemoryNetwork({ latency: 1 / 32 });
      using server = tcp.openServer({ network, tymth: tymist.tymen(), ...opts });
      using client = tcp.openClient({ network, ha: server.eha, tymth: tymist.tymen() });
      let dropped: number | null = null;
      run(tymist, 3, (tyme) => {
        const had = server.ixes.size;
        server.service();
        if (had === 1 && server.ixes.size === 0 && dropped === null) dropped = tyme;
        client.tx("."); // traffic every tick
        client.service();
      });
      return dropped;
    };
    expect(dropTyme({ tymeout: 0.5 })).toBeNull();
    expect(dropTyme({ tymeout: 0.5, refreshable: false })).toBe(0.53125); // accepted at 1/32
    expect(dropTyme({ tymeout: 0, refreshable: false })).toBeNull();
  });

  it("reconnects after tymeout once cut off and sends what was queued", () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    const network = new tcp.MemoryNetwork({ latency: 1 / 32 });
    const trace: Entry[] = [];
    const server = tcp.openServer({ network, port: 7000, tymth: tymist.tymen(), tymeout: 0 });
    using client = tcp.openClient({ network, ha: server.eha, tymth: tymist.tymen(),
      reconnectable: true, tymeout: 0.25 });
    const serve = tracingEcho(server, trace);
    let state = "";
    run(tymist, 2, (tyme) => {
      if (tyme === 0.5) { server.close(); trace.push([tyme, "server close"]); }
      if (tyme === 0.5625) client.tx("queued"); // after the cutoff was seen (0.53125)
      if (tyme === 1) { server.reopen(); trace.push([tyme, "server reopen"]); }
      if (server.opened) serve(tyme);
      client.service();
      const now = `${client.connected ? "connected" : "dialing"}${client.cutoff ? " cutoff" : ""}`;
      if (now !== state) trace.push([tyme, "client", (state = now)]);
      if (client.rxbs.length) trace.push([tyme, "client rx", client.rxbs.take().length]);
    });
    server.close();
    expect(trace).toEqual([
      [0, "client", "dialing"],
      [0.03125, "server accept", "127.0.0.1:49152"],
      [0.0625, "client", "connected"],
      [0.5, "server close"],
      [0.53125, "client", "connected cutoff"],
      [0.78125, "client", "dialing"], // retry 0.25 after the cutoff was seen: refused (no listener)
      [0.84375, "client", "dialing cutoff"],
      [1, "server reopen"],
      [1.09375, "client", "dialing"],
      [1.125, "server accept", "127.0.0.1:49154"],
      [1.15625, "client", "connected"],
      [1.1875, "server rx", "queued"],
      [1.21875, "client rx", 6],
    ]);
  });

  it("holds the sender back while the receiver does not consume, then delivers everything", () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    const network = new tcp.MemoryNetwork({ latency: 1 / 32, window: 1 << 16 });
    using server = tcp.openServer({ network, tymth: tymist.tymen(), tymeout: 0, rxbsHighWater: 1 << 15,
      bufsize: 1 << 14 });
    using client = tcp.openClient({ network, ha: server.eha, tymth: tymist.tymen() });
    const sent = pattern(1 << 20, 5);
    client.tx(sent);
    for (let i = 0; i < 200; i++) { server.service(); client.service(); tymist.tick(); }
    const [remoter] = [...server.ixes.values()];
    expect(remoter!.rxbs.length).toBeGreaterThanOrEqual(1 << 15);
    expect(remoter!.rxbs.length).toBeLessThan((1 << 15) + (1 << 14));
    expect(client.txbs.length).toBe((1 << 20) - (1 << 16) - remoter!.rxbs.length);
    const got = new Uint8Array(sent.length);
    let total = 0;
    for (let i = 0; i < 2000 && total < sent.length; i++) {
      server.service();
      const bytes = remoter!.rxbs.take();
      got.set(bytes, total);
      total += bytes.length;
      client.service();
      tymist.tick();
    }
    expect(same(got, sent)).toBe(true);
  });

  it("cuts off a connection whose rxbs passes rxbsLimit", () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    const network = new tcp.MemoryNetwork({});
    using server = tcp.openServer({ network, tymth: tymist.tymen(), rxbsHighWater: Infinity, rxbsLimit: 1000 });
    using client = tcp.openClient({ network, ha: server.eha, tymth: tymist.tymen() });
    client.tx(pattern(5000));
    let cut: tcp.Remoter | undefined;
    for (let i = 0; i < 10 && cut === undefined; i++) {
      server.service();
      client.service();
      cut = [...server.ixes.values()].find((r) => r.cutoff);
      tymist.tick();
    }
    expect(cut?.overflowed).toBe(true);
    expect(cut!.rxbs.length).toBe(5000);
    client.service();
    expect(client.cutoff && client.reset).toBe(true);
  });

  it("refuses a dial to a port nobody listens on, one round trip later", () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    const network = new tcp.MemoryNetwork({ latency: 1 / 16 });
    using client = tcp.openClient({ network, ha: ["127.0.0.1", 9], tymth: tymist.tymen() });
    const seen: Entry[] = [];
    run(tymist, 0.25, (tyme) => {
      client.service();
      seen.push([tyme, client.connected, client.cutoff]);
    });
    expect(seen).toEqual([[0, false, false], [0.03125, false, false], [0.0625, false, false],
      [0.09375, false, false], [0.125, false, true], [0.15625, false, true], [0.1875, false, true],
      [0.21875, false, true]]);
  });

  it("closes every listener and end when disposed", () => {
    const network = new tcp.MemoryNetwork({});
    {
      using server = tcp.openServer({ network });
      using a = tcp.openClient({ network, ha: server.eha });
      using b = tcp.openClient({ network, ha: server.eha });
      server.service();
      a.service();
      b.service();
      expect(server.ixes.size).toBe(2);
      expect(network.openListeners).toBe(1);
      expect(network.openEnds).toBe(4);
    }
    expect(network.openListeners).toBe(0);
    expect(network.openEnds).toBe(0);
  });
});
