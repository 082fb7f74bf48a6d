/**
 * testing.request(): a fetch Request answered through the wire (an http.Server on a MemoryNetwork)
 * in simulated tyme. The Response is made from the bytes the server wrote, so framing shows.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { Doer, testing } from "../../src/index.ts";
import type { HttpEnv } from "../../src/index.ts";

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Enqueues `parts` into the stream the app handed it, one every `tock`, then closes it. */
class Feeder extends Doer {
  controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  made = 0;
  readonly close: boolean;
  constructor(readonly parts: string[], { tock = 1 / 8, close = true } = {}) {
    super({ tock });
    this.close = close;
  }
  override recur(): boolean {
    if (this.controller === null) return false;
    const part = this.parts[this.made];
    if (part === undefined) {
      if (this.close) this.controller.close();
      return true;
    }
    this.made += 1;
    this.controller.enqueue(encode(part));
    return false;
  }
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({ start: (controller) => void (this.controller = controller) });
  }
}

const app = async (request: Request, env: HttpEnv): Promise<Response> => {
  const url = new URL(request.url);
  if (url.pathname === "/json") return Response.json({ got: await request.json(), tyme: env.tyme });
  if (url.pathname === "/upload") {
    return new Response(`${request.headers.get("transfer-encoding")}: ${await request.text()}`);
  }
  return new Response(`${request.method} ${url.pathname}${url.search} for ${request.headers.get("host")}`);
};

