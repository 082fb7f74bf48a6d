/**
 * readResponse: one HTTP/1.1 response read off the bytes a server wrote, strictly (RFC 9112),
 * so that a framing fault shows as a fault and not as a body that happens to look right. It
 * is the testing kit's own reader, written apart from the client's Respondent on purpose: the
 * server's output is checked by a second pair of eyes.
 */

/** How the body was delimited: Content-Length, chunked, the close, or no body at all. */
export type Framing = "length" | "chunked" | "close" | "none";

/** A response head: status line and field lines as received (names keep their case). */
export interface ResponseHead {
  version: string;
  status: number;
  reason: string;
  headers: Array<[name: string, value: string]>;
}

export interface ReadResponse {
  /** whole: one response ended; more: it goes on with more bytes; fault: it cannot be read. */
  state: "whole" | "more" | "fault";
  /** The final response's head, once read. */
  head: ResponseHead | null;
  /** Interim (1xx) responses before it, as 100 Continue. */
  interims: ResponseHead[];
  framing: Framing | null;
  /** Content-Length as declared, else null. */
  declared: number | null;
  /** The body, dechunked: whole, or as far as it arrived. */
  body: Uint8Array<ArrayBuffer>;
  trailers: Array<[name: string, value: string]>;
  /** Bytes the response took, from the first (whole), or read so far. */
  used: number;
  /** What is wrong, in words, when state is fault. */
  fault: string | null;
}

export interface ReadOptions {
  /** The request was HEAD: the response has no body whatever it declares. */
  head?: boolean;
  /** How the connection has ended so far: null (open), "fin" or "reset". */
  closed?: "fin" | "reset" | null;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const STATUS = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/;
const CHUNK = /^([0-9A-Fa-f]{1,15})[ \t]*(?:;.*)?$/;
const EMPTY: Uint8Array<ArrayBuffer> = new Uint8Array(0);

type Lines = { lines: string[]; next: number } | { more: true } | { bad: string };

/** Lines up to and including an empty one, from `at`; each must end in CRLF. */
function linesFrom(buf: Buffer, at: number): Lines {
  const lines: string[] = [];
  for (;;) {
    const lf = buf.indexOf(0x0a, at);
    if (lf < 0) return { more: true };
    if (lf === at || buf[lf - 1] !== 0x0d) return { bad: "a line ends in a bare LF" };
    const line = buf.toString("latin1", at, lf - 1);
    if (line.includes("\r")) return { bad: `a bare CR in ${JSON.stringify(line)}` };
    at = lf + 1;
    if (line === "") return { lines, next: at };
    lines.push(line);
  }
}

/** Field lines as [name, value] pairs, or what is wrong with one. */
function fieldsOf(lines: string[]): Array<[string, string]> | string {
  const fields: Array<[string, string]> = [];
  for (const line of lines) {
    if (line.startsWith(" ") || line.startsWith("\t")) return `an obsolete line folding: ${JSON.stringify(line)}`;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    if (colon <= 0 || !TOKEN.test(name)) return `a malformed field line: ${JSON.stringify(line)}`;
    fields.push([name, line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "")]);
  }
  return fields;
}

const valuesOf = (fields: Array<[string, string]>, name: string): string[] =>
  fields.filter(([n]) => n.toLowerCase() === name).map(([, value]) => value);

/**
 * Reads the response at the start of `bytes` (interim responses skipped into `interims`).
 * A connection that ended (`closed`) before the response did makes it a fault, saying where.
 * Bytes past a whole response are not looked at: `used` says where they begin.
 */
