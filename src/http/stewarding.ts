/**
 * Steward: the one owner of an HTTP connection. Each tick it parses what arrived with its
 * Requestant, answers a whole request with its Responder, and loops for the next request on a
 * persistent connection or closes once everything queued has gone out.
 */
import { MachineTable, Stepper } from "../base/machining.ts";
import { Tymer } from "../base/tyming.ts";
import { stewardMachine } from "../../machines/steward.ts";
import type { StewardEvent } from "../../machines/steward.ts";
import type { Remoter } from "../tcp/index.ts";
import { Requestant } from "./parsing.ts";
import type { RequestLimits } from "./parsing.ts";
import { Responder } from "./responding.ts";
import type { Exchange } from "./responding.ts";
import { errorMessage } from "./replying.ts";
import { HTTPError } from "./httping.ts";
import { incomingRequest, plainHref } from "./incoming.ts";
import { shown, tyme } from "../base/options.ts";
import type { ProxyTrust } from "./proxying.ts";

export const stewardTable = new MachineTable<StewardEvent["type"]>(stewardMachine);
const PARSED = stewardTable.eventIndex("request.parsed");
const FAILED = stewardTable.eventIndex("request.failed");
const HEADED = stewardTable.eventIndex("response.headed");
const ENDED = stewardTable.eventIndex("response.ended");
const LAST = stewardTable.eventIndex("response.last");
const DRAINED = stewardTable.eventIndex("drained");
const PEER_ENDED = stewardTable.eventIndex("peer.ended");
const DRAIN = stewardTable.eventIndex("drain");
const LINGERED = stewardTable.eventIndex("lingered");
const TYMEOUT = stewardTable.eventIndex("tymeout");
const CUTOFF = stewardTable.eventIndex("cutoff");
const WAITING = stewardTable.indexOf("waiting");
const RESPONDING = stewardTable.indexOf("responding");
const POURING = stewardTable.indexOf("pouring");
const CLOSING = stewardTable.indexOf("closing");
const LINGERING = stewardTable.indexOf("lingering");

const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
const TIMEOUT = new HTTPError({ status: 408, title: "Request Timeout", detail: "the request did not arrive in time" });
const TRUNCATED = new HTTPError({ status: 400, detail: "the connection ended inside the body" });
const UNREAD = new HTTPError({ status: 400, detail: "the exchange ended before the body did" });

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

export interface StewardOptions {
  remoter: Remoter;
  /** Names the connection in inspections and `connections()`; default the peer's `host:port`. */
  id?: string | undefined;
  /** Server header value. */
  name?: string;
  scheme?: string;
  /** The server's bound address, for the env and for requests without a usable Host. */
  ha?: readonly [string, number];
  limits?: Partial<RequestLimits> | undefined;
  /** Parse JSON bodies into `requestant.data` for every request, not only JSON ones. */
  dictable?: boolean;
  /** Send-buffer bytes above which response bodies are not pulled. */
  highWater?: number | undefined;
  /** Told of an app's or a body stream's failure (not of an HTTPError it threw on purpose). */
  onError?: ((error: unknown, steward: Steward) => void) | undefined;
  /** Deadlines in tyme (checked already: see `deadlinesOf`); idle is the remoter's tymeout. */
  deadlines?: Partial<Omit<Deadlines, "idle">> | undefined;
  /** Peers believed about the client's address (the server's checked `trustProxy`); null: none. */
  trust?: ProxyTrust | null | undefined;
  /**
   * Dispatches a request at its head and streams its body (`requestant.feed`) when its
   * Content-Length is over this many bytes, or it is chunked; Infinity (the default) never.
   */
  streamAbove?: number | undefined;
}

/**
 * How long, in tyme (seconds), a connection may take over each part of its life. A passed
 * deadline ends it: `headers` and `request` with a 408 reply and a close, `idle` and `send` with
 * a close, `linger` with the close our FIN began. 0 turns one off (Infinity too).
 */
export interface Deadlines {
  /** From the first byte of a request until its head is whole (slowloris). Default 60, as node:http. */
  headers: number;
  /** From the first byte of a request until it is whole, body included. Default 300, as node:http. */
  request: number;
  /** A kept-alive connection waiting for its next request (hio's tymeout). Default 5. */
  idle: number;
  /** Output waiting on a peer that takes none of it (a stalled reader). Default 60. */
  send: number;
  /** After our FIN, for the peer to close too. Default 2. */
  linger: number;
}

