/**
 * The Request a fetch app is handed, made cheaply.
 *
 * On Node 20 a `new Request(url, { method, headers })` costs about 3 µs, two thirds of it the
 * AbortSignal undici makes for every Request, and a body adds a web ReadableStream (3 µs more)
 * that `request.json()` then reads back through several promises. That is more than node:http
 * spends on a whole request. Most handlers read only `method`, `url`, perhaps `headers`, and the
 * body whole (`json()`, `text()`, `arrayBuffer()`, `bytes()`), so an IncomingRequest answers
 * those from what the Requestant parsed and builds the real Request only when something else is
 * asked of it (`body` as a stream, `blob()`, `formData()`, `clone()`, anything undici reads).
 * It is a Request in every way a program can tell: `instanceof Request` holds, every Request
 * method and getter works, and undici's own code (as in `fetch(request)`, `new Request(request)`)
 * finds the real Request's internal slots, which are made on first touch, its body marked used
 * if the app already read it.
 *
 * That last part relies on undici keeping a Request's state under symbol keys, as Node 20's
 * does. A probe at load checks that it works; where it does not, `incomingRequest` builds the
 * real Request at once, as before.
 */

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const NAME = /^(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*$/; // the last label is not numeric: never read as IPv4
const PORT = /^[1-9]\d{0,4}$/;
const PATH = /^\/[A-Za-z0-9\-._~!$&()*+,;=:@/]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@/?]*)?$/;
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)/;

/**
 * `${scheme}://${host}${target}` when that text is already what `new URL()` would serialize it
 * to (a lowercase name or a canonical IPv4 address, a port that is not the scheme's default,
 * an origin-form target of unreserved characters without dot segments or percent signs), else
 * null: the caller then asks URL itself. Saves a URL parse for most requests.
 */
export function plainHref(scheme: "http" | "https" | string, host: string, target: string): string | null {
  if (scheme !== "http" && scheme !== "https") return null;
  if (!PATH.test(target)) return null;
  const query = target.indexOf("?");
  if (DOT_SEGMENT.test(query === -1 ? target : target.slice(0, query))) return null;
  const colon = host.lastIndexOf(":");
  const name = colon === -1 ? host : host.slice(0, colon);
  if (colon !== -1) {
    const port = host.slice(colon + 1);
    if (!PORT.test(port) || Number(port) > 65535 || Number(port) === (scheme === "http" ? 80 : 443)) return null;
  }
  if (!IPV4.test(name) && (!NAME.test(name) || name.includes("xn--"))) return null;
  return `${scheme}://${host}${target}`;
}

/**
 * Methods an IncomingRequest takes as they are: the ones a Request keeps unchanged when spelled
 * in capitals. Anything else (lowercase spellings, CONNECT/TRACE/TRACK, extension methods) is
 * left to `new Request()`, which normalizes or refuses it.
 */
export const IncomingMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** What an IncomingRequest is made from. */
export interface IncomingParts {
  /** The absolute URL, already serialized by `new URL(...).href`. */
  href: string;
  /** The method as sent (only IncomingMethods are made lazily; others go to `new Request()`). */
  method: string;
  /** The request's fields in arrival order (repeats kept); read when headers are first asked for. */
  fields: Iterable<readonly [string, string]>;
  /** The body, or null for none (dropped for GET and HEAD); its bytes are never changed or handed out. */
  body?: Uint8Array<ArrayBuffer> | null;
  /** Makes the abort signal of an exchange; called on first use with `exchange`. */
  signal: (exchange: number) => AbortSignal;
  /** The exchange (the request's number on its connection) the signal is for. */
  exchange: number;
}

/** Undici's internal slots of a Request (state, headers, signal, dispatcher on Node 20). */
const SLOTS: readonly symbol[] = Object.getOwnPropertySymbols(new Request("http://probe.invalid/"));
const SIGNAL_SLOT = SLOTS.find((slot) => slot.description === "signal");

const REQUEST = Request.prototype as unknown as Record<string, (this: unknown) => unknown>;
const getter = (name: string): ((this: unknown) => unknown) =>
  Object.getOwnPropertyDescriptor(Request.prototype, name)?.get ?? (() => undefined);
