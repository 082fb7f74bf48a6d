import { readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import type { TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Tymist, http } from "../../src/index.ts";
import type { HttpEnv } from "../../src/index.ts";
import { drive, parseResponses, rawRequest, responses } from "../helpers.ts";

const servers: http.BareServer[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

function open(app?: http.FetchApp, options: Partial<http.ServerOptions> = {}): { server: http.BareServer; port: number; step: () => void; tymist: Tymist } {
  const tymist = new Tymist({ tock: 1 / 32 });
  // Tyme here runs one tock per event-loop turn, far faster than the clock, so an idle
  // tymeout would fire during a client's ordinary pauses: off unless a test sets one.
  const base = { host: "127.0.0.1", port: 0, tymth: tymist.tymen(), tymeout: 0, ...options };
  const server = app ? http.openServer({ app, ...base }) : http.openServer(base);
  servers.push(server);
  const step = (): void => {
    server.service();
    tymist.tick();
  };
  return { server, port: server.ha[1], step, tymist };
}

async function ask(port: number, step: () => void, raw: string, count = 1, heads: boolean[] = []): Promise<{ replies: ReturnType<typeof parseResponses>; closed: boolean }> {
  const reply = await drive(step, rawRequest(port, raw, { until: responses(count, heads) }));
  return { replies: parseResponses(reply.bytes, { closed: reply.closed, heads }), closed: reply.closed };
}

/** Waits for the server to close the connection after `count` responses. */
async function askUntilClosed(port: number, step: () => void, raw: string | Buffer): Promise<{ replies: ReturnType<typeof parseResponses>; closed: boolean }> {
  const reply = await drive(step, rawRequest(port, raw));
  return { replies: parseResponses(reply.bytes, { closed: reply.closed }), closed: reply.closed };
}

describe("BareServer", () => {
  it("echoes a GET as JSON with hio's keys (S8)", async () => {
    const { port, step } = open();
    const { replies } = await ask(port, step, "GET /echo?name=fame HTTP/1.1\r\nHost: localhost:6101\r\nAccept-Encoding: identity\r\n\r\n");
    expect(replies).toHaveLength(1);
    const reply = replies[0]!;
    expect(reply.status).toBe(200);
    expect(reply.get("content-type")).toMatch(/application\/json/);
    expect(JSON.parse(reply.body.toString())).toEqual({
      version: "HTTP/1.1",
      method: "GET",
      path: "/echo",
      qargs: { name: "fame" },
      fragment: "",
      headers: [
        ["Host", "localhost:6101"],
        ["Accept-Encoding", "identity"],
      ],
      body: "",
      data: null,
    });
  });

  it("answers two pipelined requests on one connection, in order (S9)", async () => {
    const { port, step } = open();
    const raw = "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n";
    const { replies, closed } = await ask(port, step, raw, 2);
    expect(closed).toBe(false);
    expect(replies.map((r) => JSON.parse(r.body.toString()).path)).toEqual(["/one", "/two"]);
  });

  it("adds Server and an IMF-fixdate Date when the reply has none (S3)", async () => {
    const { port, step } = open();
    const { replies } = await ask(port, step, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(replies[0]!.get("server")).toBe("hio-ts");
    expect(replies[0]!.get("date")).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  });
});

describe("Server with a fetch app", () => {
  it("hands the app an absolute URL from Host and target, its headers and body (S12)", async () => {
    let seen: { url: string; method: string; dup: string | null; body: string; remote: string } | null = null;
    const { port, step } = open(async (request, env: HttpEnv) => {
      seen = { url: request.url, method: request.method, dup: request.headers.get("x-dup"), body: await request.text(), remote: env.remoteAddress };
      return new Response("ok");
    });
    const raw = "POST /hello?x=1 HTTP/1.1\r\nHost: h:1\r\nX-Dup: a\r\nX-Dup: b\r\nContent-Length: 5\r\n\r\nhello";
    const { replies } = await ask(port, step, raw);
    expect(replies[0]!.status).toBe(200);
    expect(seen).toEqual({ url: "http://h:1/hello?x=1", method: "POST", dup: "a, b", body: "hello", remote: "127.0.0.1" });
  });

  it("frames a known body with Content-Length and never sends more than declared (S4)", async () => {
    const { port, step } = open((request) =>
      new URL(request.url).pathname === "/cut"
        ? new Response("Hello World!", { headers: { "content-length": "5" } })
        : new Response("Hello World!"),
    );
    const { replies } = await ask(port, step, "GET /cut HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 2);
    expect(replies[0]!.body.toString()).toBe("Hello");
    expect(replies[1]!.framing).toBe("length");
    expect(replies[1]!.body.toString()).toBe("Hello World!");
  });

  it("streams a body of unknown length chunked on HTTP/1.1 and close-delimited on HTTP/1.0", async () => {
    const app = (): Response => {
      let n = 0;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 2));
          if (n === 3) controller.close();
          else controller.enqueue(new TextEncoder().encode(`part${n++};`));
        },
      });
      return new Response(stream);
    };
    const { port, step } = open(app);
    const one = await ask(port, step, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(one.replies[0]!.framing).toBe("chunked");
    expect(one.replies[0]!.body.toString()).toBe("part0;part1;part2;");
    const zero = await askUntilClosed(port, step, "GET / HTTP/1.0\r\n\r\n");
    expect(zero.closed).toBe(true);
    expect(zero.replies[0]!.framing).toBe("close");
    expect(zero.replies[0]!.body.toString()).toBe("part0;part1;part2;");
  });

  it("sends no content for HEAD, 204 and 304 (H14)", async () => {
    const { port, step } = open((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/204") return new Response(null, { status: 204 });
      if (path === "/304") return new Response(null, { status: 304 });
      return new Response("twelve bytes");
    });
    const raw = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const heads = [true, false, false, false];
    const { replies } = await ask(port, step, raw, 4, heads);
    expect(replies.map((r) => r.status)).toEqual([200, 204, 304, 200]);
    expect(replies[0]!.body.length).toBe(0);
    expect(replies[1]!.get("content-length")).toBeUndefined();
    expect(replies[1]!.get("transfer-encoding")).toBeUndefined();
    expect(replies[3]!.body.toString()).toBe("twelve bytes");
  });

  it("answers pipelined requests in request order even when the first is slower (S1)", async () => {
    const { port, step } = open(async (request) => {
      if (new URL(request.url).pathname === "/slow") await new Promise((resolve) => setTimeout(resolve, 30));
      return new Response(new URL(request.url).pathname);
    });
    const { replies } = await ask(port, step, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n", 2);
    expect(replies.map((r) => r.body.toString())).toEqual(["/slow", "/a"]);
  });

  it("keeps HTTP/1.1 open, closes after Connection: close and after bare HTTP/1.0 (P7)", async () => {
    const { port, step } = open(() => new Response("x"));
    const kept = await ask(port, step, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(kept.closed).toBe(false);
    const closed = await askUntilClosed(port, step, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(closed.closed).toBe(true);
    expect(closed.replies[0]!.get("connection")).toBe("close");
    const old = await askUntilClosed(port, step, "GET / HTTP/1.0\r\n\r\n");
    expect(old.replies[0]!.status).toBe(200);
    const alive = await ask(port, step, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    expect(alive.closed).toBe(false);
    expect(alive.replies[0]!.get("connection")).toBe("keep-alive");
  });

  it("answers 500 when the app throws or rejects, its own status for an HTTPError, and keeps serving (H12)", async () => {
    const failures: string[] = [];
    const onError = (error: unknown): void => void failures.push((error as Error).message);
    const { port, step } = open((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/throw") throw new Error("boom");
      if (path === "/reject") return Promise.reject(new Error("late boom"));
      if (path === "/teapot") throw new http.HTTPError({ status: 418, title: "Teapot", detail: "short and stout", headers: { "x-why": "tea" } });
      return new Response("fine");
    }, { onError });
    const raw = ["/throw", "/reject", "/teapot", "/"].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join("");
    const { replies } = await ask(port, step, raw, 4);
    expect(replies.map((r) => r.status)).toEqual([500, 500, 418, 200]);
    expect(replies[2]!.get("x-why")).toBe("tea");
    expect(replies[2]!.body.toString()).toBe("418 I'm a Teapot\nTeapot\nshort and stout\n");
    expect(replies[3]!.body.toString()).toBe("fine");
    expect(failures).toEqual(["boom", "late boom"]); // reported; the HTTPError was an answer
  });

  it("closes only the failing connection when a body fails after the head went out", async () => {
    const reported: string[] = [];
    const { port, step } = open((request) => {
      if (new URL(request.url).pathname !== "/fail") return new Response("other");
      let sent = false;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (!sent) {
              sent = true;
              controller.enqueue(new TextEncoder().encode("partial"));
            } else {
              await new Promise((resolve) => setTimeout(resolve, 5));
              controller.error(new Error("stream broke"));
            }
          },
        }),
      );
    }, { onError: (error) => void reported.push(String(error)) }); // told, not printed
    const failing = drive(step, rawRequest(port, "GET /fail HTTP/1.1\r\nHost: x\r\n\r\n"));
    const other = await ask(port, step, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(other.replies[0]!.body.toString()).toBe("other");
    const broken = await failing;
    expect(broken.closed).toBe(true);
    expect(broken.bytes.toString("latin1")).toContain("partial");
    expect(broken.bytes.toString("latin1")).not.toContain("0\r\n\r\n");
    expect(reported).toEqual(["Error: stream broke"]);
  });

  it("answers a malformed request with 400 and closes (H1, H2)", async () => {
    const { port, step } = open(() => new Response("never"));
    for (const raw of ["GET / HTTP/1.1\nHost: x\n\n", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "GET / HTTP/1.1\r\n\r\n"]) {
      const { replies, closed } = await askUntilClosed(port, step, raw);
      expect(closed).toBe(true);
      expect(replies[0]!.status).toBe(400);
    }
  });

  it("sends 100 Continue before reading the body of an Expect: 100-continue request", async () => {
    const { port, step } = open(async (request) => new Response(await request.text()));
    const head = "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    const reply = await drive(
      step,
      new Promise<Buffer>((resolve, reject) => {
        import("node:net").then(({ default: net }) => {
          const socket = net.connect(port, "127.0.0.1", () => socket.write(head));
          let bytes = Buffer.alloc(0);
          socket.on("error", reject);
          socket.on("data", (data) => {
            bytes = Buffer.concat([bytes, data]);
            const text = bytes.toString("latin1");
            if (text === "HTTP/1.1 100 Continue\r\n\r\n") socket.write("body");
            if (responses(1)(bytes)) {
              socket.destroy();
              resolve(bytes);
            }
          });
        }, reject);
      }),
    );
    const [interim, final] = parseResponses(reply);
    expect(interim!.status).toBe(100);
    expect(final!.body.toString()).toBe("body");
  });

  it("closes a connection idle for its tymeout of tyme, keep-alive or not (H10)", async () => {
    const { server, port, step, tymist } = open(() => new Response("x"), { tymeout: 0.5 });
    const reply = await drive(step, rawRequest(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect(reply.closed).toBe(true);
    expect(parseResponses(reply.bytes)[0]!.status).toBe(200);
    expect(tymist.tyme).toBeGreaterThanOrEqual(0.5);
    expect(server.stewards.size).toBe(0);
  });

  it("aborts request.signal once when the client goes away, never on a normal finish", async () => {
    const events: string[] = [];
    // A client's FIN alone may be a half-close: a silent response then ends by tymeout.
    const { port, step } = open((request) => {
      const path = new URL(request.url).pathname;
      request.signal.addEventListener("abort", () => events.push(`abort ${path}`));
      if (path === "/done") return new Response("done");
      return new Response(new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) }), {
        headers: { "content-type": "text/event-stream" },
      });
    }, { tymeout: 0.5 });
    await ask(port, step, "GET /done HTTP/1.1\r\nHost: x\r\n\r\n");
    await drive(step, rawRequest(port, "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n", { until: (bytes) => bytes.includes("\r\n\r\n") }));
    for (let i = 0; i < 50; i++) {
      step();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(events).toEqual(["abort /hang"]);
  });
});

