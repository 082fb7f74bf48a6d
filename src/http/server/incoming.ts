/**
 * The Request a fetch app is handed, made cheaply, the same on every Node this runs on.
 *
 * A `new Request(url, { method, headers })` costs 2.5 to 5 µs (Node 24, Node 20), much of it the
 * AbortSignal undici makes for every Request, and a body adds a web ReadableStream that
 * `request.json()` then reads back through several promises. Most handlers read only `method`,
 * `url`, perhaps `headers`, and the body whole (`json()`, `text()`, `arrayBuffer()`, `bytes()`),
 * so an IncomingRequest answers those from what the Requestant parsed and builds the real Request
 * only when something else is asked of it (`body` as a stream, `blob()`, `formData()`, `clone()`,
 * `cache` and the other getters): every other member of Request.prototype is passed on to it.
 * `instanceof Request` holds, as it inherits from Request.prototype.
 *
 * What no object but a real Request can pass is undici's own code: `new Request(request)` and
 * `fetch(request)` (which makes a Request of its argument) read the argument's internal state,
 * held in private fields by Node 24's undici 7 and under symbol keys by Node 20's undici 6. No
 * public way makes a real Request without running its constructor (the cost saved here), and
 * copying undici 6's symbol slots onto a look-alike stops working, silently, the day they move,
 * as they did in undici 7. So this module wraps the two global entry points by which a program
 * hands a Request to undici, once, when the first IncomingRequest is made (importing changes nothing):
 * - `globalThis.Request` becomes a Proxy of the Request in place whose construct trap swaps an
 *   IncomingRequest argument for its real Request. `Request.prototype`, `Request.name`,
 *   `instanceof` and subclassing are the proxied class's; `Request.prototype.constructor` is
 *   pointed at the proxy, so `new request.constructor(request)` goes through it too.
 * - `globalThis.fetch` becomes a function that does the same swap, then calls the fetch in place.
 * A global Request subclass that unwraps in its constructor (what @hono/node-server installs) would
 * do for the first, but the Requests undici makes itself (`clone()`'s, `fetch`'s) would not be
 * instances of it and `Request.prototype` would be another object; nor does it help `fetch`.
 * The real Request is made without a signal: on Node 20 a Request following a signal costs 25 µs
 * rather than 5 (undici registers it for cleanup), so a request realized only to stream its body
 * or read `cache` would pay that for nothing. The exchange's signal is put in instead wherever a
 * signal can leave: the swaps above add it to the init (unless the caller gave one), `clone()`
 * sets it on the copy, and `inspect()` reads it from the IncomingRequest.
 *
 * Known limits: code holding the Request or fetch from before the first request, code calling
 * Request.prototype's members on a request directly (`Request.prototype.clone.call(request)`), or
 * a library that later replaces these globals without calling the ones it found, hands undici the
 * IncomingRequest itself, which it refuses with a TypeError. Where the globals cannot be replaced,
 * `incomingLazy()` is false and every request is built in full at once, as a Request is.
 */
import { inspect } from "node:util";
import * as workers from "node:worker_threads";
import { collect } from "./feeding.ts";

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
 * Methods taken as they are: the ones a Request keeps unchanged when spelled in capitals.
 * Anything else (lowercase spellings, CONNECT/TRACE/TRACK, extension methods) is asked of
 * `new Request()` once, which normalizes or refuses it.
 */
export const IncomingMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** What an IncomingRequest is made from. */
export interface IncomingParts {
  /** The absolute URL, already serialized by `new URL(...).href`. */
  href: string;
  /** The method as sent; normalized (or refused) as `new Request()` does. */
  method: string;
  /** The request's fields in arrival order (repeats kept); read when headers are first asked for. */
  fields: Iterable<readonly [string, string]>;
  /**
   * The body, or null for none (dropped for GET and HEAD); its bytes are never changed or handed
   * out. A stream is a body still arriving: `body` hands it out as it is, the reads consume it.
   */
  body?: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array<ArrayBuffer>> | null;
  /** Makes the abort signal of an exchange; called on first use with `exchange`. */
  signal: (exchange: number) => AbortSignal;
  /** The exchange (the request's number on its connection) the signal is for. */
  exchange: number;
}

/** The Request and fetch in place when this module loaded (Node's own, unless replaced before). */
const NativeRequest: typeof Request = globalThis.Request;
const nativeFetch: typeof fetch = globalThis.fetch;

