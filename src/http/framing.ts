/**
 * What a request's header section means for its framing and its connection (RFC 9112 §6, §9.3,
 * §3.2): the body by Content-Length or chunked, or a framing fault; whether the connection
 * persists; `Expect: 100-continue`; and hio's JSON flags from Content-Type.
 * `read()` answers 0 when the head is sound, else the status to answer (400, 413, 501) and a reason
 * in `detail`. One Framing is reused from request to request.
 */
import { CLOSE, CharClass, HTAB, KEEP_ALIVE, QDTEXT, SP, TCHAR, connectionOptions } from "./httping.ts";
import { Kind } from "./scanning.ts";
import type { FieldScanner } from "./scanning.ts";

const CHARSET = /;[ \t]*charset[ \t]*=[ \t]*"?([^";, \t]+)/;

export class Framing {
  chunked = false;
  /** The body's declared size (0 without Content-Length; unused when chunked). */
  length = 0;
  /** HTTP/1.1 unless `Connection` lists close; HTTP/1.0 only when it lists keep-alive (P7). */
  persisted = false;
  /** An HTTP/1.1 request with `Expect: 100-continue`. */
  expects = false;
  /** Content-Type names application/json. */
  jsoned = false;
  /** Content-Type's charset, lowercased, or null. */
  charset: string | null = null;
  detail = "";

  read(fields: FieldScanner, http11: boolean, maxBody: number): number {
    this.chunked = this.expects = this.jsoned = false;
    this.length = 0;
    this.charset = null;
    this.detail = "";
    let hosts = 0;
    let codings: string[] | null = null;
    let close = false;
    let keepAlive = false;
    for (let i = 0; i < fields.count; i++) {
      switch (fields.kinds[i]) {
        case Kind.Host:
          hosts += 1;
          if (!URI_HOST.test(fields.value(i))) return this.#fail(400, "Host is not uri-host[:port]");
          break;
        case Kind.TransferEncoding:
          codings ??= [];
          if (!transferCodings(fields.value(i), codings)) return this.#fail(400, "Transfer-Encoding is not a list of transfer codings");
          break;
        case Kind.Connection: {
          const bits = connectionOptions(fields.value(i));
          if (bits & CLOSE) close = true;
          if (bits & KEEP_ALIVE) keepAlive = true;
          break;
        }
        case Kind.Expect:
          if (fields.value(i).toLowerCase() === "100-continue") this.expects = http11;
          break;
        case Kind.ContentType: {
          const type = fields.value(i).toLowerCase();
          this.jsoned = type.includes("application/json");
          this.charset = CHARSET.exec(type)?.[1] ?? null;
          break;
        }
      }
    }
    this.persisted = !close && (http11 || keepAlive);
    if (hosts > 1) return this.#fail(400, "more than one Host field");
    if (hosts === 0 && http11) return this.#fail(400, "HTTP/1.1 request without Host");

    if (codings !== null) {
      // Faulty framing unless chunked is final, applied once, on HTTP/1.1, without Content-Length.
      if (!http11) return this.#fail(400, "Transfer-Encoding on an HTTP/1.0 request");
      if (fields.contentLength >= 0) return this.#fail(400, "Transfer-Encoding with Content-Length");
      const last = codings.length - 1;
      if (last < 0 || codings[last] !== "chunked") return this.#fail(400, "chunked is not the final transfer coding");
      if (codings.indexOf("chunked") !== last) return this.#fail(400, "chunked applied more than once");
      // Framing is sound but the other codings would need decoding: RFC 9112 §6.1 says 501.
      if (last > 0) return this.#fail(501, `transfer coding ${codings[0]} is not implemented`);
      this.chunked = true;
      return 0;
    }
    this.length = Math.max(0, fields.contentLength);
    if (this.length > maxBody) return this.#fail(413, `Content-Length ${this.length} is over the limit ${maxBody}`);
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