describe("HTTPS", () => {
  const certs = (name: string): string => fileURLToPath(new URL(`../tcp/certs/${name}`, import.meta.url));

  function get(port: number, options: https.RequestOptions = {}): Promise<{ status: number; body: string; authorized: boolean }> {
    return new Promise((resolve, reject) => {
      const request = https.get({ host: "127.0.0.1", port, path: "/secure", ca: readFileSync(certs("ca.crt")), agent: false, ...options }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body, authorized: (response.socket as TLSSocket).authorized }));
      });
      request.on("error", reject);
    });
  }

  it("serves a fetch app over TLS with the https scheme", async () => {
    const { port, step } = open((request) => new Response(request.url), { keypath: certs("server.key"), certpath: certs("server.crt") });
    const reply = await drive(step, get(port));
    expect(reply).toEqual({ status: 200, body: "https://127.0.0.1:" + port + "/secure", authorized: true });
  });

  it("requires a client certificate signed by the CA when given a cafilepath, as hio", async () => {
    const { port, step } = open(() => new Response("client ok"), {
      keypath: certs("server.key"),
      certpath: certs("server.crt"),
      cafilepath: certs("ca.crt"),
    });
    const signed = await drive(step, get(port, { key: readFileSync(certs("client.key")), cert: readFileSync(certs("client.crt")) }));
    expect(signed.body).toBe("client ok");
    await expect(drive(step, get(port))).rejects.toThrow();
  });
});

