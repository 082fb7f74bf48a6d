/**
 * hio's CustomResponder from a Steward: `respond()` returns a CustomReply (or the bytes of a
 * whole message) and no fetch Response is ever made. Through a real BareServer on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Tymist, http } from "../../src/index.ts";
import { drive, parseResponses, rawRequest, responses } from "../helpers.ts";

const servers: http.BareServer[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A BareServer whose Stewards answer with `answer(steward)`; stepped by hand. */
function open(answer: (steward: http.Steward) => http.Answer | PromiseLike<http.Answer>, failures: unknown[] = []) {
  class Replier extends http.Steward {
    override respond(): http.Answer | PromiseLike<http.Answer> {
      return answer(this);
    }
  }
  return serve((options) => new Replier(options), failures);
}

/** A BareServer whose connections get `steward(options)`; stepped by hand. */
function serve(steward: (options: http.StewardOptions) => http.Steward, failures: unknown[] = [], name?: string) {
  const tymist = new Tymist({ tock: 1 / 32 });
  const server = http.openServer({
    host: "127.0.0.1",
    port: 0,
    tymth: tymist.tymen(),
    tymeout: 0,
    ...(name === undefined ? {} : { name }),
    steward,
    onError: (error) => void failures.push(error),
  });
  servers.push(server);
  const step = (): void => {
    server.service();
    tymist.tick();
  };
  return { port: server.ha[1], step };
}

async function ask(port: number, step: () => void, raw: string, count = 1, heads: boolean[] = []) {
  const reply = await drive(step, rawRequest(port, raw, { until: responses(count, heads) }));
  return { replies: parseResponses(reply.bytes, { closed: reply.closed, heads }), bytes: reply.bytes, closed: reply.closed };
}

/** Waits until the server closes the connection. */
async function askUntilClosed(port: number, step: () => void, raw: string) {
  const reply = await drive(step, rawRequest(port, raw));
  return { replies: parseResponses(reply.bytes, { closed: reply.closed }), closed: reply.closed };
}

const GET = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
const custom = new http.CustomResponder();

