/**
 * hio's nonblocking HTTP/1.1 servers, serviced once per tick: BareServer answers with a Steward's
 * `respond()`, Server hosts a fetch app (`(request, env) => Response`). ServerDoer runs either in
 * a Doist: enter opens, recur services, exit closes.
 */
import type { DoerOptions } from "../../base/doing.ts";
import { port as checkPort, shown } from "../../base/options.ts";
import { ServicingDoer } from "../../base/servicing.ts";
import type { Tymth } from "../../base/tyming.ts";
import { Server as TcpServer, ServerTls, listenError } from "../../tcp/index.ts";
import type { Certify, MemoryNetwork, Remoter } from "../../tcp/index.ts";
import { Recorder } from "../../tcp/recording.ts";
import type { RecorderOptions } from "../../tcp/recording.ts";
import type { RequestLimits } from "./requestant.ts";
import { Inspector, connectionOf } from "../inspecting.ts";
import type { ConnectionState, InspectionListener } from "../inspecting.ts";
import { AppSteward } from "./app.ts";
import type { FetchApp } from "./app.ts";
import { Steward } from "./steward.ts";
import { deadlinesOf } from "./steward.ts";
import { ProxyTrust } from "./proxying.ts";
import type { TrustProxy } from "./proxying.ts";
import type { Deadlines, StewardOptions } from "./steward.ts";

export interface BareServerOptions {
  host?: string;
  port?: number;
  /** Host and port as one pair; wins over host and port. */
  ha?: readonly [string, number];
  tymth?: Tymth | null;
  /** Idle tyme after which a kept-alive connection is closed; 0 never closes (deadlines.idle). */
  tymeout?: number;
  /** Most connections open at once; more are closed as they come (default: no limit). */
  maxConnections?: number | undefined;
  /** Deadlines in tyme for each part of a connection's life (see Deadlines); 0 turns one off. */
  deadlines?: Partial<Deadlines>;
  /** Most bytes one receive takes from a connection per tick. */
  bufsize?: number;
  scheme?: string;
  /** TLS: key, certificate and CA files (a key and cert make the server speak TLS). */
  keypath?: string;
  certpath?: string;
  cafilepath?: string;
  /** Client certificates: "required" (the default with a cafilepath, as hio), "optional" or "none". */
  certify?: Certify;
  /** Server header value. */
  name?: string;
  /** Serve over an in-memory network instead of real sockets (simulated tyme, deterministic). */
  network?: MemoryNetwork;
  limits?: Partial<RequestLimits>;
  /** Parse every request body as JSON into `requestant.data`. */
  dictable?: boolean;
  /** Told of each app or body-stream failure (the reply is a 500); default: console.error. */
  onError?: (error: unknown, steward: Steward) => void;
  /** Makes the Steward of each new connection (override to answer with your own respond()). */
  steward?: (options: StewardOptions) => Steward;
  /**
   * Behind a reverse proxy: the peers whose X-Forwarded-For gives the app `env.clientAddress`
   * (`true`: the immediate peer; or a list of addresses and CIDRs). Default: none, the header is
   * ignored and `clientAddress` is the peer's. Checked here: a bad value throws.
   */
  trustProxy?: TrustProxy;
  /**
   * Records every connection (accepted, bytes in, FIN, reset, bytes out, closed; each with its
   * tyme) to a file `testing.replay()` and `npx hio-ts replay` run again in simulated tyme: the
   * options of a Recorder (`{ path, maxBytes?, files?, tock? }`; closed with the server, see
   * `recorder.close()` to wait for the disk) or a Recorder of your own. Off: one null check per
   * receive and send.
   */
  record?: Recorder | RecorderOptions | undefined;
}

