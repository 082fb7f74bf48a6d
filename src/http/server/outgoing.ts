/**
 * The Response an app returns, made cheaply: OutgoingResponse, also `http.Response`.
 *
 * A `new Response("Hello World!", { headers })` costs about 4 µs on Node 20 (3 of them the web
 * ReadableStream undici makes for every body), more than node:http spends on a whole request; on
 * Node 22+ undici keeps the body's source private, so a server must read even a string body back
 * through that stream, a tick later. An OutgoingResponse keeps what it was given (status, status
 * text, header fields, a string or bytes or no body) and the Responder writes those straight into
 * the send buffer, in the tick the app answered, framed by Content-Length. The real (undici)
 * Response is built only when something asks for what only it has: `body` as a stream, `blob()`,
 * `formData()`; everything else (`status`, `headers`, `text()`, `json()`, `arrayBuffer()`,
 * `bytes()`, `clone()`) is answered from the parts. Any other body (a stream, a Blob, FormData,
 * URLSearchParams) or an init it does not take as it is (a status out of range, a field value
 * undici would normalize or refuse) builds the real Response at once, so undici decides and throws.
 *
 * It is a Response as a program sees one (test/http/outgoing.test.ts compares the two over every
 * getter, read, copy and header change, in any order): `instanceof Response` holds, a body is
 * read once, `clone()`, `Response.json()`, subclasses, `new Response(body, response)`,
 * `WebAssembly.compileStreaming()` and `util.inspect` work. Differences remain: it has none of
 * undici's internals, so undici's own methods applied to it directly
 * (`NativeResponse.prototype.text.call(outgoing)`) fail; `util.inspect` shows the fields of a
 * Headers object given as init as that object iterates them (sorted, lowercase); and
 * `structuredClone()` copies it as an empty object, as Node 20 does a native one (Node 22+ refuses).
 *
 * The global, and why it is replaced. Apps written for any runtime say `new Response(...)`
 * (examples/hello.ts, Hono's `c.text()` and `c.json()`), so the gain needs the global name, as
 * @hono/node-server found (its `overrideGlobalObjects`, on by default). So a hio-ts HTTP server's
 * first connection (its first Responder) installs OutgoingResponse as `globalThis.Response`;
 * importing hio-ts leaves it alone (src/http/server/incoming.ts wraps Request and fetch on import, for
 * reasons of its own). `restoreResponse()` puts the native class back, exactly as it
 * was found, and keeps servers from installing it again (the opt-out); `HIO_RESPONSE=native` in
 * the environment declines it from the start; `installResponse()` installs it explicitly. Only the
 * runtime's own class is ever replaced: another library's replacement is left alone. What broke
 * for @hono/node-server's users, and how it is met here: Responses that `fetch()` returns and
 * classes that extended the native Response before the swap (Next.js's NextResponse) failed
 * `instanceof Response` (openapi-fetch, Next.js, the MCP SDK, which turned the override off): the
 * global here claims every native Response, and the native class claims every OutgoingResponse.
 * Still: `response.constructor === Response` is false for native Responses while it is installed;
 * the swap is process-wide, so other servers in the process get OutgoingResponses from their apps
 * (they work through the public API, at the real Response's cost); code that must see the native
 * class in the global (a test stubbing it) should call `restoreResponse()` first.
 */
import { mirror } from "./incoming.ts";

/** The runtime's own Response class (undici's), whatever the global is when this module loads. */
export const NativeResponse: typeof Response = Response.error().constructor as typeof Response;

const NATIVE = Object.getOwnPropertyDescriptors(NativeResponse.prototype) as Record<string, PropertyDescriptor>;
const nativeGet = (name: string): ((this: unknown) => unknown) => NATIVE[name]?.get ?? (() => undefined);
const nativeCall = (name: string): ((this: unknown, ...args: unknown[]) => unknown) =>
  (NATIVE[name]?.value as (this: unknown, ...args: unknown[]) => unknown) ?? (() => undefined);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value as a Headers object keeps it: no surrounding whitespace, no CR, LF or NUL (stricter here: no controls but HTAB). */
const VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;
const REASON = /^[\t\x20-\x7e\x80-\xff]*$/; // reason-phrase (RFC 9112 §4)
const TEXT_PLAIN = "text/plain;charset=UTF-8";
const APPLICATION_JSON = "application/json";

const utf8 = new TextDecoder(); // drops a leading BOM and replaces bad sequences, as a body's text() does
const encoder = new TextEncoder(); // lone surrogates become U+FFFD, as undici encodes a string body

/** What an OutgoingResponse holds until its real Response is built. */
export interface OutgoingParts {
  readonly status: number;
  readonly statusText: string;
  /**
   * The header fields as given, flat, three strings each: name lowercased, value, name as given
   * (Headers keeps that spelling for display); a default Content-Type appended.
   */
  readonly fields: readonly string[];
  /** The Headers handed out by `headers`, once asked for: from then on the fields are these. */
  headers: Headers | null;
  /** The body: a string (sent as UTF-8), bytes (a private copy, never changed) or none. */
  readonly body: string | Uint8Array<ArrayBuffer> | null;
  /** The app read the body (text(), json() ...): a second read is refused. */
  used: boolean;
}

type Init = { headers?: unknown; status?: unknown; statusText?: unknown };

/** Whether this undici reads an init's headers before its status (undici 7 does; 6 reads them last). */
const headersFirst = ((): boolean => {
  const order: string[] = [];
  void new NativeResponse(null, {
    get headers() { order.push("headers"); return undefined; },
    get status() { order.push("status"); return undefined; },
  } as unknown as ResponseInit);
  return order[0] === "headers";
})();

/** An init's members, each read once, in the order undici reads them (a getter sees what it would). */
function readInit(given: Init): Init {
  return headersFirst
    ? { headers: given.headers, status: given.status, statusText: given.statusText }
    : { status: given.status, statusText: given.statusText, headers: given.headers };
}

/**
 * The parts of a Response made with `body` and `init`, or null when this module does not take
 * them as they are (the real Response then decides). `type` is the Content-Type a body gets when
 * the fields have none.
 */
function partsOf(body: unknown, init: Init | undefined, type: string | null): OutgoingParts | null {
  let content: string | Uint8Array<ArrayBuffer> | null;
  if (typeof body === "string") {
    content = body;
  } else if (body === null || body === undefined) {
    content = null;
    type = null;
  } else if (ArrayBuffer.isView(body)) {
    // Copied, as undici copies: the app may reuse its buffer. Empty views are left to undici
    // (one over a detached buffer is refused there).
    if (!(body.buffer instanceof ArrayBuffer) || body.byteLength === 0) return null;
    content = new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
    if (type === TEXT_PLAIN) type = null;
  } else if (body instanceof ArrayBuffer) {
    if (body.byteLength === 0) return null;
    content = new Uint8Array(body.slice(0));
    if (type === TEXT_PLAIN) type = null;
  } else {
    return null;
  }
  let status = 200;
  let statusText = "";
  const fields: string[] = [];
  if (init !== undefined) {
    if (init.status !== undefined) {
      const given = init.status;
      if (typeof given !== "number" || !Number.isInteger(given) || given < 200 || given > 599) return null;
      // A null body status (RFC 9110: 204, 205, 304) with a body is undici's TypeError to throw.
      if (content !== null && (given === 204 || given === 205 || given === 304)) return null;
      status = given;
    }
    if (init.statusText !== undefined) {
      if (typeof init.statusText !== "string" || !REASON.test(init.statusText)) return null;
      statusText = init.statusText;
    }
    const headers = init.headers;
    if (headers !== undefined && !takeFields(headers, fields)) return null;
  }
  if (type !== null) {
    let typed = false;
    for (let i = 0; i < fields.length; i += 3) if (fields[i] === "content-type") typed = true;
    if (!typed) fields.push("content-type", type, "content-type");
  }
  return { status, statusText, fields, headers: null, body: content, used: false };
}

