/**
 * What a message's header section means for its framing and its connection, on either side:
 * the body by Content-Length, chunked, until the close, or none (RFC 9112 §6.3); whether the
 * connection persists (§9.3); `Expect: 100-continue` and Host (§3.2) for a request; hio's JSON
 * and event-stream flags and the charset from Content-Type. One Framing is reused from message
 * to message: `request()` for a server's Requestant, `response()` for a client's Respondent.
 */
import { CLOSE, CharClass, HTAB, KEEP_ALIVE, QDTEXT, SP, TCHAR, connectionOptions } from "./httping.ts";
import { Kind } from "./scanning.ts";
import type { FieldScanner } from "./scanning.ts";

const CHARSET = /;[ \t]*charset[ \t]*=[ \t]*"?([^";, \t]+)/;

/** How a message's body is delimited (RFC 9112 §6.3). */
export const Delimit = { None: 0, Length: 1, Chunked: 2, Close: 3 } as const;
export type Delimit = (typeof Delimit)[keyof typeof Delimit];

export class Framing {
  /** How the body is delimited: none, by `length`, chunked, or until the connection closes. */
  body: Delimit = Delimit.None;
  /** The body's declared size (0 without Content-Length; unused unless the body is by length). */
  length = 0;
  /**
   * The connection may carry the next message: HTTP/1.1 unless `Connection` lists close,
   * HTTP/1.0 only when it lists keep-alive (P7); after a response, never after faulty framing.
   */
  persisted = false;
  /** An HTTP/1.1 request with `Expect: 100-continue`. */
  expects = false;
  /** Content-Type names application/json. */
  jsoned = false;
  /** Content-Type names text/event-stream. */
  evented = false;
  /** Content-Type's charset, lowercased, or null. */
  charset: string | null = null;
  detail = "";
  readonly #codings: string[] = []; // Transfer-Encoding's codings, lowercased, in order
  #coded = false; // a Transfer-Encoding field came
  #close = false;
  #keepAlive = false;
  #hosts = 0; // Host fields of a request

  /** The body is chunked. */
  get chunked(): boolean {
    return this.body === Delimit.Chunked;
  }

  /**
   * Reads a request's head: 0 when it is sound, else the status to answer (400, 413, 501) with
   * a reason in `detail`. Transfer-Encoding must end in chunked, once, on HTTP/1.1, without
   * Content-Length; any other coding is not implemented (RFC 9112 §6.1, §6.3).
   */
  request(fields: FieldScanner, http11: boolean, maxBody: number): number {
    const fault = this.#read(fields, http11, true);
    if (fault !== 0) return fault;
    this.persisted = !this.#close && (http11 || this.#keepAlive);
    if (this.#hosts > 1) return this.#fail(400, "more than one Host field");
    if (this.#hosts === 0 && http11) return this.#fail(400, "HTTP/1.1 request without Host");

    if (this.#coded) {
      // Faulty framing unless chunked is final, applied once, on HTTP/1.1, without Content-Length.
      if (!http11) return this.#fail(400, "Transfer-Encoding on an HTTP/1.0 request");
      if (fields.contentLength >= 0) return this.#fail(400, "Transfer-Encoding with Content-Length");
      const codings = this.#codings;
      const last = codings.length - 1;
      if (last < 0 || codings[last] !== "chunked") return this.#fail(400, "chunked is not the final transfer coding");
      if (codings.indexOf("chunked") !== last) return this.#fail(400, "chunked applied more than once");
      // Framing is sound but the other codings would need decoding: RFC 9112 §6.1 says 501.
      if (last > 0) return this.#fail(501, `transfer coding ${codings[0]} is not implemented`);
      this.body = Delimit.Chunked;
      return 0;
    }
    return this.#sized(fields, maxBody);
  }

  /**
   * Reads the head of a response to a `method` request: 0, or 413 when its Content-Length is
   * over `maxBody` (an event stream's is not kept, so not limited). A client takes what it is
   * sent: HEAD, 1xx, 204 and 304 have no body whatever they declare; Transfer-Encoding ending in
   * chunked is chunked (beside Content-Length, which it overrides, or on HTTP/1.0, the connection
   * is not trusted after); any other Transfer-Encoding, or none and no Content-Length, runs to
   * the close (RFC 9112 §6.3). `keepAliveField`: a Keep-Alive field came, which an HTTP/1.0
   * server sends to persist. 101 Switching Protocols leaves HTTP: never persisted.
   */
  response(fields: FieldScanner, status: number, method: string, http11: boolean, maxBody: number, keepAliveField = false): number {
    this.#read(fields, http11, false);
    this.persisted = !this.#close && (http11 || this.#keepAlive || keepAliveField) && status !== 101;
    if (method === "HEAD" || status < 200 || status === 204 || status === 304) return 0;
    if (this.#coded) {
      if (!http11) this.persisted = false; // RFC 9112 §6.1: faulty framing, close after
      const codings = this.#codings;
      const last = codings.length - 1;
      if (last >= 0 && codings[last] === "chunked" && codings.indexOf("chunked") === last) {
        if (fields.contentLength >= 0) this.persisted = false;
        this.body = Delimit.Chunked;
        return 0;
      }
      this.persisted = false;
      this.body = Delimit.Close;
      return 0;
    }
    if (fields.contentLength < 0) {
      this.persisted = false;
      this.body = Delimit.Close;
      return 0;
    }
    return this.#sized(fields, this.evented ? Infinity : maxBody);
  }

  /**
   * One pass over the fields for what both sides need. A request (`strict`) also counts and
   * checks Host and refuses a Transfer-Encoding that is not a list of codings, at the first
   * fault; a response takes such a value as a coding that is not chunked.
   */
  #read(fields: FieldScanner, http11: boolean, strict: boolean): number {
    this.body = Delimit.None;
    this.length = 0;
    this.expects = this.jsoned = this.evented = false;
    this.charset = null;
    this.detail = "";
    this.#hosts = 0;
    this.#coded = this.#close = this.#keepAlive = false;
    const codings = this.#codings;
    codings.length = 0;
    for (let i = 0; i < fields.count; i++) {
      switch (fields.kinds[i]) {
        case Kind.Host:
          if (!strict) break;
          this.#hosts += 1;
          if (!URI_HOST.test(fields.value(i))) return this.#fail(400, "Host is not uri-host[:port]");
          break;
        case Kind.TransferEncoding:
          this.#coded = true;
          if (!transferCodings(fields.value(i), codings)) {
            if (strict) return this.#fail(400, "Transfer-Encoding is not a list of transfer codings");
            codings.push(""); // a malformed value (chunked and a no-break space, say) is no coding
          }
          break;
        case Kind.Connection: {
          const bits = connectionOptions(fields.value(i));
          if (bits & CLOSE) this.#close = true;
          if (bits & KEEP_ALIVE) this.#keepAlive = true;
          break;
        }
        case Kind.Expect:
          if (strict && fields.value(i).toLowerCase() === "100-continue") this.expects = http11;
          break;
        case Kind.ContentType: {
          const type = fields.value(i).toLowerCase();
          this.jsoned = type.includes("application/json");
          this.evented = type.includes("text/event-stream");
          this.charset = CHARSET.exec(type)?.[1] ?? null;
          break;
        }
      }
    }
    return 0;
  }

  /** A body by Content-Length (none without one, or of 0), refused with 413 over `maxBody`. */
  #sized(fields: FieldScanner, maxBody: number): number {
    const length = Math.max(0, fields.contentLength);
    this.length = length;
    if (length > maxBody) return this.#fail(413, `Content-Length ${length} is over the limit ${maxBody}`);
    if (length > 0) this.body = Delimit.Length;
    return 0;
  }