/** The defaults of `Deadlines`. */
export const DeadlineDefaults: Readonly<Deadlines> = Object.freeze({ headers: 60, request: 300, idle: 5, send: 60, linger: 2 });

/**
 * Deadlines from an options object, each checked once (a number of seconds, at least 0; 0 or
 * Infinity: none), with `tymeout` (hio's idle tymeout) standing for `idle` when that is not given.
 */
export function deadlinesOf(given: Partial<Deadlines> | undefined, tymeout?: number): Deadlines {
  if (given !== undefined && (typeof given !== "object" || given === null)) {
    throw new TypeError(`deadlines must be an object such as { headers: 60, idle: 5 }, not ${shown(given)}`);
  }
  const out = { ...DeadlineDefaults };
  if (tymeout !== undefined) out.idle = tyme("tymeout", tymeout, { allowInfinity: true });
  for (const [name, value] of Object.entries(given ?? {})) {
    if (!(name in DeadlineDefaults)) {
      throw new TypeError(`deadlines has no ${JSON.stringify(name)}: use ${Object.keys(DeadlineDefaults).join(", ")}`);
    }
    if (value === undefined) continue;
    out[name as keyof Deadlines] = tyme(`deadlines.${name}`, value, { allowInfinity: true });
  }
  return out;
}

/** A deadline of 0 means none. */
const ever = (span: number): number => (span > 0 ? span : Infinity);

/** Serves one connection: override `respond()` (the default echoes the request as JSON, as hio). */
export class Steward {
  /** Most requests one connection may start in one tick. */
  static Rounds = 16;
  /** Most tyme a closing connection waits for the peer to close after our FIN (deadlines.linger). */
  static Linger = DeadlineDefaults.linger;

  /** Stable name of this connection (a server's: its count of connections, @, the peer address). */
  readonly id: string;
  readonly remoter: Remoter;
  readonly requestant: Requestant;
  readonly responder: Responder;
  readonly stepper = new Stepper(stewardTable);
  readonly name: string;
  readonly scheme: string;
  readonly ha: readonly [string, number];
  readonly trust: ProxyTrust | null;

  /** Requests dispatched on this connection so far. */
  exchanges = 0;
  #continued = false;
  #starved = true; // the last service found no whole request left in rxbs
  #begun = NaN; // tyme the request being received began to arrive (NaN: none yet)
  #draining = false; // the server is draining: answer what is under way, take nothing new
  #sending = false; // output was waiting at the last service
  #exchange: Exchange | null = null; // what the responder was told of the request in hand
  readonly #headers: number;
  readonly #request: number;
  readonly #send: number;
  readonly #lingerFor: number;
  readonly #lingerer = new Tymer();
  #controller: AbortController | null = null;
  #controllerExchange = 0;
  #abortedExchange = 0;
  #finishedExchange = 0;

  readonly #onError: ((error: unknown, steward: Steward) => void) | undefined;

  constructor({ remoter, id, name = "hio-ts", scheme = "http", ha = ["127.0.0.1", 0], limits, dictable = false, highWater, onError,
                deadlines = {}, trust = null, streamAbove }: StewardOptions) {
    this.remoter = remoter;
    this.id = id ?? remoter.key;
    this.trust = trust;
    this.#headers = ever(deadlines.headers ?? DeadlineDefaults.headers);
    this.#request = ever(deadlines.request ?? DeadlineDefaults.request);
    this.#send = ever(deadlines.send ?? DeadlineDefaults.send);
    this.#lingerFor = ever(deadlines.linger ?? Steward.Linger);
    this.#onError = onError;
    this.name = name;
    this.scheme = scheme;
    this.ha = ha;
    // A streamed body's reader waiting on an empty stream: parse on in the next tick.
    this.requestant = new Requestant({ msg: remoter.rxbs, dictable, limits, streamAbove, onDemand: () => remoter.ready() });
    this.responder = new Responder({ txbs: remoter.txbs, name, highWater, notify: () => remoter.ready() });
  }

  /** True while a request is being answered. */
  get busy(): boolean {
    return this.stepper.hasTag("busy");
  }

  /** True once the connection is finished with (closed, cut off or timed out). */
  get closed(): boolean {
    return this.stepper.done;
  }

  /**
   * True when its next service would make progress at once, with no event to wait for: more
   * pipelined requests than one tick takes, a response with pieces to pour, or a close whose
   * bytes have all left. (Arrivals, drains and the app's answers mark the connection themselves.)
   */
  get more(): boolean {
    const state = this.stepper.state;
    if (state === WAITING) return !this.#starved && this.remoter.rxbs.length > 0;
    if (state === RESPONDING || state === POURING) return this.responder.ready;
    if (state === CLOSING) return !this.remoter.txPending;
    return false;
  }

