/**
 * hio's httping: the HTTP exception family, HTTPError, the status reason table, IMF-fixdate
 * dates, and the byte-class tables the parsers scan with.
 * Everything here is pure: no sockets, no state beyond a one-second date cache.
 */
import { STATUS_CODES } from "node:http";

/** Base of the parse-level exceptions (hio's HTTPException); `name` is the class name. */
export class HTTPException extends Error {
  constructor(message = "") {
    super(message);
    this.name = "HTTPException";
  }
}

/** A request-target that cannot be split into its parts. */
export class InvalidURL extends HTTPException {
  constructor(message = "") {
    super(message);
    this.name = "InvalidURL";
  }
}

/** A protocol version this port does not speak (`HTTP/2.0` on an HTTP/1.1 connection). */
export class UnknownProtocol extends HTTPException {
  readonly version: string;
  constructor(version: string) {
    super(`unknown protocol ${version}`);
    this.name = "UnknownProtocol";
    this.version = version;
  }
}

/** A status line that is not `HTTP/x.y NNN reason`. */
export class BadStatusLine extends HTTPException {
  readonly line: string;
  constructor(line: string) {
    super(line === "" ? "''" : line);
    this.name = "BadStatusLine";
    this.line = line;
  }
}

/** A request line that is not `method SP target SP version`. */
export class BadRequestLine extends BadStatusLine {
  constructor(line: string) {
    super(line);
    this.name = "BadRequestLine";
  }
}

/** A method that is not a token. */
export class BadMethod extends HTTPException {
  readonly method: string;
  constructor(method: string) {
    super(`bad method ${method}`);
    this.name = "BadMethod";
    this.method = method;
  }
}

/** A line longer than its limit. */
export class LineTooLong extends HTTPException {
  constructor(kind: string, limit: number) {
    super(`got more than ${limit} bytes while parsing ${kind}`);
    this.name = "LineTooLong";
  }
}

/** The peer closed before a message was complete. */
export class PrematureClosure extends HTTPException {
  constructor(message = "") {
    super(message);
    this.name = "PrematureClosure";
  }
}

/** Reason phrases by status code (node:http's table, the IANA registry's names). */
export const StatusDescriptions: Readonly<Record<number, string>> = Object.freeze(
  Object.fromEntries(
    Object.entries(STATUS_CODES).map(([code, reason]) => [Number(code), reason ?? "Unknown"]),
  ),
);

/** The reason phrase for a status, or "Unknown" when the table has none. */
export function statusReason(status: number): string {
  return StatusDescriptions[status] ?? "Unknown";
}

export interface HTTPErrorOptions {
  /** An integer from 100 to 599. */
  status: number;
  /** The status line's reason-phrase (no CR, LF or other controls but HTAB). */
  reason?: string;
  title?: string;
  detail?: string;
  fault?: number | null;
  /** Extra response fields: token names, values without CR, LF or NUL. */
  headers?: Record<string, string>;
}

const CALL_FORM = 'new HTTPError({ status: 418, title: "..." })';

/**
 * hio's HTTPError: an error an app (or the parser) raises to be answered with its status.
 * `reason` defaults to the table's phrase ("Unknown" off the table); `render()` gives the body.
 *
 * Whatever goes on the wire is checked here, once: the status is an integer from 100 to 599,
 * the reason and headers cannot break the head. A bad one throws (TypeError for the wrong
 * shape, RangeError for a status out of range), so an app that throws such an error gets a
 * 500 and its mistake reported to `onError`, never `HTTP/1.1 1000 Unknown`. The fields are
 * getters (assigning one throws a TypeError), the headers are frozen, and only an object this
 * constructor built is an instance.
 */
export class HTTPError extends Error {
  readonly #status: number;
  readonly #reason: string;
  readonly #title: string;
  readonly #detail: string;
  readonly #fault: number | null;
  readonly #headers: Readonly<Record<string, string>>;