describe("a Steward answering with hio's CustomResponder", () => {
  it("sends a CustomReply whole: status, fields as given, Server, Date and Content-Length", async () => {
    const { port, step } = open((steward) =>
      custom.reply({ status: 201, headers: { "Content-Type": "text/plain", "X-Path": steward.requestant.path }, body: "made" }));
    const { replies, bytes } = await ask(port, step, GET);
    const reply = replies[0]!;
    expect(reply.status).toBe(201);
    expect(reply.reason).toBe("Created");
    expect(reply.headers.map(([name]) => name)).toEqual(["Content-Type", "X-Path", "Server", "Date", "Content-Length"]);
    expect(reply.get("x-path")).toBe("/hello");
    expect(reply.get("server")).toBe("hio-ts");
    expect(reply.get("content-length")).toBe("4");
    expect(reply.body.toString()).toBe("made");
    expect(bytes.toString("latin1").endsWith("\r\n\r\nmade")).toBe(true);
  });

  it("answers pipelined requests on one connection, one reply object for all of them", async () => {
    const hello = custom.reply({ headers: [["content-type", "text/plain"]], body: "Hello World!" });
    const { port, step } = open(() => hello);
    const { replies, closed } = await ask(port, step, GET.repeat(3), 3);
    expect(replies.map((r) => [r.status, r.body.toString(), r.get("content-length")])).toEqual(Array(3).fill([200, "Hello World!", "12"]));
    expect(closed).toBe(false);
  });

  it("sends a JSON reply made from data, compact, typed application/json", async () => {
    const { port, step } = open((steward) => custom.reply({ data: { path: steward.requestant.path, n: [1, 2] } }));
    const { replies } = await ask(port, step, GET);
    expect(replies[0]!.get("content-type")).toBe("application/json; charset=utf-8");
    expect(replies[0]!.body.toString()).toBe('{"path":"/hello","n":[1,2]}');
  });

  it("answers HEAD with the head alone, its Content-Length what GET's body has", async () => {
    const { port, step } = open(() => custom.reply({ body: "héllo" }));
    const { replies } = await ask(port, step, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" + GET, 2, [true, false]);
    expect(replies[0]!.get("content-length")).toBe("6");
    expect(replies[0]!.body.length).toBe(0);
    expect(replies[1]!.body.toString()).toBe("héllo"); // the next response starts right after the head
  });

  it("sends no content for 204 and 304 replies", async () => {
    const { port, step } = open((steward) => custom.reply({ status: steward.requestant.path === "/a" ? 204 : 304, body: "dropped" }));
    const { replies } = await ask(port, step, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", 2);
    expect(replies.map((r) => [r.status, r.get("content-length"), r.body.length])).toEqual([[204, undefined, 0], [304, undefined, 0]]);
  });

  it("takes a promise of a reply, as a Steward that must wait for something would give", async () => {
    const { port, step } = open(async (steward) => {
      await new Promise((resolve) => setImmediate(resolve));
      return custom.reply({ body: `later ${steward.requestant.path}` });
    });
    const { replies } = await ask(port, step, GET);
    expect(replies[0]!.body.toString()).toBe("later /hello");
  });

  it("closes after a reply asking for it, and after a request that does not persist (HTTP/1.0)", async () => {
    const { port, step } = open(() => custom.reply({ headers: { Connection: "close" }, body: "bye" }));
    const asked = await askUntilClosed(port, step, GET + GET);
    expect(asked.replies).toHaveLength(1);
    expect(asked.replies[0]!.get("connection")).toBe("close");
    expect(asked.closed).toBe(true);

    const plain = open(() => custom.reply({ body: "old" }));
    const old = await askUntilClosed(plain.port, plain.step, "GET / HTTP/1.0\r\n\r\n");
    expect(old.replies[0]!.get("connection")).toBe("close");
    expect(old.replies[0]!.body.toString()).toBe("old");
    expect(old.closed).toBe(true);

    const kept = await ask(plain.port, plain.step, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    expect(kept.replies[0]!.get("connection")).toBe("keep-alive");
    expect(kept.closed).toBe(false);
  });

  it("sends the bytes of a whole message (build()) as they are, and their head alone for HEAD", async () => {
    const message = custom.build({ status: 202, headers: { "Content-Type": "text/plain" }, body: "as built" });
    const { port, step } = open(() => message);
    const { bytes } = await ask(port, step, GET);
    expect(bytes.equals(Buffer.from(message))).toBe(true);
    const head = await ask(port, step, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", 1, [true]);
    const text = Buffer.from(message).toString("latin1");
    expect(head.bytes.toString("latin1")).toBe(text.slice(0, text.indexOf("\r\n\r\n") + 4));
    expect(head.replies[0]!.status).toBe(202);
  });

  it("closes after built bytes that say Connection: close", async () => {
    const message = custom.build({ body: "last", persisted: false });
    const { port, step } = open(() => message);
    const asked = await askUntilClosed(port, step, GET + GET);
    expect(asked.replies.map((r) => r.body.toString())).toEqual(["last"]);
    expect(asked.closed).toBe(true);
  });

  it("answers 500 for bytes that are not a whole message and for a reply refused when made, and reports both", async () => {
    const failures: unknown[] = [];
    const { port, step } = open((steward) => {
      if (steward.requestant.path === "/bytes") return new TextEncoder().encode("Hello World!");
      return custom.reply({ headers: { "X-Bad": "a\r\nInjected: yes" }, body: "never" });
    }, failures);
    const { replies } = await ask(port, step, "GET /bytes HTTP/1.1\r\nHost: x\r\n\r\nGET /field HTTP/1.1\r\nHost: x\r\n\r\n", 2);
    expect(replies.map((r) => r.status)).toEqual([500, 500]);
    expect(replies[1]!.get("injected")).toBeUndefined();
    expect(failures.map((error) => (error as Error).constructor.name)).toEqual(["TypeError", "TypeError"]);
    expect((failures[0] as Error).message).toMatch(/not a whole HTTP\/1.1 message/);
  });
});

describe("CustomReply", () => {
  it("refuses what cannot go on the wire: a status not of three digits, bad field names, CR or LF in values or reason", () => {
    expect(() => new http.CustomReply({ status: 42 })).toThrow(RangeError);
    expect(() => new http.CustomReply({ status: 200.5 })).toThrow(RangeError);
    expect(() => new http.CustomReply({ headers: { "Bad Name": "x" } })).toThrow(TypeError);
    expect(() => new http.CustomReply({ headers: [["x", "a\nb"]] })).toThrow(TypeError);
    expect(() => new http.CustomReply({ reason: "OK\r\nX: y" })).toThrow(TypeError);
    expect(new http.CustomReply({ reason: "Fine", headers: { "X-Tab": "a\tb" } }).fields).toEqual([["X-Tab", "a\tb"]]);
  });

  it("builds the same message as the Responder writes for it", () => {
    const built = Buffer.from(custom.build({ status: 200, data: { a: 1 } })).toString("latin1");
    expect(built).toMatch(/^HTTP\/1\.1 200 OK\r\nContent-Type: application\/json; charset=utf-8\r\nServer: hio-ts\r\nDate: [^\r]+ GMT\r\nContent-Length: 7\r\n\r\n\{"a":1\}$/);
  });
});

/** hio's Steward with a CustomResponder of its own: respond() builds the echo, as hio's does. */
class HioSteward extends http.Steward {
  readonly custom = new http.CustomResponder({ steward: this });

  override respond(): http.Answer {
    const r = this.requestant;
    r.dictify();
    return this.custom.build({
      status: 200,
      data: { version: r.version, method: r.method, path: r.path, qargs: r.qargs, body: Buffer.from(r.body).toString("utf8"), data: r.data },
    });
  }
}

/** Counts its requests; answers with the CustomResponder itself, reinit for each one. */
class CountingSteward extends http.Steward {
  readonly custom = new http.CustomResponder({ steward: this, headers: { "Content-Type": "text/plain" } });
  count = 0;

  override respond(): http.Answer | PromiseLike<http.Answer> {
    this.count += 1;
    const path = this.requestant.path;
    if (path === "/later") {
      // a promise of the responder: its parts as they are when the promise settles
      return new Promise((resolve) => setImmediate(() => {
        this.custom.reinit({ status: 202, body: `later ${this.count}` });
        resolve(this.custom);
      }));
    }
    if (path === "/json") this.custom.reinit({ data: { count: this.count } });
    else if (path === "/bad") this.custom.reinit({ headers: { "X-Bad": "a\r\nInjected: yes" } });
    else this.custom.reinit({ status: this.count === 1 ? 201 : null, body: `request ${this.count}` });
    return this.custom;
  }
}

describe("hio's CustomResponder from a Steward's respond()", () => {
  it("answers as hio's Steward does: build() with status and data, the steward's name as Server", async () => {
    const { port, step } = serve((options) => new HioSteward(options), [], "demo");
    const { replies } = await ask(port, step, "POST /echo?name=fame HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}" + GET, 2);
    expect(replies.map((r) => [r.status, r.get("server"), r.get("content-type")])).toEqual(Array(2).fill([200, "demo", "application/json; charset=utf-8"]));
    expect(JSON.parse(replies[0]!.body.toString())).toEqual({
      version: "HTTP/1.1", method: "POST", path: "/echo", qargs: { name: "fame" }, body: '{"a":1}', data: { a: 1 },
    });
    expect(JSON.parse(replies[1]!.body.toString())).toMatchObject({ method: "GET", path: "/hello", data: null });
  });

  it("sends the CustomResponder itself with its parts of the moment: reinit keeps status and headers unless given", async () => {
    const { port, step } = serve((options) => new CountingSteward(options));
    const raw = ["/a", "/b", "/json", "/later", "/c"].map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`).join("");
    const { replies } = await ask(port, step, raw + "HEAD /d HTTP/1.1\r\nHost: x\r\n\r\n", 6, [false, false, false, false, false, true]);
    expect(replies.map((r) => [r.status, r.get("content-type"), r.body.toString()])).toEqual([
      [201, "text/plain", "request 1"],
      [201, "text/plain", "request 2"], // the status of the first reinit is kept
      [201, "application/json; charset=utf-8", '{"count":3}'], // data is JSON, whatever the kept type
      [202, "text/plain", "later 4"],
      [202, "text/plain", "request 5"],
      [202, "text/plain", ""], // HEAD: the head alone, the Content-Length GET would get
    ]);
    expect(replies[5]!.get("content-length")).toBe("9");
  });

  it("answers 500 when the responder's parts cannot go on the wire, and reports why", async () => {
    const failures: unknown[] = [];
    const { port, step } = serve((options) => new CountingSteward(options), failures);
    const { replies } = await ask(port, step, "GET /bad HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(replies[0]!.status).toBe(500);
    expect(replies[0]!.get("injected")).toBeUndefined();
    expect(failures.map((error) => (error as Error).constructor.name)).toEqual(["TypeError"]);
  });
});

describe("CustomResponder", () => {
  it("reinits as hio: status and headers replaced only when given, body and data always", () => {
    const custom = new http.CustomResponder({ status: 404, headers: { "X-One": "1" }, body: "gone", data: { a: 1 } });
    expect([custom.status, [...custom.headers], custom.body, custom.data, custom.name, custom.steward]).toEqual([404, [["X-One", "1"]], "gone", { a: 1 }, "hio-ts", null]);
    custom.reinit();
    expect([custom.status, [...custom.headers], custom.body, custom.data]).toEqual([404, [["X-One", "1"]], "", null]);
    custom.reinit({ status: 200, headers: [["X-Two", "2"]], body: "here" });
    expect([custom.status, [...custom.headers], custom.body, custom.data]).toEqual([200, [["X-Two", "2"]], "here", null]);
    custom.reinit({ data: [1, 2] });
    expect([custom.status, [...custom.headers], custom.body, custom.data]).toEqual([200, [["X-Two", "2"]], "", [1, 2]]);
  });

  it("builds as hio: reinit, then the message, kept in msg and marked ended", () => {
    const custom = new http.CustomResponder({ name: "mine", headers: { "Content-Type": "text/plain" } });
    expect([custom.ended, custom.msg.length]).toEqual([false, 0]);
    const first = Buffer.from(custom.build({ status: 201, body: "made" })).toString("latin1");
    expect(first).toMatch(/^HTTP\/1\.1 201 Created\r\nContent-Type: text\/plain\r\nServer: mine\r\nDate: [^\r]+\r\nContent-Length: 4\r\n\r\nmade$/);
    expect([custom.ended, Buffer.from(custom.msg).toString("latin1")]).toEqual([true, first]);
    const second = Buffer.from(custom.build({ persisted: false })).toString("latin1");
    expect(second).toMatch(/^HTTP\/1\.1 201 Created\r\nContent-Type: text\/plain\r\n.*Content-Length: 0\r\nConnection: close\r\n\r\n$/s);
  });

  it("gives a reply of the parts given, or of its own parts", () => {
    const custom = new http.CustomResponder({ status: 203, body: "own" });
    expect([custom.reply().status, custom.reply().body]).toEqual([203, "own"]);
    expect([custom.reply({ body: "given" }).status, custom.reply({ body: "given" }).body]).toEqual([200, "given"]);
  });
});