  #fail(status: number, detail: string): number {
    this.detail = detail;
    return status;
  }
}

/**
 * Host = uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2): an IP-literal in brackets, or
 * a reg-name / IPv4 of unreserved, pct-encoded and sub-delims characters. Anything else (`/`,
 * `?`, `#`, `@`, spaces) would change the URL the app sees.
 */
const URI_HOST = /^(?:\[[0-9A-Za-z:.!$&'()*+,;=~_-]+\]|(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;

const COMMA = 0x2c;
const SEMI = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Adds the lowercased coding names of a Transfer-Encoding value to `into` and says whether the
 * value is `#transfer-coding` (RFC 9112 §6.1, RFC 9110 §5.6.1, §10.1.4):
 * `token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) )`, elements separated by
 * commas, empty elements ignored. OWS is SP and HTAB only, so `chunked` followed by a no-break
 * space (0xA0) or any other byte is not `chunked`.
 */
export function transferCodings(value: string, into: string[]): boolean {
  const n = value.length;
  let i = 0;
  for (;;) {
    i = skipOWS(value, i);
    if (i === n) return true;
    if (value.charCodeAt(i) === COMMA) {
      i += 1;
      continue;
    }
    const nameEnd = tokenEnd(value, i);
    if (nameEnd === i) return false;
    into.push(value.slice(i, nameEnd).toLowerCase());
    i = nameEnd;
    for (;;) {
      i = skipOWS(value, i);
      if (i === n) return true;
      const c = value.charCodeAt(i);
      if (c === COMMA) {
        i += 1;
        break;
      }
      if (c !== SEMI) return false;
      i = skipOWS(value, i + 1);
      const parameterEnd = tokenEnd(value, i);
      if (parameterEnd === i) return false;
      i = skipOWS(value, parameterEnd);
      if (value.charCodeAt(i) !== EQUALS) return false;
      i = skipOWS(value, i + 1);
      if (value.charCodeAt(i) === DQUOTE) {
        i = quotedEnd(value, i);
        if (i < 0) return false;
      } else {
        const valueEnd = tokenEnd(value, i);
        if (valueEnd === i) return false;
        i = valueEnd;
      }
    }
  }
}

function skipOWS(text: string, i: number): number {
  while (i < text.length && (text.charCodeAt(i) === SP || text.charCodeAt(i) === HTAB)) i++;
  return i;
}

function tokenEnd(text: string, i: number): number {
  while (i < text.length && text.charCodeAt(i) < 256 && CharClass[text.charCodeAt(i)]! & TCHAR) i++;
  return i;
}

/** Offset just past the quoted-string starting at `i` (a DQUOTE), or -1 when it is not one. */
function quotedEnd(text: string, i: number): number {
  for (i += 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DQUOTE) return i + 1;
    if (c === BACKSLASH) {
      i += 1;
      const escaped = text.charCodeAt(i);
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      if (!(escaped === HTAB || (escaped >= 0x20 && escaped <= 0xff && escaped !== 0x7f))) return -1;
    } else if (c > 0xff || !(CharClass[c]! & QDTEXT)) return -1;
  }
  return -1;
}