/** Appends the fields of a HeadersInit to `fields`; false for anything to leave to undici. */
function takeFields(headers: unknown, fields: string[]): boolean {
  if (typeof headers !== "object" || headers === null) return false;
  if (headers instanceof Headers) {
    for (const [name, value] of headers) fields.push(name, value, name); // valid and lowercase already
    return true;
  }
  if (Array.isArray(headers)) {
    for (const pair of headers as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2 || !field(pair[0], pair[1], fields)) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(headers);
  if (proto !== Object.prototype && proto !== null) return false; // a Map, an iterable, a class: undici's reading
  const record = headers as Record<string, unknown>;
  for (const name in record) {
    if (!Object.hasOwn(record, name) || !field(name, record[name], fields)) return false;
  }
  return Object.getOwnPropertySymbols(record).length === 0; // a symbol key is undici's TypeError
}

function field(name: unknown, value: unknown, fields: string[]): boolean {
  if (typeof name !== "string" || typeof value !== "string" || !TOKEN.test(name) || !VALUE.test(value)) return false;
  fields.push(name.toLowerCase(), value, name);
  return true;
}

function headersOf(fields: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i < fields.length; i += 3) headers.append(fields[i + 2]!, fields[i + 1]!);
  return headers;
}


/** A string body as the real Response's text() gives it back: UTF-8 round trip, BOM dropped. */
function textOf(body: string | Uint8Array | null): string {
  if (body === null) return "";
  if (typeof body !== "string") return utf8.decode(body);
  const text = body as string & { isWellFormed(): boolean; toWellFormed(): string };
  const well = text.isWellFormed() ? body : text.toWellFormed();
  return well.charCodeAt(0) === 0xfeff ? well.slice(1) : well;
}

function bytesOf(body: string | Uint8Array<ArrayBuffer> | null): Uint8Array<ArrayBuffer> {
  if (body === null) return new Uint8Array(0);
  return typeof body === "string" ? encoder.encode(body) : body.slice();
}

/** Prototypes (of subclasses) whose getters leave the parts' meaning alone (true), or not. */
const plainProtos = new WeakMap<object, boolean>();
const PARTS_NAMES = ["status", "statusText", "headers", "body", "bodyUsed", "ok", "type", "url", "redirected"];

function fieldsOf(headers: Headers): string[] {
  const fields: string[] = [];
  for (const [name, value] of headers) fields.push(name, value, name);
  return fields;
}

/** Marks a construction from parts made here (Response.json, clone). */
const FROM_PARTS: unique symbol = Symbol("parts");

/** The parts of an OutgoingResponse not yet realized, else null (set in the class's static block). */
let partsOfResponse: (value: unknown) => OutgoingParts | null;
/** The real Response behind a value: itself when native, built now for an OutgoingResponse. */
let realOfResponse: (value: unknown) => Response;

/** A body read answered from the parts, or undefined when the real Response must answer. */
function take(value: unknown): Promise<string | Uint8Array<ArrayBuffer> | null> | undefined {
  const parts = partsOfResponse(value);
  if (parts === null) return undefined;
  if (parts.body === null) return Promise.resolve(null);
  if (parts.used) return Promise.reject(new TypeError("Body is unusable: Body has already been read"));
  parts.used = true;
  return Promise.resolve(parts.body);
}

const native = <T>(name: string, value: unknown): T => nativeGet(name).call(realOfResponse(value)) as T;
const nativeRead = <T>(name: string, value: unknown): Promise<T> => nativeCall(name).call(realOfResponse(value)) as Promise<T>;

/** A Response that holds its parts and builds the real one on first need. */
class Outgoing {
  #parts: OutgoingParts | null;
  #real: Response | null = null;
  #headers: Headers | null = null; // the Headers the app holds, kept once realized (mirrored)