describe("BareServer with a Steward of one's own", () => {
  it("answers with an overridden respond() and hio's CustomResponder", async () => {
    class Hello extends http.Steward {
      override respond(): Response {
        const bytes = new http.CustomResponder().build({ status: 201, data: { path: this.requestant.path } });
        const text = Buffer.from(bytes).toString("latin1");
        return new Response(text.slice(text.indexOf("\r\n\r\n") + 4), { status: 201, headers: { "content-type": "application/json" } });
      }
    }
    const { port, step } = open(undefined, { steward: (options) => new Hello(options) });
    const { replies } = await ask(port, step, "GET /mine HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(replies[0]!.status).toBe(201);
    expect(JSON.parse(replies[0]!.body.toString())).toEqual({ path: "/mine" });
  });

  it("builds hio's CustomResponder replies: table reason, Server, Date, compact JSON with its length (S7)", () => {
    const text = Buffer.from(new http.CustomResponder().build({ status: 200, data: { a: 1 } })).toString("latin1");
    const [head, body] = text.split("\r\n\r\n");
    const lines = head!.split("\r\n");
    expect(lines[0]).toBe("HTTP/1.1 200 OK");
    expect(lines).toContain("Server: hio-ts");
    expect(lines).toContain("Content-Type: application/json; charset=utf-8");
    expect(lines).toContain("Content-Length: 7");
    expect(lines.some((line) => /^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(line))).toBe(true);
    expect(body).toBe('{"a":1}');
  });
});

describe("Content-Length for bodies given whole", () => {
  it("frames a large body given as one piece by Content-Length, not chunked", async () => {
    const big = Buffer.alloc(300_000, 0x61);
    const { port, step } = open(() => new Response(big));
    const { replies } = await ask(port, step, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(replies[0]!.framing).toBe("length");
    expect(replies[0]!.get("content-length")).toBe("300000");
    expect(replies[0]!.body.equals(big)).toBe(true);
  });
});

describe("HEAD of a streamed body", () => {
  it("sends no Content-Length when the size is not known ahead (RFC 9110 §8.6)", async () => {
    const stream = (): ReadableStream<Uint8Array> =>
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("streamed"));
          controller.close();
        },
      });
    const { port, step } = open(() => new Response(stream()));
    const { replies } = await ask(port, step, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 2, [true, false]);
    expect(replies[0]!.get("content-length")).toBeUndefined();
    expect(replies[0]!.body.length).toBe(0);
    expect(replies[1]!.body.toString()).toBe("streamed");
  });
});

describe("openServer", () => {
  it("closes the server and its connections at the end of a using block (S11)", async () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    let port = 0;
    let servant: http.BareServer["servant"] | null = null;
    {
      using server = http.openServer({ host: "127.0.0.1", port: 0, tymth: tymist.tymen(), tymeout: 0 });
      port = server.ha[1];
      servant = server.servant;
      const step = (): void => {
        server.service();
        tymist.tick();
      };
      const reply = await drive(step, rawRequest(port, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", { until: responses(1) }));
      expect(parseResponses(reply.bytes)[0]!.status).toBe(200);
      expect(server.opened).toBe(true);
    }
    expect(servant.opened).toBe(false);
    expect(servant.ixes.size).toBe(0);
    const refused = new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.on("error", reject);
    });
    await expect(refused).rejects.toThrow(/ECONNREFUSED/);
  });

  it("says which address could not be listened on", () => {
    using taken = http.openServer({ host: "127.0.0.1", port: 0 });
    expect(() => http.openServer({ host: "127.0.0.1", port: taken.ha[1] })).toThrow(/127\.0\.0\.1:\d+/);
  });
});
