import { describe, expect, it } from "vitest";
import { Requestant } from "../../src/http/server/requestant.ts";
import { Requester, normalizeHostPort } from "../../src/http/client/requester.ts";

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8");

describe("Requester", () => {
  it("builds the request line, Host, Accept-Encoding identity, User-Agent and Content-Length", () => {
    const requester = new Requester({ hostname: "127.0.0.1", port: 8080 });
    const msg = requester.rebuild({ method: "post", path: "/echo", headers: { "X-A": "1" }, body: "hello" });
    expect(Buffer.from(msg).toString("latin1")).toBe("POST /echo HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
      + "Accept-Encoding: identity\r\nUser-Agent: hio-ts\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello");
  });

  it("sends data as UTF-8 JSON and merges qargs with the path's query, quoting the path", () => {
    const requester = new Requester({ hostname: "example.com", portOptional: true });
    const msg = requester.rebuild({ method: "PUT", path: "/a b/ü%2F?x=1&y=a+b#top", qargs: { z: "c d&e" }, data: { a: ["é"] } });
    const [head, body] = Buffer.from(msg).toString("latin1").split("\r\n\r\n");
    expect(head!.split("\r\n")).toEqual(["PUT /a%20b/%C3%BC%2F?z=c+d%26e&x=1&y=a+b HTTP/1.1", "Host: example.com",
      "Accept-Encoding: identity", "User-Agent: hio-ts", "Content-Type: application/json; charset=utf-8", "Content-Length: 12"]);
    expect(Buffer.from(body!, "latin1").toString("utf8")).toBe('{"a":["é"]}');
    expect(requester).toMatchObject({ path: "/a b/ü%2F", fragment: "top", qargs: { z: "c d&e", x: "1", y: "a b" } });
  });

  it("frames an iterable body as chunks, drops a GET body, gives an empty POST Content-Length 0", () => {
    const requester = new Requester({ hostname: "::1", port: 80 });
    const chunked = Buffer.from(requester.rebuild({ method: "POST", body: ["ab", Uint8Array.of(99), ""] })).toString("latin1");
    expect(chunked).toBe("POST / HTTP/1.1\r\nHost: [::1]:80\r\nAccept-Encoding: identity\r\nUser-Agent: hio-ts\r\n"
      + "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n");
    expect(Buffer.from(requester.rebuild({ method: "GET", body: "dropped" })).toString("latin1")).not.toMatch(/dropped|Content-Length/);
    expect(Buffer.from(requester.rebuild({ method: "POST" })).toString("latin1")).toMatch(/\r\nContent-Length: 0\r\n\r\n$/);
  });

  it("is parsed back whole by the server's own Requestant", () => {
    const requester = new Requester({ hostname: "localhost", port: 9 });
    const requestant = new Requestant();
    requestant.msg.push(requester.rebuild({ method: "PATCH", path: "/p?q=1", fargs: { a: "x y", b: 2 } }));
    expect(requestant.parse()).toBe(true);
    expect(requestant).toMatchObject({ method: "PATCH", path: "/p", errored: false });
    expect(requestant.headers.get("content-type")).toBe("application/x-www-form-urlencoded; charset=utf-8");
    expect(text(requestant.body)).toBe("a=x+y&b=2");
  });

  it("splits host and port as hio's normalizeHostPort, IPv6 included", () => {
    expect(normalizeHostPort("example.com:8080")).toEqual(["example.com", 8080]);
    expect(normalizeHostPort("[::1]:81")).toEqual(["::1", 81]);
    expect(normalizeHostPort("::1", 82)).toEqual(["::1", 82]);
    expect(normalizeHostPort("host:", null, 443)).toEqual(["host", 443]);
    expect(() => normalizeHostPort("host:http")).toThrow(/nonnumeric port/);
  });

  it("refuses a header that would split the message, and a URL for another host", () => {
    const requester = new Requester({ hostname: "127.0.0.1", port: 80 });
    expect(() => new Requester({ headers: { "X-A": "1\r\nX-B: 2" } }).build()).toThrow(TypeError);
    expect(() => requester.rebuild({ path: "http://other:80/" })).toThrow(/not other:80/);
    expect(Buffer.from(requester.rebuild({ path: "http://127.0.0.1/x" })).toString("latin1")).toMatch(/^GET \/x HTTP/);
  });
});
