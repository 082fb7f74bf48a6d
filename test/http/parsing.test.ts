import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteBuffer } from "../../src/base/buffering.ts";
import { HTTPError } from "../../src/http/wire/httping.ts";
import { Requestant } from "../../src/http/server/requestant.ts";
import type { RequestLimits } from "../../src/http/server/requestant.ts";

/** What a parse produced, as plain data, plus how many bytes it left in the buffer. */
function summary(r: Requestant) {
  return {
    state: r.stepper.value,
    status: r.error?.status ?? null,
    method: r.method,
    url: r.url,
    path: r.path,
    query: r.query,
    fragment: r.fragment,
    scheme: r.scheme,
    hostname: r.hostname,
    port: r.port,
    version: r.version,
    versionInfo: r.versionInfo,
    headers: r.headers.toJSON(),
    body: Buffer.from(r.body).toString("latin1"),
    chunked: r.chunked,
    length: r.length,
    parms: Object.fromEntries(r.parms),
    trails: r.trails.toJSON(),
    persisted: r.persisted,
    left: r.msg.toString("latin1"),
  };
}

/** Feeds `raw` in pieces ending at `cuts`, parsing after each; returns the Requestant. */
function feed(raw: string, cuts: number[] = [], limits?: Partial<RequestLimits>): Requestant {
  const msg = new ByteBuffer(16);
  const r = new Requestant({ msg, limits });
  const bytes = Buffer.from(raw, "latin1");
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    msg.push(bytes.subarray(from, cut));
    from = cut;
    r.parse();
  }
  return r;
}

const parsed = (raw: string, limits?: Partial<RequestLimits>) => summary(feed(raw, [], limits));

type Row = [name: string, raw: string, expected: Partial<ReturnType<typeof summary>>];