export interface ServerOptions extends BareServerOptions {
  app?: FetchApp;
  /**
   * Streams request bodies to the app instead of buffering them whole: the app runs once the
   * head is parsed and `request.body` is fed from the connection as the app reads it (`true`:
   * every body; a number N: bodies whose Content-Length is over N bytes, and chunked ones).
   * While the app does not read, the body stays in the connection's receive buffer, which
   * fills to its high-water mark and pauses the socket: memory per upload stays at a few MiB,
   * not at `limits.maxBody`. `text()`, `json()`, `arrayBuffer()` and `bytes()` read the stream
   * to its end. 100 Continue goes out only when the app reads. A chunked body passing
   * `limits.maxBody` fails the app's read with a 413 HTTPError, which is the reply if no head
   * went out yet (else the connection closes). The request deadline still bounds the body, and
   * an answer given before the body's end closes the connection after it.
   *
   * An option, off by default (false), rather than automatic: a body in hand is what
   * `env.requestant.body` (and hio's environ) promises, and what the fastest path answers
   * `json()` from without a stream; an app that reads bodies as streams says so here, and
   * `stream: 65536` gives a hardened server small bodies whole and large ones streamed.
   */
  stream?: boolean | number;
}

/** An HTTP server with a Steward per connection; the default Steward echoes requests as JSON. */
export class BareServer implements Disposable {
  readonly servant: TcpServer;
  readonly name: string;
  readonly scheme: string;
  readonly limits: Partial<RequestLimits> | undefined;
  readonly dictable: boolean;
  readonly onError: ((error: unknown, steward: Steward) => void) | undefined;
  /** The deadlines every connection keeps (checked once, here). */
  readonly deadlines: Readonly<Deadlines>;
  /** The checked `trustProxy` (null: X-Forwarded-For is ignored). */
  readonly trust: ProxyTrust | null;
  /** One Steward per open connection, keyed as the servant's ixes. */
  readonly stewards = new Map<string, Steward>();
  /** Where connections are recorded (null: not recorded); `await server.recorder?.close()` after close(). */
  readonly recorder: Recorder | null;
  readonly #ownsRecorder: boolean;
  readonly #makeSteward: (options: StewardOptions) => Steward;
  readonly #inspector = new Inspector(() => this.stewards.values());
  #accepted = 0; // connections given a Steward so far: the count in their ids
  #fresh: Remoter[] = []; // accepted by the servant, not yet given a Steward

  constructor({
    host = "",
    port = 0,
    ha,
    tymth = null,
    tymeout,
    deadlines,
    maxConnections,
    bufsize,
    scheme,
    keypath,
    certpath,
    cafilepath,
    certify,
    name = "hio-ts",
    network,
    limits,
    dictable = false,
    steward,
    onError,
    trustProxy,
    record,
  }: BareServerOptions = {}) {
    checkPort("http server port", ha ? ha[1] : port);
    this.trust = ProxyTrust.of(trustProxy);
    const tls = keypath !== undefined && certpath !== undefined;
    this.deadlines = deadlinesOf(deadlines, tymeout);
    this.#ownsRecorder = record !== undefined && !(record instanceof Recorder);
    this.recorder = record === undefined ? null : record instanceof Recorder ? record : new Recorder({ name, ...record });
    if (this.recorder !== null) {
      const deadlines = Object.fromEntries(Object.entries(this.deadlines).map(([key, value]) => [key, value === Infinity ? 0 : value]));
      this.recorder.meta.server ??= { name, deadlines, ...(limits === undefined ? {} : { limits }), dictable,
        ...(bufsize === undefined ? {} : { bufsize }), ...(scheme === undefined ? {} : { scheme }) };
    }
    const options = { ha: (ha ? [ha[0], ha[1]] : [host, port]) as [string, number], tymth, tymeout: this.deadlines.idle, bufsize, network,
      record: this.recorder, ...(maxConnections === undefined ? {} : { maxConnections }) };
    this.servant = tls ? new ServerTls({ ...options, keypath, certpath, cafilepath, certify: certify ?? (cafilepath ? "required" : "none") }) : new TcpServer(options);
    this.servant.onAccept = (remoter) => this.#fresh.push(remoter);
    this.scheme = scheme ?? (tls ? "https" : "http");
    this.name = name;
    this.limits = limits;
    this.dictable = dictable;
    this.onError = onError;
    this.#makeSteward = steward ?? ((options) => this.makeSteward(options));
  }

