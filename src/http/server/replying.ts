/**
 * Whole responses written at once: error replies and hio's CustomResponder messages, each a
 * status line, header fields (`Server` and `Date` added when absent) and a Content-Length body.
 */
import type { ByteBuffer } from "../../base/buffering.ts";
import { Hict } from "../wire/hicting.ts";
import type { HictInit } from "../wire/hicting.ts";
import { HTTPError, httpDate1123, statusReason } from "../wire/httping.ts";

export interface MessageParts {
  status: number;
  reason?: string | undefined;
  headers?: Iterable<readonly [string, string]>;
  body?: Uint8Array | string;
  /** `Server` header value when none is given. */
  name?: string;
  /** False adds `Connection: close`. */
  persisted?: boolean;
  /** False (an HTTP/1.0 request) adds `Connection: keep-alive` to a persisted reply. */
  chunkable?: boolean;
  /** A reply to HEAD: the head alone, its Content-Length the body's that GET would get. */
  head?: boolean;
}

/**
 * The head of a whole response: status line, the fields (framing fields dropped), `Server` and
 * `Date` when absent, Content-Length of `length` body bytes unless the status has no content,
 * and the connection's field.
 */
export function messageHead({
  status,
  reason,
  headers = [],
  name = "hio-ts",
  persisted = true,
  chunkable = true,
}: MessageParts, length: number): string {
  let head = `HTTP/1.1 ${status} ${reason ?? statusReason(status)}\r\n`;
  let hasServer = false;
  let hasDate = false;
  for (const [field, value] of headers) {
    const lower = field.toLowerCase();
    if (lower === "content-length" || lower === "transfer-encoding" || lower === "connection") continue;
    if (lower === "server") hasServer = true;
    else if (lower === "date") hasDate = true;
    head += `${field}: ${value}\r\n`;
  }
  if (!hasServer) head += `Server: ${name}\r\n`;
  if (!hasDate) head += `Date: ${httpDate1123()}\r\n`;
  if (!bodyless(status)) head += `Content-Length: ${length}\r\n`;
  if (!persisted) head += "Connection: close\r\n";
  else if (!chunkable) head += "Connection: keep-alive\r\n";
  return head + "\r\n";
}

/** 1xx, 204 and 304 carry no content (RFC 9112 §6.3). */
const bodyless = (status: number): boolean => status < 200 || status === 204 || status === 304;

/** Builds a whole response: head plus body, framed by Content-Length. */
export function buildMessage(parts: MessageParts): Uint8Array {
  const { status, body = "", head: headOnly = false } = parts;
  const content = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const headBytes = Buffer.from(messageHead(parts, content.length), "latin1");
  if (bodyless(status) || headOnly || content.length === 0) return headBytes;
  return Buffer.concat([headBytes, content]);
}

/** The HTTPError a failure answers with: itself, or a 500 for anything else. */
export function asHTTPError(error: unknown): HTTPError {
  if (error instanceof HTTPError) return error;
  return new HTTPError({ status: 500, title: "Internal Server Error" });
}

/** The whole reply to an error: HTTPError's status, reason, headers and rendered body. */
export function errorMessage(
  error: unknown,
  { name, persisted, chunkable, head = false }: { name: string; persisted: boolean; chunkable: boolean; head?: boolean },
): { status: number; persisted: boolean; bytes: Uint8Array } {
  const failure = asHTTPError(error);
  const headers: Array<[string, string]> = [];
  let typed = false;
  for (const [field, value] of Object.entries(failure.headers ?? {})) {
    if (field.toLowerCase() === "content-type") typed = true;
    headers.push([field, String(value)]);
  }
  if (!typed) headers.push(["Content-Type", "text/plain; charset=utf-8"]);
  const bytes = buildMessage({
    status: failure.status,
    reason: failure.reason,
    headers,
    body: failure.render(),
    name,
    persisted,
    chunkable,
    head,
  });
  return { status: failure.status, persisted, bytes };
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** What a CustomResponder reply is made of. */
export interface ReplyParts {
  status?: number;
  /** Reason phrase; the status table's by default. */
  reason?: string;
  headers?: Record<string, string> | Iterable<readonly [string, string]>;
  body?: Uint8Array | string;
  /** Sent as compact JSON (`application/json; charset=utf-8` unless a Content-Type is given). */
  data?: unknown;
}

/**
 * hio's CustomResponder reply: a whole response (status, reason, fields, body) that a Steward's
 * `respond()` returns instead of a fetch Response. The Responder writes it straight into the send
 * buffer, in the tick it was returned, framed by Content-Length, its `Server`, `Date` and
 * connection fields added for the exchange, the body left out for HEAD. It is never changed, so
 * one reply may answer many requests.
 */
export class CustomReply {
  readonly status: number;
  readonly reason: string | undefined;
  readonly fields: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | string;

  /** Checks the parts once: a status of three digits, token field names, field values and a reason without CR or LF. */
  constructor({ status = 200, reason, headers = {}, body, data }: ReplyParts = {}) {
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`a reply's status must be three digits, not ${status}`);
    if (reason !== undefined && !FIELD_VALUE.test(reason)) throw new TypeError("a reply's reason may not hold CR, LF or other controls");
    const fields: Array<readonly [string, string]> = Symbol.iterator in headers
      ? [...(headers as Iterable<readonly [string, string]>)]
      : Object.entries(headers as Record<string, string>);
    for (const [field, value] of fields) {
      if (!TOKEN.test(field) || !FIELD_VALUE.test(String(value))) throw new TypeError(`a reply's field ${JSON.stringify(field)} is not a valid name and value`);
    }
    let content = body ?? "";
    if (data !== undefined) {
      content = JSON.stringify(data);
      if (!fields.some(([field]) => field.toLowerCase() === "content-type")) {
        fields.push(["Content-Type", "application/json; charset=utf-8"]);
      }
    }
    this.status = status;
    this.reason = reason;
    this.fields = fields;
    this.body = content;
  }
}

