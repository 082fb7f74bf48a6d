import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Doist, Tymist, http, tcp } from "../../src/index.ts";
import { drive } from "../helpers.ts";

const servers: http.BareServer[] = [];
const sockets: net.Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

const hello = (): Response => new Response("Hello World!", { headers: { "content-type": "text/plain" } });

function open(): { server: http.Server; step: () => void } {
  const tymist = new Tymist({ tock: 1 / 32 });
  // Idle tymeout and linger off: tyme runs a tock per event-loop turn, far faster than the
  // clock, so a closing connection waits for the peer's FIN however many turns it takes.
  const server = http.openServer({ app: hello, host: "127.0.0.1", port: 0, tymth: tymist.tymen(), tymeout: 0, deadlines: { linger: 0 } });
  servers.push(server);
  const step = (): void => {
    server.service();
    tymist.tick();
  };
  return { server, step };
}

/** A client socket whose bytes so far are in `received`; `closed` resolves when the server closes. */
function connect(port: number): { socket: net.Socket; received: () => string; connected: Promise<void>; closed: Promise<void> } {
  const socket = net.connect(port, "127.0.0.1");
  sockets.push(socket);
  let received = "";
  socket.setEncoding("latin1");
  socket.on("data", (text: string) => (received += text));
  const connected = new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const closed = new Promise<void>((resolve) => socket.once("end", () => {
    socket.end(); // our FIN answers the server's: it sees the peer close while it lingers
    resolve();
  }));
  return { socket, received: () => received, connected, closed };
}

/** Resolves once `ready()` holds, checked on every event-loop turn (drive bounds the ticks). */
function until(ready: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const look = (): void => {
      if (ready()) resolve();
      else setImmediate(look);
    };
    look();
  });
}

type Step = [machine: string, event: string, from: string, to: string];

