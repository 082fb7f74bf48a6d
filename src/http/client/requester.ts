/**
 * hio's Requester: builds the bytes of one HTTP/1.1 request (request line, Host,
 * Accept-Encoding identity, User-Agent, framing, body) from its parts. Pure: no sockets.
 */
import { randomBytes } from "node:crypto";
import { domainToASCII } from "node:url";
import { Hict } from "../wire/hicting.ts";
import type { HictInit } from "../wire/hicting.ts";
import { InvalidURL, isToken } from "../wire/httping.ts";
import { splitOff } from "../wire/targeting.ts";

/** Query arguments: an object (values stringified) or [name, value] pairs; a later name wins. */
export type QargsInit = Readonly<Record<string, string | number | boolean>> | Iterable<readonly [string, string]>;

/** Form arguments for a urlencoded or multipart/form-data body (hio's fargs). */
export type FargsInit = Readonly<Record<string, string | number | boolean>>;

/**
 * A request body: bytes, text (UTF-8), or an iterable of pieces sent with chunked transfer
 * coding (consumed when the request is built).
 */
export type RequestBody = Uint8Array | string | Iterable<Uint8Array | string>;

/** The parts of a request; what is not given keeps the Requester's current value. */
export interface RequestParts {
  method?: string;
  /** Path, or path?query#fragment, or a whole URL naming the same scheme, host and port. */
  path?: string;
  qargs?: QargsInit | null;
  fragment?: string;
  headers?: HictInit | null;
  body?: RequestBody | null;
  /** Sent as JSON (Content-Type application/json; charset=utf-8); wins over fargs and body. */
  data?: unknown;
  /** Sent as a form; wins over body. */
  fargs?: FargsInit | null;
}

export interface RequesterOptions extends RequestParts {
  hostname?: string;
  port?: number;
  scheme?: string;
  /** Leave a default port (80 for http, 443 for https) out of Host, as hio's portOptional. */
  portOptional?: boolean;
}

const CRLF = "\r\n";
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const BODYLESS = new Set(["GET", "HEAD"]);
const CONTENTFUL = new Set(["POST", "PUT", "PATCH"]);
const ABSOLUTE = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;

/** The default port of a scheme: 443 for https, else 80. */
export function defaultPort(scheme: string): number {
  return scheme.toLowerCase() === "https" ? 443 : 80;
}

/**
 * hio's normalizeHostPort: [hostname, port] from a host that may carry ":port" (IPv6 in
 * brackets), else `port`, else `fallback`. Throws InvalidURL on a port that is not a number.
 */
