/**
 * Bad input gets a clear answer: what an app, a caller or a peer gets wrong is refused where it
 * is made, with a message that says what to do, and never goes out on the wire as it is.
 */
import { afterEach, describe, expect, it } from "vitest";
import { http, tcp } from "../../src/index.ts";
import { drive, rawRequest, responses } from "../helpers.ts";
import { closeServed, serveApp } from "./clients.ts";

afterEach(closeServed);

describe("an HTTPError an app gets wrong", () => {
  it("is answered 500 and reported, never sent with its bad status", async () => {
    const failures: unknown[] = [];
    const { port, step } = serveApp((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/1000") throw new http.HTTPError({ status: 1000 });
      if (path === "/99") return Promise.reject(new http.HTTPError({ status: 99 }));
      // A JavaScript caller's positional form.
      if (path === "/positional") throw Reflect.construct(http.HTTPError, [418, "I'm a teapot"]);
      throw new http.HTTPError({ status: 418, title: "Teapot" });
    }, { onError: (error) => void failures.push(error) });
    const raw = ["/1000", "/99", "/positional", "/ok"].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join("");
    const reply = await drive(step, rawRequest(port, raw, { until: responses(4) }));
    const lines = reply.bytes.toString("latin1").match(/^HTTP\/1\.1 .*$/gm);
    expect(lines).toEqual(["HTTP/1.1 500 Internal Server Error", "HTTP/1.1 500 Internal Server Error",
      "HTTP/1.1 500 Internal Server Error", "HTTP/1.1 418 I'm a Teapot"]);
    expect(failures.map((error) => [(error as Error).name, (error as Error).message])).toEqual([
      ["RangeError", "HTTPError status must be an integer from 100 to 599, not 1000"],
      ["RangeError", "HTTPError status must be an integer from 100 to 599, not 99"],
      ["TypeError", 'HTTPError takes one options object: new HTTPError({ status: 418, title: "..." }), not new HTTPError(418, "I\'m a teapot")'],
    ]);
  });
});

describe("a port that is not one", () => {
  const bad = [70000, -1, NaN, 1.5, Infinity];

  it("is refused by every server and client, with the value in the message", () => {
    for (const port of bad) {
      const says = new RegExp(`port must be an integer from 0 to 65535 \\(0 picks a free port\\), not ${port}$`);
      expect(() => http.openServer({ host: "127.0.0.1", port })).toThrow(says);
      expect(() => http.openServer({ app: () => new Response("x"), ha: ["127.0.0.1", port] })).toThrow(RangeError);
      expect(() => new tcp.Server({ host: "127.0.0.1", port })).toThrow(says);
      expect(() => tcp.openServer({ host: "127.0.0.1", port })).toThrow(RangeError);
      expect(() => new tcp.Client({ host: "127.0.0.1", port })).toThrow(says);
      expect(() => new http.Client({ hostname: "127.0.0.1", port })).toThrow(says);
      expect(() => new http.Client({ ha: ["127.0.0.1", port] })).toThrow(RangeError);
    }
    expect(() => http.openServer({ host: "127.0.0.1", port: "8080" as unknown as number })).toThrow(TypeError);
    expect(() => http.serveCluster({ app: () => new Response("x"), port: 70000 })).toThrow(/^http\.serveCluster port must be .* not 70000$/);
    expect(() => http.openServer({ host: "127.0.0.1", port: 70000 })).toThrow("http server port must be an integer from 0 to 65535 (0 picks a free port), not 70000");
  });

  it("is refused on the in-memory network too; 0 still picks a free port", () => {
    const network = new tcp.MemoryNetwork();
    expect(() => new http.Server({ app: () => new Response("x"), host: "127.0.0.1", port: 65536, network })).toThrow(RangeError);
    using server = http.openServer({ host: "127.0.0.1", port: 0 });
    expect(server.ha[1]).toBeGreaterThan(0);
  });
});

describe("requests users reported", () => {
  const echo: http.FetchApp = async (request) => new Response(`${request.headers.get("transfer-encoding")} ${(await request.text()).length}`);

  it("answers 400 and closes when Transfer-Encoding is chunked and a no-break space (0xA0)", async () => {
    const { port, step } = serveApp(echo, { onError: () => {} });
    const raw = Buffer.concat([
      Buffer.from("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"),
      Buffer.from([0xa0]),
      Buffer.from("\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    ]);
    const reply = await drive(step, rawRequest(port, raw, { until: responses(1) }));
    expect(reply.bytes.toString("latin1")).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(reply.bytes.toString("latin1")).toMatch(/\r\nConnection: close\r\n/);
    expect(reply.bytes.toString("latin1")).toMatch(/Transfer-Encoding is not a list of transfer codings/);
  });

  it("answers a plain request with 201 short header fields (~3 KB), and one with 2,000", async () => {
    const { port, step } = serveApp(echo, { onError: () => {} });
    for (const count of [201, 2000]) {
      const fields = Array.from({ length: count - 1 }, (_, i) => `X-Field-${i}: value\r\n`).join("");
      const reply = await drive(step, rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\n${fields}\r\n`, { until: responses(1) }));
      expect(reply.bytes.toString("latin1"), `${count} fields`).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    }
    const over = Array.from({ length: 2000 }, (_, i) => `X-${i}: v\r\n`).join("");
    const reply = await drive(step, rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\n${over}\r\n`, { until: responses(1) }));
    expect(reply.bytes.toString("latin1")).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  });
});