describe("server.inspect", () => {
  it("reports every transition of a keep-alive GET and a Connection: close GET, in order", async () => {
    const { server, step } = open();
    const seen: http.Inspection[] = [];
    const stop = server.inspect((inspection) => seen.push(inspection));
    const client = connect(server.ha[1]);
    await client.connected;
    await drive(step, until(() => server.connections().length === 1));
    const id = `1@127.0.0.1:${client.socket.localPort}`;
    expect(server.connections()).toEqual([
      { id, peer: ["127.0.0.1", client.socket.localPort], steward: "waiting", requestant: "line", responder: "idle", requests: 0, queued: 0 },
    ]);

    client.socket.write("GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
    await drive(step, until(() => client.received().endsWith("Hello World!")));
    // The first exchange is over; the connection is back at rest waiting for the next request.
    await drive(step, until(() => server.connections()[0]?.steward === "waiting"));
    expect(server.connections()).toEqual([
      { id, peer: ["127.0.0.1", client.socket.localPort], steward: "waiting", requestant: "line", responder: "idle", requests: 1, queued: 0 },
    ]);

    client.socket.write("GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await drive(step, client.closed);
    await drive(step, until(() => server.stewards.size === 0));
    expect(server.connections()).toEqual([]);
    stop();

    expect(client.received().match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(new Set(seen.map((s) => s.connection))).toEqual(new Set([id]));
    const tymes = seen.map((s) => s.tyme as number);
    expect(tymes.every((tyme, i) => typeof tyme === "number" && (i === 0 || tyme >= (tymes[i - 1] as number)))).toBe(true);
    expect(seen.map((s): Step => [s.machine, s.event, s.from, s.to])).toEqual([
      // GET /one, kept alive
      ["steward", "request.begun", "waiting", "receiving.plain"],
      ["requestant", "line.parsed", "line", "headers"],
      ["requestant", "head.parsed.empty", "headers", "ended"],
      ["steward", "request.parsed", "receiving.plain", "answering.plain"],
      ["responder", "request.dispatched", "idle", "pending"],
      ["responder", "app.settled", "pending", "settled"], // the app answered at once
      ["responder", "response.whole", "settled", "heading.whole"], // its body given whole
      ["responder", "head.sent", "heading.whole", "streaming.whole"],
      ["responder", "body.ended", "streaming.whole", "ended"], // a whole body goes out with its head
      ["steward", "answered", "answering.plain", "waiting"],
      ["requestant", "reset", "ended", "line"],
      ["responder", "reset", "ended", "idle"],
      // GET /two with Connection: close
      ["steward", "request.begun", "waiting", "receiving.plain"],
      ["requestant", "line.parsed", "line", "headers"],
      ["requestant", "head.parsed.empty", "headers", "ended"],
      ["steward", "request.parsed", "receiving.plain", "answering.plain"],
      ["responder", "request.dispatched", "idle", "pending"],
      ["responder", "app.settled", "pending", "settled"],
      ["responder", "response.whole", "settled", "heading.whole"],
      ["responder", "head.sent", "heading.whole", "streaming.whole"],
      ["responder", "body.ended", "streaming.whole", "ended"],
      ["steward", "answered", "answering.plain", "closing"], // not persistent: close
      // everything sent (a tick whose facts say so): our FIN; then a tick that sees the peer's
      ["steward", "tick", "closing", "lingering"],
      ["steward", "tick", "lingering", "closed"],
    ]);
    // A tick's facts say why it moved: nothing left to send (no `sending`), the peer still there; then its close.
    expect(seen.slice(-2).map((s) => s.facts)).toEqual([["starved"], ["starved", "peerEnded"]]);
    expect(seen.slice(0, -2).every((s) => s.facts.length === 0 || (s.machine === "steward" && s.event === "answered"))).toBe(true);
    expect(seen.filter((s) => s.event === "answered").map((s) => s.facts)).toEqual([["persists"], []]);
  });
});

/** Sends a keep-alive GET on `client` and drives the server until its reply has come. */
async function get(step: () => void, client: ReturnType<typeof connect>): Promise<void> {
  const replies = client.received().split("Hello World!").length;
  client.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  await drive(step, until(() => client.received().split("Hello World!").length > replies));
}

/** The observers of every live connection's three steppers. */
function observers(server: http.BareServer): unknown[] {
  return [...server.stewards.values()].flatMap((s) => [s.stepper.observer, s.requestant.stepper.observer, s.responder.stepper.observer]);
}

describe("server.inspect and connections()", () => {
  it("stops reporting once unsubscribed, and takes the observers off again", async () => {
    const { server, step } = open();
    const client = connect(server.ha[1]);
    await client.connected;
    const seen: string[] = [];
    const stop = server.inspect(({ machine, event }) => seen.push(`${machine} ${event}`));
    await get(step, client);
    const reported = seen.length;
    expect(reported).toBe(12);
    expect(observers(server).every((observer) => typeof observer === "function")).toBe(true);
    stop();
    stop(); // a second call changes nothing
    expect(observers(server)).toEqual([null, null, null]);
    await get(step, client);
    expect(seen).toHaveLength(reported);
  });

  it("reports the cutoff of each connection the server closes", async () => {
    const { server, step } = open();
    const client = connect(server.ha[1]);
    await client.connected;
    await drive(step, until(() => server.stewards.size === 1));
    const seen: http.Inspection[] = [];
    server.inspect((inspection) => seen.push(inspection));
    server.close();
    expect(seen.map(({ connection, machine, event, from, to }) => [connection, machine, event, from, to])).toEqual([
      [`1@127.0.0.1:${client.socket.localPort}`, "steward", "cutoff", "waiting", "closed"],
    ]);
    expect(server.connections()).toEqual([]);
  });

  it("gives the steppers no observer while nobody listens", async () => {
    const { server, step } = open();
    const client = connect(server.ha[1]);
    await client.connected;
    await drive(step, until(() => server.stewards.size === 1));
    expect(observers(server)).toEqual([null, null, null]);
    await get(step, client);
    expect(observers(server)).toEqual([null, null, null]);
    expect(server.connections()).toMatchObject([{ requests: 1, steward: "waiting" }]);
  });

  it("watches connections already open when the first listener comes, each listener until it leaves", async () => {
    const { server, step } = open();
    const first = connect(server.ha[1]);
    await first.connected;
    await drive(step, until(() => server.stewards.size === 1));
    const one: string[] = [];
    const two: string[] = [];
    const stopOne = server.inspect(({ connection, machine, event }) => one.push(`${connection} ${machine} ${event}`));
    const stopTwo = server.inspect(({ connection, machine, event }) => two.push(`${connection} ${machine} ${event}`));
    await get(step, first);
    expect(two).toEqual(one);
    expect(one[0]).toBe(`1@127.0.0.1:${first.socket.localPort} steward request.begun`);
    stopOne();
    const second = connect(server.ha[1]);
    await second.connected;
    await get(step, second);
    expect(one).toHaveLength(12);
    expect(two).toHaveLength(24);
    expect(two[12]).toBe(`2@127.0.0.1:${second.socket.localPort} steward request.begun`);
    expect(server.connections().map((c) => [c.id, c.requests])).toEqual([
      [`1@127.0.0.1:${first.socket.localPort}`, 1],
      [`2@127.0.0.1:${second.socket.localPort}`, 1],
    ]);
    stopTwo();
  });

  it("keeps serving when a listener throws, and reports the failure on the console", async () => {
    const { server, step } = open();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const stop = server.inspect(() => {
      throw new Error("listener broke");
    });
    try {
      const seen: string[] = [];
      server.inspect(({ event }) => seen.push(event));
      const client = connect(server.ha[1]);
      await client.connected;
      await get(step, client);
      expect(seen).toHaveLength(12);
      expect(errors).toHaveBeenCalledTimes(12);
      expect(errors.mock.calls[0]?.[0]).toBe("hio-ts: an inspect listener threw:");
    } finally {
      stop(); // before the server closes: its connections' cutoffs would go to it too
      errors.mockRestore();
    }
  });
});

describe("server.inspect in simulated tyme", () => {
  it("stamps each transition with the tyme of the tick it happened in, the same on every run", async () => {
    const network = new tcp.MemoryNetwork({ latency: 1 / 16 });
    const server = new http.Server({ app: () => new Response("hi"), host: "127.0.0.1", port: 80, network });
    const client = new http.Client({ hostname: "127.0.0.1", port: 80, network });
    const seen: Array<[number | null, string, string]> = [];
    server.inspect(({ tyme, machine, event }) => seen.push([tyme, machine, event]));
    client.request({ method: "GET", path: "/" });
    const doist = new Doist({ tock: 1 / 64, limit: 1 });
    await doist.do({ doers: [new http.ServerDoer({ server }), new http.ClientDoer({ client })] });
    expect(client.respond()?.status).toBe(200);
    // The whole exchange happens in the tick the request arrives (three of the network's 1/16
    // latencies in); the Doist's exit at its limit closes the server, cutting the connection off.
    const at = 3 / 16;
    expect(seen).toEqual([
      [at, "steward", "request.begun"],
      [at, "requestant", "line.parsed"],
      [at, "requestant", "head.parsed.empty"],
      [at, "steward", "request.parsed"],
      [at, "responder", "request.dispatched"],
      [at, "responder", "app.settled"],
      [at, "responder", "response.whole"],
      [at, "responder", "head.sent"],
      [at, "responder", "body.ended"],
      [at, "steward", "answered"],
      [at, "requestant", "reset"],
      [at, "responder", "reset"],
      [1, "steward", "cutoff"],
    ]);
  });
});
