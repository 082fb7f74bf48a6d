/**
 * The Request a fetch app is handed for a bodyless GET or HEAD, made cheaply.
 *
 * On Node 20 a `new Request(url, { method, headers })` costs about 3 µs, two thirds of it the
 * AbortSignal undici makes for every Request, which is a third of what node:http spends on a
 * whole request. Most handlers of a GET read only `method`, `url` and perhaps `headers`, so an
 * IncomingRequest answers those from what the Requestant parsed and builds the real Request only
 * when something else is asked of it. It is a Request in every way a program can tell:
 * `instanceof Request` holds, every Request method and getter works, and undici's own code (as
 * in `fetch(request)`, `new Request(request)`, `request.clone()`) finds the real Request's
 * internal slots, which are made on first touch.
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

/** What an IncomingRequest is made from. */
export interface IncomingParts {
  /** The absolute URL, already serialized by `new URL(...).href`. */
  href: string;
  method: "GET" | "HEAD";
  /** The request's fields in arrival order (repeats kept); read when headers are first asked for. */
  fields: Iterable<readonly [string, string]>;
  /** Makes the abort signal of an exchange; called on first use with `exchange`. */
  signal: (exchange: number) => AbortSignal;
  /** The exchange (the request's number on its connection) the signal is for. */
  exchange: number;
}

/** Undici's internal slots of a Request (state, headers, signal, dispatcher on Node 20). */
const SLOTS: readonly symbol[] = Object.getOwnPropertySymbols(new Request("http://probe.invalid/"));

function headersOf(fields: Iterable<readonly [string, string]>): Headers {
  const headers = new Headers();
  for (const [name, value] of fields) headers.append(name, value);
  return headers;
}

/** A bodyless GET or HEAD seen as a fetch Request; the real one is built on first need. */
class IncomingRequest {
  readonly #parts: IncomingParts;
  #headers: Headers | null = null;
  #signal: AbortSignal | null = null;
  #real: Request | null = null;

  constructor(parts: IncomingParts) {
    this.#parts = parts;
  }

  get method(): string { return this.#parts.method; }
  get url(): string { return this.#parts.href; }
  get headers(): Headers { return (this.#headers ??= this.#real?.headers ?? headersOf(this.#parts.fields)); }
  get signal(): AbortSignal { return (this.#signal ??= this.#parts.signal(this.#parts.exchange)); }
  get body(): null { return null; }
  get bodyUsed(): boolean { return this.#real?.bodyUsed ?? false; }

  /**
   * A copy following this request's signal. (undici's own clone() follows only a signal a
   * Request was constructed with; `new Request(request)` follows any, and for a bodyless
   * request it copies everything clone() does.)
   */
  clone(): Request {
    return new Request(this as unknown as Request);
  }

  /** Builds the real Request and takes over its slots (the signal stays this one's). */
  static #realize(incoming: IncomingRequest): Request {
    if (incoming.#real !== null) return incoming.#real;
    const real = new Request(incoming.#parts.href, { method: incoming.#parts.method, headers: incoming.headers });
    incoming.#real = real;
    for (const slot of SLOTS) {
      const value = (real as unknown as Record<symbol, unknown>)[slot];
      Object.defineProperty(incoming, slot, { value, writable: true, configurable: true });
    }
    return real;
  }

  static {
    Object.setPrototypeOf(IncomingRequest.prototype, Request.prototype);
    const signalSlot = SLOTS.find((slot) => slot.description === "signal");
    for (const slot of SLOTS) {
      Object.defineProperty(IncomingRequest.prototype, slot, {
        get(this: IncomingRequest) {
          IncomingRequest.#realize(this);
          // undici's own code (new Request(request), fetch(request)) follows the slot's signal:
          // make that the exchange's, so a request forwarded by the app aborts with it.
          if (signalSlot !== undefined) {
            Object.defineProperty(this, signalSlot, { value: this.signal, writable: true, configurable: true });
          }
          return (this as unknown as Record<symbol, unknown>)[slot];
        },
        configurable: true,
      });
    }
  }
}

/** True when an IncomingRequest passes for a Request with this Node's undici. */
function probe(): boolean {
  try {
    if (SLOTS.length === 0) return false;
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
    const clone = new IncomingRequest(parts) as unknown as Request;
    const cloned = clone.clone();
    if (!(cloned instanceof Request)) return false;
    return copy.url === parts.href && copy.method === "GET" && copy.headers.get("x-probe") === "1, 2"
      && cloned.url === parts.href && cloned.headers.get("x-probe") === "1, 2" && signalled === 2
      && incoming.headers.get("x-probe") === "1, 2" && Object.prototype.toString.call(incoming) === "[object Request]";
  } catch {
    return false;
  }
}

/** Whether bodyless GET/HEAD requests are handed to apps as IncomingRequests on this Node. */
export const incomingLazy: boolean = probe();

/** The Request for a bodyless GET or HEAD: an IncomingRequest, or a real one if the probe failed. */
export function incomingRequest(parts: IncomingParts): Request {
  if (incomingLazy) return new IncomingRequest(parts) as unknown as Request;
  const request = new Request(parts.href, { method: parts.method, headers: headersOf(parts.fields) });
  let signal: AbortSignal | null = null;
  Object.defineProperty(request, "signal", { get: () => (signal ??= parts.signal(parts.exchange)), configurable: true });
  return request;
}