const H = "Host: h\r\n";
const table: Row[] = [
  ["a GET with no body", `GET /a HTTP/1.1\r\n${H}\r\n`, { state: "ended", length: 0, body: "" }],
  ["a body by Content-Length", `POST /p HTTP/1.1\r\n${H}Content-Length: 11\r\n\r\nhello world`, { body: "hello world", length: 11 }],
  ["Content-Length without space", `POST /p HTTP/1.1\r\n${H}Content-Length:3\r\n\r\nabc`, { body: "abc" }],
  ["identical repeated Content-Length", `POST /p HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 2\r\n\r\nab`, { body: "ab" }],
  ["a chunked body with extensions and trailers", `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX-T: t\r\n\r\n`,
    { body: "hello world", chunked: true, length: 11, parms: { a: "b" }, trails: [["X-T", "t"]] }],
  ["quoted chunk extensions", `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3 ; q = "a;\\"b" ; n\r\nabc\r\n0\r\n\r\n`,
    { body: "abc", parms: { q: 'a;"b', n: null } }],
  ["chunked named in any case", `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n`, { body: "x" }],
  ["pipelined requests", `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\n`, { url: "/1", left: `GET /2 HTTP/1.1\r\n${H}\r\n` }],
  ["one empty line before the request line", `\r\nGET / HTTP/1.1\r\n${H}\r\n`, { state: "ended" }],
  ["HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", { version: "HTTP/1.0", versionInfo: [1, 0], persisted: false }],
  ["HTTP/1.2 read as 1.1", `GET / HTTP/1.2\r\n${H}\r\n`, { version: "HTTP/1.1", versionInfo: [1, 1] }],
  ["an absolute-form target", `GET http://Ex.com:8080/a%20b?x=1#f HTTP/1.1\r\n${H}\r\n`,
    { scheme: "http", hostname: "ex.com", port: 8080, path: "/a b", query: "x=1", fragment: "f" }],
  ["an asterisk-form target", `OPTIONS * HTTP/1.1\r\n${H}\r\n`, { path: "*", url: "*" }],
  ["an authority-form CONNECT", `CONNECT ex.com:443 HTTP/1.1\r\nHost: ex.com:443\r\n\r\n`, { hostname: "ex.com", port: 443 }],
  ["obs-text in a field value", `GET / HTTP/1.1\r\n${H}X: caf\xe9\r\n\r\n`, { headers: [["Host", "h"], ["X", "caf\xe9"]] }],
  ["bare LF in the request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", { status: 400 }],
  ["bare LF ending a field", `GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n`, { status: 400 }],
  ["bare CR inside a field", `GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n`, { status: 400 }],
  ["two SP after the method", `GET  / HTTP/1.1\r\n${H}\r\n`, { status: 400 }],
  ["a lowercase version", `GET / http/1.1\r\n${H}\r\n`, { status: 400 }],
  ["HTTP/2.0", `GET / HTTP/2.0\r\n${H}\r\n`, { status: 505 }],
  ["a method that is not a token", `G(T / HTTP/1.1\r\n${H}\r\n`, { status: 400 }],
  ["whitespace before the colon", `GET / HTTP/1.1\r\n${H}X : y\r\n\r\n`, { status: 400 }],
  ["obs-fold", `GET / HTTP/1.1\r\n${H}X: y\r\n  z\r\n\r\n`, { status: 400 }],
  ["a NUL in a field value", `GET / HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`, { status: 400 }],
  ["a negative Content-Length", `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, { status: 400 }],
  ["a Content-Length list", `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`, { status: 400 }],
  ["differing Content-Length", `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`, { status: 400 }],
  ["Transfer-Encoding with Content-Length", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n`, { status: 400 }],
  ["Transfer-Encoding on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", { status: 400 }],
  ["chunked not last", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, { status: 400 }],
  ["chunked twice", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n`, { status: 400 }],
  ["gzip before chunked", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, { status: 501 }],
  ["a chunk size that is not hex", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nz\r\n`, { status: 400 }],
  ["a chunk size that overflows", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n`, { status: 400 }],
  ["chunk data without its CRLF", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n`, { status: 400 }],
  ["a bad trailer line", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer\r\n\r\n`, { status: 400 }],
  ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", { status: 400 }],
  ["two Host fields", `GET / HTTP/1.1\r\n${H}${H}\r\n`, { status: 400 }],
  ["a target with a space", `GET /a b HTTP/1.1\r\n${H}\r\n`, { status: 400 }],
  ["a target of no form", `GET a HTTP/1.1\r\n${H}\r\n`, { status: 400 }],
  ["two empty lines before the request line", `\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`, { status: 400 }],
  // OWS is SP and HTAB only (RFC 9110 §5.6.3); obs-text is part of a value, never trimmed.
  ["obs-text around a value, kept", `GET / HTTP/1.1\r\n${H}X: \xa0v \xff\t\r\n\r\n`, { headers: [["Host", "h"], ["X", "\xa0v \xff"]] }],
  ["SP and HTAB around chunked", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \t chunked \t\r\n\r\n0\r\n\r\n`, { chunked: true, state: "ended" }],
  ["chunked with a parameter", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked ; q="a,b"\r\n\r\n0\r\n\r\n`, { chunked: true, state: "ended" }],
  ["empty list elements around chunked", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: , chunked ,\r\n\r\n0\r\n\r\n`, { chunked: true, state: "ended" }],
  ["chunked then a no-break space (reported)", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\xa0\r\n\r\n0\r\n\r\n`, { status: 400 }],
  ["a no-break space then chunked", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \xa0chunked\r\n\r\n0\r\n\r\n`, { status: 400 }],
  ["gzip and a no-break space before chunked", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\xa0, chunked\r\n\r\n0\r\n\r\n`, { status: 400 }],
  ["a coding with a bare parameter", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;x\r\n\r\n0\r\n\r\n`, { status: 400 }],
  ["a Content-Length then a no-break space", `POST / HTTP/1.1\r\n${H}Content-Length: 1\xa0\r\n\r\nx`, { status: 400 }],
  ["Connection: close then a no-break space is no close", `GET / HTTP/1.1\r\n${H}Connection: close\xa0\r\n\r\n`, { persisted: true }],
  ["Connection: close then HTAB is close", `GET / HTTP/1.1\r\n${H}Connection: close\t\r\n\r\n`, { persisted: false, state: "ended" }],
  ["a VT in a field value", `GET / HTTP/1.1\r\n${H}X: a\x0bb\r\n\r\n`, { status: 400 }],
  ["an FF before a field value", `GET / HTTP/1.1\r\n${H}X:\x0cb\r\n\r\n`, { status: 400 }],
  ["a no-break space after a chunk size", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\xa0\r\nx\r\n0\r\n\r\n`, { status: 400 }],
  ["a no-break space before a chunk extension", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\xa0;a\r\nx\r\n0\r\n\r\n`, { status: 400 }],
  ["SP and HTAB before a chunk extension", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1 \t; a = b\r\nx\r\n0\r\n\r\n`, { body: "x", parms: { a: "b" } }],
  ["201 short fields in 3 KB (reported)", `GET / HTTP/1.1\r\n${H}${Array.from({ length: 200 }, (_, i) => `X-F${i}: v\r\n`).join("")}\r\n`, { state: "ended", status: null }],
];

describe("Requestant table: each request whole, split at every offset, and byte by byte", () => {
  it.each(table)("%s", (_name, raw, expected) => {
    const whole = parsed(raw);
    expect(whole).toMatchObject(expected);
    if (expected.status === undefined) expect(whole.status).toBeNull();
    for (let cut = 1; cut < raw.length; cut++) expect(summary(feed(raw, [cut])), `split at ${cut}`).toEqual(whole);
    expect(summary(feed(raw, Array.from({ length: raw.length - 1 }, (_, i) => i + 1)))).toEqual(whole);
  });
});

describe("Requestant on mutated requests", () => {
  const sound = table.filter(([, , expected]) => expected.status === undefined).map(([, raw]) => raw);
  it("never throws and parses the same whole or split, whatever bytes a peer sends", () => {
    const mutation = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), insert: fc.boolean() });
    fc.assert(
      fc.property(fc.constantFrom(...sound), fc.array(mutation, { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 4 }), (raw, mutations, cuts) => {
        const bytes = [...Buffer.from(raw, "latin1")];
        for (const { at, byte, insert } of mutations) bytes.splice(at % (bytes.length + 1), insert ? 0 : 1, byte);
        const text = Buffer.from(bytes).toString("latin1");
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const whole = parsed(text);
        expect(summary(feed(text, points))).toEqual(whole);
        if (whole.status !== null) expect([400, 413, 414, 431, 501, 505]).toContain(whole.status);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("Requestant", () => {
  it("splits the request line into hio's fields (P2)", () => {
    const r = feed("GET /echo?name=fame HTTP/1.1\r\nHost: localhost:6101\r\nAccept-Encoding: identity\r\n\r\n");
    expect(r.parse()).toBe(true);
    expect([r.method, r.url, r.path, r.query, r.fragment, r.version]).toEqual(["GET", "/echo?name=fame", "/echo", "name=fame", "", "HTTP/1.1"]);
    expect(r.versionInfo).toEqual([1, 1]);
    expect(r.qargs.get("name")).toBe("fame");
    expect(r.headers.toJSON()).toEqual([["Host", "localhost:6101"], ["Accept-Encoding", "identity"]]);
    expect([r.headed, r.ended, r.errored]).toEqual([true, true, false]);
  });

  it("keeps every repeated field in order, as a fetch app sees them joined (H3)", () => {
    const r = feed(`GET / HTTP/1.1\r\n${H}X-Dup: a\r\nx-dup: b\r\n\r\n`);
    expect(r.headers.getAll("X-DUP")).toEqual(["a", "b"]);
    expect(r.headers.toHeaders().get("x-dup")).toBe("a, b");
  });

  it("splits the target before decoding the path, so %3F stays in the path (H17)", () => {
    const r = feed(`GET /a%3Fb%2Fc?x=%3F HTTP/1.1\r\n${H}\r\n`);
    expect([r.path, r.query]).toEqual(["/a?b/c", "x=%3F"]);
  });

  it("splits the query on & only and keeps every value (H18)", () => {
    const r = feed(`GET /?a=1;b=2&a=3&c=x+y%21 HTTP/1.1\r\n${H}\r\n`);
    expect(r.qargs.getAll("a")).toEqual(["1;b=2", "3"]);
    expect(r.qargs.get("c")).toBe("x y!");
    expect(JSON.parse(JSON.stringify(r.qargs))).toEqual({ a: ["1;b=2", "3"], c: "x y!" });
  });

  it("passes any token method through (H9)", () => {
    expect(feed(`MKCOLA /x HTTP/1.1\r\n${H}\r\n`).method).toBe("MKCOLA");
  });

  it("decides persistence from version and Connection (P7)", () => {
    const persisted = (head: string) => feed(`GET / ${head}\r\n\r\n`).persisted;
    expect(persisted("HTTP/1.0")).toBe(false);
    expect(persisted("HTTP/1.0\r\nConnection: Keep-Alive")).toBe(true);
    expect(persisted(`HTTP/1.1\r\n${H.trim()}`)).toBe(true);
    expect(persisted(`HTTP/1.1\r\n${H}Connection: keep-alive, close`)).toBe(false);
    expect(persisted("HTTP/1.1")).toBe(false); // errored: no Host
  });

  it("parses a JSON body into data when jsoned or dictable, null when invalid (P6)", () => {
    const json = `POST / HTTP/1.1\r\n${H}Content-Type: application/json; charset=UTF-8\r\nContent-Length: 7\r\n\r\n{"a":1}`;
    const r = feed(json);
    expect([r.jsoned, r.encoding]).toEqual([true, "utf-8"]);
    expect(r.dictify()).toEqual({ a: 1 });
    const plain = feed(`POST / HTTP/1.1\r\n${H}Content-Length: 7\r\n\r\n{"a":1}`);
    expect(plain.dictify()).toBeNull();
    plain.dictable = true;
    expect(plain.dictify()).toEqual({ a: 1 });
    const broken = feed(`POST / HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{x`);
    expect(broken.dictify()).toBeNull();
  });

  it("consumes exactly one request and parses the next after reinit", () => {
    const r = feed(`POST /1 HTTP/1.1\r\n${H}Content-Length: 1\r\n\r\nAGET /2 HTTP/1.1\r\n${H}\r\n`);
    expect(Buffer.from(r.body).toString()).toBe("A");
    expect(r.parse()).toBe(true);
    expect(r.msg.toString()).toBe(`GET /2 HTTP/1.1\r\n${H}\r\n`);
    r.reinit();
    expect([r.ended, r.method, r.body.length]).toEqual([false, "", 0]);
    expect(r.parse()).toBe(true);
    expect([r.url, r.msg.length]).toEqual(["/2", 0]);
  });

  it("waits without consuming a partial head", () => {
    const r = feed(`GET / HTTP/1.1\r\n${H}`);
    expect(r.parse()).toBe(false);
    expect([r.stepper.value, r.headed, r.msg.length]).toEqual(["headers", false, H.length]);
  });

  it("reports an error as an HTTPError, stops, and is not persisted", () => {
    const r = feed(`POST / HTTP/1.1\r\n${H}Content-Length: 1\r\n\r\nx`.replace("Content-Length: 1", "Content-Length: x"));
    expect(r.error).toBeInstanceOf(HTTPError);
    expect([r.error?.status, r.error?.reason, r.errored, r.ended, r.persisted]).toEqual([400, "Bad Request", true, false, false]);
    expect(r.parse()).toBe(true);
  });

  it("stays headed after an error in the body", () => {
    const r = feed(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nq\r\n`);
    expect([r.stepper.value, r.headed, r.errored, r.method]).toEqual(["errored.body", true, true, "POST"]);
  });

  it("asks for 100 Continue only before an HTTP/1.1 body has started", () => {
    const head = `POST / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 2\r\n\r\n`;
    const r = feed(head);
    expect([r.parse(), r.expectContinue]).toEqual([false, true]);
    r.msg.push("a");
    expect([r.parse(), r.expectContinue]).toEqual([false, false]);
    r.msg.push("b");
    expect([r.parse(), Buffer.from(r.body).toString()]).toEqual([true, "ab"]);
    expect(feed(head.replace("HTTP/1.1", "HTTP/1.0")).expectContinue).toBe(false);
    expect(feed(head.replace("Content-Length: 2", "Content-Length: 0")).expectContinue).toBe(false);
  });

  it("answers each limit with its own status (P8)", () => {
    expect(parsed(`GET /${"a".repeat(70_000)} HTTP/1.1\r\n${H}\r\n`).status).toBe(414);
    expect(parsed(`GET /${"a".repeat(70_000)}`).status).toBe(414); // before the line ends
    expect(parsed(`GET / HTTP/1.1\r\n${H}X: ${"v".repeat(70_000)}\r\n\r\n`).status).toBe(431);
    expect(parsed(`GET / HTTP/1.1\r\n${H}${"X: y\r\n".repeat(2000)}\r\n`).status).toBe(431); // 2,001 fields
    expect(parsed(`GET / HTTP/1.1\r\n${H}${"X: y\r\n".repeat(1999)}\r\n`).status).toBeNull(); // node:http's 2,000
    // The section's bytes, its empty line included: Host (9) + 3 * "X: y" lines (6) + CRLF (2) = 29.
    const section = `GET / HTTP/1.1\r\n${H}${"X: y\r\n".repeat(3)}\r\n`;
    expect(parsed(section, { maxHeaderBytes: 29 }).status).toBeNull();
    expect(parsed(section, { maxHeaderBytes: 28 }).status).toBe(431);
    expect(parsed(section, { maxHeaders: 4 }).status).toBeNull();
    expect(parsed(section, { maxHeaders: 3 }).status).toBe(431);
    expect(parsed(`POST / HTTP/1.1\r\n${H}Content-Length: 11\r\n\r\n`, { maxBody: 10 }).status).toBe(413);
    const chunks = `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n`;
    expect(parsed(chunks, { maxBody: 10 }).status).toBe(413);
    expect(parsed(chunks, { maxBody: 12 }).body).toBe("abcdefabcdef");
    expect(parsed(`GET /abc HTTP/1.1\r\n${H}\r\n`, { maxLine: 16 }).status).toBe(414);
    expect(parsed(`GET /abc HTTP/1.1\r\n${H}\r\n`, { maxLine: 17 }).status).toBeNull();
    expect(parsed(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;${"e".repeat(100)}\r\n`, { maxChunkLine: 64 }).status).toBe(400);
  });

  it("parses a large head arriving one byte at a time in linear time", () => {
    const raw = `GET / HTTP/1.1\r\n${H}${"X-Field: value\r\n".repeat(16_000)}\r\n`;
    const msg = new ByteBuffer();
    const r = new Requestant({ msg, limits: { maxHeaderBytes: 1 << 20, maxHeaders: 20_000 } });
    const bytes = Buffer.from(raw, "latin1");
    const started = performance.now();
    for (let i = 0; i < bytes.length; i++) {
      msg.push(bytes.subarray(i, i + 1));
      r.parse();
    }
    // A parser that rescanned from the front on every call would need ~3e10 byte steps here.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect([r.ended, r.headers.size]).toEqual([true, 16_001]);
  });
});
