/**
 * Steward: the one owner of an HTTP connection. Each tick it parses what arrived with its
 * Requestant, answers a whole request with its Responder, and loops for the next request on a
 * persistent connection or closes once everything queued has gone out.
 */
import { MachineTable, Stepper } from "../../base/machining.ts";
import { Tymer } from "../../base/tyming.ts";
import { stewardMachine } from "../../../machines/steward.ts";
import type { StewardEvent } from "../../../machines/steward.ts";
import type { Remoter } from "../../tcp/index.ts";
import { Requestant } from "./requestant.ts";
import type { RequestLimits } from "./requestant.ts";
import { Responder } from "./responder.ts";
import type { Exchange } from "./responder.ts";
import { HTTPError } from "../wire/httping.ts";
import type { HttpEnv } from "./app.ts";
import { shown, tyme } from "../../base/options.ts";
import type { ProxyTrust } from "./proxying.ts";

export const stewardTable = new MachineTable<StewardEvent["type"]>(stewardMachine);
const BEGUN = stewardTable.eventIndex("request.begun");
const CONTINUED = stewardTable.eventIndex("continue.sent");
const PARSED = stewardTable.eventIndex("request.parsed");
const FAILED = stewardTable.eventIndex("request.failed");
const ANSWERED = stewardTable.eventIndex("answered");
const TICK = stewardTable.eventIndex("tick");
const CUTOFF = stewardTable.eventIndex("cutoff");
const STARVED = stewardTable.fact("starved");
const PEER_ENDED = stewardTable.fact("peerEnded");
const SENDING = stewardTable.fact("sending");
const EXPIRED = stewardTable.fact("expired");
const DRAINING = stewardTable.fact("draining");
const PERSISTS = stewardTable.fact("persists");
const WAITING = stewardTable.indexOf("waiting");
const RECEIVING = stewardTable.indexOf("receiving.plain");
const ANSWERING = stewardTable.indexOf("answering.plain");
const REFUSING = stewardTable.indexOf("refusing");
const CLOSING = stewardTable.indexOf("closing");
const LINGERING = stewardTable.indexOf("lingering");
const CLOSED = stewardTable.indexOf("closed");
/** 1 for the states of a request arriving (`receiving.*`), 2 for the app's answer (`answering.*`). */
const PHASE = new Uint8Array(stewardTable.states.map((s) => (s.startsWith("receiving.") ? 1 : s.startsWith("answering.") ? 2 : 0)));

const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
const TIMEOUT = new HTTPError({ status: 408, title: "Request Timeout", detail: "the request did not arrive in time" });
const TRUNCATED = new HTTPError({ status: 400, detail: "the connection ended inside the body" });
const UNREAD = new HTTPError({ status: 400, detail: "the exchange ended before the body did" });

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