const BODY = getter("body");
const BODY_USED = getter("bodyUsed");
const utf8 = new TextDecoder(); // drops a leading BOM, as a body's text() does

function headersOf(fields: Iterable<readonly [string, string]>): Headers {
  const headers = new Headers();
  for (const [name, value] of fields) headers.append(name, value);
  return headers;
}

/**
 * Makes `held` (the Headers an app already has) pass every later change on to `twin` (the real
 * Request's copy, which undici reads), so both stay the same list.
 */
function mirror(held: Headers, twin: Headers): void {
  for (const name of ["append", "set", "delete"] as const) {
    const change = Headers.prototype[name] as (this: Headers, ...args: string[]) => void;
    Object.defineProperty(held, name, {
      value(...args: string[]): void {
        change.apply(held, args);
        change.apply(twin, args);
      },
      writable: true,
      configurable: true,
    });
  }
}

type Slots = Record<symbol, unknown>;

/** A request seen as a fetch Request; the real one is built on first need. */
class IncomingRequest {
  readonly #parts: IncomingParts;
  #headers: Headers | null = null;
  #signal: AbortSignal | null = null;
  #real: Request | null = null;
  #read = false; // the body was read here, before any real Request existed

  constructor(parts: IncomingParts) {
    this.#parts = parts;
  }