export function readResponse(bytes: Uint8Array, { head = false, closed = null }: ReadOptions = {}): ReadResponse {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ReadResponse = {
    state: "more", head: null, interims: [], framing: null, declared: null, body: EMPTY, trailers: [], used: 0, fault: null,
  };
  const fault = (detail: string): ReadResponse => Object.assign(out, { state: "fault", fault: detail });
  // Needs more bytes: a fault once the connection has ended.
  const short = (where: string): ReadResponse =>
    closed === null ? out : fault(`the connection was ${closed === "fin" ? "closed" : "reset"} ${where}`);

  let at = 0;
  let final: ResponseHead;
  for (;;) {
    const read = linesFrom(buf, at);
    if ("more" in read) return short(buf.length === at ? "before a response" : "inside a response head");
    if ("bad" in read) return fault(read.bad);
    const [line = "", ...rest] = read.lines;
    const status = STATUS.exec(line);
    if (status === null) return fault(`not a status line: ${JSON.stringify(line)}`);
    const fields = fieldsOf(rest);
    if (typeof fields === "string") return fault(fields);
    const parsed = { version: `${status[1]}.${status[2]}`, status: Number(status[3]), reason: status[4] ?? "", headers: fields };
    at = out.used = read.next;
    if (parsed.status >= 100 && parsed.status < 200 && parsed.status !== 101) {
      out.interims.push(parsed);
      continue;
    }
    final = parsed;
    break;
  }
  out.head = final;

  const codings = valuesOf(final.headers, "transfer-encoding");
  const lengths = valuesOf(final.headers, "content-length");
  if (lengths.length > 0) {
    const each = lengths.flatMap((value) => value.split(",")).map((value) => value.trim());
    if (!each.every((value) => /^\d+$/.test(value)) || new Set(each).size !== 1) {
      return fault(`a bad Content-Length: ${JSON.stringify(lengths.join(", "))}`);
    }
    out.declared = Number(each[0]);
  }
  const status = final.status;
  if (head || status < 200 || status === 204 || status === 304) {
    out.framing = "none";
    out.state = "whole";
    return out;
  }
  if (codings.length > 0) {
    if (lengths.length > 0) return fault("both Transfer-Encoding and Content-Length");
    const list = codings.flatMap((value) => value.split(",")).map((value) => value.trim().toLowerCase());
    out.framing = list[list.length - 1] === "chunked" && list.indexOf("chunked") === list.length - 1 ? "chunked" : "close";
  } else {
    out.framing = out.declared !== null ? "length" : "close";
  }

  if (out.framing === "length") {
    const length = out.declared!;
    const have = buf.length - at;
    out.body = bytes.slice(at, at + Math.min(have, length));
    out.used = at + out.body.length;
    if (have < length) return short(`after ${have} of ${length} body bytes`);
    out.state = "whole";
    return out;
  }
  if (out.framing === "close") {
    out.body = bytes.slice(at);
    out.used = buf.length;
    if (closed === "fin") out.state = "whole";
    else if (closed === "reset") return fault("the connection was reset inside a body delimited by the close");
    return out;
  }
  // chunked
  const pieces: Uint8Array[] = [];
  const gather = (): void => void (out.body = Buffer.concat(pieces));
  for (;;) {
    const lf = buf.indexOf(0x0a, at);
    if (lf < 0) {
      gather();
      return short(pieces.length === 0 ? "before the first chunk" : "before the last chunk");
    }
    if (lf === at || buf[lf - 1] !== 0x0d) return fault("a chunk size line ends in a bare LF");
    const line = buf.toString("latin1", at, lf - 1);
    const size = CHUNK.exec(line);
    if (size === null) return fault(`a bad chunk size line: ${JSON.stringify(line)}`);
    const n = parseInt(size[1]!, 16);
    at = lf + 1;
    if (n === 0) break;
    if (buf.length < at + n + 2) {
      pieces.push(bytes.slice(at, Math.min(buf.length, at + n)));
      gather();
      out.used = buf.length;
      return short(`inside a chunk of ${n} bytes`);
    }
    if (buf[at + n] !== 0x0d || buf[at + n + 1] !== 0x0a) return fault("chunk data not followed by CRLF");
    pieces.push(bytes.slice(at, at + n));
    at += n + 2;
    out.used = at;
  }
  gather();
  const trailer = linesFrom(buf, at);
  if ("more" in trailer) return short("inside the trailer section");
  if ("bad" in trailer) return fault(trailer.bad);
  const trailers = fieldsOf(trailer.lines);
  if (typeof trailers === "string") return fault(trailers);
  out.trailers = trailers;
  out.used = trailer.next;
  out.state = "whole";
  return out;
}