/**
 * Serves one connection: override `respond()` (the default echoes the request as JSON, as hio).
 * Its phase is its machine's state (machines/steward.ts), stepped by what the bytes did and,
 * once per service, by a `tick` with the facts of the tick; deadlines are guarded transitions.
 */
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
  #begun = 0; // tyme the request being received began to arrive: set on request.begun
  #draining = false; // the server is draining: a fact every tick carries
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

  /** True while a request is being answered (by the app, or refused by the server). */
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
    if (state === WAITING) return this.remoter.rxbs.length > 0; // only when Rounds requests were taken
    if (this.busy) return this.responder.ready;
    if (state === CLOSING) return !this.remoter.txPending;
    return false;
  }

  /**
   * The tyme at which the deadline that applies now passes (Infinity: none): the linger's end
   * after our FIN; `send` after the last byte a peer took while output waits for it; `headers` or
   * `request` after a request's first byte; `idle` (the remoter's tymeout) between requests and
   * while an answer is still to come after the peer's FIN. While the app works on an answer for
   * a peer that is still there, none applies (but a streamed request body's `request` does).
   */
  get deadline(): number {
    const state = this.stepper.state;
    if (PHASE[state] === 2 && this.requestant.streaming) {
      // A streamed body is still bound by the request deadline from its first byte.
      return Math.min(this.#begun + this.#request, this.#deadline(state));
    }
    return this.#deadline(state);
  }

  #deadline(state: number): number {
    const remoter = this.remoter;
    if (state === LINGERING) return this.#lingerer.stop;
    if (remoter.txPending) return remoter.tymer.started + this.#send;
    if (PHASE[state] === 1) return this.#begun + (this.requestant.headed ? this.#request : this.#headers);
    // Between requests; or an answer still coming after the peer's FIN (a silent one ends so)
    if (state !== WAITING && !remoter.cutoff) return Infinity;
    return remoter.tymeout > 0 ? remoter.tymer.stop : Infinity;
  }

  /**
   * Answers the parsed request. The default echoes it as JSON with hio's keys
   * (version, method, path, qargs, fragment, headers, body, data).
   */
  respond(): import("./responder.ts").Answer | PromiseLike<import("./responder.ts").Answer> {
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

  /**
   * One tick of this connection: the bytes first (a streamed body fed, requests parsed and
   * dispatched, answers poured, each step told to the machine), then `tick` with the facts of
   * the tick, sent again while it moves; each transition's effect follows it (see #entered).
   */
  service(): void {
    if (this.closed) return;
    const remoter = this.remoter;
    const sending = remoter.txPending; // output already waiting when this service began
    let starved = true; // the bytes in hand hold no whole request
    if (this.stepper.state === LINGERING) {
      remoter.rxbs.clear(); // what the peer still sends after our FIN is dropped
    } else if (remoter.cutoff && (!remoter.ended || remoter.faulted)) {
      // A reset (seen on receive, or on a write after a FIN) means the client has gone away.
      // A FIN only ends its sending: what it sent before is still answered, then we close.
      this.#cutoff();
      return;
    } else {
      starved = this.#work();
      if (this.closed) return;
    }
    this.#tick(starved, sending);
  }

  /** Feeds a streamed body, then parses and answers requests, a bounded number (Rounds) per tick; true when starved. */
  #work(): boolean {
    if (PHASE[this.stepper.state] === 2 && this.requestant.streaming) {
      this.#feed();
      if (this.closed) return true;
    }
    // Pipelined requests answered whole in one tick are taken one after another, a bounded
    // number per tick so one connection cannot hold up the others.
    for (let round = 0; round < Steward.Rounds; round++) {
      const state = this.stepper.state;
      if ((state === WAITING || PHASE[state] === 1) && !this.#receive()) return true;
      if (!this.busy) return this.remoter.rxbs.length === 0; // closing: what is left is not parsed
      this.#pour();
      if (this.stepper.state !== WAITING) return false;
      if (this.remoter.rxbs.length === 0) return true;
    }
    return false;
  }

  /** Steps `tick` with the tick's facts until no guard passes, each transition followed by its effect. */
  #tick(starved: boolean, sending: boolean): void {
    const remoter = this.remoter;
    const pending = remoter.txPending;
    // The send deadline runs from when output began to wait (or from the last byte taken since).
    if (pending && !sending) remoter.refresh();
    if (this.busy && !remoter.cutoff && !pending) {
      // hio's pour: a response under way keeps the connection alive while it waits on the app;
      // not when its bytes wait on a peer that stopped reading, nor after the peer's FIN, so a
      // reply nobody reads any more still ends by its deadline.
      remoter.refresh();
    }
    for (;;) {
      const from = this.stepper.state;
      let facts = this.#draining ? DRAINING : 0;
      if (starved) facts |= STARVED;
      if (remoter.cutoff) facts |= PEER_ENDED;
      if (remoter.txPending) facts |= SENDING;
      if ((remoter.tymer.tyme ?? 0) >= this.deadline) facts |= EXPIRED;
      if (!this.stepper.step(TICK, facts)) break;
      this.#entered(from, facts);
      if (this.closed) return;
    }
  }

  /** The effect of a transition `tick` took from `from` with `facts`. */
  #entered(from: number, facts: number): void {
    const remoter = this.remoter;
    const to = this.stepper.state;
    if (to === LINGERING) {
      // Everything queued has left: our FIN, then the peer's last bytes are dropped until it closes.
      remoter.shutdownSend();
      this.#lingerer.wind(remoter.tymer.tymth);
      this.#lingerer.start({ duration: Math.min(this.#lingerFor, remoter.tymeout > 0 ? remoter.tymeout : Infinity) });
    } else if (to === REFUSING) {
      // The headers or request deadline passed: 408, then close as after any refused request.
      this.responder.fail(TIMEOUT, this.#refusal());
      this.#pour();
      remoter.refresh(); // its send deadline runs from now
    } else if (to === CLOSED) {
      const peerClosed = (facts & PEER_ENDED) !== 0 && (from === LINGERING || (from === CLOSING && (facts & SENDING) === 0));
      if (peerClosed) {
        remoter.close(); // all sent, and the peer has closed: nothing to linger for
      } else {
        // A deadline: idle, a stalled reader, or the linger's end. Nothing more can go out.
        this.#stop();
        this.requestant.halt(TRUNCATED);
        remoter.close({ force: true });
      }
    }
  }

  /** The exchange of an answer the server gives itself (an error status): never persists. */
  #refusal(): Exchange {
    return { method: this.requestant.method, chunkable: true, persisted: false };
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
    if (!this.closed) this.#cutoff();
    this.remoter.close({ force: true });
  }

  /**
   * Parses; on a whole request dispatches it, on a broken one has its error answered. Returns
   * true when an answer started (the Steward is busy), false while no whole request is in hand.
   */
  #receive(): boolean {
    const requestant = this.requestant;
    const remoter = this.remoter;
    if (this.stepper.state === WAITING) {
      if (remoter.rxbs.length === 0) return false;
      // The headers and request deadlines run from a request's first byte.
      this.#begun = remoter.tymer.tyme ?? 0;
      this.stepper.step(BEGUN);
    }
    if (!requestant.parse()) {
      if (requestant.expectContinue && this.stepper.state === RECEIVING) {
        remoter.tx(CONTINUE);
        this.stepper.step(CONTINUED);
      }
      return false;
    }
    if (requestant.errored) {
      this.stepper.step(FAILED);
      this.responder.fail(requestant.error, this.#refusal());
      return true;
    }
    this.stepper.step(PARSED);
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
    if (feed.demanded && this.stepper.state === ANSWERING && requestant.expectContinue && !this.responder.headed) {
      remoter.tx(CONTINUE);
      this.stepper.step(CONTINUED);
    }
    requestant.parse();
    if (requestant.streaming) {
      // Room in the feed and still no end: the bytes it needs will never come after a FIN.
      if (remoter.cutoff && feed.room > 0) requestant.halt(TRUNCATED);
      else if ((remoter.tymer.tyme ?? 0) >= this.#begun + this.#request) requestant.halt(TIMEOUT);
    }
    if (requestant.errored) this.#unbodied(requestant.error ?? TRUNCATED);
  }

  /**
   * A streamed body failed after its request was dispatched: its error (413, 408, 400) is the
   * answer if no head went out yet, whatever the app makes of it; else the connection closes.
   */
  #unbodied(error: HTTPError): void {
    const responder = this.responder;
    if (!responder.busy || responder.headed) {
      this.#cutoff();
      this.remoter.close({ force: true });
      return;
    }
    this.#stop(); // the app's answer is dropped (its signal fires once)
    this.#exchange = null;
    responder.reset();
    this.stepper.step(FAILED);
    responder.fail(error, this.#refusal());
  }

  /** Has the Responder go on; once its answer ended or aborted, steps `answered` and readies the next request or the close. */
  #pour(): void {
    const responder = this.responder;
    const exchange = this.#exchange;
    if (exchange !== null && this.requestant.feed !== null && !responder.headed) {
      // Read when the head is written: an answer given before the body's end closes the
      // connection after it (RFC 9112 §9.6), and what the client still sends is dropped.
      exchange.persisted = this.requestant.persisted && !this.#draining && !this.requestant.streaming;
    }
    responder.service();
    if (!responder.ended && !responder.aborted) return;
    const persists = responder.ended && responder.persisted && this.requestant.persisted && !this.#draining;
    this.#exchange = null;
    // An HTTPError is an answer the app chose; anything else is a fault worth reporting.
    if (responder.error !== null && !(responder.error instanceof HTTPError)) this.onError(responder.error);
    this.#finish();
    this.stepper.step(ANSWERED, persists ? PERSISTS : 0);
    if (this.stepper.state === WAITING) {
      this.requestant.reinit();
      responder.reset();
    } else {
      this.requestant.halt(UNREAD); // an app still reading gets an end
    }
  }

  /** The peer reset the connection, or it is closed at once: a response under way is aborted. */
  #cutoff(): void {
    this.#stop();
    this.requestant.halt(TRUNCATED);
    this.stepper.step(CUTOFF);
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