  constructor(body?: unknown, init?: unknown) {
    if (body === FROM_PARTS) {
      this.#parts = init as OutgoingParts;
      return;
    }
    const read = init !== null && typeof init === "object" ? readInit(init as Init) : undefined;
    const parts = init === undefined || init === null || read !== undefined ? partsOf(body, read, TEXT_PLAIN) : null;
    this.#parts = parts;
    if (parts === null) this.#real = new NativeResponse(body as BodyInit, (read ?? init) as ResponseInit);
  }

  /** `Response.json()`: the JSON text as the body, `application/json` unless the init types it. */
  static json(data: unknown, init?: unknown): Response {
    const text = JSON.stringify(data) as string | undefined;
    if (typeof text !== "string") throw new TypeError("Value is not JSON serializable");
    const read = init !== null && typeof init === "object" ? readInit(init as Init) : undefined;
    const parts = init === undefined || init === null || read !== undefined ? partsOf(text, read, APPLICATION_JSON) : null;
    if (parts === null) return NativeResponse.json(data, (read ?? init) as ResponseInit);
    return new Outgoing(FROM_PARTS, parts) as unknown as Response;
  }

  /** The global Response claims every native Response too; a subclass only its own instances. */
  static [Symbol.hasInstance](value: unknown): boolean {
    if (this === Outgoing) return value instanceof NativeResponse;
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  static {
    partsOfResponse = (value) => (value !== null && typeof value === "object" && #parts in value ? value.#parts : null);
    realOfResponse = (value) => {
      if (value === null || typeof value !== "object" || !(#parts in value)) return value as Response;
      if (value.#real !== null) return value.#real;
      const parts = value.#parts as OutgoingParts;
      const held = parts.headers;
      const headers = held ?? headersOf(parts.fields);
      const real = new NativeResponse(parts.body, { status: parts.status, statusText: parts.statusText, headers });
      // undici types a string body that has no Content-Type: this one's was taken away (headers.delete).
      if (!headers.has("content-type")) real.headers.delete("content-type");
      if (parts.used && real.body !== null) {
        // Read here already: the real body is used too, locked and disturbed as a read leaves it.
        real.body.getReader().read().catch(() => {});
      }
      if (held !== null) {
        mirror(held, real.headers); // the app keeps its object; undici reads the copy
        value.#headers = held;
      }
      value.#real = real;
      value.#parts = null;
      return real;
    };
  }

  get type(): ResponseType {
    return partsOfResponse(this) !== null ? "default" : native("type", this);
  }
  get url(): string {
    return partsOfResponse(this) !== null ? "" : native("url", this);
  }
  get redirected(): boolean {
    return partsOfResponse(this) !== null ? false : native("redirected", this);
  }
  get status(): number {
    const parts = partsOfResponse(this);
    return parts !== null ? parts.status : native("status", this);
  }
  get ok(): boolean {
    const parts = partsOfResponse(this);
    return parts !== null ? parts.status >= 200 && parts.status <= 299 : native("ok", this);
  }
  get statusText(): string {
    const parts = partsOfResponse(this);
    return parts !== null ? parts.statusText : native("statusText", this);
  }
  get headers(): Headers {
    const parts = partsOfResponse(this);
    if (parts !== null) return (parts.headers ??= headersOf(parts.fields));
    if (#parts in this && this.#headers !== null) return this.#headers;
    return native("headers", this);
  }
  get body(): ReadableStream<Uint8Array> | null {
    const parts = partsOfResponse(this);
    return parts !== null && parts.body === null ? null : native("body", this);
  }
  get bodyUsed(): boolean {
    const parts = partsOfResponse(this);
    return parts !== null ? parts.used : native("bodyUsed", this);
  }

  clone(): Response {
    const parts = partsOfResponse(this);
    if (parts === null) return nativeCall("clone").call(realOfResponse(this)) as Response;
    if (parts.used) throw new TypeError("Response.clone: Body has already been consumed.");
    const fields = parts.headers === null ? parts.fields : fieldsOf(parts.headers);
    // The body is never changed in place, so the copy shares it.
    return new Outgoing(FROM_PARTS, { ...parts, fields, headers: null, used: false }) as unknown as Response;
  }

  text(): Promise<string> {
    return take(this)?.then(textOf) ?? nativeRead("text", this);
  }
  json(): Promise<unknown> {
    return take(this)?.then((body) => JSON.parse(textOf(body)) as unknown) ?? nativeRead("json", this);
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return take(this)?.then((body) => bytesOf(body).buffer) ?? nativeRead("arrayBuffer", this);
  }
  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return take(this)?.then(bytesOf) ?? nativeRead("bytes", this);
  }
  blob(): Promise<Blob> {
    return nativeRead("blob", this);
  }
  formData(): Promise<FormData> {
    return nativeRead("formData", this);
  }

  static {
    Object.setPrototypeOf(Outgoing, NativeResponse); // Response.error(), Response.redirect()
    Object.setPrototypeOf(Outgoing.prototype, NativeResponse.prototype);
    Object.defineProperty(Outgoing, "name", { value: "Response" });
    // As on Response.prototype: the same accessors and methods, enumerable, in the same order
    // (for...in lists them so), and none that undici lacks (bytes() on an older one).
    const own = Object.getOwnPropertyDescriptors(Outgoing.prototype) as Record<string, PropertyDescriptor>;
    for (const name of Object.keys(own)) if (name !== "constructor") Reflect.deleteProperty(Outgoing.prototype, name);
    for (const name of Object.keys(NATIVE)) {
      const descriptor = own[name];
      if (name !== "constructor" && descriptor !== undefined) Object.defineProperty(Outgoing.prototype, name, { ...descriptor, enumerable: true });
    }
  }
}

/** `http.Response`: the Response apps can make explicitly, whatever the global is. */
export const OutgoingResponse = Outgoing as unknown as typeof Response;

/**
 * The parts the Responder sends as they are: an OutgoingResponse not yet realized whose class
 * (OutgoingResponse, or a subclass that overrides none of its getters) reads them; else null.
 */
export function outgoingParts(value: unknown): OutgoingParts | null {
  const parts = partsOfResponse(value);
  if (parts === null) return null;
  const proto = Object.getPrototypeOf(value) as object;
  if (proto === Outgoing.prototype) return parts;
  let plain = plainProtos.get(proto);
  if (plain === undefined) {
    plain = true;
    for (let p: object | null = proto; p !== null && p !== Outgoing.prototype; p = Object.getPrototypeOf(p) as object | null) {
      if (PARTS_NAMES.some((name) => Object.hasOwn(p as object, name))) plain = false;
    }
    plainProtos.set(proto, plain);
  }
  return plain ? parts : null;
}

/** The parts of any OutgoingResponse not yet realized (subclasses included), else null. */
export function heldParts(value: unknown): OutgoingParts | null {
  return partsOfResponse(value);
}

// The global Response: installed by servers unless declined; exactly what was there put back.
const GLOBAL = Object.getOwnPropertyDescriptor(globalThis, "Response");
let declined = process.env.HIO_RESPONSE === "native";

/** True while OutgoingResponse is the global Response. */
export function responseInstalled(): boolean {
  return globalThis.Response === (Outgoing as unknown);
}

/**
 * Makes OutgoingResponse the global Response (and lets servers keep it so). Only the runtime's
 * own class is replaced: false when the global is someone else's.
 */
export function installResponse(): boolean {
  declined = false;
  if (responseInstalled()) return true;
  if (globalThis.Response !== NativeResponse || GLOBAL === undefined || GLOBAL.configurable !== true) return false;
  Object.defineProperty(globalThis, "Response", { value: Outgoing, writable: true, enumerable: GLOBAL.enumerable === true, configurable: true });
  return true;
}

/** Puts the native Response back as the global (if ours is there) and keeps servers from installing it. */
export function restoreResponse(): void {
  declined = true;
  if (responseInstalled() && GLOBAL !== undefined) Object.defineProperty(globalThis, "Response", GLOBAL);
}

/** What a server does on its first connection: install OutgoingResponse unless declined. */
export function offerResponse(): void {
  if (!declined && globalThis.Response === NativeResponse) installResponse();
}
