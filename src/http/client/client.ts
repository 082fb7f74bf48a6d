/**
 * hio's nonblocking HTTP client, serviced once per tick: Client queues requests, sends them one
 * at a time over a persistent tcp connection, parses each response with its Respondent and
 * appends it to `responses`; server-sent events go to `events` as they arrive. ClientDoer runs
 * a Client in a Doist: enter winds and opens, recur services, exit closes.
 *
 * The client's phase is `requesterMachine`'s (no connection, idle, waiting for a response),
 * stepped through its table beside the Respondent's; `inspect()` reports both machines' steps.
 */
import { MachineTable, Stepper } from "../../base/machining.ts";
import { requesterMachine } from "../../../machines/requester.ts";
import type { RequesterEventType } from "../../../machines/requester.ts";
import { port as checkPort } from "../../base/options.ts";
import { ServicingDoer } from "../../base/servicing.ts";
import type { DoerOptions } from "../../base/doing.ts";
import { Tymer } from "../../base/tyming.ts";
import type { Tymth } from "../../base/tyming.ts";
import { Client as TcpClient, ClientTls } from "../../tcp/index.ts";
import type { Address } from "../../tcp/index.ts";
import type { ServerSentEvent } from "./eventing.ts";
import { Hict } from "../wire/hicting.ts";
import { HTTPException } from "../wire/httping.ts";
import { Respondent } from "./respondent.ts";
import { Requester, defaultPort, normalizeHostPort, qargsOf } from "./requester.ts";
import type { FargsInit, RequestBody, RequestParts } from "./requester.ts";
import { failed, redirection } from "./exchanging.ts";
import { wake } from "../../base/waking.ts";
import type { ClientOptions, ClientRequest, ClientResponse } from "./exchanging.ts";
import { Inspector } from "../inspecting.ts";
import type { InspectionListener } from "../inspecting.ts";

export type { ClientOptions, ClientRequest, ClientResponse };

/** The requester machine as a table, built once at load. */
export const requesterTable = new MachineTable<RequesterEventType>(requesterMachine);

const CLOSED = requesterTable.indexOf("closed");
const IDLE = requesterTable.indexOf("idle");
const OPENED = requesterTable.eventIndex("opened");
const REQUEST_SENT = requesterTable.eventIndex("request.sent");
const RESPONSE_ENDED = requesterTable.eventIndex("response.ended");
const RESPONSE_LAST = requesterTable.eventIndex("response.last");
const REQUEUED = requesterTable.eventIndex("requeued");
const DROPPED = requesterTable.eventIndex("dropped");

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]);

/** An iterable body as an array, so a retry or a redirect sends the same pieces again. */
function kept(body: RequestBody): RequestBody {
  return typeof body === "string" || body instanceof Uint8Array ? body : Array.from(body);
}

/**
 * An HTTP/1.1 client on one connection. `request()` queues; each `service()` (re)connects as
 * needed, sends the next request once the previous response has ended (no pipelining), and
 * parses what arrived. A persistent connection is reused; a response that ends it (Connection:
 * close, HTTP/1.0, close-delimited body, error) closes it and the next request opens a new one.
 * A request that got no response byte on a reused connection (the server closed it idle) is
 * sent once more when idempotent. service() never throws for what the peer does.
 * @example
 * using client = new http.Client({ port, tymth: doist.tymen() });
 * client.request({ method: "POST", path: "/echo", data: { a: 1 } });
 * // each tick: client.service(); then client.respond() gives the response once it is in
 */
export class Client implements Disposable {
  /** Most redirects followed for one request. */
  static MaxRedirects = 10;

