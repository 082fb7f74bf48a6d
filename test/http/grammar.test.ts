/**
 * The Requestant against a small reference of the RFC 9112 / RFC 9110 grammar written with
 * regular expressions (fuzz/reference.ts, shared with the fuzzer), on requests fast-check makes with whitespace of every kind (SP,
 * HTAB, VT, FF, NBSP, NEL, CR, LF) in random places, obs-text in values, and random numbers of
 * fields. Both must agree on accept or reject (and the status), and on every value extracted:
 * fields, body, trailers, persistence, and the bytes left for the next request.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteBuffer } from "../../src/base/buffering.ts";
import { Requestant } from "../../src/http/server/requestant.ts";
import type { RequestLimits } from "../../src/http/server/requestant.ts";
import { reference } from "../../fuzz/reference.ts";
import type { Outcome } from "../../fuzz/reference.ts";

const fail = (status: number): Outcome => ({ kind: "error", status });

// ---- The parser, fed whole or in two pieces ----

const LIMITS: Required<RequestLimits> = { maxLine: 8192, maxHeaderBytes: 65536, maxHeaders: 2000, maxBody: 1 << 20, maxChunkLine: 4096 };

function parse(raw: string, cut: number, limits: Required<RequestLimits>): Outcome {
  const msg = new ByteBuffer(16);
  const r = new Requestant({ msg, limits });
  const bytes = Buffer.from(raw, "latin1");
  msg.push(bytes.subarray(0, cut));
  r.parse();
  msg.push(bytes.subarray(cut));
  r.parse();
  if (r.errored) return fail(r.error!.status);
  if (!r.ended) return { kind: "more" };
  return {
    kind: "ended",
    method: r.method,
    target: r.url,
    headers: r.headers.toJSON(),
    body: Buffer.from(r.body).toString("latin1"),
    chunked: r.chunked,
    trailers: r.trails.toJSON(),
    persisted: r.persisted,
    left: msg.toString("latin1"),
  };
}

/** The parser agrees with the reference; where the reference runs out of bytes in a body, the
 * parser may already have refused what it has (it checks each byte as it comes). */
function agree(raw: string, cut: number, limits = LIMITS): void {
  const expected = reference(raw, limits);
  const got = parse(raw, cut % (raw.length + 1), limits);
  if (expected.kind === "more" && got.kind === "error") {
    expect(got.status, JSON.stringify(raw)).toBe(400);
    return;
  }
  const { method: _, ...unended } = expected.kind === "ended" ? { method: "" } : expected;
  expect(got, JSON.stringify(raw)).toEqual(expected.kind === "ended" ? expected : unended);
}

// ---- Requests with whitespace and obs-text anywhere ----

const OWS_CHARS = [" ", "\t"];
const OTHER_SPACE = ["\x0b", "\x0c", "\xa0", "\x85", "\r", "\n", "\r\n", "\xff"];
/** Whitespace for one place: mostly none, then OWS, now and then any kind (`odds`: none, OWS, any). */
const space = (none: number, ows: number, any: number): fc.Arbitrary<string> => fc.oneof(
  { weight: none, arbitrary: fc.constant("") },
  { weight: ows, arbitrary: fc.array(fc.constantFrom(...OWS_CHARS), { minLength: 1, maxLength: 3 }).map((s) => s.join("")) },
  { weight: any, arbitrary: fc.array(fc.constantFrom(...OWS_CHARS, ...OTHER_SPACE), { minLength: 1, maxLength: 3 }).map((s) => s.join("")) },
);
/** Where OWS is allowed (around values, in chunk extensions). */
const ws = space(10, 6, 1);
/** Where no whitespace is allowed (before a colon, inside a value's token, in the request line). */
const rare = space(40, 1, 1);

