/**
 * What a request's header section means for its framing and its connection (RFC 9112 §6, §9.3,
 * §3.2): the body by Content-Length or chunked, or a framing fault; whether the connection
 * persists; `Expect: 100-continue`; and hio's JSON flags from Content-Type.
 * `read()` answers 0 when the head is sound, else the status to answer (400, 413, 501) and a reason
 * in `detail`. One Framing is reused from request to request.
 */
import { CLOSE, KEEP_ALIVE, connectionOptions, splitList } from "./httping.ts";
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
          for (const coding of splitList(fields.value(i))) codings.push(codingName(coding));
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

/** The coding's name from `name *( OWS ";" OWS parameter )`, lowercased. */
function codingName(coding: string): string {
  const semi = coding.indexOf(";");
  return (semi < 0 ? coding : coding.slice(0, semi)).trimEnd().toLowerCase();
}
