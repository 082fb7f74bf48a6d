/**
 * The fetch app on a Steward: what a request's handler is given (a fetch `Request` and hio's
 * environ, `HttpEnv`) and `AppSteward`, the Steward whose `respond()` calls the app. The
 * TypeScript ecosystem's WSGI: apps written for Hono and friends run here unchanged.
 */
import { HTTPError } from "../wire/httping.ts";
import { incomingRequest, plainHref } from "./incoming.ts";
import type { Requestant } from "./requestant.ts";
import { Steward } from "./steward.ts";
import type { StewardOptions } from "./steward.ts";

/** What a request's handler is told besides the request: hio's WSGI environ, the fetch way. */
export interface HttpEnv {
  /** The parsed request as hio has it: raw target (`url`), ordered raw headers, body bytes. */
  requestant: Requestant;
  /** The socket's peer: behind a reverse proxy, the proxy. */
  remoteAddress: string;
  remotePort: number;
  /**
   * The client's address: `remoteAddress`, unless the server's `trustProxy` trusts the peer,
   * then the address its X-Forwarded-For gives for the client (see ProxyTrust.clientOf).
   */
  clientAddress: string;
  scheme: string;
  serverName: string;
  serverPort: number;
  /** Tyme of the tick in which the request was dispatched. */
  tyme: number | null;
}

/** A fetch-style app: the TypeScript ecosystem's WSGI. */
export type FetchApp = (request: Request, env: HttpEnv) => Response | PromiseLike<Response>;

/** A Steward whose `respond()` hands a fetch `Request` to an app. */
export class AppSteward extends Steward {
  readonly app: FetchApp;
  /** `signal()` bound once per connection (not a closure per request). */
  readonly #signalOf = (exchange: number): AbortSignal => this.signal(exchange);

  constructor(options: StewardOptions & { app: FetchApp }) {
    super(options);
    this.app = options.app;
  }

  override respond(): Response | PromiseLike<Response> {
    const r = this.requestant;
    let request: Request;
    try {
      // The signal is made only if the app reads it: a Request built with a signal costs an
      // AbortController and a cleanup registration per request, which stalls a busy server.
      request = incomingRequest({
        href: hrefOf(r, this.scheme, this.ha),
        method: r.method,
        fields: r.headers,
        body: r.feed !== null ? r.feed.stream : r.body.length === 0 ? null : r.body,
        signal: this.#signalOf,
        exchange: this.exchanges,
      });
    } catch {
      throw new HTTPError({ status: 400, title: "Bad Request", detail: "the request target, Host or method do not make a Request" });
    }
    return this.app(request, this.env(this.remoter.tymer.tyme));
  }
}

const BODYLESS = new Set(["GET", "HEAD"]);

/** The absolute URL of a request from its target and Host (or the bound address). */
function urlOf(r: Requestant, scheme: string, ha: readonly [string, number]): string {
  const target = r.url;
  if (target.startsWith("/")) return `${scheme}://${r.headers.get("host") || `${ha[0]}:${ha[1]}`}${target}`;
  if (target === "*") return `${scheme}://${r.headers.get("host") || `${ha[0]}:${ha[1]}`}/`;
  return target; // absolute-form
}

/** The URL a Request made from `r` would have, refused (TypeError) where Request refuses it. */
function hrefOf(r: Requestant, scheme: string, ha: readonly [string, number]): string {
  const target = r.url;
  if (target.startsWith("/")) {
    const plain = plainHref(scheme, r.headers.get("host") || `${ha[0]}:${ha[1]}`, target);
    if (plain !== null) return plain;
  }
  const url = new URL(urlOf(r, scheme, ha));
  if (url.username !== "" || url.password !== "") throw new TypeError("a request URL may not carry credentials");
  return url.href;
}

/** Builds the fetch Request an app sees: absolute URL from Host and target, every field, body. */
export function toRequest(
  r: Requestant,
  scheme: string,
  ha: readonly [string, number],
  signal?: AbortSignal,
): Request {
  const headers = new Headers();
  for (const [name, value] of r.headers.items()) headers.append(name, value);
  const init: RequestInit = { method: r.method, headers };
  if (signal !== undefined) init.signal = signal;
  if (r.body.length > 0 && !BODYLESS.has(r.method.toUpperCase())) init.body = r.body;
  return new Request(urlOf(r, scheme, ha), init);
}