  /**
   * The tyme at which the deadline that applies now passes (Infinity: none): the linger's end
   * after our FIN; `send` after the last byte a peer took while output waits for it; `headers` or
   * `request` after a request's first byte; `idle` (the remoter's tymeout) between requests and
   * while an answer is still to come after the peer's FIN. While the app works on an answer for
   * a peer that is still there, none applies.
   */
  get deadline(): number {
    const state = this.stepper.state;
    if (state !== WAITING && this.requestant.streaming && this.#begun === this.#begun) {
      // A streamed body is still bound by the request deadline from its first byte.
      return Math.min(this.#begun + this.#request, this.#deadline(state));
    }
    return this.#deadline(state);
  }

  #deadline(state: number): number {
    const remoter = this.remoter;
    if (state === LINGERING) return this.#lingerer.stop;
    if (remoter.txPending) return remoter.tymer.started + this.#send;
    if (state === WAITING && this.#begun === this.#begun) {
      return this.#begun + (this.requestant.headed ? this.#request : this.#headers);
    }
    // Between requests; or an answer still coming after the peer's FIN (a silent one ends so)
    if (state !== WAITING && !remoter.cutoff) return Infinity;
    return remoter.tymeout > 0 ? remoter.tymer.stop : Infinity;
  }

  /**
   * Answers the parsed request. The default echoes it as JSON with hio's keys
   * (version, method, path, qargs, fragment, headers, body, data).
   */
  respond(): import("./responding.ts").Answer | PromiseLike<import("./responding.ts").Answer> {
    const r = this.requestant;
    r.dictify();
    return Response.json({
      version: r.version,
      method: r.method,
      path: r.path,
      qargs: r.qargs,
      fragment: r.fragment,
      headers: [...r.headers.items()],
      body: Buffer.from(r.body).toString("utf8"),
      data: r.data ?? null,
    });
  }

  /** Reports a failed response: to `onError` when given, else to the console with the request. */
  protected onError(error: unknown): void {
    if (this.#onError !== undefined) {
      this.#onError(error, this);
      return;
    }
    const { method, url } = this.requestant;
    console.error(`hio-ts: ${method} ${url} from ${this.remoter.ca.join(":")} failed:`, error);
  }

  /** One tick of this connection. */
  service(): void {
    const remoter = this.remoter;
    if (this.closed) return;
    if (this.stepper.state === LINGERING) {
      this.#linger();
      return;
    }
    if (remoter.cutoff) {
      // A reset (seen on receive, or on a write after a FIN) means the client has gone away.
      // A FIN only ends its sending: what it sent before is still answered, then we close.
      if (!remoter.ended || remoter.faulted) {
        this.#cutoff();
        return;
      }
    }
    // The headers and request deadlines run from a request's first byte (before it is parsed away).
    if (this.stepper.state === WAITING && this.#begun !== this.#begun && remoter.rxbs.length > 0) {
      this.#begun = remoter.tymer.tyme ?? 0;
    }
    // Pipelined requests answered whole in one tick are taken one after another, a bounded
    // number per tick so one connection cannot hold up the others.
    let starved = false; // the last look at rxbs found no whole request
    if (this.busy && this.requestant.streaming) {
      this.#feed();
      if (this.closed) return;
    }
    for (let round = 0; round < Steward.Rounds; round++) {
      if (this.stepper.state === WAITING && !this.#receive()) {
        starved = this.stepper.state === WAITING;
        break;
      }
      if (this.stepper.state !== RESPONDING && this.stepper.state !== POURING) break;
      this.#pour();
      if (this.stepper.state !== WAITING) break;
      if (remoter.rxbs.length === 0) {
        starved = true;
        break;
      }
    }
    this.#starved = starved;
    if (this.#draining && this.stepper.state === WAITING && starved && this.#begun !== this.#begun) {
      this.stepper.step(DRAIN); // nothing under way: close as after a last response
    }
    if (remoter.cutoff && this.stepper.state === WAITING && starved) {
      // The peer's FIN: what it sent before has been answered; no further request can come.
      this.stepper.step(PEER_ENDED);
    }
    if (this.stepper.state === CLOSING && this.#drained()) {
      this.stepper.step(DRAINED);
      if (remoter.cutoff) {
        this.stepper.step(CUTOFF); // the peer has closed already: nothing to linger for
        remoter.close();
        return;
      }
      remoter.shutdownSend();
      this.#lingerer.wind(remoter.tymer.tymth);
      this.#lingerer.start({ duration: Math.min(this.#lingerFor, remoter.tymeout > 0 ? remoter.tymeout : Infinity) });
      return;
    }
    // The send deadline runs from when output began to wait (or from the last byte taken since).
    const pending = remoter.txPending;
    if (pending && !this.#sending) remoter.refresh();
    this.#sending = pending;
    if (this.busy && !remoter.cutoff && !pending) {
      // hio's pour: a response under way keeps the connection alive while it waits on the app;
      // not when its bytes wait on a peer that stopped reading, nor after the peer's FIN, so a
      // reply nobody reads any more still ends by its deadline.
      remoter.refresh();
      return;
    }
    if ((remoter.tymer.tyme ?? 0) < this.deadline) return;
    if (this.stepper.state === WAITING && this.#begun === this.#begun && !remoter.txPending) {
      this.#refuse(); // headers or request deadline: 408, then close as after any failed request
    } else {
      this.#abandon(TYMEOUT);
      remoter.close({ force: true }); // idle, or a stalled reader: nothing more can go out
    }
  }

  /** Answers a request that did not arrive in time with 408 and closes once it has gone out. */
  #refuse(): void {
    const head = this.requestant.method === "HEAD"; // known once its request line is in
    const message = errorMessage(TIMEOUT, { name: this.name, persisted: false, chunkable: true, head });
    this.remoter.tx(message.bytes);
    this.stepper.step(FAILED);
    this.stepper.step(LAST);
    this.#begun = NaN;
  }