  readonly connector: TcpClient;
  /** Requester of the last request built. */
  requester: Requester;
  readonly respondent: Respondent;
  readonly requests: ClientRequest[];
  readonly responses: ClientResponse[];
  readonly events: ServerSentEvent[];
  /** Redirect responses of the request under way. */
  redirects: ClientResponse[] = [];
  readonly hostname: string;
  readonly port: number;
  readonly scheme: string;
  readonly secured: boolean;
  reconnectable: boolean;
  tymeout: number;
  redirectable: boolean;
  dictable: boolean;
  portOptional: boolean;
  /** The client's phase: `requesterMachine` stepped by table. */
  readonly stepper: Stepper<(typeof requesterTable.events)[number]> = new Stepper(requesterTable); // not the machines/ alias: keeps xstate out of the .d.ts
  /** The request under way. */
  latest: ClientRequest | null = null;
  /** Connections opened so far. */
  connections = 0;

  readonly #defaults: Required<Omit<RequestParts, "qargs" | "headers" | "fargs">>
    & { qargs: Record<string, string>; headers: Hict; fargs: FargsInit | null };
  readonly #tymer: Tymer; // the next connection attempt is due when expired
  readonly #built = new WeakMap<ClientRequest, Uint8Array>();
  readonly #tries = new WeakMap<ClientRequest, number>();
  #served = 0; // responses ended on the current connection
  readonly #inspector = new Inspector<Client>(() => [this], (client) => ({
    get id() {
      return client.id;
    },
    get tyme() {
      return client.connector.tyme;
    },
    machines: [["requester", client.stepper], ["respondent", client.respondent.stepper]],
  }));

  constructor({
    connector = null, hostname = "127.0.0.1", port, ha, scheme, tymth = null, tymeout = 0.0,
    reconnectable, network = null, bufsize, wl = null, name = "client", record,
    keypath, certpath, cafilepath, certify, hostify, certedhost, context,
    dictable = false, redirectable = true, portOptional = false, limits,
    requests, responses, events,
    method = "GET", path = "/", qargs, fragment = "", headers, body, data, fargs,
  }: ClientOptions = {}) {
    const url = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(path) ? new URL(path) : null;
    const tlsGiven = [keypath, certpath, cafilepath, certify, context].some((v) => v !== undefined);
    let chosen = (scheme ?? url?.protocol.slice(0, -1) ?? (tlsGiven ? "https" : "http")).toLowerCase();
    if (connector !== null) chosen = connector instanceof ClientTls ? "https" : "http";
    if (chosen !== "http" && chosen !== "https") throw new TypeError(`http.Client speaks http or https, not ${chosen}`);
    this.scheme = chosen;
    this.secured = chosen === "https";
    if (connector !== null) {
      [this.hostname, this.port] = [connector.hostname, connector.port];
      this.reconnectable = reconnectable ?? connector.reconnectable;
      connector.reconnectable = false; // reconnects are this client's to make
      if (tymth !== null) connector.wind(tymth);
    } else {
      if (ha) checkPort("http.Client port", ha[1]);
      else if (port !== undefined) checkPort("http.Client port", port);
      const given: [string, number | undefined] = ha ? [ha[0], ha[1]]
        : url ? [url.hostname.replace(/^\[(.*)\]$/, "$1"), url.port ? Number(url.port) : port] : [hostname, port];
      [this.hostname, this.port] = normalizeHostPort(given[0], given[1], defaultPort(chosen));
      this.reconnectable = reconnectable ?? false;
    }
    const tcpOptions = { ha: [this.hostname, this.port] as Address, tymth, bufsize, wl, name, network, reconnectable: false, record };
    this.connector = connector ?? (this.secured
      ? new ClientTls({ ...tcpOptions, keypath, certpath, cafilepath, certify, hostify, certedhost, context })
      : new TcpClient(tcpOptions));
    this.tymeout = tymeout;
    this.redirectable = redirectable;
    this.dictable = dictable;
    this.portOptional = portOptional;
    this.requests = requests ?? [];
    this.responses = responses ?? [];
    this.events = events ?? [];
    const relative = url ? url.pathname + url.search + url.hash : path;
    this.#defaults = {
      method: method.toUpperCase(), path: relative || "/", qargs: qargsOf(qargs), fragment,
      headers: new Hict(headers ?? undefined), body: kept(body ?? new Uint8Array(0)), data, fargs: fargs ?? null,
    };
    this.requester = this.#requester({});
    this.respondent = new Respondent({ msg: this.connector.rxbs, method, dictable, events: this.events, limits });
    this.#tymer = new Tymer({ tymth, duration: 0 });
  }

  /** Winds the connector and the retry tymer to a tymist. */
  wind(tymth: Tymth | null): void {
    this.connector.wind(tymth);
    this.#tymer.wind(tymth);
  }

  /** Ends the recording made from the `record` option; resolves once it is on disk. */
  closeRecorder(): Promise<void> {
    return this.connector.closeRecorder();
  }

  /** True once the connection is usable. */
  get connected(): boolean {
    return this.connector.connected;
  }

  /** True while a request is out and its response has not ended (hio's waited). */
  get waited(): boolean {
    return this.stepper.hasTag("waited");
  }

  /** Names the current connection in inspections: its number, @, the server's `host:port`. */
  get id(): string {
    return `${this.connections}@${this.hostname}:${this.port}`;
  }

  /**
   * Calls `listener` with every transition of this client's machines (requester and
   * respondent) from now on: tyme, connection id, machine, event, from, to. Returns the
   * unsubscribe. While nobody listens, inspection costs one null check per step.
   * @example
   * const stop = client.inspect(({ machine, event, from, to }) => console.log(machine, event, from, "→", to));
   */
  inspect(listener: InspectionListener): () => void {
    return this.#inspector.listen(listener);
  }

  /**
   * Opens a fresh connection now (hio's reopen); a request under way goes back to the front of
   * `requests`. service() also opens one whenever a request waits and none is open.
   */
  reopen(): boolean {
    this.close();
    this.connections += 1;
    this.#served = 0;
    const opened = this.connector.reopen();
    if (opened) this.stepper.step(OPENED);
    return opened;
  }

  /** Same as reopen. */
  open(): boolean {
    return this.reopen();
  }

  /** Closes the connection; a request under way goes back to the front of `requests`. */
  close(): void {
    if (this.waited && this.latest !== null) this.requests.unshift(this.latest);
    this.latest = null;
    this.#drop(DROPPED);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Queues a request (hio's differential request): method, path, qargs, fragment and headers
   * default to the client's own; body, data and fargs are sent only when given here. Extra
   * keys ride along unsent. Throws at once on parts that cannot be sent.
   */
  request(parts: RequestParts & Record<string, unknown> = {}): ClientRequest {
    const { method, path, qargs, fragment, headers, body, data, fargs, ...extra } = parts;
    const defaults = this.#defaults;
    const request: ClientRequest = {
      ...extra,
      method: (method ?? defaults.method).toUpperCase(),
      path: path ?? defaults.path,
      qargs: qargs !== undefined && qargs !== null ? qargsOf(qargs) : { ...defaults.qargs },
      fragment: fragment ?? defaults.fragment,
      headers: new Hict(headers ?? defaults.headers),
      body: kept(body ?? new Uint8Array(0)),
      data: data ?? null,
      fargs: fargs ?? null,
    };
    this.#built.set(request, this.#build(request));
    this.requests.push(request);
    wake(); // a sleeping real-time Doist services it at once
    return request;
  }

  /** Queues the client's own request: every default part, body, data and fargs included. */
  transmit(parts: RequestParts = {}): ClientRequest {
    const { body, data, fargs } = this.#defaults;
    return this.request({ body, data, fargs, ...parts });
  }

  /** Pops the oldest response, or null (hio's respond). */
  respond(): ClientResponse | null {
    return this.responses.shift() ?? null;
  }

  /**
   * When a real-time Doist must service it next: never while it is idle (no request queued or
   * under way: `request()` wakes it), else at the Doist's pace (its socket's events wake it sooner).
   */
  due(pace: number): number {
    return this.requests.length === 0 && !this.waited ? Infinity : pace;
  }

  /** One tick: connect when needed, send the next request, send, receive and parse. */
  service(): void {
    this.serviceConnect();
    this.serviceRequests();
    this.connector.serviceSends();
    this.serviceResponse();
  }

  /** Opens a connection when a request waits for one and a retry delay has passed; advances it. */
  serviceConnect(): void {
    const connector = this.connector;
    if (!connector.opened) {
      if (this.requests.length === 0 || this.waited || !this.#due()) return;
      this.reopen();
    } else if (this.stepper.state === CLOSED) {
      this.stepper.step(OPENED); // a connector opened by its owner: this client's from now on
    }
    connector.serviceConnect();
  }

  /** Sends the next queued request once the previous response has ended. */
  serviceRequests(): void {
    const connector = this.connector;
    while (this.stepper.state === IDLE && this.requests.length > 0 && connector.opened && !connector.cutoff) {
      const request = this.requests.shift()!;
      let msg = this.#built.get(request);
      if (msg === undefined) {
        try {
          msg = this.#build(request); // appended to requests directly: built now
        } catch (error) {
          this.responses.push(failed(request, error));
          continue;
        }
      }
      this.#built.delete(request);
      this.latest = request;
      this.stepper.step(REQUEST_SENT);
      connector.tx(msg);
      this.respondent.reinit({ method: request.method, dictable: this.dictable });
    }
  }

  /** Receives and parses; a finished response goes to `responses` (or is followed if a redirect). */
  serviceResponse(): void {
    const connector = this.connector;
    if (connector.opened) connector.serviceReceives();
    const cut = connector.opened && connector.cutoff;
    if (this.waited) {
      const respondent = this.respondent;
      respondent.parse();
      if (!respondent.ended && cut) {
        if (!this.#recover()) {
          respondent.close({ reset: connector.reset });
          respondent.parse();
        }
      }
      if (this.waited && respondent.ended) this.#finish();
    }
    if (cut && connector.opened) this.#drop(DROPPED);
    // Bytes no request asked for cannot be matched to one (RFC 9112 §9.3): the connection is done.
    else if (!this.waited && connector.opened && connector.rxbs.length > 0) this.#drop(DROPPED);
  }

  /**
   * hio's serviceWhileGen: services once per resumption while requests are queued or under
   * way and no response is in, up to `tymeout`; returns the oldest response or null.
   */
  *serviceWhileGen(tymeout = 0.5): Generator<undefined, ClientResponse | null, unknown> {
    const tymer = new Tymer({ tymth: this.connector.tymth, duration: tymeout });
    while ((this.requests.length > 0 || this.waited || this.responses.length === 0) && !tymer.expired) {
      this.service();
      if (this.responses.length > 0 && this.requests.length === 0 && !this.waited) break;
      yield undefined;
    }
    return this.respond();
  }

  /**
   * The connection was cut before the response ended. Puts the request back to be sent again
   * when that is safe: an event stream when reconnectable (with Last-Event-ID, after the
   * stream's retry), a refused connection when reconnectable, or no response byte yet on a
   * reused connection (idempotent requests: once, or always when reconnectable); fails a
   * refused one. Returns false to let the Respondent's close decide (end or PrematureClosure).
   */
  #recover(): boolean {
    const respondent = this.respondent;
    const request = this.latest!;
    if (respondent.evented && this.reconnectable) {
      const headers = new Hict(request.headers);
      headers.delete("Last-Event-ID");
      // HTML §9.2.4: only a non-empty id, as its UTF-8 bytes (Requester writes Latin-1)
      if (respondent.leid) headers.set("Last-Event-ID", Buffer.from(respondent.leid, "utf8").toString("latin1"));
      const again: ClientRequest = { ...request, headers };
      this.#requeue(again, respondent.retry / 1000);
      return true;
    }
    if (respondent.started) return false;
    const tries = this.#tries.get(request) ?? 0;
    const refused = !this.connector.accepted;
    const idempotent = IDEMPOTENT.has(request.method);
    if ((refused || idempotent) && this.reconnectable) {
      this.#tries.set(request, tries + 1);
      this.#requeue(request, this.tymeout);
      return true;
    }
    if (!refused && idempotent && this.#served > 0 && tries === 0) {
      this.#tries.set(request, 1);
      this.#requeue(request, 0);
      return true;
    }
    if (refused) {
      respondent.fail(new HTTPException(`connection to ${this.hostname}:${this.port} failed`));
      return true;
    }
    return false;
  }

  /** Puts `request` back at the front, drops the connection, and waits `delay` before the next. */
  #requeue(request: ClientRequest, delay: number): void {
    this.#built.delete(request);
    this.requests.unshift(request);
    this.latest = null;
    this.#drop(REQUEUED);
    this.#tymer.start({ duration: delay });
  }

  #finish(): void {
    const respondent = this.respondent;
    const request = this.latest!;
    request.host = this.hostname;
    request.port = this.port;
    request.scheme = this.scheme;
    const response: ClientResponse = {
      version: respondent.version,
      status: respondent.status,
      reason: respondent.reason,
      headers: respondent.headers,
      body: respondent.body,
      data: respondent.data,
      request,
      errored: respondent.errored,
      error: respondent.error === null ? null : `${respondent.error.name}: ${respondent.error.message}`,
    };
    this.latest = null;
    this.#served += 1;
    if (respondent.persisted) {
      this.stepper.step(RESPONSE_ENDED);
    } else {
      this.#drop(RESPONSE_LAST);
      this.#tymer.start({ duration: respondent.errored ? this.tymeout : 0 });
    }
    if (!respondent.errored && this.redirectable && respondent.redirectant && this.#redirect(response)) return;
    if (this.redirects.length > 0) {
      response.redirects = this.redirects;
      this.redirects = [];
    }
    this.responses.push(response);
  }

  /** Queues the request a same-origin redirect points to; false when it is not followed. */
  #redirect(response: ClientResponse): boolean {
    if (this.redirects.length >= Client.MaxRedirects) return false;
    const next = redirection(response, { scheme: this.scheme, hostname: this.hostname, port: this.port });
    if (next === null) return false;
    try {
      this.#built.set(next, this.#build(next));
    } catch {
      return false;
    }
    this.redirects.push(response);
    this.requests.unshift(next);
    return true;
  }

  /** True when a new connection may be opened now. */
  #due(): boolean {
    return this.#tymer.tymth === null || this.#tymer.expired;
  }

  /** Closes the connection (stepping the machine by `event` unless closed already) and forgets what was buffered on it. */
  #drop(event: number): void {
    if (this.stepper.state !== CLOSED) this.stepper.step(event);
    this.connector.close();
    this.connector.rxbs.clear();
    this.connector.txbs.clear();
    this.#served = 0;
  }

  #requester(parts: RequestParts): Requester {
    return new Requester({
      hostname: this.hostname, port: this.port, scheme: this.scheme, portOptional: this.portOptional, ...parts,
    });
  }

  #build(request: ClientRequest): Uint8Array {
    const { method, path, qargs, fragment, headers, body, data, fargs } = request;
    this.requester = this.#requester({ method, path, qargs, fragment, headers, body, data, fargs });
    const msg = this.requester.build();
    request.path = this.requester.path;
    request.qargs = this.requester.qargs;
    request.fragment = this.requester.fragment;
    return msg;
  }
}

export interface ClientDoerOptions extends DoerOptions {
  client: Client;
}

/** hio's http ClientDoer: enter winds and opens the client, recur services it, exit closes it. */
export class ClientDoer extends ServicingDoer<Client> {
  constructor({ client, ...options }: ClientDoerOptions) {
    super(client, options);
  }

  get client(): Client {
    return this.servicing;
  }
}
