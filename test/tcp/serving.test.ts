import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Tymist } from "../../src/base/tyming.ts";
import * as tcp from "../../src/tcp/index.ts";
import { drive, pattern, same, tcpHandles, turn } from "./helpers.ts";

const decoder = new TextDecoder();
const text = (bytes: Uint8Array): string => decoder.decode(bytes);

/** Services the server, echoes every rxbs back, services the clients. */
function echoTick(server: tcp.Server, clients: tcp.Client[]): void {
  server.service();
  for (const remoter of server.ixes.values()) {
    if (remoter.rxbs.length > 0) remoter.tx(remoter.rxbs.take());
  }
  server.serviceSendsAllIx();
  for (const client of clients) client.service();
}

afterEach(async () => {
  // Whatever a test opened must be gone a few turns after it closed it.
  await drive(() => {}, () => tcpHandles() === 0, { turns: 200, what: "all TCP handles closed" });
});

describe("tcp.Server over real sockets", () => {
  it("binds on reopen so ha is the bound address at once", () => {
    using server = new tcp.Server({ host: "127.0.0.1", port: 0 });
    expect(server.opened).toBe(false);
    expect(server.reopen()).toBe(true);
    expect(server.opened).toBe(true);
    const [host, port] = server.ha;
    expect(host).toBe("127.0.0.1");
    expect(port).toBeGreaterThan(0);
    expect(server.eha).toEqual(["127.0.0.1", port]);
    // reopen keeps the bound port
    expect(server.reopen()).toBe(true);
    expect(server.ha).toEqual(["127.0.0.1", port]);
    // a second server on the same port cannot listen
    const other = new tcp.Server({ ha: ["127.0.0.1", port] });
    expect(other.reopen()).toBe(false);
    expect(other.opened).toBe(false);
    expect(() => tcp.openServer({ ha: ["127.0.0.1", port] })).toThrow(/could not listen/);
    server.close();
    expect(server.opened).toBe(false);
  });

  // Not opened: this workplace's servers listen on loopback only, never on all interfaces.
  it("advertises loopback for host '' (all interfaces), as hio's N1: ('', 6101) -> eha (127.0.0.1, 6101)", () => {
    const server = new tcp.Server({ host: "", port: 6101 });
    expect(server.opened).toBe(false);
    expect(server.eha).toEqual(["127.0.0.1", 6101]);
  });

  it("echoes a round trip and keys the remoter by the client's address", async () => {
    using server = tcp.openServer({ host: "127.0.0.1" });
    using client = tcp.openClient({ ha: server.eha });
    client.tx("hello ");
    client.tx("world");
    await drive(() => echoTick(server, [client]), () => client.rxbs.length >= 11, { what: "echo" });
    expect(client.rxbs.toString()).toBe("hello world");
    expect(client.accepted && client.connected).toBe(true);
    expect(client.ca).not.toBeNull();
    const key = tcp.keyOf(client.ca!);
    expect([...server.ixes.keys()]).toEqual([key]);
    const remoter = server.ixes.get(key)!;
    expect(remoter.key).toBe(key);
    expect(remoter.ca).toEqual(client.ca);
    expect(remoter.ha).toEqual(server.ha);
    expect(client.ha).toEqual(server.eha);
  });

  it("serves many clients at once, each getting its own echo", async () => {
    using server = tcp.openServer({ host: "127.0.0.1" });
    const clients = Array.from({ length: 24 }, () => tcp.openClient({ ha: server.eha }));
    try {
      clients.forEach((client, i) => client.tx(`client ${i} says hi`));
      await drive(() => echoTick(server, clients),
        () => clients.every((c, i) => c.rxbs.length >= `client ${i} says hi`.length), { what: "all echoes" });
      clients.forEach((client, i) => expect(client.rxbs.toString()).toBe(`client ${i} says hi`));
      expect(server.ixes.size).toBe(24);
      expect(new Set(clients.map((c) => tcp.keyOf(c.ca!)))).toEqual(new Set(server.ixes.keys()));
    } finally {
      for (const client of clients) client.close();
    }
  });

  it("moves 10 MiB both ways whole and in order, in bounded receives", async () => {
    const size = 10 << 20;
    const bufsize = 65536;
    using server = tcp.openServer({ host: "127.0.0.1", bufsize });
    using client = tcp.openClient({ ha: server.eha });
    const sent = pattern(size, 7);
    client.tx(sent);
    let largestStep = 0;
    let receives = 0;
    const got: Uint8Array[] = [];
    let total = 0;
    await drive(() => {
      server.service();
      for (const remoter of server.ixes.values()) {
        // what one service moved into rxbs is at most bufsize
        largestStep = Math.max(largestStep, remoter.rxbs.length);
        if (remoter.rxbs.length > 0) {
          receives += 1;
          remoter.tx(remoter.rxbs.take());
        }
      }
      server.serviceSendsAllIx();
      client.service();
      // consumers shift what they use: unconsumed rxbs past the high-water mark holds input
      const bytes = client.rxbs.take();
      total += bytes.length;
      if (bytes.length > 0) got.push(bytes);
    }, () => total >= size, { turns: 100000, what: "10 MiB echoed" });
    expect(same(Buffer.concat(got), sent)).toBe(true);
    expect(largestStep).toBeLessThanOrEqual(bufsize);
    expect(receives).toBeGreaterThanOrEqual(size / bufsize);
    expect(got.length).toBeGreaterThan(1);
    expect(client.txbs.length).toBe(0);
  });

  it("sets cutoff (ended) when the peer closes, after the bytes it sent first", async () => {
    using server = tcp.openServer({ host: "127.0.0.1" });
    const peer = net.connect(server.ha[1], "127.0.0.1");
    peer.on("error", () => {});
    peer.end("bye");
    await drive(() => server.service(), () => [...server.ixes.values()].some((r) => r.cutoff),
      { what: "cutoff" });
    const [remoter] = [...server.ixes.values()];
    expect(remoter!.rxbs.toString()).toBe("bye");
    expect(remoter!.ended).toBe(true);
    expect(remoter!.reset).toBe(false);
    server.service(); // the next service drops it
    expect(server.ixes.size).toBe(0);
    expect(remoter!.opened).toBe(false);
  });

  it("sets cutoff (reset) when the peer resets, without throwing", async () => {
    using server = tcp.openServer({ host: "127.0.0.1" });
    const peer = net.connect(server.ha[1], "127.0.0.1");
    peer.on("error", () => {});
    await drive(() => server.service(), () => server.ixes.size === 1, { what: "accept" });
    const [remoter] = [...server.ixes.values()];
    remoter!.tx(pattern(1 << 16)); // unread by the peer, so its close resets
    server.service();
    peer.resetAndDestroy();
    await drive(() => server.service(), () => remoter!.cutoff, { what: "cutoff" });
    expect(remoter!.reset).toBe(true);
    expect(remoter!.ended).toBe(false);
    remoter!.tx("more");
    expect(() => { server.service(); server.service(); }).not.toThrow();
    expect(server.ixes.size).toBe(0);
  });

  it("cuts off a client whose server closes, and a client that is refused", async () => {
    const server = tcp.openServer({ host: "127.0.0.1" });
    using client = tcp.openClient({ ha: server.eha });
    await drive(() => { server.service(); client.service(); }, () => server.ixes.size === 1 && client.connected,
      { what: "connect" });
    const port = server.ha[1];
    server.close();
    await drive(() => client.service(), () => client.cutoff, { what: "client cutoff" });
    expect(client.ended).toBe(true);
    using refused = tcp.openClient({ ha: ["127.0.0.1", port] });
    await drive(() => refused.service(), () => refused.cutoff, { what: "refused" });
    expect(refused.connected).toBe(false);
    expect(refused.accepted).toBe(false);
    expect(refused.reset).toBe(true);
  });

  it("closes a connection idle for its tymeout in tyme, and keeps a busy one", async () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    const tymeout = 0.25;
    using server = tcp.openServer({ host: "127.0.0.1", tymth: tymist.tymen(), tymeout });
    using idle = tcp.openClient({ ha: server.eha, tymth: tymist.tymen() });
    using busy = tcp.openClient({ ha: server.eha, tymth: tymist.tymen() });
    const removed = new Map<string, number>();
    const stops = new Map<string, number>();
    let lastPoke = 0;
    await drive(() => {
      for (const [key, remoter] of server.ixes) stops.set(key, remoter.tymer.stop);
      const before = new Set(server.ixes.keys());
      server.service();
      for (const key of before) if (!server.ixes.has(key)) removed.set(key, tymist.tyme);
      for (const remoter of server.ixes.values()) remoter.rxbs.clear();
      if (busy.connected && tymist.tyme - lastPoke >= 0.125) {
        busy.tx("x");
        lastPoke = tymist.tyme;
      }
      idle.service();
      busy.service();
      tymist.tick();
    }, () => tymist.tyme >= 2, { what: "tyme 2" });
    const idleKey = tcp.keyOf(idle.ca!);
    const busyKey = tcp.keyOf(busy.ca!);
    expect(removed.has(idleKey)).toBe(true);
    expect(removed.has(busyKey)).toBe(false);
    expect(server.ixes.has(busyKey)).toBe(true);
    // removed at the first service at or after tymeout past its last traffic (here: its accept)
    const stop = stops.get(idleKey)!;
    expect(removed.get(idleKey)!).toBeGreaterThanOrEqual(stop);
    expect(removed.get(idleKey)! - stop).toBeLessThan(tymist.tock);
    await drive(() => idle.service(), () => idle.cutoff, { what: "idle client cut off" });
  });

  it("reconnects a reconnectable client and sends what was queued meanwhile", async () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    const server = tcp.openServer({ host: "127.0.0.1", tymth: tymist.tymen(), tymeout: 0 });
    const port = server.ha[1];
    using client = tcp.openClient({ ha: server.eha, tymth: tymist.tymen(), reconnectable: true, tymeout: 1 / 16 });
    const step = (): void => { echoTick(server, [client]); tymist.tick(); };
    client.tx("one");
    await drive(step, () => client.rxbs.length >= 3, { what: "first echo" });
    const firstCa = client.ca;
    server.close();
    await drive(step, () => client.cutoff, { what: "cutoff" });
    client.tx("two"); // queued while cut off
    expect(server.reopen()).toBe(true);
    expect(server.ha[1]).toBe(port);
    await drive(step, () => client.rxbs.length >= 6, { what: "echo after reconnect" });
    expect(client.rxbs.toString()).toBe("onetwo");
    expect(client.connected).toBe(true);
    expect(client.cutoff).toBe(false);
    expect(client.ca).not.toEqual(firstCa);
    server.close();
  });

  it("sends what was tx()'d before the server even listened, once it connects", async () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    const probe = tcp.openServer({ host: "127.0.0.1" });
    const port = probe.ha[1];
    probe.close(); // a port that is free now
    using client = tcp.openClient({ ha: ["127.0.0.1", port], tymth: tymist.tymen(), reconnectable: true });
    client.tx("early");
    await drive(() => { client.service(); tymist.tick(); }, () => client.cutoff, { what: "refused" });
    using server = tcp.openServer({ ha: ["127.0.0.1", port], tymth: tymist.tymen() });
    await drive(() => { echoTick(server, [client]); tymist.tick(); }, () => client.rxbs.length >= 5,
      { what: "echo" });
    expect(client.rxbs.toString()).toBe("early");
  });

  it("holds input while rxbs is unconsumed past the high-water mark, then delivers it all", async () => {
    const highWater = 1 << 16;
    const size = 4 << 20;
    using server = tcp.openServer({ host: "127.0.0.1", rxbsHighWater: highWater, bufsize: 1 << 16 });
    using client = tcp.openClient({ ha: server.eha });
    const sent = pattern(size, 3);
    client.tx(sent);
    let peak = 0;
    for (let i = 0; i < 300; i++) { // nobody consumes
      server.service();
      client.service();
      for (const remoter of server.ixes.values()) peak = Math.max(peak, remoter.rxbs.length);
      await turn();
    }
    expect(server.ixes.size).toBe(1);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(highWater + 4 * 65536);
    expect(client.txPending).toBe(true); // the sender is held back, not buffered without bound
    const got: Uint8Array[] = [];
    let total = 0;
    await drive(() => {
      server.service();
      for (const remoter of server.ixes.values()) {
        const bytes = remoter.rxbs.take();
        total += bytes.length;
        if (bytes.length) got.push(bytes);
      }
      client.service();
    }, () => total >= size, { turns: 100000, what: "all delivered" });
    expect(same(Buffer.concat(got), sent)).toBe(true);
  });

  it("cuts off a connection whose rxbs passes rxbsLimit", async () => {
    using server = tcp.openServer({ host: "127.0.0.1", rxbsHighWater: Infinity, rxbsLimit: 1 << 18 });
    using client = tcp.openClient({ ha: server.eha });
    client.tx(pattern(4 << 20));
    let cut: tcp.Remoter | undefined;
    await drive(() => {
      client.service();
      for (const remoter of server.ixes.values()) if (remoter.cutoff) cut = remoter;
      server.service();
    }, () => cut !== undefined, { turns: 20000, what: "overflow cutoff" });
    expect(cut!.overflowed).toBe(true);
    expect(cut!.rxbs.length).toBeGreaterThan(1 << 18);
    expect(server.ixes.size).toBe(0);
    await drive(() => client.service(), () => client.cutoff, { what: "client sees the cut" });
  });

  it("half-closes with shutdownSend after txbs drained: the peer gets the data then its end", async () => {
    using server = tcp.openServer({ host: "127.0.0.1" });
    using client = tcp.openClient({ ha: server.eha });
    client.tx("last words");
    client.shutdownSend();
    await drive(() => { client.service(); server.service(); },
      () => [...server.ixes.values()].some((r) => r.cutoff), { what: "server sees the end" });
    const [remoter] = [...server.ixes.values()];
    expect(remoter!.rxbs.toString()).toBe("last words");
    expect(remoter!.ended).toBe(true);
    expect(client.txPending).toBe(false);
  });

  it("records rx and tx per connection in a WireLog", async () => {
    using wl = new tcp.WireLog({ samed: false, reopen: true });
    using server = tcp.openServer({ host: "127.0.0.1", wl });
    using client = tcp.openClient({ ha: server.eha });
    client.tx("ping");
    await drive(() => echoTick(server, [client]), () => client.rxbs.length >= 4, { what: "echo" });
    const who = tcp.keyOf(client.ca!);
    expect(text(wl.readRx())).toBe(`\nrx ${who}:\nping\n`);
    expect(text(wl.readTx())).toBe(`\ntx ${who}:\nping\n`);
  });

  it("closes every listener and socket when disposed, leaving no handle", async () => {
    {
      using server = tcp.openServer({ host: "127.0.0.1" });
      using a = tcp.openClient({ ha: server.eha });
      using b = tcp.openClient({ ha: server.eha });
      a.tx("a");
      b.tx("b");
      await drive(() => echoTick(server, [a, b]), () => a.rxbs.length > 0 && b.rxbs.length > 0,
        { what: "echoes" });
      expect(tcpHandles()).toBeGreaterThanOrEqual(5);
    }
    await drive(() => {}, () => tcpHandles() === 0, { turns: 200, what: "no TCP handle left" });
  });
});