  get method(): string { return this.#parts.method; }
  get url(): string { return this.#parts.href; }
  get headers(): Headers { return (this.#headers ??= this.#real?.headers ?? headersOf(this.#parts.fields)); }
  get signal(): AbortSignal { return (this.#signal ??= this.#parts.signal(this.#parts.exchange)); }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#parts.body == null) return null;
    IncomingRequest.#realize(this);
    return BODY.call(this) as ReadableStream<Uint8Array> | null;
  }

  get bodyUsed(): boolean {
    if (this.#parts.body == null) return false;
    return this.#real === null ? this.#read : (BODY_USED.call(this) as boolean);
  }

  text(): Promise<string> {
    const bytes = this.#take();
    if (bytes === undefined) return REQUEST.text!.call(this) as Promise<string>;
    return Promise.resolve(bytes === null ? "" : utf8.decode(bytes));
  }

  json(): Promise<unknown> {
    const bytes = this.#take();
    if (bytes === undefined) return REQUEST.json!.call(this) as Promise<unknown>;
    try {
      return Promise.resolve(JSON.parse(bytes === null ? "" : utf8.decode(bytes)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#take();
    if (bytes === undefined) return REQUEST.arrayBuffer!.call(this) as Promise<ArrayBuffer>;
    return Promise.resolve(bytes === null ? new ArrayBuffer(0) : bytes.slice().buffer);
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    const bytes = this.#take();
    if (bytes === undefined) return REQUEST.bytes!.call(this) as Promise<Uint8Array<ArrayBuffer>>;
    return Promise.resolve(bytes === null ? new Uint8Array(0) : bytes.slice());
  }

  /**
   * A copy whose signal follows this request's. (undici's own clone() follows only a signal a
   * Request was constructed with.)
   */
  clone(): Request {
    const copy = REQUEST.clone!.call(this) as Request;
    if (SIGNAL_SLOT !== undefined) (copy as unknown as Slots)[SIGNAL_SLOT] = AbortSignal.any([this.signal]);
    return copy;
  }

  /**
   * The body's bytes for a read here (null: no body), or undefined when the real Request must
   * answer: it exists already, or the body was read (it then refuses, as a used body does).
   */
  #take(): Uint8Array<ArrayBuffer> | null | undefined {
    const body = this.#parts.body;
    if (body == null) return this.#real === null ? null : undefined;
    if (this.#real !== null || this.#read) return undefined;
    this.#read = true;
    return body;
  }

  /** Builds the real Request and takes over its slots (the signal stays this one's). */
  static #realize(incoming: IncomingRequest): Request {
    if (incoming.#real !== null) return incoming.#real;
    const parts = incoming.#parts;
    const held = incoming.#headers; // the Headers the app already has, if any
    const init: RequestInit = { method: parts.method, headers: held ?? headersOf(parts.fields) };
    if (parts.body != null) init.body = parts.body;
    const real = new Request(parts.href, init);
    if (incoming.#read && real.body !== null) {
      // Read here already: the real body is used too, left locked and disturbed as a read leaves it.
      real.body.getReader().read().catch(() => {});
    }
    incoming.#real = real;
    if (held !== null) mirror(held, real.headers); // the app keeps its object; undici reads the copy
    for (const slot of SLOTS) {
      const value = slot === SIGNAL_SLOT ? incoming.signal : (real as unknown as Slots)[slot];
      Object.defineProperty(incoming, slot, { value, writable: true, configurable: true });
    }
    return real;
  }

  static {
    Object.setPrototypeOf(IncomingRequest.prototype, Request.prototype);
    // As on Request.prototype: the constructor is Request, and the accessors and methods show in for...in.
    Object.defineProperty(IncomingRequest.prototype, "constructor", { value: Request, writable: true, configurable: true });
    for (const name of ["method", "url", "headers", "signal", "body", "bodyUsed", "text", "json", "arrayBuffer", "bytes", "clone"]) {
      if (Object.hasOwn(IncomingRequest.prototype, name)) Object.defineProperty(IncomingRequest.prototype, name, { enumerable: true });
    }
    if (!("bytes" in Request.prototype)) Reflect.deleteProperty(IncomingRequest.prototype, "bytes");
    for (const slot of SLOTS) {
      Object.defineProperty(IncomingRequest.prototype, slot, {
        // undici's own code (new Request(request), fetch(request)) reads these: the real Request
        // is made then, and its signal slot is the exchange's, so a forwarded request aborts with it.
        get(this: IncomingRequest) {
          IncomingRequest.#realize(this);
          return (this as unknown as Slots)[slot];
        },
        configurable: true,
      });
    }
  }
}

/** True when an IncomingRequest passes for a Request with this Node's undici. */
function probe(): boolean {
  try {
    if (SLOTS.length === 0 || SIGNAL_SLOT === undefined) return false;
    let signalled = 0;
    const parts: IncomingParts = {
      href: "http://probe.invalid/p?q=1",
      method: "GET",
      fields: [["x-probe", "1"], ["x-probe", "2"]],
      signal: () => { signalled++; return new AbortController().signal; },
      exchange: 1,
    };
    const incoming = new IncomingRequest(parts) as unknown as Request;
    if (!(incoming instanceof Request) || incoming.cache !== "default") return false;
    const copy = new Request(incoming);
    const cloned = (new IncomingRequest(parts) as unknown as Request).clone();
    const posted = new IncomingRequest({ ...parts, method: "POST", body: new Uint8Array([0x68, 0x69]) }) as unknown as Request;
    const forwarded = new Request(posted);
    return copy.url === parts.href && copy.method === "GET" && copy.headers.get("x-probe") === "1, 2"
      && cloned instanceof Request && cloned.url === parts.href && cloned.headers.get("x-probe") === "1, 2"
      && incoming.headers.get("x-probe") === "1, 2" && Object.prototype.toString.call(incoming) === "[object Request]"
      && forwarded.method === "POST" && forwarded.body instanceof ReadableStream && posted.bodyUsed && signalled === 3;
  } catch {
    return false;
  }
}

/** Whether requests are handed to apps as IncomingRequests on this Node. */
export const incomingLazy: boolean = probe();

/**
 * The Request an app is handed for `parts`: an IncomingRequest for the IncomingMethods, else (or
 * where the probe failed) a real one, whose `signal` is still the exchange's, made on first read.
 * Throws a TypeError where `new Request()` refuses the method.
 */
export function incomingRequest(parts: IncomingParts): Request {
  const upper = parts.method.toUpperCase();
  // A GET or HEAD body is not the app's: a Request cannot carry one.
  const body = upper === "GET" || upper === "HEAD" ? null : parts.body ?? null;
  const lazy = incomingLazy && IncomingMethods.has(parts.method);
  if (lazy) return new IncomingRequest(body === parts.body ? parts : { ...parts, body }) as unknown as Request;
  const init: RequestInit = { method: parts.method, headers: headersOf(parts.fields) };
  if (body !== null) init.body = body;
  const request = new Request(parts.href, init);
  let signal: AbortSignal | null = null;
  Object.defineProperty(request, "signal", { get: () => (signal ??= parts.signal(parts.exchange)), configurable: true });
  return request;
}
