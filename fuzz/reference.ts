/**
 * A small reference of the RFC 9112 / RFC 9110 request grammar, written from the ABNF with
 * regular expressions and nothing of the server's code: what a strict HTTP/1.1 server makes of
 * some bytes. The property tests (test/http/grammar.test.ts) compare the Requestant with it, and
 * the fuzzer (fuzz/server.ts) uses it to say which status each fuzzed request justifies.
 *
 * Strict means no leniency: OWS is SP and HTAB only, no bare CR or LF, no obs-fold, no
 * whitespace before a colon, one Host on HTTP/1.1, Content-Length 1*DIGIT and agreeing, a
 * Transfer-Encoding ending in chunked applied once and only on HTTP/1.1 without Content-Length
 * (400), other codings before it not implemented (501). What the reference does not model (a
 * request-target other than origin-form, CONNECT, a line or section past a limit) it calls
 * `unknown` rather than guess.
 */

export interface Limits {
  /** Request line bytes, CRLF excluded. */
  maxLine: number;
  /** Field section bytes, its empty line included. */
  maxHeaderBytes: number;
  /** Field lines per section. */
  maxHeaders: number;
  /** Body bytes, declared or dechunked (413). */
  maxBody: number;
  /** Chunk-size line bytes, CRLF excluded. */
  maxChunkLine: number;
}

export type Field = [name: string, value: string];

export type Outcome =
  | {
      kind: "ended";
      method: string;
      /** The request-target as received. */
      target: string;
      headers: Field[];
      body: string;
      chunked: boolean;
      trailers: Field[];
      persisted: boolean;
      /** Bytes after this request: the next one, if the connection persists. */
      left: string;
    }
  /** `method` once the request line was read whole (a reply to HEAD has no content). */
  | { kind: "error"; status: number; method?: string }
  | { kind: "more"; method?: string }
  | { kind: "unknown"; why: string; method?: string };

export const TCHAR = "!#$%&'*+\\-.^_`|~0-9A-Za-z";
const TOKEN = `[${TCHAR}]+`;
const FVCHAR = "\\x21-\\x7e\\x80-\\xff"; // field-vchar = VCHAR / obs-text
const OWS = "[ \\t]*"; // OWS = *( SP / HTAB ), nothing else
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x20-\\x7e\\x80-\\xff])*"';