/** Marks an object as structuredClone() refuses a Request (Node ≥ 22.10), where Requests are so marked. */
const markUncloneable = ((): ((value: object) => void) | undefined => {
  const mark = (workers as { markAsUncloneable?: (value: object) => void }).markAsUncloneable;
  try {
    structuredClone(new NativeRequest("http://probe.invalid/"));
    return undefined;
  } catch {
    return mark;
  }
})();

const utf8 = new TextDecoder(); // drops a leading BOM, as a body's text() does

/** Normalized methods, as a Request spells them; bounded, since methods come from the network. */
const methods = new Map<string, string>([...IncomingMethods].map((method) => [method, method]));

/** The method as a Request has it; throws the TypeError `new Request()` throws for it. */
function methodOf(method: string): string {
  const known = methods.get(method);
  if (known !== undefined) return known;
  const normal = new NativeRequest("http://method.invalid/", { method }).method;
  if (methods.size < 64) methods.set(method, normal);
  return normal;
}

function headersOf(fields: Iterable<readonly [string, string]>): Headers {
  const headers = new Headers();
  for (const [name, value] of fields) headers.append(name, value);
  return headers;
}

/**
 * Makes `held` (the Headers an app already has) pass every later change on to `twin` (the real
 * Request's or Response's copy, which undici reads), so both stay the same list.
 */