const obsText = fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c));
const vchar = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
/** A value of VCHAR and obs-text with single spaces inside. */
const freeValue = fc.array(fc.oneof({ weight: 4, arbitrary: vchar }, { weight: 1, arbitrary: obsText }, { weight: 1, arbitrary: fc.constant(" ") }),
  { maxLength: 8 }).map((s) => s.join(""));

const VALUES: Record<string, string[]> = {
  "Transfer-Encoding": ["chunked", "Chunked", "gzip, chunked", "chunked, gzip", "chunked;q=1", 'chunked ; a="x,y"', "identity", "", ", chunked", "chunked, chunked"],
  "Content-Length": ["0", "5", "05", "5, 5"],
  Connection: ["close", "keep-alive", "Close", "close, keep-alive", "upgrade"],
  Host: ["x", "h.example:80"],
};

/** Puts `inserted` into `text` at `at` (mod its length + 1). */
const insert = (text: string, at: number, inserted: string) => {
  const i = at % (text.length + 1);
  return text.slice(0, i) + inserted + text.slice(i);
};

const namedField = fc.record({
  name: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("Transfer-Encoding", "transfer-encoding") },
    { weight: 2, arbitrary: fc.constantFrom("Content-Length", "Connection") },
    { weight: 1, arbitrary: fc.constant("Host") },
    { weight: 6, arbitrary: fc.constantFrom("X-Free", "Accept") },
  ),
  pick: fc.nat(),
  free: freeValue,
  before: rare, // between the name and ":"
  lead: ws,
  trail: ws,
  inner: rare,
  innerAt: fc.nat(),
  obs: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(obsText, fc.nat()) }),
}).map(({ name, pick, free, before, lead, trail, inner, innerAt, obs }) => {
  const choices = VALUES[Object.keys(VALUES).find((key) => key.toLowerCase() === name.toLowerCase()) ?? ""];
  let value = choices ? choices[pick % choices.length]! : free;
  value = insert(value, innerAt, inner);
  if (obs) value = insert(value, obs[1], obs[0]);
  return `${name}${before}:${lead}${value}${trail}\r\n`;
});

const chunkLine = fc.record({
  size: fc.constantFrom("5", "05", "A", "1"),
  ext: fc.constantFrom("", ";a", ";a=b", ';q="x y"', "; a = b", ";a=b;c"),
  before: ws,
  extAt: fc.nat(),
  inner: rare,
}).map(({ size, ext, before, extAt, inner }) => `${size}${before}${insert(ext, extAt, inner)}\r\n`);

/** A chunked body's lines: data chunks, the last chunk, trailer fields. */
function chunkedBody(chunks: string[], lastChunk: string, trailers: string[]): string {
  let body = "";
  for (const line of chunks) {
    const size = parseInt(line, 16);
    body += line + (Number.isNaN(size) ? "" : "x".repeat(size)) + "\r\n";
  }
  return body + lastChunk.replace(/^[0-9A-Fa-f]+/, "0") + trailers.join("") + "\r\n";
}

/** A request meant to be chunked: whitespace lands mostly in the chunk lines and trailers. */
const chunkedRequest = fc.record({
  coding: fc.constantFrom("chunked", "Chunked", "chunked;q=1", 'chunked ; a="x,y"', ", chunked", "gzip, chunked"),
  lead: ws,
  trail: ws,
  obs: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(obsText, fc.nat()) }),
  chunks: fc.array(chunkLine, { maxLength: 4 }),
  lastChunk: chunkLine,
  trailers: fc.array(namedField, { maxLength: 2 }),
  tail: fc.constantFrom("", "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"),
}).map(({ coding, lead, trail, obs, chunks, lastChunk, trailers, tail }) => {
  const value = obs ? insert(coding, obs[1], obs[0]) : coding;
  return `POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:${lead}${value}${trail}\r\n\r\n${chunkedBody(chunks, lastChunk, trailers)}${tail}`;
});