  /**
   * The server is draining (a graceful stop): a connection waiting for a request closes now
   * (FIN, then linger), unless a request has begun to arrive; a request under way is answered
   * with `Connection: close` (when its head has not gone yet) and the connection then closes.
   */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    if (this.#exchange !== null) this.#exchange.persisted = false; // read when the head is written
    this.remoter.ready();
  }

  /** True once `drain()` was called. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Closes the connection at once, aborting any response and dropping what is unsent. */
  close(): void {
    this.#abandon(CUTOFF);
    this.remoter.close({ force: true });
  }

  /** Parses; on a whole request dispatches it. Returns true when a response started. */
  #receive(): boolean {
    const requestant = this.requestant;
    // A pipelined request taken in the tick its predecessor ended in begins now.
    if (this.#begun !== this.#begun && this.remoter.rxbs.length > 0) this.#begun = this.remoter.tymer.tyme ?? 0;
    if (!requestant.parse()) {
      if (requestant.expectContinue && !this.#continued) {
        this.#continued = true;
        this.remoter.tx(CONTINUE);
      }
      return false;
    }
    if (requestant.errored) {
      const message = errorMessage(requestant.error, { name: this.name, persisted: false, chunkable: true, head: requestant.method === "HEAD" });
      this.remoter.tx(message.bytes);
      this.stepper.step(FAILED);
      this.stepper.step(LAST);
      this.#begun = NaN;
      return false;
    }
    this.stepper.step(PARSED);
    if (!requestant.streaming) this.#begun = NaN; // a streamed body keeps its request deadline
    this.exchanges += 1;
    const exchange: Exchange = {
      method: requestant.method,
      chunkable: requestant.versionInfo[1] >= 1,
      persisted: requestant.persisted && !this.#draining,
    };
    this.#exchange = exchange;
    let result: unknown;
    try {
      result = this.respond();
    } catch (error) {
      this.responder.fail(error, exchange);
      return true;
    }
    this.responder.start(result, exchange);
    return true;
  }

  /**
   * Moves what a streamed body's reader has room for out of rxbs. 100 Continue goes out when the
   * app first reads the body, before any head of its answer. A body over the limit, broken, cut
   * short by the peer or past the request deadline fails the app's reads and the exchange.
   */
  #feed(): void {
    const requestant = this.requestant;
    const remoter = this.remoter;
    const feed = requestant.feed!;
    if (feed.demanded && !this.#continued && requestant.expectContinue && !this.responder.headed) {
      this.#continued = true;
      remoter.tx(CONTINUE);
    }
    requestant.parse();
    if (requestant.streaming) {
      // Room in the feed and still no end: the bytes it needs will never come after a FIN.
      if (remoter.cutoff && feed.room > 0) requestant.halt(TRUNCATED);
      else if ((remoter.tymer.tyme ?? 0) >= this.#begun + this.#request) requestant.halt(TIMEOUT);
    }
    if (requestant.errored) this.#unbodied(requestant.error ?? TRUNCATED);
    else if (!requestant.streaming) this.#begun = NaN;
  }