/** What a CustomResponder is made with: hio's parts, and the `Server` name. */
export interface CustomResponderOptions {
  /** The Steward this responder answers for (hio's steward); its name is the default `name`. */
  steward?: { readonly name: string } | null;
  status?: number;
  headers?: HictInit | null;
  body?: Uint8Array | string;
  data?: unknown;
  /** `Server` header value when none is given. */
  name?: string;
}

/** hio's parts of a CustomResponder's next message, as `reinit` and `build` take them. */
export interface CustomParts {
  status?: number | null;
  headers?: HictInit | null;
  body?: Uint8Array | string | null;
  data?: unknown;
}

/**
 * hio's CustomResponder: the parts of a whole reply (status, headers, body or JSON `data`),
 * kept between replies. As in hio, `reinit(parts)` replaces the status and headers when given
 * and the body and data always (empty and null when not given), so another response can be
 * made on the connection; `build(parts)` reinits and gives the bytes of the message (data as
 * compact JSON, typed `application/json; charset=utf-8`), also kept in `msg`, and marks it `ended`.
 * A Steward's `respond()` may return the CustomResponder itself (its current parts are sent),
 * the bytes of `build()`, or a CustomReply from `reply()`.
 * @example
 * class Echo extends http.Steward {
 *   readonly custom = new http.CustomResponder({ steward: this });
 *   override respond() {
 *     return this.custom.build({ status: 200, data: { path: this.requestant.path } });
 *   }
 * }
 */
export class CustomResponder {
  readonly name: string;
  readonly steward: { readonly name: string } | null;
  status: number;
  headers: Hict;
  body: Uint8Array | string;
  data: unknown;
  /** True once `build()` has made a whole message (hio's ended). */
  ended = false;
  /** The bytes of the last `build()` (kept for inspection, as hio). */
  msg: Uint8Array = new Uint8Array(0);

  constructor({ steward = null, status = 200, headers = null, body = "", data = null, name }: CustomResponderOptions = {}) {
    this.steward = steward;
    this.name = name ?? steward?.name ?? "hio-ts";
    this.status = status;
    this.headers = new Hict(headers ?? undefined);
    this.body = body;
    this.data = data;
  }

  /** hio's reinit: status and headers replaced when given, body and data always (empty and null when not given). */
  reinit({ status = null, headers = null, body = null, data = null }: CustomParts = {}): void {
    if (status !== null) this.status = status;
    if (headers !== null) this.headers = new Hict(headers);
    this.body = body ?? "";
    this.data = data;
  }

  /**
   * The reply for a Steward's `respond()` to return: of `parts` alone when given, else of this
   * responder's current parts. Throws on parts that cannot go on the wire.
   */
  reply(parts?: ReplyParts): CustomReply {
    if (parts !== undefined) return new CustomReply(parts);
    const { status, headers, body, data } = this;
    if (data === null || data === undefined) return new CustomReply({ status, headers, body });
    // As hio's build: data is JSON, whatever Content-Type the kept headers had.
    const typed = new Hict(headers);
    typed.delete("content-type");
    return new CustomReply({ status, headers: typed, data });
  }

  /**
   * hio's build: reinit with `parts`, then the bytes of the whole message, framed by
   * Content-Length, with `Connection: close` when not `persisted` (and `keep-alive` for a
   * persisted reply that is not `chunkable`: an HTTP/1.0 peer's).
   */
  build({ persisted = true, chunkable = true, ...parts }: CustomParts & { persisted?: boolean; chunkable?: boolean } = {}): Uint8Array {
    this.reinit(parts);
    const reply = this.reply();
    this.msg = buildMessage({ status: reply.status, reason: reply.reason, headers: reply.fields, body: reply.body, name: this.name, persisted, chunkable });
    this.ended = true;
    return this.msg;
  }
}

/**
 * Writes a CustomReply into `txbs` for one exchange: its head with the connection's fields, then
 * its body (none for HEAD or a status without content).
 */
export function writeReply(
  txbs: ByteBuffer,
  reply: CustomReply,
  { name, persisted, chunkable, head }: { name: string; persisted: boolean; chunkable: boolean; head: boolean },
): void {
  const body = reply.body;
  const text = typeof body === "string";
  const length = text ? Buffer.byteLength(body, "utf8") : body.length;
  txbs.pushText(messageHead({ status: reply.status, reason: reply.reason, headers: reply.fields, name, persisted, chunkable }, length), "latin1");
  if (head || bodyless(reply.status) || length === 0) return;
  if (text) txbs.pushText(body, "utf8", length);
  else txbs.push(body);
}
