/**
 * HTTP over the in-memory network in simulated tyme: an http.Server and a tcp.Client on one
 * MemoryNetwork, both serviced by ONE Doist, no sockets. Each tick the Doist turns the event loop,
 * so the app's Response body (read through promises) moves on between ticks; the same scenario
 * gives the same tyme-stamped trace on every run.
 */
import { describe, expect, it } from "vitest";
import { Doer, Doist, http, tcp } from "../../src/index.ts";
import type { HttpEnv } from "../../src/index.ts";
import { parseResponses } from "../helpers.ts";

type Entry = [tyme: number, what: string, ...detail: (string | number)[]];

const LATENCY = 1 / 16;
const TOCK = 1 / 64;
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Enqueues one part of a streamed body every `tock` of tyme once the app has handed it a controller. */
class PartMaker extends Doer {
  controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  made = 0;

  constructor(readonly trace: Entry[]) {
    super({ tock: 1 / 8 });
  }

  override recur(tyme: number): boolean {
    if (this.controller === null) return false;
    if (this.made === 3) {
      this.controller.close();
      this.trace.push([tyme, "app closes the stream"]);
      return true;
    }
    this.made += 1;
    this.controller.enqueue(encode(`part ${this.made};`));
    this.trace.push([tyme, "app makes", `part ${this.made}`]);
    return false;
  }
}

/** Sends each request once the one before was answered whole, tracing sends, arrivals and answers. */
class Asker extends Doer {
  next = 0;
  waiting = false;
  connected = false;
  received = 0;

  constructor(readonly client: tcp.Client, readonly requests: string[], readonly trace: Entry[]) {
    super();
  }

  override recur(tyme: number): boolean {
    const client = this.client;
    if (!client.connected) return false;
    if (!this.connected) {
      this.connected = true;
      this.trace.push([tyme, "client connected"]);
    }
    if (client.rxbs.length > this.received) {
      this.trace.push([tyme, "client rx", client.rxbs.length - this.received]);
      this.received = client.rxbs.length;
      const [response] = parseResponses(Buffer.from(client.rxbs.view()));
      if (response !== undefined) {
        this.trace.push([tyme, "client got", response.status, response.framing, response.body.toString()]);
        client.rxbs.clear();
        this.received = 0;
        this.waiting = false;
      }
    }
    if (!this.waiting && this.next < this.requests.length) {
      const request = this.requests[this.next++]!;
      client.tx(request);
      this.waiting = true;
      this.trace.push([tyme, "client sends", request.slice(0, request.indexOf(" HTTP/"))]);
    }
    return !this.waiting && this.next === this.requests.length;
  }
}