  /** Bound address once open, as hio's `servant.ha`. */
  get ha(): readonly [string, number] {
    return this.servant.ha;
  }

  /** Address to reach the server at (0.0.0.0 advertised as 127.0.0.1). */
  get eha(): readonly [string, number] {
    return this.servant.eha;
  }

  get opened(): boolean {
    return this.servant.opened;
  }

  wind(tymth: Tymth | null): void {
    this.servant.wind(tymth);
  }

  /** (Re)opens the listener, closing every connection first; true once listening. */
  reopen(): boolean {
    for (const steward of this.stewards.values()) steward.close();
    this.stewards.clear();
    return this.servant.reopen();
  }

  /** Closes every connection and the listener (and a recording made from the `record` options). */
  close(): void {
    for (const steward of this.stewards.values()) steward.close();
    this.stewards.clear();
    this.servant.close();
    if (this.#ownsRecorder) void this.recorder!.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Tells `listener` of every transition of every connection's machines (steward, requestant,
   * responder) from now on, with its tyme, connection id, event and states, in the order taken;
   * returns the unsubscribe. While nobody listens, inspection costs one null check per step.
   * @example
   * const stop = server.inspect(({ tyme, connection, machine, event, from, to }) =>
   *   console.log(tyme, connection, machine, `${from} -${event}-> ${to}`));
   */
  inspect(listener: InspectionListener): () => void {
    return this.#inspector.listen(listener);
  }

  /** Each live connection as a plain object: id, peer, its machines' states, requests so far, bytes queued. */
  connections(): ConnectionState[] {
    const out: ConnectionState[] = [];
    for (const steward of this.stewards.values()) if (!steward.closed) out.push(connectionOf(steward));
    return out;
  }

  /** The Steward for a new connection; subclasses override to serve differently. */
  makeSteward(options: StewardOptions): Steward {
    return new Steward(options);
  }

  /**
   * One tick: accept, receive, answer each connection, send, and drop finished connections. Only
   * the connections with something to do are touched (bytes arrived, their socket drained, their
   * app answered, a deadline came); on a polled server (a MemoryNetwork's) every one, in order.
   */
  service(): void {
    if (this.servant.polled) {
      this.serviceConnects();
      this.servant.serviceReceivesAllIx();
      this.serviceStewards();
      this.servant.serviceSendsAllIx();
      this.serviceClosed();
      return;
    }
    const servant = this.servant;
    this.serviceConnects();
    const work = servant.takeWork();
    for (const remoter of work) remoter.serviceReceives();
    for (const remoter of work) this.stewards.get(remoter.key)?.service();
    for (const remoter of work) {
      remoter.serviceSends();
      const key = remoter.key;
      const steward = this.stewards.get(key);
      if (steward === undefined || steward.remoter !== remoter) continue;
      if (steward.closed) {
        this.stewards.delete(key);
        if (servant.ixes.get(key) === remoter) servant.removeIx(key);
      } else if (steward.more) {
        servant.agenda.mark(remoter);
      } else if (remoter.ended && !remoter.faulted && remoter.opened && !remoter.more) {
        // The peer's FIN with an answer still to come: the Steward has seen it and waits on the
        // app (which wakes it) or its deadline. Marked on every tick, it would spin the Doist.
        servant.agenda.at(remoter, steward.deadline);
      } else {
        servant.reschedule(remoter, steward.deadline);
      }
    }
  }

  /**
   * One step of a graceful stop, called once per tick until it returns true: stops accepting,
   * closes connections waiting for a request, and lets each request under way be answered (with
   * `Connection: close`) before its connection closes. True once no connection is left.
   */
  drain(): boolean {
    this.servant.unlisten();
    for (const steward of this.stewards.values()) steward.drain();
    return this.stewards.size === 0;
  }

  /** When this server has work next (see tcp.Server.due): now, a deadline, or an I/O wake. */
  due(pace: number): number {
    return this.servant.due(pace);
  }

  /** Accepts new connections and gives each its Steward. */
  serviceConnects(): void {
    this.servant.serviceConnects();
    const fresh = this.#fresh;
    if (fresh.length === 0) return;
    const servant = this.servant;
    // In accept order (the order ixes lists them), including any accepted by a direct call.
    for (let i = 0; i < fresh.length; i++) {
      const remoter = fresh[i]!;
      const key = remoter.key;
      if (servant.ixes.get(key) !== remoter) continue; // gone already
      const steward = this.stewards.get(key);
      if (steward?.remoter === remoter) continue;
      // A new connection from the address of one that just went (a reused port) replaces it.
      steward?.close();
      this.stewards.set(key, this.#steward(remoter));
    }
    fresh.length = 0;
  }

  /** Advances every connection's Steward once. */
  serviceStewards(): void {
    for (const steward of this.stewards.values()) steward.service();
  }

  /** Forgets connections whose Steward is finished. */
  serviceClosed(): void {
    for (const [key, steward] of this.stewards) {
      if (steward.closed) {
        this.stewards.delete(key);
        if (this.servant.ixes.get(key) === steward.remoter) this.servant.removeIx(key);
      }
    }
  }

  #steward(remoter: Remoter): Steward {
    this.#accepted += 1;
    const steward = this.#makeSteward({
      remoter,
      id: `${this.#accepted}@${remoter.key}`,
      name: this.name,
      scheme: this.scheme,
      ha: this.servant.eha,
      limits: this.limits,
      dictable: this.dictable,
      onError: this.onError,
      deadlines: this.deadlines,
      trust: this.trust,
    });
    this.#inspector.adopt(steward);
    return steward;
  }
}