  /**
   * A streamed body failed after its request was dispatched: its error (413, 408, 400) is the
   * answer if no head went out yet, whatever the app makes of it; else the connection closes.
   */
  #unbodied(error: HTTPError): void {
    this.#begun = NaN;
    if (this.responder.headed) {
      this.#abandon(CUTOFF);
      this.remoter.close({ force: true });
      return;
    }
    this.#stop();
    this.#exchange = null;
    const message = errorMessage(error, { name: this.name, persisted: false, chunkable: true, head: this.requestant.method === "HEAD" });
    this.remoter.tx(message.bytes);
    this.stepper.step(LAST);
  }

  #pour(): void {
    const responder = this.responder;
    const exchange = this.#exchange;
    if (exchange !== null && this.requestant.feed !== null && !responder.headed) {
      // Read when the head is written: an answer given before the body's end closes the
      // connection after it (RFC 9112 §9.6), and what the client still sends is dropped.
      exchange.persisted = this.requestant.persisted && !this.#draining && !this.requestant.streaming;
    }
    responder.service();
    if (this.stepper.state === RESPONDING && responder.headed) this.stepper.step(HEADED);
    if (responder.ended || responder.aborted) {
      const persisted = responder.ended && responder.persisted && this.requestant.persisted && !this.#draining;
      this.#exchange = null;
      // An HTTPError is an answer the app chose; anything else is a fault worth reporting.
      if (responder.error !== null && !(responder.error instanceof HTTPError)) this.onError(responder.error);
      this.#finish();
      if (persisted) {
        this.stepper.step(ENDED);
        this.requestant.reinit();
        responder.reset();
        this.#continued = false;
      } else {
        this.requestant.halt(UNREAD); // an app still reading gets an end
        this.stepper.step(LAST);
      }
    }
  }

  /** After our FIN: drop what the peer still sends until it closes, or close at the linger's end. */
  #linger(): void {
    const remoter = this.remoter;
    remoter.rxbs.clear();
    if (remoter.cutoff) {
      this.stepper.step(CUTOFF);
      remoter.close();
    } else if (this.#lingerer.expired) {
      this.stepper.step(LINGERED);
      remoter.close({ force: true });
    }
  }

  /** True once everything queued has left: our buffer and the socket's (a peer that stops reading
   * keeps it false, and the idle tymeout then closes the connection). */
  #drained(): boolean {
    return !this.remoter.txPending;
  }

  #cutoff(): void {
    this.#abandon(CUTOFF);
  }

  /** Ends the connection's life: a response under way is aborted (its signal fires once). */
  #abandon(event: number): void {
    this.#stop();
    this.requestant.halt(TRUNCATED);
    this.stepper.step(event);
  }

  /** Aborts the response under way (its signal fires once) and ignores the app's answer. */
  #stop(): void {
    if (this.responder.busy) {
      this.#abortedExchange = this.exchanges;
      this.#controller?.abort();
    }
    this.#controller = null;
    this.responder.abort();
  }

  #finish(): void {
    this.#finishedExchange = this.exchanges;
    this.#controller = null; // a normal finish never aborts the signal
  }

  /**
   * The abort signal of an exchange (by default the current one), made on first use since most
   * apps never read it: aborted once if the peer went away before the response ended (also
   * when first read after that), never after a normal finish.
   */
  protected signal(exchange = this.exchanges): AbortSignal {
    if (this.#controller !== null && this.#controllerExchange === exchange) return this.#controller.signal;
    if (exchange === this.#abortedExchange) return AbortSignal.abort();
    if (exchange !== this.exchanges || exchange <= this.#finishedExchange) return new AbortController().signal;
    this.#controller = new AbortController();
    this.#controllerExchange = exchange;
    return this.#controller.signal;
  }

  /** The environ for the current request. */
  protected env(tyme: number | null): HttpEnv {
    const [remoteAddress, remotePort] = this.remoter.ca;
    return {
      requestant: this.requestant,
      remoteAddress,
      remotePort,
      clientAddress: this.trust === null ? remoteAddress : this.trust.clientOf(remoteAddress, this.requestant.headers),
      scheme: this.scheme,
      serverName: this.ha[0],
      serverPort: this.ha[1],
      tyme,
    };
  }
}

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