/** One run: a Server and a Client in one Doist over a MemoryNetwork, for `limit` of tyme. */
async function scenario(requests: string[], limit = 2): Promise<{ trace: Entry[]; stewardsSeen: number; network: tcp.MemoryNetwork }> {
  const trace: Entry[] = [];
  const maker = new PartMaker(trace);
  const network = new tcp.MemoryNetwork({ latency: LATENCY, chunk: 1460 });
  const app = (request: Request, env: HttpEnv): Response => {
    const path = new URL(request.url).pathname;
    trace.push([env.tyme ?? -1, "app gets", `${request.method} ${path} from ${env.remoteAddress}:${env.remotePort}`]);
    if (path === "/hello") return new Response("Hello World!");
    if (path === "/json") return Response.json({ sim: true, tyme: env.tyme });
    return new Response(new ReadableStream<Uint8Array>({ start: (controller) => void (maker.controller = controller) }), {
      headers: { "content-type": "text/plain" },
    });
  };
  const server = http.openServer({ app, network, host: "127.0.0.1", port: 0, tymeout: 1 });
  const client = new tcp.Client({ network, ha: [server.eha[0], server.eha[1]] });
  const asker = new Asker(client, requests, trace);
  let stewardsSeen = 0;
  const counter = new (class extends Doer {
    override recur(): boolean {
      stewardsSeen = Math.max(stewardsSeen, server.stewards.size);
      return false;
    }
  })();
  const doist = new Doist({ tock: TOCK });
  await doist.do({
    doers: [new http.ServerDoer({ server }), new tcp.ClientDoer({ client }), asker, maker, counter],
    limit,
  });
  return { trace, stewardsSeen, network };
}

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: sim\r\n\r\n`;

describe("http.Server and tcp.Client on a MemoryNetwork in one simulated-tyme Doist", () => {
  // A tx() leaves with the sender's next service (a tick later) and arrives a latency after that.
  const HOP = TOCK + LATENCY;

  it("answers a GET: the request a hop after it is sent, the whole response a latency after the app", async () => {
    const { trace, network } = await scenario([GET("/hello")], 0.5);
    const sent = 2 * LATENCY; // connected: the SYN there and back
    expect(trace).toEqual([
      [sent, "client connected"],
      [sent, "client sends", "GET /hello"],
      [sent + HOP, "app gets", "GET /hello from 127.0.0.1:49153"],
      // a body given whole goes out with its head in the tick the app answered
      [sent + HOP + LATENCY, "client rx", expect.any(Number)],
      [sent + HOP + LATENCY, "client got", 200, "length", "Hello World!"],
    ]);
    expect(network.openEnds).toBe(0); // the Doist's exit closed server and client
    expect(network.openListeners).toBe(0);
  });

  it("keeps the connection for a second request (keep-alive)", async () => {
    const { trace, stewardsSeen } = await scenario([GET("/hello"), GET("/json")], 1);
    const got = trace.filter((e) => e[1] === "client got" || e[1] === "app gets" || e[1] === "client sends");
    const first = 2 * LATENCY;
    const second = first + HOP + LATENCY; // sent as soon as the first answer was whole
    expect(got).toEqual([
      [first, "client sends", "GET /hello"],
      [first + HOP, "app gets", "GET /hello from 127.0.0.1:49153"],
      [second, "client got", 200, "length", "Hello World!"],
      [second, "client sends", "GET /json"],
      [second + HOP, "app gets", "GET /json from 127.0.0.1:49153"], // the same connection
      [second + HOP + LATENCY, "client got", 200, "length", JSON.stringify({ sim: true, tyme: second + HOP })],
    ]);
    expect(stewardsSeen).toBe(1);
  });

  it("streams a chunked response, each part arriving a latency after the app makes it", async () => {
    const { trace } = await scenario([GET("/chunks")], 2);
    const start = 2 * LATENCY + HOP; // the app gets the request
    const made = trace.filter((e) => e[1] === "app makes" || e[1] === "app closes the stream").map((e) => e[0]);
    expect(made).toHaveLength(4);
    made.forEach((tyme, i) => i > 0 && expect(tyme - made[i - 1]!).toBe(1 / 8)); // the maker's tock
    expect(made[0]).toBeGreaterThanOrEqual(start);
    // the head goes with the first part (framing is chosen then), each later part on its own,
    // a hop after it was made: "7\r\npart n;\r\n" is 12 bytes, the last chunk "0\r\n\r\n" 5
    const arrivals = trace.filter((e) => e[1] === "client rx");
    expect(arrivals.map((e) => e[0])).toEqual(made.map((tyme) => tyme + HOP));
    expect(arrivals.slice(1).map((e) => e[2])).toEqual([12, 12, 5]);
    expect(trace.at(-1)).toEqual([made[3]! + HOP, "client got", 200, "chunked", "part 1;part 2;part 3;"]);
  });

  it("gives identical traces on two runs", async () => {
    const requests = [GET("/hello"), GET("/json"), GET("/chunks")];
    const first = await scenario(requests, 2);
    const second = await scenario(requests, 2);
    expect(second.trace).toEqual(first.trace);
    expect(first.trace.filter((e) => e[1] === "client got").map((e) => e.slice(2, 4))).toEqual([
      [200, "length"],
      [200, "length"],
      [200, "chunked"],
    ]);
  });
});
