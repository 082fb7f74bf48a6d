/**
 * What apps return goes out whole: the Responder sends an OutgoingResponse from its parts in the
 * tick the app answered, a native Response from undici's source where undici shows it or through
 * its stream where it does not (then keeps it, so a Response returned again is sent again), and
 * apps written for any runtime (Hono's helpers included) are answered as they mean.
 */
import { Hono } from "hono";
import { stream, streamText } from "hono/streaming";
import { afterEach, describe, expect, it } from "vitest";
import { ByteBuffer } from "../../src/base/buffering.ts";
import { Tymist, http } from "../../src/index.ts";
import { nativeSourceShown } from "../../src/http/server/bodying.ts";
import { NativeResponse, outgoingParts } from "../../src/http/server/outgoing.ts";
import { drive, parseResponses, rawRequest, responses } from "../helpers.ts";

const GET: http.Exchange = { method: "GET", chunkable: true, persisted: true };

/** A Responder writing into a fresh send buffer, and what it wrote so far as text. */
function responder() {
  const txbs = new ByteBuffer();
  const r = new http.Responder({ txbs });
  return { r, sent: () => Buffer.from(txbs.view()).toString("latin1"), clear: () => txbs.clear() };
}

describe("Responder with bodies given whole", () => {
  it("sends an OutgoingResponse whole in the tick it is given, its fields as given, lowercased", () => {
    const { r, sent } = responder();
    r.start(new http.Response("Hello World!", { status: 201, headers: { "Content-Type": "text/plain", "X-Two": "2" } }), GET);
    r.service();
    expect(r.ended).toBe(true);
    const text = sent();
    expect(text).toMatch(/^HTTP\/1\.1 201 Created\r\ncontent-type: text\/plain\r\nx-two: 2\r\nserver: hio-ts\r\ndate: [^\r]+\r\ncontent-length: 12\r\n\r\nHello World!$/);
  });

  it("sends Response.json(), bytes, an empty body and no body whole too", () => {
    const cases: Array<[Response, RegExp]> = [
      [http.Response.json({ a: 1 }), /content-type: application\/json\r\n.*content-length: 7\r\n\r\n\{"a":1\}$/s],
      [new http.Response(new Uint8Array([104, 105])), /content-length: 2\r\n\r\nhi$/],
      [new http.Response(""), /content-type: text\/plain;charset=UTF-8\r\n.*content-length: 0\r\n\r\n$/s],
      [new http.Response(null, { status: 204 }), /^HTTP\/1\.1 204 No Content\r\nserver: hio-ts\r\ndate: [^\r]+\r\n\r\n$/],
    ];
    for (const [response, expected] of cases) {
      const { r, sent } = responder();
      r.start(response, GET);
      r.service();
      expect(r.ended).toBe(true);
      expect(sent()).toMatch(expected);
    }
  });

  it("sends the same OutgoingResponse to every request it is returned for", () => {
    const { r, sent, clear } = responder();
    const hello = new http.Response("again");
    for (let i = 0; i < 3; i++) {
      r.start(hello, GET);
      r.service();
      expect(r.ended).toBe(true);
      expect(r.status).toBe(200);
      expect(sent().endsWith("\r\n\r\nagain")).toBe(true);
      r.reset();
      clear();
    }
    expect(hello.bodyUsed).toBe(false);
  });

  it("sends a native Response whole where undici shows its source; elsewhere a tick later, then whole when returned again", async () => {
    const { r, sent, clear } = responder();
    const hello = new NativeResponse("native");
    const ticks: number[] = [];
    for (let i = 0; i < 3; i++) {
      r.start(hello, GET);
      r.service();
      let tick = 0;
      while (!r.ended && tick < 50) {
        await new Promise((resolve) => setImmediate(resolve));
        r.service();
        tick += 1;
      }
      ticks.push(tick);
      expect(r.status).toBe(200);
      expect(sent()).toMatch(/content-length: 6\r\n\r\nnative$/);
      r.reset();
      clear();
    }
    expect(ticks).toEqual(nativeSourceShown ? [0, 0, 0] : [1, 0, 0]);
  });

  it("answers 500 for a body the app already read, light or native", async () => {
    for (const Made of [http.Response, NativeResponse]) {
      const { r } = responder();
      const used = new Made("read");
      await used.text();
      r.start(used, GET);
      r.service();
      expect(r.status).toBe(500);
      expect(String(r.error)).toMatch(/already used/);
    }
  });
});