export function mirror(held: Headers, twin: Headers): void {
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

/** True for an IncomingRequest of this module. */
let isIncoming: (value: unknown) => value is IncomingRequest;
/** The real Request of an IncomingRequest, built on first call. */
let realize: (incoming: IncomingRequest) => Request;
/** Whether an IncomingRequest's real Request exists. */
let isRealized: (incoming: IncomingRequest) => boolean;

/** A request seen as a fetch Request; the real one is built on first need. */
class IncomingRequest {
  readonly #parts: IncomingParts;
  readonly #method: string;
  readonly #body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array<ArrayBuffer>> | null;
  #headers: Headers | null = null;
  #signal: AbortSignal | null = null;
  #real: Request | null = null;
  #read = false; // the body was read here, before any real Request existed

  constructor(parts: IncomingParts, method: string, body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array<ArrayBuffer>> | null) {
    this.#parts = parts;
    this.#method = method;
    this.#body = body;
    if (markUncloneable !== undefined) markUncloneable(this);
  }

  get method(): string { return this.#method; }
  get url(): string { return this.#parts.href; }
  get headers(): Headers { return (this.#headers ??= this.#real?.headers ?? headersOf(this.#parts.fields)); }
  get signal(): AbortSignal { return (this.#signal ??= this.#parts.signal(this.#parts.exchange)); }

  get body(): ReadableStream<Uint8Array> | null {
    const body = this.#body;
    if (body === null) return null;
    // A streamed body is handed out as it is: no real Request between the app and the connection.
    if (body instanceof ReadableStream && this.#real === null) return body;
    return realize(this).body;
  }

  get bodyUsed(): boolean {
    const body = this.#body;
    if (body === null) return false;
    if (this.#real !== null) return this.#real.bodyUsed;
    return this.#read || (body instanceof ReadableStream && body.locked);
  }

  text(): Promise<string> {
    const streamed = this.#drink();
    if (streamed !== undefined) return streamed.then((bytes) => utf8.decode(bytes));
    const bytes = this.#take();
    if (bytes === undefined) return realize(this).text();
    return Promise.resolve(bytes === null ? "" : utf8.decode(bytes));
  }

  json(): Promise<unknown> {
    const streamed = this.#drink();
    if (streamed !== undefined) return streamed.then((bytes) => JSON.parse(utf8.decode(bytes)) as unknown);
    const bytes = this.#take();
    if (bytes === undefined) return realize(this).json() as Promise<unknown>;
    try {
      return Promise.resolve(JSON.parse(bytes === null ? "" : utf8.decode(bytes)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    const streamed = this.#drink();
    if (streamed !== undefined) return streamed.then((bytes) => bytes.buffer.byteLength === bytes.length ? bytes.buffer : bytes.slice().buffer);
    const bytes = this.#take();
    if (bytes === undefined) return realize(this).arrayBuffer();
    return Promise.resolve(bytes === null ? new ArrayBuffer(0) : bytes.slice().buffer);
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    const streamed = this.#drink();
    if (streamed !== undefined) return streamed;
    const bytes = this.#take();
    if (bytes === undefined) return (realize(this) as unknown as { bytes(): Promise<Uint8Array<ArrayBuffer>> }).bytes();
    return Promise.resolve(bytes === null ? new Uint8Array(0) : bytes.slice());
  }

  /** A copy of the real Request, whose signal follows this one's (the exchange's). */
  clone(): Request {
    return new NativeRequest(realize(this).clone(), { signal: this.signal });
  }

  /**
   * The body's bytes for a read here (null: no body), or undefined when the real Request must
   * answer: it exists already, or the body was read (it then refuses, as a used body does).
   */
  #take(): Uint8Array<ArrayBuffer> | null | undefined {
    if (this.#real !== null) return undefined;
    const body = this.#body;
    if (body === null) return null;
    if (body instanceof ReadableStream) return undefined; // used or locked: see #drink
    if (this.#read) return undefined;
    this.#read = true;
    return body;
  }

  /**
   * A streamed body read to its end here (its error, a 413 say, rejects), or undefined when it
   * is not a stream or the real Request exists. A used or locked one rejects as a used body does.
   */
  #drink(): Promise<Uint8Array<ArrayBuffer>> | undefined {
    const body = this.#body;
    if (!(body instanceof ReadableStream) || this.#real !== null) return undefined;
    if (this.#read || body.locked) return Promise.reject(new TypeError("Body is unusable: Body has already been read"));
    this.#read = true;
    return collect(body);
  }

  static {
    isIncoming = (value: unknown): value is IncomingRequest => typeof value === "object" && value !== null && #parts in value;

    isRealized = (incoming: IncomingRequest): boolean => incoming.#real !== null;
    realize = (incoming: IncomingRequest): Request => {
      if (incoming.#real !== null) return incoming.#real;
      const held = incoming.#headers; // the Headers the app already has, if any
      const init: RequestInit = { method: incoming.#method, headers: held ?? headersOf(incoming.#parts.fields) };
      const body = incoming.#body;
      if (body instanceof ReadableStream) {
        // A stream taken or read here already cannot be handed on: the real Request has none.
        if (!incoming.#read && !body.locked) Object.assign(init, { body, duplex: "half" });
      } else if (body !== null) {
        init.body = body;
      }
      const real = new NativeRequest(incoming.#parts.href, init);
      if (incoming.#read && real.body !== null) {
        // Read here already: the real body is used too, left locked and disturbed as a read leaves it.
        real.body.getReader().read().catch(() => {});
      }
      incoming.#real = real;
      if (held !== null) mirror(held, real.headers); // the app keeps its object; undici reads the copy
      return real;
    };

    const ours = IncomingRequest.prototype as unknown as object;
    const theirs = NativeRequest.prototype;
    Object.setPrototypeOf(ours, theirs);
    Reflect.deleteProperty(ours, "constructor"); // Request.prototype's is inherited
    for (const key of Reflect.ownKeys(ours)) {
      const native = Object.getOwnPropertyDescriptor(theirs, key);
      // As on Request.prototype: enumerable (for...in lists them); absent where this undici lacks it.
      if (native === undefined) Reflect.deleteProperty(ours, key);
      else Object.defineProperty(ours, key, { enumerable: native.enumerable ?? false });
    }
    const realOf = (request: unknown): Request => {
      if (!isIncoming(request)) throw new TypeError("Illegal invocation");
      return realize(request);
    };
    // Request's inspect reads the public getters, the signal included: given this request, it shows the
    // exchange's signal. Should a later undici's read its own state instead, the real Request's is shown.
    const show = Object.getOwnPropertyDescriptor(theirs, inspect.custom)?.value as ((...args: unknown[]) => unknown) | undefined;
    if (show !== undefined) {
      Object.defineProperty(ours, inspect.custom, {
        value(this: unknown, ...args: unknown[]): unknown {
          try {
            return Reflect.apply(show, this, args);
          } catch {
            return Reflect.apply(show, realOf(this), args);
          }
        },
        writable: true,
        configurable: true,
      });
    }
    for (const key of Reflect.ownKeys(theirs)) {
      if (key === "constructor" || Object.hasOwn(ours, key)) continue;
      const { get, set, value, enumerable = false } = Object.getOwnPropertyDescriptor(theirs, key)!;
      // Everything else a Request has (and any member a later undici adds) is the real Request's.
      if (get !== undefined || set !== undefined) {
        const descriptor: PropertyDescriptor = { enumerable, configurable: true };
        if (get !== undefined) descriptor.get = function (this: unknown): unknown { return Reflect.apply(get, realOf(this), []); };
        if (set !== undefined) descriptor.set = function (this: unknown, to: unknown): void { Reflect.apply(set, realOf(this), [to]); };
        Object.defineProperty(ours, key, descriptor);
      } else if (typeof value === "function") {
        const method = value as (...args: unknown[]) => unknown;
        Object.defineProperty(ours, key, {
          value(this: unknown, ...args: unknown[]): unknown { return Reflect.apply(method, realOf(this), args); },
          writable: true,
          enumerable,
          configurable: true,
        });
      }
    }
  }
}

/**
 * Swaps an IncomingRequest first argument of `new Request(input, init)` or `fetch(input, init)` for
 * its real Request, with the exchange's signal in the init unless the init gives one. Other
 * arguments are left as they are (undici refuses what it refuses).
 */
function unwrap(args: unknown[]): void {
  const incoming = args[0];
  if (!isIncoming(incoming)) return;
  args[0] = realize(incoming);
  const init = args[1];
  if (init === undefined || init === null) {
    args[1] = { signal: incoming.signal };
  } else if ((typeof init === "object" || typeof init === "function") && (init as RequestInit).signal === undefined) {
    // Read through, so getters (an init that is itself a Request) run on the init itself.
    args[1] = new Proxy(init, { get: (target, key) => (key === "signal" ? incoming.signal : Reflect.get(target, key)) });
  }
}

/** True when this module replaced the global Request and fetch (see the module's comment). */
function install(): boolean {
  const request: typeof Request = new Proxy(NativeRequest, {
    construct(target, args: unknown[], newTarget): object {
      unwrap(args);
      return Reflect.construct(target, args, newTarget === request ? target : newTarget) as object;
    },
  });
  const forward = {
    fetch(this: unknown, ...args: unknown[]): Promise<Response> {
      try {
        unwrap(args);
      } catch (error) {
        return Promise.reject(error);
      }
      return Reflect.apply(nativeFetch, this, args) as Promise<Response>;
    },
  };
  Object.defineProperty(forward.fetch, "length", { value: nativeFetch.length });
  const places = [[globalThis, "Request", request], [globalThis, "fetch", forward.fetch], [NativeRequest.prototype, "constructor", request]] as const;
  const replaceable = (target: object, key: string): boolean => {
    const now = Object.getOwnPropertyDescriptor(target, key);
    return now === undefined ? Object.isExtensible(target) : now.configurable === true;
  };
  if (!places.every(([target, key]) => replaceable(target, key))) return false; // frozen: leave all as they are
  for (const [target, key, value] of places) {
    const { enumerable = false } = Object.getOwnPropertyDescriptor(target, key) ?? {};
    Object.defineProperty(target, key, { value, writable: true, enumerable, configurable: true });
  }
  return true;
}

let lazy: boolean | null = null;

/**
 * Whether requests are handed to apps as IncomingRequests (the globals could be wrapped). The
 * globals are wrapped on the first call (the first request a server hands an app), not on import:
 * a program that only imports hio-ts finds Request and fetch as they were.
 */
export function incomingLazy(): boolean {
  return (lazy ??= install());
}

/** Whether `request` is an IncomingRequest whose real Request has been built (for tests and benches). */
export function realized(request: Request): boolean {
  return isIncoming(request) && isRealized(request);
}

/**
 * The Request an app is handed for `parts`: an IncomingRequest (or, where the globals could not be
 * wrapped, a real one whose `signal` is still the exchange's, made on first read). Throws a
 * TypeError where `new Request()` refuses the method.
 */
export function incomingRequest(parts: IncomingParts): Request {
  const method = methodOf(parts.method);
  // A GET or HEAD body is not the app's: a Request cannot carry one.
  const body = method === "GET" || method === "HEAD" ? null : parts.body ?? null;
  if (lazy ?? incomingLazy()) return new IncomingRequest(parts, method, body) as unknown as Request;
  const init: RequestInit = { method, headers: headersOf(parts.fields) };
  if (body instanceof ReadableStream) Object.assign(init, { body, duplex: "half" });
  else if (body !== null) init.body = body;
  const request = new NativeRequest(parts.href, init);
  let signal: AbortSignal | null = null;
  Object.defineProperty(request, "signal", { get: () => (signal ??= parts.signal(parts.exchange)), configurable: true });
  return request;
}