  constructor(options: HTTPErrorOptions) {
    if (typeof options !== "object" || options === null || Array.isArray(options) || arguments.length > 1) {
      const given = Array.from(arguments, (arg) => (typeof arg === "string" ? JSON.stringify(arg) : String(arg))).join(", ");
      throw new TypeError(`HTTPError takes one options object: ${CALL_FORM}, not new HTTPError(${given})`);
    }
    const { status, reason = "", title = "", detail = "", fault = null, headers } = options;
    const code = checkedStatus(status);
    const phrase = reason === "" ? statusReason(code) : checkedReason(reason);
    const fields = checkedHeaders(headers);
    if (fault !== null && fault !== undefined && (typeof fault !== "number" || !Number.isFinite(fault))) {
      throw new TypeError(`HTTPError fault must be a number or null, not ${String(fault)}`);
    }
    const [titled, detailed] = [String(title), String(detail)];
    super(`${code} ${phrase}${titled ? `: ${titled}` : ""}${detailed ? ` (${detailed})` : ""}`);
    this.name = "HTTPError";
    this.#status = code;
    this.#reason = phrase;
    this.#title = titled;
    this.#detail = detailed;
    this.#fault = fault === null || fault === undefined ? null : Math.trunc(fault);
    this.#headers = fields;
  }

  /** An integer from 100 to 599. */
  get status(): number {
    return this.#status;
  }

  /** The status line's reason-phrase. */
  get reason(): string {
    return this.#reason;
  }

  get title(): string {
    return this.#title;
  }

  get detail(): string {
    return this.#detail;
  }

  get fault(): number | null {
    return this.#fault;
  }

  /** Extra response fields (frozen). */
  get headers(): Readonly<Record<string, string>> {
    return this.#headers;
  }

  /** True only for objects this constructor built (a subclass's too), not for look-alikes. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && #status in value
      && Function.prototype[Symbol.hasInstance].call(this, value);
  }

  /**
   * The error as a response body: `"{status} {reason}\n{title}\n{detail}\n{fault or ''}"`, or with
   * `jsonify` the same five fields as JSON indented by two spaces.
   */
  render({ jsonify = false }: { jsonify?: boolean } = {}): string {
    if (jsonify) {
      const { status, reason, title, detail, fault } = this;
      return JSON.stringify({ status, reason, title, detail, fault }, null, 2);
    }
    return `${this.status} ${this.reason}\n${this.title}\n${this.detail}\n${this.fault ?? ""}`;
  }
}

/** An HTTP status for HTTPError: an integer from 100 to 599 (RFC 9110 §15). */
function checkedStatus(status: unknown): number {
  if (typeof status !== "number") {
    throw new TypeError(`HTTPError status must be a number from 100 to 599: ${CALL_FORM}, not ${typeof status === "string" ? JSON.stringify(status) : String(status)}`);
  }
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new RangeError(`HTTPError status must be an integer from 100 to 599, not ${status}`);
  }
  return status;
}

/** reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ) (RFC 9112 §4). */
function checkedReason(reason: unknown): string {
  const text = String(reason);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || (c !== HTAB && !(CharClass[c]! & (FVCHAR | WS)))) {
      throw new TypeError(`HTTPError reason must be a reason-phrase (no CR, LF or other controls), not ${JSON.stringify(text)}`);
    }
  }
  return text;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Extra fields: token names; values of field-vchar, SP and HTAB (RFC 9110 §5.5), no CR, LF or NUL. */
function checkedHeaders(headers: unknown): Readonly<Record<string, string>> {
  if (headers === undefined || headers === null) return NO_HEADERS;
  if (typeof headers !== "object") throw new TypeError(`HTTPError headers must be an object of name: value, not ${String(headers)}`);
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers)) {
    const value = String(raw);
    if (!isToken(name)) throw new TypeError(`HTTPError header name ${JSON.stringify(name)} is not a token`);
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c > 0xff || !(CharClass[c]! & (FVCHAR | WS))) {
        throw new TypeError(`HTTPError header ${name} has a value with CR, LF or another control: ${JSON.stringify(value)}`);
      }
    }
    out[name] = value;
  }
  return Object.freeze(out);
}

let dateSecond = -1;
let dateText = "";

/**
 * hio's httpDate1123: a date as an IMF-fixdate (`Wed, 30 Sep 2015 14:29:18 GMT`), UTC.
 * Without an argument it formats now, cached per second (a server stamps every response).
 */
export function httpDate1123(date?: Date | number): string {
  if (date === undefined) {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== dateSecond) {
      dateSecond = second;
      dateText = new Date(second * 1000).toUTCString();
    }
    return dateText;
  }
  return (typeof date === "number" ? new Date(date) : date).toUTCString();
}