describe("Server answering what apps return", () => {
  const servers: http.BareServer[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  function open(app: http.FetchApp, failures: unknown[] = []): { port: number; step: () => void } {
    const tymist = new Tymist({ tock: 1 / 32 });
    const server = http.openServer({ app, host: "127.0.0.1", port: 0, tymth: tymist.tymen(), tymeout: 0, onError: (error) => void failures.push(error) });
    servers.push(server);
    return { port: server.ha[1], step: () => { server.service(); tymist.tick(); } };
  }

  async function ask(port: number, step: () => void, paths: string[], heads: boolean[] = []) {
    const raw = paths.map((path, i) => `${heads[i] ? "HEAD" : "GET"} ${path} HTTP/1.1\r\nHost: h.test\r\n\r\n`).join("");
    const reply = await drive(step, rawRequest(port, raw, { until: responses(paths.length, heads) }));
    return parseResponses(reply.bytes, { heads });
  }

  it("hands apps the light Response as the global one, and sends what they make of it", async () => {
    class Statused extends Response {
      override get status(): number { return 299; }
    }
    const kinds: string[] = [];
    const { port, step } = open((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/late") {
        const response = new Response("late", { headers: { "x-early": "1" } });
        response.headers.set("x-late", "2"); // changed after it was made, before it was returned
        kinds.push(outgoingParts(response) !== null ? "light" : "native");
        return response;
      }
      if (path === "/statused") return new Statused("odd");
      if (path === "/streamed") {
        const response = new Response("touched");
        void response.body; // the app asked for the stream: it is read, not the parts
        return response;
      }
      return Response.json({ path });
    });
    const got = await ask(port, step, ["/late", "/statused", "/streamed", "/json", "/json"], [false, false, false, false, true]);
    expect(kinds).toEqual(["light"]);
    expect(got.map((r) => [r.status, r.body.toString()])).toEqual([[200, "late"], [299, "odd"], [200, "touched"], [200, '{"path":"/json"}'], [200, ""]]);
    expect([got[0]!.get("x-early"), got[0]!.get("x-late")]).toEqual(["1", "2"]);
    expect(got[3]!.get("content-type")).toBe("application/json");
    expect(got[4]!.get("content-length")).toBe("16"); // HEAD: what GET's body has
  });

  it("sends one Response returned for many requests every time, light or native", async () => {
    const light = new http.Response("light one");
    const native = new NativeResponse("native one");
    const { port, step } = open((request) => (request.url.endsWith("/native") ? native : light));
    const got = await ask(port, step, ["/light", "/native", "/light", "/native", "/native"]);
    expect(got.map((r) => [r.status, r.body.toString()])).toEqual([
      [200, "light one"], [200, "native one"], [200, "light one"], [200, "native one"], [200, "native one"],
    ]);
  });

  it("answers 500 and reports it when an app returns a Response whose body it read", async () => {
    const failures: unknown[] = [];
    const { port, step } = open(async () => {
      const response = new Response("mine");
      await response.text();
      return response;
    }, failures);
    const got = await ask(port, step, ["/"]);
    expect(got[0]!.status).toBe(500);
    expect(failures).toHaveLength(1);
  });

  it("runs a Hono app's helpers as they mean: text, json, html, body, redirect, headers set late, streams", async () => {
    const app = new Hono();
    app.use("/late/*", async (c, next) => {
      await next();
      c.header("x-after", "set late");
    });
    app.get("/text", (c) => c.text("hono text"));
    app.get("/json", (c) => c.json({ ok: true }, 201));
    app.get("/html", (c) => c.html("<p>hi</p>"));
    app.get("/empty", (c) => c.body(null, 204));
    app.get("/moved", (c) => c.redirect("/text", 301));
    app.get("/late/x", (c) => c.text("late"));
    app.get("/headers", (c) => c.text("many", 200, { "x-one": "1", "x-two": "2" }));
    app.get("/stream", (c) => stream(c, async (s) => {
      await s.write("a");
      await s.write("b");
    }));
    app.get("/stream-text", (c) => streamText(c, async (s) => {
      await s.writeln("line");
    }));
    const { port, step } = open(app.fetch);
    const paths = ["/text", "/json", "/html", "/empty", "/moved", "/late/x", "/headers", "/stream", "/stream-text", "/none"];
    const got = await ask(port, step, paths);
    expect(got.map((r) => [r.status, r.body.toString()])).toEqual([
      [200, "hono text"], [201, '{"ok":true}'], [200, "<p>hi</p>"], [204, ""], [301, ""], [200, "late"], [200, "many"], [200, "ab"], [200, "line\n"], [404, "404 Not Found"],
    ]);
    expect(got[0]!.get("content-type")).toMatch(/^text\/plain/);
    expect(got[1]!.get("content-type")).toBe("application/json");
    expect(got[2]!.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(got[4]!.get("location")).toBe("/text");
    expect(got[5]!.get("x-after")).toBe("set late");
    expect([got[6]!.get("x-one"), got[6]!.get("x-two")]).toEqual(["1", "2"]);
    expect(got[7]!.framing).toBe("length"); // the stream ended before the head went out
  });
});