const request = fc.record({
  method: fc.constantFrom("GET", "POST"),
  version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.0"),
  lineWs: fc.tuple(rare, rare, rare),
  leadingCRLF: fc.boolean(),
  fields: fc.array(namedField, { maxLength: 5 }),
  host: fc.option(fc.nat(), { freq: 8 }),
  chunks: fc.array(chunkLine, { maxLength: 3 }),
  lastChunk: chunkLine,
  trailers: fc.array(namedField, { maxLength: 2 }),
  tail: fc.constantFrom("", "GET /next HTTP/1.1\r\nHost: x\r\n\r\n", "junk"),
}).map(({ method, version, lineWs, leadingCRLF, fields, host, chunks, lastChunk, trailers, tail }) => {
  const lines = [...fields];
  if (host !== null) lines.splice(host % (lines.length + 1), 0, "Host: x\r\n");
  const head = `${leadingCRLF ? "\r\n" : ""}${method}${lineWs[0]} /a?b${lineWs[1]} ${version}${lineWs[2]}\r\n${lines.join("")}\r\n`;
  // A body for what the fields meant to say: chunked if a Transfer-Encoding names it, else by length.
  const meant = lines.join("").toLowerCase();
  let body = "";
  if (/transfer-encoding[^\r\n]*chunked/.test(meant)) {
    body = chunkedBody(chunks, lastChunk, trailers);
  } else if (/content-length[^\r\n]*5/.test(meant)) {
    body = "hello";
  }
  return head + body + tail;
});

describe("the Requestant agrees with the RFC 9112 grammar", () => {
  it("on requests with whitespace of every kind and obs-text in random places", () => {
    fc.assert(fc.property(fc.oneof(request, chunkedRequest), fc.nat(), (raw, cut) => agree(raw, cut)), { numRuns: 5000 });
  });

  it("on well-formed field sections of random sizes under random limits (431 by bytes and by count)", () => {
    const field = fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/), freeValue)
      .filter(([name]) => !["host", "content-length", "transfer-encoding", "connection"].includes(name.toLowerCase()))
      .map(([name, value]) => `${name}: ${value}\r\n`);
    const sized = fc.record({
      fields: fc.array(field, { maxLength: 30 }),
      maxHeaders: fc.integer({ min: 1, max: 31 }),
      maxHeaderBytes: fc.integer({ min: 11, max: 600 }),
      cut: fc.nat(),
    });
    fc.assert(fc.property(sized, ({ fields, maxHeaders, maxHeaderBytes, cut }) => {
      const raw = `GET / HTTP/1.1\r\nHost: x\r\n${fields.join("")}\r\n`;
      const limits = { ...LIMITS, maxHeaders, maxHeaderBytes };
      agree(raw, cut, limits);
      const bytes = raw.length - "GET / HTTP/1.1\r\n".length;
      const refused = bytes > maxHeaderBytes || fields.length + 1 > maxHeaders;
      expect(parse(raw, raw.length, limits).kind).toBe(refused ? "error" : "ended");
    }), { numRuns: 2000 });
  });

  it("refuses each kind of whitespace that is not OWS where OWS may be, and keeps obs-text in values", () => {
    for (const space of OTHER_SPACE) {
      const te = `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked${space}\r\n\r\n0\r\n\r\n`;
      expect(parse(te, te.length, LIMITS), JSON.stringify(space)).toEqual(fail(400));
      const chunk = `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1${space};a\r\nx\r\n0\r\n\r\n`;
      expect(parse(chunk, chunk.length, LIMITS), JSON.stringify(space)).toEqual(fail(400));
      agree(te, 0);
      agree(chunk, 17);
    }
    const obs = "GET / HTTP/1.1\r\nHost: x\r\nX: \xa0\x85 v \xff\r\n\r\n";
    expect(parse(obs, 0, LIMITS)).toMatchObject({ kind: "ended", headers: [["Host", "x"], ["X", "\xa0\x85 v \xff"]] });
  });
});