/** method SP request-target SP HTTP-version, as far as the version's two digits. */
const REQUEST_LINE_START = new RegExp(`^(${TOKEN}) ([\\x21-\\x7e]+) HTTP/([0-9])\\.([0-9])`);
/** request-line = method SP request-target SP HTTP-version. */
const REQUEST_LINE = new RegExp(`^(${TOKEN}) ([\\x21-\\x7e]+) HTTP/([0-9])\\.([0-9])$`);
/** field-line = field-name ":" OWS field-value OWS; field-value = *field-content. */
const FIELD_LINE = new RegExp(`^(${TOKEN}):${OWS}((?:[${FVCHAR}](?:[${FVCHAR} \\t]*[${FVCHAR}])?)?)${OWS}$`);
const NAME_START = new RegExp(`^[${TCHAR}]`);
/** chunk-size [ chunk-ext ]; chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ). */
const CHUNK_LINE = new RegExp(`^([0-9A-Fa-f]+)((?:${OWS};${OWS}${TOKEN}(?:${OWS}=${OWS}(?:${TOKEN}|${QUOTED}))?)*)$`);
/** transfer-coding = token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ). */
const TRANSFER_CODING = new RegExp(`^(${TOKEN})(?:${OWS};${OWS}${TOKEN}${OWS}=${OWS}(?:${TOKEN}|${QUOTED}))*$`);
/** Host = uri-host [ ":" port ]: an IP-literal or a reg-name / IPv4 (RFC 3986 §3.2.2). */
const HOST = /^(?:\[[0-9A-Za-z:.!$&'()*+,;=~_-]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;

const fail = (status: number): Outcome => ({ kind: "error", status });

/** Splits a #list on the commas outside quoted strings, OWS trimmed, empty elements kept as "". */
export function listElements(value: string): string[] {
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

/**
 * Field lines from `at` to the empty line: [fields, offset past it], or an outcome. A section
 * may hold `maxHeaderBytes` bytes, its empty line included, and `maxHeaders` lines: past either
 * it is 431. Where a bad line straddles the byte limit, which comes first is the server's to
 * choose (it checks byte by byte): unknown.
 */
function fieldSection(raw: string, at: number, limits: Limits): [Field[], number] | Outcome {
  const fields: Field[] = [];
  let pos = at;
  for (;;) {
    const end = raw.indexOf("\r\n", pos);
    const past = (end < 0 ? raw.length : end + 2) - at > limits.maxHeaderBytes;
    if (end < 0) return past ? { kind: "unknown", why: "field section past its limit" } : { kind: "more" };
    const line = raw.slice(pos, end);
    if (line === "") return past ? fail(431) : [fields, end + 2];
    // A field line that would be one too many is refused at its first byte, a name's.
    if (fields.length === limits.maxHeaders && NAME_START.test(line)) return fail(431);
    const match = FIELD_LINE.exec(line);
    if (match === null) return past ? { kind: "unknown", why: "a bad line across the section's limit" } : fail(400);
    if (past) return fail(431);
    fields.push([match[1]!, match[2]!]);
    pos = end + 2;
  }
}

/** What a strict HTTP/1.1 server makes of the first request in `raw`. */
export function reference(raw: string, limits: Limits): Outcome {
  let pos = raw.startsWith("\r\n") ? 2 : 0; // one empty line before the request line (§2.2)
  const lineEnd = raw.indexOf("\r\n", pos);
  const lineText = lineEnd < 0 ? raw.slice(pos) : raw.slice(pos, lineEnd);
  if (lineText.length > limits.maxLine) return { kind: "unknown", why: "request line past its limit" };
  const start = REQUEST_LINE_START.exec(lineText);
  if (start !== null && start[3] !== "1") return fail(505);
  if (lineEnd < 0) return { kind: "more" };
  const line = REQUEST_LINE.exec(lineText);
  if (line === null) return fail(400);
  const [, method, target] = line as unknown as [string, string, string];
  if (method === "CONNECT" || !target.startsWith("/")) return { kind: "unknown", why: "request-target not in origin-form", method };
  const outcome = message(raw, lineEnd + 2, method, target, line[4] !== "0", limits);
  return outcome.kind === "ended" ? outcome : { ...outcome, method };
}

/** The rest of a request whose request line was sound, from its field section at `pos`. */
function message(raw: string, pos: number, method: string, target: string, http11: boolean, limits: Limits): Outcome {
  const section = fieldSection(raw, pos, limits);
  if (!Array.isArray(section)) return section;
  const [headers, bodyStart] = section;
  const named = (name: string) => headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

  const lengths = named("content-length");
  if (lengths.some((value) => !/^[0-9]+$/.test(value))) return fail(400);
  if (new Set(lengths.map(Number)).size > 1) return fail(400);
  if (lengths.some((value) => Number(value) > Number.MAX_SAFE_INTEGER)) return fail(400);
  const hosts = named("host");
  if (hosts.length > 1 || (http11 && hosts.length === 0) || hosts.some((host) => !HOST.test(host))) return fail(400);
  const options = named("connection").flatMap(listElements).map((option) => option.toLowerCase());
  const persisted = !options.includes("close") && (http11 || options.includes("keep-alive"));

  let chunked = false;
  const encodings = named("transfer-encoding");
  if (encodings.length > 0) {
    const codings: string[] = [];
    for (const element of encodings.flatMap(listElements).filter((element) => element !== "")) {
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
    if (length > limits.maxBody) return fail(413);
    if (raw.length - bodyStart < length) return { kind: "more" };
    const end = bodyStart + length;
    return { kind: "ended", method, target, headers, body: raw.slice(bodyStart, end), chunked, trailers: [], persisted, left: raw.slice(end) };
  }

  let body = "";
  pos = bodyStart;
  for (;;) {
    const end = raw.indexOf("\r\n", pos);
    if ((end < 0 ? raw.length : end) - pos > limits.maxChunkLine) return { kind: "unknown", why: "chunk line past its limit" };
    if (end < 0) return { kind: "more" };
    const chunk = CHUNK_LINE.exec(raw.slice(pos, end));
    if (chunk === null) return fail(400);
    const size = parseInt(chunk[1]!, 16);
    pos = end + 2;
    if (size === 0) break;
    if (body.length + size > limits.maxBody) return { kind: "unknown", why: "chunked body past its limit" };
    if (raw.length < pos + size + 2) return { kind: "more" };
    body += raw.slice(pos, pos + size);
    if (raw.slice(pos + size, pos + size + 2) !== "\r\n") return fail(400);
    pos += size + 2;
  }
  const trailers = fieldSection(raw, pos, limits);
  if (!Array.isArray(trailers)) return trailers;
  return { kind: "ended", method, target, headers, body, chunked, trailers: trailers[0], persisted, left: raw.slice(trailers[1]) };
}
