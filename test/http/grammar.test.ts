/**
 * The Requestant against a small reference of the RFC 9112 / RFC 9110 grammar written here
 * with regular expressions, on requests fast-check makes with whitespace of every kind (SP,
 * HTAB, VT, FF, NBSP, NEL, CR, LF) in random places, obs-text in values, and random numbers of
 * fields. Both must agree on accept or reject (and the status), and on every value extracted:
 * fields, body, trailers, persistence, and the bytes left for the next request.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteBuffer } from "../../src/base/buffering.ts";
import { Requestant } from "../../src/http/parsing.ts";
import type { RequestLimits } from "../../src/http/parsing.ts";

// ---- The reference: RFC 9110 §5.5, §5.6; RFC 9112 §2-§7, from the ABNF ----

const TCHAR = "!#$%&'*+\\-.^_`|~0-9A-Za-z";
const TOKEN = `[${TCHAR}]+`;
const FVCHAR = "\\x21-\\x7e\\x80-\\xff"; // field-vchar = VCHAR / obs-text
const OWS = "[ \\t]*"; // OWS = *( SP / HTAB ), nothing else
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x20-\\x7e\\x80-\\xff])*"';

/** request-line = method SP request-target SP HTTP-version (targets here are origin-form). */
const REQUEST_LINE = new RegExp(`^(${TOKEN}) (/[\\x21-\\x7e]*) HTTP/([0-9])\\.([0-9])$`);
/** field-line = field-name ":" OWS field-value OWS; field-value = *field-content. */
const FIELD_LINE = new RegExp(`^(${TOKEN}):${OWS}((?:[${FVCHAR}](?:[${FVCHAR} \\t]*[${FVCHAR}])?)?)${OWS}$`);
/** chunk-size [ chunk-ext ]; chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ). */
const CHUNK_LINE = new RegExp(`^([0-9A-Fa-f]+)((?:${OWS};${OWS}${TOKEN}(?:${OWS}=${OWS}(?:${TOKEN}|${QUOTED}))?)*)$`);
/** transfer-coding = token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ). */
const TRANSFER_CODING = new RegExp(`^(${TOKEN})(?:${OWS};${OWS}${TOKEN}${OWS}=${OWS}(?:${TOKEN}|${QUOTED}))*$`);
/** Host = uri-host [ ":" port ], reg-name only here (RFC 3986 §3.2.2). */
const HOST = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*(?::[0-9]*)?$/;

type Outcome =
  | { kind: "ended"; headers: [string, string][]; body: string; chunked: boolean; trailers: [string, string][]; persisted: boolean; left: string }
  | { kind: "error"; status: number }
  | { kind: "more" };

const fail = (status: number): Outcome => ({ kind: "error", status });

/** Splits a #list on the commas outside quoted strings, OWS trimmed, empty elements kept as "". */
function listElements(value: string): string[] {
  const elements: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted && c === "\\") {
      current += c + (value[i + 1] ?? "");
      i += 1;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      elements.push(current);
      current = "";
    } else current += c;
  }
  elements.push(current);
  return elements.map((element) => element.replace(/^[ \t]+|[ \t]+$/g, ""));
}

/** Field lines from `at` to the empty line: [fields, offset past it] or an outcome. */
function fieldSection(raw: string, at: number, limits: Required<RequestLimits>): [[string, string][], number] | Outcome {
  const fields: [string, string][] = [];
  let pos = at;
  for (;;) {
    const end = raw.indexOf("\r\n", pos);
    if (end < 0) return { kind: "more" };
    const line = raw.slice(pos, end);
    if (line === "") {
      if (end + 2 - at > limits.maxHeaderBytes) return fail(431);
      return [fields, end + 2];
    }
    const match = FIELD_LINE.exec(line);
    // A field line that would be one too many is refused at its first byte, a name's.
    if (fields.length === limits.maxHeaders && new RegExp(`^[${TCHAR}]`).test(line)) return fail(431);
    if (match === null) return fail(400); // bare CR or LF, controls, obs-fold, space before ":"
    fields.push([match[1]!, match[2]!]);
    pos = end + 2;
  }
}

/** What RFC 9112 makes of `raw`, the way this server applies it (strict: no leniencies). */
function reference(raw: string, limits: Required<RequestLimits>): Outcome {
  let pos = raw.startsWith("\r\n") ? 2 : 0; // one empty line before the request line (§2.2)
  const lineEnd = raw.indexOf("\r\n", pos);
  if (lineEnd < 0) return { kind: "more" };
  const line = REQUEST_LINE.exec(raw.slice(pos, lineEnd));
  if (line === null) return fail(400);
  if (line[3] !== "1") return fail(505);
  const http11 = line[4] !== "0";
  pos = lineEnd + 2;

  const section = fieldSection(raw, pos, limits);
  if (!Array.isArray(section)) return section;
  const [headers, bodyStart] = section;
  const named = (name: string) => headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

  const lengths = named("content-length");
  if (lengths.some((value) => !/^[0-9]+$/.test(value))) return fail(400);
  if (new Set(lengths.map(Number)).size > 1) return fail(400);
  const hosts = named("host");
  if (hosts.length > 1 || (http11 && hosts.length === 0) || hosts.some((host) => !HOST.test(host))) return fail(400);
  const options = named("connection").flatMap(listElements).map((option) => option.toLowerCase());
  const persisted = !options.includes("close") && (http11 || options.includes("keep-alive"));

  let chunked = false;
  const encodings = named("transfer-encoding");
  if (encodings.length > 0) {
    const elements = encodings.flatMap(listElements).filter((element) => element !== "");
    const codings: string[] = [];
    for (const element of elements) {
      const coding = TRANSFER_CODING.exec(element);
      if (coding === null) return fail(400);
      codings.push(coding[1]!.toLowerCase());
    }
    if (!http11 || lengths.length > 0) return fail(400);
    if (codings.at(-1) !== "chunked" || codings.indexOf("chunked") !== codings.length - 1) return fail(400);
    if (codings.length > 1) return fail(501);
    chunked = true;
  }

  if (!chunked) {
    const length = lengths.length > 0 ? Number(lengths[0]) : 0;
    if (raw.length - bodyStart < length) return { kind: "more" };
    const end = bodyStart + length;
    return { kind: "ended", headers, body: raw.slice(bodyStart, end), chunked, trailers: [], persisted, left: raw.slice(end) };
  }

  let body = "";
  pos = bodyStart;
  for (;;) {
    const end = raw.indexOf("\r\n", pos);
    if (end < 0) return { kind: "more" };
    const chunk = CHUNK_LINE.exec(raw.slice(pos, end));
    if (chunk === null) return fail(400);
    const size = parseInt(chunk[1]!, 16);
    pos = end + 2;
    if (size === 0) break;
    if (raw.length < pos + size + 2) return { kind: "more" };
    body += raw.slice(pos, pos + size);
    if (raw.slice(pos + size, pos + size + 2) !== "\r\n") return fail(400);
    pos += size + 2;
  }
  const trailers = fieldSection(raw, pos, limits);
  if (!Array.isArray(trailers)) return trailers;
  return { kind: "ended", headers, body, chunked, trailers: trailers[0], persisted, left: raw.slice(trailers[1]) };
}

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
  expect(got, JSON.stringify(raw)).toEqual(expected);
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