export function normalizeHostPort(host: string, port?: number | null, fallback = 80): [string, number] {
  let name = host;
  let value: string | number = port ?? fallback;
  const colon = name.lastIndexOf(":");
  const bracket = name.lastIndexOf("]");
  if (colon > bracket && (bracket >= 0 || name.indexOf(":") === colon)) {
    if (colon + 1 < name.length) value = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  if (name.startsWith("[") && name.endsWith("]")) name = name.slice(1, -1);
  const number = typeof value === "number" ? value : /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new InvalidURL(`nonnumeric port: '${value}'`);
  return [name, number];
}

/** Python's quote_plus for query parts: unreserved kept, space as "+", the rest percent-encoded. */
export function quotePlus(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

function unquotePlus(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/** A path with every byte outside RFC 3986 pchar and "/" percent-encoded; valid %XX kept. */
export function quotePath(path: string): string {
  return path.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]+/gu, (run) => {
    try {
      return encodeURIComponent(run);
    } catch {
      throw new InvalidURL(`path holds a lone surrogate: ${JSON.stringify(path)}`);
    }
  });
}

/** Query arguments as an object of strings (a later name wins). */
export function qargsOf(init: QargsInit | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (init === null || init === undefined) return out;
  const pairs = Symbol.iterator in init ? (init as Iterable<readonly [string, string]>) : Object.entries(init);
  for (const [name, value] of pairs) out[name] = String(value);
  return out;
}

/** hio's updateQargsQuery: `query` parsed onto a copy of `qargs`, and the query string of both. */
export function updateQargsQuery(qargs: Record<string, string>, query: string): [Record<string, string>, string] {
  const merged = { ...qargs };
  if (query) {
    for (const part of query.split(query.includes(";") ? ";" : "&")) {
      if (!part) continue;
      const eq = part.indexOf("=");
      if (eq < 0) merged[unquotePlus(part)] = "true";
      else merged[unquotePlus(part.slice(0, eq))] = unquotePlus(part.slice(eq + 1));
    }
  }
  const text = Object.entries(merged).map(([name, value]) => `${quotePlus(name)}=${quotePlus(value)}`).join("&");
  return [merged, text];
}

function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

function checkField(name: string, value: string): void {
  if (!isToken(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0 || c > 0xff) {
      throw new TypeError(`invalid header value for ${name}: ${JSON.stringify(value)}`);
    }
  }
}

/**
 * Builds requests to one host: `build()` gives the bytes of the current parts, `rebuild(parts)`
 * replaces the given parts first (body, data and fargs are always replaced: a body is never
 * sent twice by accident). Throws TypeError or InvalidURL on parts that cannot be sent.
 * @example
 * const requester = new Requester({ hostname: "127.0.0.1", port: 8080 });
 * connector.tx(requester.rebuild({ method: "POST", path: "/echo", data: { a: 1 } }));
 */
export class Requester {
  static HttpVersionString = "HTTP/1.1";
  static Port = 80;
  static UserAgent = "hio-ts";

  hostname: string;
  port: number;
  scheme: string;
  method: string;
  /** The path alone (query and fragment split off). */
  path: string;
  qargs: Record<string, string>;
  fragment: string;
  headers: Hict;
  body: RequestBody;
  data: unknown;
  fargs: FargsInit | null;
  portOptional: boolean;
  /** Head lines of the last build (kept for tests, as hio). */
  lines: string[] = [];
  /** Head bytes of the last build. */
  head: Uint8Array = EMPTY;
  /** Whole message of the last build. */
  msg: Uint8Array = EMPTY;

  constructor({ hostname = "127.0.0.1", port, scheme = "http", method = "GET", path = "/", qargs, fragment = "",
                headers, body, data, fargs, portOptional = false }: RequesterOptions = {}) {
    this.scheme = scheme.toLowerCase();
    [this.hostname, this.port] = normalizeHostPort(hostname, port, defaultPort(this.scheme));
    this.method = method ? method.toUpperCase() : "GET";
    this.path = path || "/";
    this.qargs = qargsOf(qargs);
    this.fragment = fragment;
    this.headers = new Hict(headers ?? undefined);
    this.body = body ?? EMPTY;
    this.data = data;
    this.fargs = fargs ?? null;
    this.portOptional = portOptional;
  }

  /** Replaces the given parts; body, data and fargs are reset when not given (hio's reinit). */
  reinit({ method, path, qargs, fragment, headers, body, data, fargs }: RequestParts = {}): void {
    if (method !== undefined) this.method = method.toUpperCase();
    if (path !== undefined) this.path = path;
    if (qargs !== undefined && qargs !== null) this.qargs = qargsOf(qargs);
    if (fragment !== undefined) this.fragment = fragment;
    if (headers !== undefined && headers !== null) this.headers = new Hict(headers);
    this.body = body ?? EMPTY;
    this.data = data;
    this.fargs = fargs ?? null;
  }

  /** reinit then build. */
  rebuild(parts: RequestParts = {}): Uint8Array {
    this.reinit(parts);
    return this.build();
  }

  /** The request bytes for the current parts; also kept in `msg`. */
  build(): Uint8Array {
    if (!isToken(this.method)) throw new TypeError(`invalid method ${JSON.stringify(this.method)}`);
    const target = this.#target();
    for (const [name, value] of this.headers) checkField(name, value);
    const lines = [`${this.method} ${target} ${Requester.HttpVersionString}`];
    const headers = this.headers;
    if (!headers.has("host")) lines.push(`Host: ${this.#host()}`);
    if (!headers.has("accept-encoding")) lines.push("Accept-Encoding: identity");
    if (!headers.has("user-agent")) lines.push(`User-Agent: ${Requester.UserAgent}`);

    let body: Uint8Array = EMPTY;
    let chunks: Uint8Array[] | null = null;
    let type: string | null = null;
    if (!BODYLESS.has(this.method)) {
      if (this.data !== undefined && this.data !== null) {
        body = encoder.encode(JSON.stringify(this.data));
        type = "application/json; charset=utf-8";
      } else if (this.fargs !== null) {
        [body, type] = this.#form(this.fargs);
      } else if (typeof this.body === "string" || this.body instanceof Uint8Array) {
        body = bytesOf(this.body);
      } else {
        chunks = [];
        for (const piece of this.body) {
          const bytes = bytesOf(piece);
          if (bytes.length > 0) chunks.push(bytes);
        }
      }
    }
    if (type !== null && !headers.has("content-type")) lines.push(`Content-Type: ${type}`);
    // The caller's framing headers frame the body once (RFC 9112 §6.2, §6.3), or are refused.
    const givenLength = headers.get("content-length");
    if (headers.has("transfer-encoding")) {
      if (givenLength !== undefined) throw new TypeError("Content-Length and Transfer-Encoding together");
      if (chunks === null) chunks = body.length > 0 ? [body] : [];
    } else if (givenLength !== undefined && (chunks !== null || givenLength !== String(body.length))) {
      throw new TypeError(`Content-Length ${givenLength} does not frame the body`);
    }
    if (chunks !== null) {
      if (!headers.has("transfer-encoding")) lines.push("Transfer-Encoding: chunked");
    } else if (!headers.has("content-length") && (body.length > 0 || CONTENTFUL.has(this.method))) {
      lines.push(`Content-Length: ${body.length}`);
    }
    for (const [name, value] of headers) lines.push(`${name}: ${value}`);
    this.lines = lines;
    this.head = Buffer.from(lines.join(CRLF) + CRLF + CRLF, "latin1");
    if (chunks !== null) {
      const framed: Uint8Array[] = [this.head];
      for (const chunk of chunks) framed.push(Buffer.from(`${chunk.length.toString(16)}\r\n`, "latin1"), chunk, Buffer.from(CRLF));
      framed.push(Buffer.from("0\r\n\r\n", "latin1"));
      this.msg = Buffer.concat(framed);
    } else {
      this.msg = body.length === 0 ? this.head : Buffer.concat([this.head, body]);
    }
    return this.msg;
  }

  /** The request-target: the quoted path and the query of qargs merged with the path's own. */
  #target(): string {
    let path = this.path || "/";
    let query = "";
    if (ABSOLUTE.test(path)) {
      let url: URL;
      try {
        url = new URL(path);
      } catch {
        throw new InvalidURL(`not a URL: ${path}`);
      }
      const scheme = url.protocol.slice(0, -1).toLowerCase();
      const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
      const port = url.port === "" ? defaultPort(scheme) : Number(url.port);
      if (scheme !== this.scheme) throw new InvalidURL(`the connection is ${this.scheme}, not ${scheme}`);
      if (host.toLowerCase() !== this.hostname.toLowerCase() || port !== this.port) {
        throw new InvalidURL(`the connection is to ${this.hostname}:${this.port}, not ${host}:${port}`);
      }
      path = url.pathname;
      query = url.search.slice(1);
      if (url.hash) this.fragment = url.hash.slice(1);
    } else {
      const parts = { query, fragment: this.fragment };
      path = splitOff(path, parts);
      query = parts.query;
      this.fragment = parts.fragment;
    }
    if (path === "") path = "/";
    if (path !== "*" && !path.startsWith("/")) path = `/${path}`;
    this.path = path;
    const [qargs, text] = updateQargsQuery(this.qargs, query);
    this.qargs = qargs;
    const quoted = path === "*" ? path : quotePath(path);
    return text ? `${quoted}?${text}` : quoted;
  }

  #host(): string {
    let host = this.hostname;
    if (host.includes(":")) host = `[${host}]`;
    else if (/[^\x00-\x7f]/.test(host)) host = domainToASCII(host) || host;
    return this.portOptional && this.port === defaultPort(this.scheme) ? host : `${host}:${this.port}`;
  }

  /** A form body: multipart when the headers ask for multipart/form-data, else urlencoded. */
  #form(fargs: FargsInit): [Uint8Array, string] {
    const given = this.headers.get("content-type") ?? "";
    if (given.toLowerCase().startsWith("multipart/form-data")) {
      const boundary = `____________${randomBytes(6).toString("hex")}`;
      let form = "";
      for (const [name, value] of Object.entries(fargs)) {
        form += `\r\n--${boundary}\r\nContent-Disposition: form-data; name="${name.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A")}"\r\n`
          + `Content-Type: text/plain; charset=utf-8\r\n\r\n${value}`;
      }
      form += `\r\n--${boundary}--`;
      this.headers.set("Content-Type", `multipart/form-data; boundary=${boundary}`);
      return [encoder.encode(form), `multipart/form-data; boundary=${boundary}`];
    }
    const form = Object.entries(fargs).map(([name, value]) => `${quotePlus(name)}=${quotePlus(String(value))}`).join("&");
    return [encoder.encode(form), "application/x-www-form-urlencoded; charset=utf-8"];
  }
}