/** hio's WSGI server, the fetch way: each request goes to `app(request, env)`. */
export class Server extends BareServer {
  readonly app: FetchApp;
  /** Bodies over this many bytes, and chunked ones, are streamed (Infinity: none; see `stream`). */
  readonly streamAbove: number;

  constructor({ app, stream = false, ...options }: ServerOptions) {
    super(options);
    if (app === undefined) throw new TypeError("http.Server needs an app: (request: Request) => Response");
    if (typeof stream !== "boolean" && !(typeof stream === "number" && stream >= 0)) {
      throw new TypeError(`stream must be true, false or a number of bytes (at least 0), not ${shown(stream)}`);
    }
    this.app = app;
    this.streamAbove = stream === true ? 0 : stream === false ? Infinity : stream;
    if (this.recorder?.meta.server !== undefined) this.recorder.meta.server["stream"] ??= stream;
  }

  override makeSteward(options: StewardOptions): Steward {
    return new AppSteward({ ...options, app: this.app, streamAbove: this.streamAbove });
  }
}

/**
 * Builds and opens a Server (with `app`) or a BareServer; `using server = openServer({...})`
 * closes it at the end of the block.
 */
export function openServer(options: ServerOptions & { app: FetchApp }): Server;
export function openServer(options?: BareServerOptions): BareServer;
export function openServer(options: ServerOptions = {}): BareServer {
  const server = options.app !== undefined ? new Server(options) : new BareServer(options);
  if (!server.reopen()) {
    server.close();
    throw listenError("http server", options.ha ?? [options.host ?? "", options.port ?? 0]);
  }
  return server;
}

export interface ServerDoerOptions extends DoerOptions {
  server: BareServer;
}

/** Runs a server in a Doist: enter winds and opens it, recur services it, exit closes it. */
export class ServerDoer extends ServicingDoer<BareServer> {
  constructor({ server, ...options }: ServerDoerOptions) {
    super(server, options);
  }

  get server(): BareServer {
    return this.servicing;
  }

  /** Opens the server unless already open (so a port-0 address read early stays true). */
  protected override open(server: BareServer): void {
    if (!server.opened && !server.reopen()) throw listenError("http.ServerDoer: the server", server.ha);
  }
}