describe("testing.request", () => {
  it("answers a GET with the Response the server wrote, and the bytes both ways", async () => {
    const response = await testing.request(app, "/hello?who=you");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain;charset=UTF-8");
    expect(response.headers.get("server")).toBe("hio-ts");
    expect(await response.text()).toBe("GET /hello?who=you for localhost");
    const { wire } = response;
    expect(wire.tx.toString("latin1")).toBe("GET /hello?who=you HTTP/1.1\r\nhost: localhost\r\n\r\n");
    expect(wire.rx.toString("latin1")).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*content-length: 32\r\n\r\nGET \/hello/);
    expect([wire.framing, wire.complete, wire.closed, wire.fault, wire.extra.length]).toEqual(["length", true, null, null, 0]);
    // written at 0, read by the server at 1/32, answered (a promise: a tick later) at 2/32
    expect(wire.sent.map(({ tyme }) => tyme)).toEqual([0]);
    expect(wire.received.map(({ tyme }) => tyme)).toEqual([1 / 16]);
    expect(wire.tyme).toBe(1 / 16);
  });

  it("posts JSON with a Content-Length and reads JSON back", async () => {
    const response = await testing.request(app, "http://api.test/json", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: 1 }),
    });
    expect(await response.json()).toEqual({ got: { a: 1 }, tyme: 1 / 32 });
    expect(response.wire.tx.toString("latin1")).toBe(
      "POST /json HTTP/1.1\r\nhost: api.test\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}",
    );
  });

  it("answers HEAD with the GET's fields and no body", async () => {
    const get = await testing.request(app, "/page");
    const head = await testing.request(app, "/page", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    expect(head.wire.framing).toBe("none");
    expect(head.headers.get("content-length")).toBe(String("HEAD /page for localhost".length));
    expect(get.headers.get("content-length")).toBe(String((await get.text()).length));
    expect(head.wire.rx.toString("latin1")).toMatch(/\r\n\r\n$/); // nothing after the head
  });

  it("sends a streamed body chunked, each piece as it comes, and the app reads it whole", async () => {
    const feeder = new Feeder(["hello", ", ", "world"]);
    const response = await testing.request(app, "/upload", { method: "POST", body: feeder.stream(), doers: [feeder] });
    expect(await response.text()).toBe("chunked: hello, world");
    const { wire } = response;
    expect(wire.tx.toString("latin1")).toBe(
      "POST /upload HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n2\r\n, \r\n5\r\nworld\r\n0\r\n\r\n",
    );
    // the head at once; then a piece per feeder tock, each written the tick after it was made
    expect(wire.sent.map(({ tyme, bytes }) => [tyme, bytes.length])).toEqual([[0, 70], [1 / 32, 10], [5 / 32, 7], [9 / 32, 10], [13 / 32, 5]]);
  });

  it("reads a streamed response whole, its pieces arriving as the app makes them", async () => {
    const feeder = new Feeder(["part 1;", "part 2;", "part 3;"]);
    const response = await testing.request(() => new Response(feeder.stream()), "/stream", { doers: [feeder] });
    expect(await response.text()).toBe("part 1;part 2;part 3;");
    const { wire } = response;
    expect(wire.framing).toBe("chunked");
    // the app answers at 1/32; the feeder (tock 1/8) makes a part at 1/8, 2/8, 3/8 and ends at 4/8;
    // each goes out with the server's next tick
    const pieces = wire.received.map(({ tyme, bytes }) => [tyme, Buffer.from(bytes).toString("latin1").replace(/^HTTP\/[^]*?\r\n\r\n/, "")]);
    expect(pieces).toEqual([[5 / 32, "7\r\npart 1;\r\n"], [9 / 32, "7\r\npart 2;\r\n"], [13 / 32, "7\r\npart 3;\r\n"], [17 / 32, "0\r\n\r\n"]]);
  });

  it("resolves an event stream still going at the limit with the events so far", async () => {
    const feeder = new Feeder(["data: one\n\n", "id: 2\ndata: two\n\n"], { close: false });
    const events = (): Response =>
      new Response(feeder.stream(), { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
    const response = await testing.request(events, "/events", { doers: [feeder], limit: 1 });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(await response.text()).toBe("data: one\n\nid: 2\ndata: two\n\n");
    expect([response.wire.complete, response.wire.closed, response.wire.fault]).toEqual([false, null, null]);
    expect(response.wire.tyme).toBe(1 - 1 / 32); // the last tick before the limit
  });

  describe("shows framing faults that calling the app directly hides", () => {
    const liar = (declared: string, body: string) => () => new Response(body, { headers: { "content-length": declared } });

    it("a Content-Length longer than the body: the server closes short, and request() rejects", async () => {
      const direct = await liar("10", "hello")();
      expect(await direct.text()).toBe("hello"); // looks fine
      const fault = await testing.request(liar("10", "hello"), "/").then(() => null, (error: unknown) => error);
      expect(fault).toBeInstanceOf(testing.WireFault);
      const { wire, message } = fault as testing.WireFault;
      expect(message).toBe("the connection was closed after 5 of 10 body bytes");
      expect(wire.rx.toString("latin1")).toMatch(/content-length: 10\r\n\r\nhello$/);
      expect([wire.closed, wire.complete, wire.response]).toEqual(["fin", false, null]);
      // requestRaw gives the same wire without throwing
      const raw = await testing.requestRaw(liar("10", "hello"), "/");
      expect([raw.fault, raw.declared, raw.framing]).toEqual([wire.fault, 10, "length"]);
    });

    it("a Content-Length shorter than the body: the server cuts the body to it", async () => {
      const direct = await liar("5", "hello world")();
      expect(await direct.text()).toBe("hello world");
      const response = await testing.request(liar("5", "hello world"), "/");
      expect(await response.text()).toBe("hello");
      expect(response.wire.extra.length).toBe(0); // the rest never went out
    });
  });

  it("takes an object with a fetch method, such as a Hono app", async () => {
    const hono = new Hono();
    hono.get("/hi/:name", (c) => c.json({ hi: c.req.param("name") }));
    const response = await testing.request(hono, "/hi/there");
    expect(await response.json()).toEqual({ hi: "there" });
    expect((await testing.request(hono, "/nowhere")).status).toBe(404);
  });

  it("takes server options: limits, say, or no app at all (the echoing BareServer)", async () => {
    const limited = await testing.request({ app, limits: { maxLine: 24 } }, "/a-target-longer-than-the-line-limit");
    expect(limited.status).toBe(414);
    const echoed = await testing.request({}, "/echo?x=1", { method: "POST", body: "hi" });
    expect(await echoed.json()).toMatchObject({ method: "POST", path: "/echo", qargs: { x: "1" }, body: "hi" });
  });

  it("answers an app's throw with 500 and keeps the error in wire.errors, printing nothing", async () => {
    const boom = new Error("boom");
    const response = await testing.request(() => {
      throw boom;
    }, "/");
    expect(response.status).toBe(500);
    expect(response.wire.errors).toEqual([boom]);
  });

  it("rejects with a WireFault when no response comes by the limit", async () => {
    const never = (): Promise<Response> => new Promise(() => {});
    await expect(testing.request(never, "/", { limit: 0.5 })).rejects.toThrow("no response by tyme 0.46875 (limit 0.5)");
  });

  it("sends framing fields as given, so a request's own framing can be tested", async () => {
    const response = await testing.request(app, "/upload", {
      method: "POST",
      headers: { "content-length": "3" },
      body: "abcdef",
    });
    // the server takes 3 bytes of body; "def" waits as the start of a next request
    expect(await response.text()).toBe("null: abc");
    expect(response.wire.tx.toString("latin1")).toBe(
      "POST /upload HTTP/1.1\r\nhost: localhost\r\ncontent-length: 3\r\ncontent-type: text/plain;charset=UTF-8\r\n\r\nabcdef",
    );
  });
});