/** Byte classes for `CharClass`: bit flags, combined with `&`. */
export const TCHAR = 1; // token character (RFC 9110 §5.6.2)
export const FVCHAR = 2; // field-vchar: VCHAR or obs-text (RFC 9110 §5.5)
export const WS = 4; // SP or HTAB
export const TARGET = 8; // visible ASCII, what a request-target may hold
export const HEX = 16;
export const DIGIT = 32;
export const QDTEXT = 64; // qdtext of a quoted-string (RFC 9110 §5.6.4)

/** One class byte per octet: `CharClass[b] & TCHAR` tests a token character. */
export const CharClass: Uint8Array = (() => {
  const table = new Uint8Array(256);
  const tokenExtras = "!#$%&'*+-.^_`|~";
  for (let b = 0; b < 256; b++) {
    let flags = 0;
    const isDigit = b >= 0x30 && b <= 0x39;
    const isAlpha = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
    if (isDigit || isAlpha || tokenExtras.includes(String.fromCharCode(b))) flags |= TCHAR;
    if ((b >= 0x21 && b <= 0x7e) || b >= 0x80) flags |= FVCHAR;
    if (b === 0x20 || b === 0x09) flags |= WS;
    if (b >= 0x21 && b <= 0x7e) flags |= TARGET;
    if (isDigit || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)) flags |= HEX;
    if (isDigit) flags |= DIGIT;
    if (b === 0x09 || b === 0x20 || b === 0x21 || (b >= 0x23 && b <= 0x5b) || (b >= 0x5d && b <= 0x7e) || b >= 0x80) {
      flags |= QDTEXT;
    }
    table[b] = flags;
  }
  return table;
})();

/** Value of a hex digit byte, or -1. */
export const HexValue: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) table[0x30 + i] = i;
  for (let i = 0; i < 6; i++) table[0x41 + i] = table[0x61 + i] = 10 + i;
  return table;
})();

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;

const latin1Slice = (Buffer.prototype as unknown as {
  latin1Slice(this: Uint8Array, start: number, end: number): string;
}).latin1Slice;

/** Bytes `[start, end)` as latin1 text (one char per byte, exact for 0x80-0xFF). */
export function latin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return start >= end ? "" : latin1Slice.call(bytes, start, end);
}

/** True when `text` is a non-empty token (a method, a field name, a coding). */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || (CharClass[c]! & TCHAR) === 0) return false;
  }
  return true;
}

/** The elements of a comma-separated field value, OWS trimmed, empty elements dropped. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  const n = value.length;
  let from = 0;
  while (from <= n) {
    let to = value.indexOf(",", from);
    if (to < 0) to = n;
    let a = from;
    let b = to;
    while (a < b && isOWS(value.charCodeAt(a))) a++;
    while (b > a && isOWS(value.charCodeAt(b - 1))) b--;
    if (b > a) out.push(value.slice(a, b));
    from = to + 1;
  }
  return out;
}

const isOWS = (c: number) => c === SP || c === HTAB;

const utf8 = new TextDecoder("utf-8");
const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/**
 * Percent-decodes text as UTF-8 the way Python's unquote does: invalid escapes stay as they
 * are and bytes that are not UTF-8 become U+FFFD, so it never throws.
 */
export function unquote(text: string): string {
  if (!text.includes("%")) return text;
  return text.replace(PERCENT_RUN, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    return utf8.decode(bytes);
  });
}

/** hio's dictify: `body` parsed as UTF-8 JSON, or null when it is empty or not JSON. */
export function jsonOf(body: Uint8Array): unknown {
  if (body.length === 0) return null;
  try {
    return JSON.parse(utf8.decode(body));
  } catch {
    return null;
  }
}

/** Bits of a Connection field's options (RFC 9110 §7.6.1) that decide persistence. */
export const CLOSE = 1;
export const KEEP_ALIVE = 2;

/** The persistence options a Connection field value names: CLOSE and/or KEEP_ALIVE bits. */
export function connectionOptions(value: string): number {
  let bits = 0;
  for (const option of splitList(value)) {
    const lowered = option.toLowerCase();
    if (lowered === "close") bits |= CLOSE;
    else if (lowered === "keep-alive") bits |= KEEP_ALIVE;
  }
  return bits;
}
