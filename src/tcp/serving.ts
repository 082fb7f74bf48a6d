/**
 * Server: hio's nonblocking TCP server. It listens on `ha`, and each service call accepts new
 * connections as Remoters in `ixes`, moves received bytes into their rxbs and sends their
 * txbs, so a doer drives it once per tick. Real sockets, or a MemoryNetwork when given.
 */
import net from "node:net";
import { port as checkPort } from "../base/options.ts";
import { Tymee } from "../base/tyming.ts";
import { positiveInt } from "../base/options.ts";
import type { TymeeOptions, Tymth } from "../base/tyming.ts";
import { externalize, keyOf, normalizeHost } from "./conduit.ts";
import type { Address, Listener } from "./conduit.ts";
import { Agenda } from "./agenda.ts";
import { Link } from "./linking.ts";
import { SocketListener } from "./listening.ts";
import type { MemoryNetwork } from "./memory.ts";
import { Remoter } from "./remoting.ts";
import type { WireLog } from "./wiring.ts";
import { Recorder } from "./recording.ts";
import type { RecorderOptions } from "./recording.ts";

export interface ServerOptions extends TymeeOptions {
  /** Listen address; default [host, port]. */
  ha?: Address;
  /** Listen host: "" (default) or "0.0.0.0" for all IPv4 interfaces. */
  host?: string;
  /** Listen port; 0 (default) picks a free one, readable in `ha` once open. */
  port?: number;
  /** Idle tymeout given to each Remoter (0: never). */
  tymeout?: number;
  /** Most bytes one receive takes per connection per tick. */
  bufsize?: number | undefined;
  /** Name for logs and traces. */
  name?: string;
  /** Wire log given to each Remoter. */
  wl?: WireLog | null;
  /** Serve over this in-memory network instead of real sockets. */
  network?: MemoryNetwork | null | undefined;
  /** Listen backlog of not yet accepted connections. */
  backlog?: number;
  /** Most connections open at once; more are closed as they come (default: no limit). */
  maxConnections?: number;
  /** Remoters restart their tymer on traffic. */
  refreshable?: boolean;
  /** Input is held while a remoter's unconsumed bytes exceed this. */
  rxbsHighWater?: number;
  /** A remoter whose rxbs grows past this is cut off. */
  rxbsLimit?: number;
  /**
   * Records every connection's events (see recording.ts): a Recorder (yours to close), or its
   * options (the server makes one and closes it when the server closes).
   */
  record?: Recorder | RecorderOptions | null | undefined;
}

/**
 * Listens and keeps one Remoter per accepted connection in `ixes`, keyed `${host}:${port}`
 * of the peer. `service()` runs, in this order: serviceExpired (drop connections cut off or
 * idle since an earlier tick, so a consumer always sees a cutoff once), serviceConnects,
 * serviceReceivesAllIx, serviceSendsAllIx. Nothing a peer does makes it throw.
 * @example
 * using server = tcp.openServer({ host: "127.0.0.1", port: 0, tymth: doist.tymen() });
 * const [host, port] = server.ha;
 */
export class Server extends Tymee {
  /** Default idle tymeout of accepted connections, in tyme. */
  static Tymeout = 1.0;

  name: string;
  /** Listen address: the bound [host, port] once open. */
  ha: Address;
  /** Address to advertise: ha with all-interfaces hosts made loopback. */
  eha: Address;
  tymeout: number;
  bufsize: number;
  wl: WireLog | null;
  readonly network: MemoryNetwork | null;
  backlog: number;
  readonly maxConnections: number;
  refreshable: boolean;
  rxbsHighWater: number;
  rxbsLimit: number;
  /** Where connections are recorded (null: not recorded). */
  recorder: Recorder | null;
  /** Accepted connections by `${host}:${port}` of the peer. */
  readonly ixes = new Map<string, Remoter>();
  /** The connections with something to do: marked by their socket's events, or due by tyme. */
  readonly agenda = new Agenda<Remoter>();
  /**
   * Told of each connection as it is accepted (after it is in ixes): how a server built on this
   * one learns of new connections without walking every open one.
   */
  onAccept: ((remoter: Remoter) => void) | null = null;
  /** Connections without events (virtual ones), looked at on every service. */
  #polled = 0;
  #listener: Listener | null = null;
  #bound = false; // ha holds the bound address
  #ownsRecorder = false; // made from options: closed with the server

  constructor({ tymth, ha, host = "", port = 0, tymeout = Server.Tymeout, bufsize = Link.Bufsize,
                name = "server", wl = null, network = null, backlog = 511, maxConnections = Infinity, refreshable = true,
                rxbsHighWater = Link.RxbsHighWater, rxbsLimit = Link.RxbsLimit, record = null }: ServerOptions = {}) {
    super({ tymth });
    this.ha = ha ?? [host, port];
    checkPort("tcp.Server port", this.ha[1]); // net would wrap 70000 to 4464 and take NaN as any port
    this.eha = externalize([normalizeHost(this.ha[0]), this.ha[1]]);
    this.tymeout = tymeout;
    this.bufsize = bufsize;
    this.name = name;
    this.wl = wl;
    this.network = network;
    this.backlog = backlog;
    this.maxConnections = maxConnections === Infinity ? Infinity : positiveInt("maxConnections", maxConnections);
    this.refreshable = refreshable;
    this.rxbsHighWater = rxbsHighWater;
    this.rxbsLimit = rxbsLimit;
    this.#ownsRecorder = record !== null && !(record instanceof Recorder);
    this.recorder = record === null ? null : record instanceof Recorder ? record : new Recorder({ name, ...record });
  }

  /** True while listening. */
  get opened(): boolean {
    return this.#listener !== null;
  }

  /** Winds the server and every remoter. */
  override wind(tymth: Tymth | null): void {
    super.wind(tymth);
    for (const remoter of this.ixes.values()) remoter.wind(tymth);
  }

  /** Makes the listen socket; ServerTls overrides it. Null when binding failed. */
  protected listen(ha: Address): Listener | null {
    if (this.network !== null) return this.network.listen(ha, () => this.tyme ?? 0);
    const listener = new SocketListener(net.createServer({ allowHalfOpen: true, noDelay: true }), ha,
      { backlog: this.backlog, maxConnections: this.maxConnections });
    return listener.opened ? listener : null;
  }

  #learnHa(): void {
    const bound = this.#listener?.ha;
    if (bound) {
      this.ha = bound;
      this.eha = externalize(bound);
      this.#bound = true;
    }
  }

  /** Opens the listen socket; afterwards ha is the bound address. False when it failed. */
  open(): boolean {
    if (this.#listener !== null) return true;
    this.#bound = false;
    this.#listener = this.listen(this.ha);
    this.#learnHa();
    return this.#listener !== null;
  }

  /** Closes (listener and connections) then opens again; returns opened. */
  reopen(): boolean {
    this.close();
    return this.open();
  }

  /** Closes the listen socket only: no new connections are taken; open ones go on. Idempotent. */
  unlisten(): void {
    this.#listener?.close();
    this.#listener = null;
  }

  /** Closes the listen socket and every connection, and forgets them. Idempotent. */
  close(): void {
    this.#listener?.close();
    this.#listener = null;
    this.closeAllIx();
    this.ixes.clear();
    this.agenda.clear();
    this.#polled = 0;
    if (this.#ownsRecorder) void this.recorder!.close();
  }

  /**
   * True while some connection has no events (a MemoryNetwork's): then every service looks at
   * every connection, in the order they were accepted, as hio's servers do.
   */
  get polled(): boolean {
    return this.#polled > 0 || this.network !== null;
  }

  /**
   * The earliest tyme this server has work: now when a connection is marked or one waits to be
   * accepted, else its earliest deadline (Infinity: none until an I/O wake). A polled server
   * answers `pace`: it cannot tell.
   */
  due(pace: number): number {
    if (this.polled) return pace;
    if (this.#listener !== null && (this.#listener.queued > 0 || !this.#bound)) return -Infinity;
    return this.agenda.due;
  }

  /**
   * The connections to look at in this tick: on a polled server all of them, else the marked
   * ones and those whose deadline has come. Iterate it before the next take (it is reused).
   */
  takeWork(): readonly Remoter[] {
    if (this.polled) return [...this.ixes.values()];
    return this.agenda.take(this.tyme ?? 0);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #remoter(ca: Address | string): Remoter {
    const remoter = this.ixes.get(keyOf(ca));
    if (remoter === undefined) throw new Error(`Invalid connection address '${keyOf(ca)}'`);
    return remoter;
  }

  /** Accepts every pending connection as a Remoter in ixes; returns how many. */
  serviceConnects(): number {
    const listener = this.#listener;
    if (listener === null) return 0;
    if (!this.#bound) { // a hostname resolved since open(), or failed to
      if (!listener.opened) {
        this.close();
        return 0;
      }
      this.#learnHa();
    }
    let count = 0;
    for (let conduit = listener.accept(this.rxbsHighWater); conduit !== null;
         conduit = listener.accept(this.rxbsHighWater)) {
      if (conduit.remote === null) { // gone before it was accepted
        conduit.destroy();
        continue;
      }
      const remoter = new Remoter({
        conduit, tymth: this.tymth, tymeout: this.tymeout, refreshable: this.refreshable,
        bufsize: this.bufsize, wl: this.wl, rxbsHighWater: this.rxbsHighWater,
        rxbsLimit: this.rxbsLimit,
      });
      if (this.recorder !== null) remoter.track = this.recorder.track(remoter.tyme, remoter.ca, remoter.ha);
      const stale = this.ixes.get(remoter.key); // a stale connection from the same peer port
      if (stale !== undefined) this.removeIx(stale.key);
      this.ixes.set(remoter.key, remoter);
      const agenda = this.agenda;
      const ready = (): void => agenda.mark(remoter);
      remoter.onReady = ready;
      remoter.watched = conduit.watch(ready);
      if (remoter.watched) agenda.mark(remoter); // what arrived with it is read this tick
      else this.#polled += 1;
      count += 1;
      this.onAccept?.(remoter);
    }
    return count;
  }

  /**
   * Closes and removes remoters that are cut off; returns how many. One whose peer only
   * half-closed (FIN) stays while what is queued for it still goes out (its tymeout bounds it).
   */
  serviceCutoffs(): number {
    let count = 0;
    for (const [key, remoter] of this.ixes) {
      const draining = remoter.opened && remoter.ended && !remoter.faulted && remoter.txPending;
      if ((remoter.cutoff && !draining) || !remoter.opened) {
        this.removeIx(key);
        count += 1;
      }
    }
    return count;
  }

  /** Closes and removes remoters idle for their tymeout (never with tymeout 0); returns how many. */
  serviceTymeouts(): number {
    let count = 0;
    for (const [key, remoter] of this.ixes) {
      if (remoter.expired) {
        remoter.close({ force: true }); // idle: a peer that stopped reading is why, often
        this.removeIx(key, false);
        count += 1;
      }
    }
    return count;
  }

  /** serviceCutoffs then serviceTymeouts; returns how many were removed. */
  serviceExpired(): number {
    return this.serviceCutoffs() + this.serviceTymeouts();
  }

  /** Receives (up to bufsize) on the remoter at `ca`. */
  serviceReceivesIx(ca: Address | string): number {
    return this.#remoter(ca).serviceReceives();
  }

  /** Receives (up to bufsize each) on every remoter. */
  serviceReceivesAllIx(): void {
    for (const remoter of this.ixes.values()) remoter.serviceReceives();
  }

  /** Queues data on the remoter at `ca`. */
  transmitIx(data: Uint8Array | string, ca: Address | string): void {
    this.#remoter(ca).tx(data);
  }

  /** Sends what each socket takes from each remoter's txbs. */
  serviceSendsAllIx(): void {
    for (const remoter of this.ixes.values()) remoter.serviceSends();
  }

  /** Half-closes sending on the remoter at `ca` once its txbs drained. */
  shutdownSendIx(ca: Address | string): void {
    this.#remoter(ca).shutdownSend();
  }

  /** Closes the remoter at `ca` (it stays in ixes until removed). */
  closeIx(ca: Address | string): void {
    this.#remoter(ca).close();
  }

  /** Closes every remoter. */
  closeAllIx(): void {
    for (const remoter of this.ixes.values()) remoter.close();
  }

  /** Removes the remoter at `ca` from ixes, closing it unless `close` is false. */
  removeIx(ca: Address | string, close = true): void {
    const remoter = this.#remoter(ca);
    if (close) remoter.close();
    this.ixes.delete(remoter.key);
    if (remoter.onReady === null) return;
    remoter.onReady = null;
    remoter.agendaDue = Infinity; // its entry in the agenda, if any, lapses
    if (!remoter.watched) this.#polled -= 1;
  }

  /**
   * One tick: serviceExpired, serviceConnects, serviceReceivesAllIx, serviceSendsAllIx, each over
   * the connections with something to do (all of them on a polled server). A connection cut off
   * or idle in this tick is still in ixes until the next, so a consumer sees it once.
   */
  service(): void {
    if (this.polled) {
      this.serviceExpired();
      this.serviceConnects();
      this.serviceReceivesAllIx();
      this.serviceSendsAllIx();
      return;
    }
    this.serviceConnects();
    const work = this.takeWork(); // the new ones too
    for (const remoter of work) {
      if (this.ixes.get(remoter.key) !== remoter) continue; // gone already
      const draining = remoter.opened && remoter.ended && !remoter.faulted && remoter.txPending;
      if ((remoter.cutoff && !draining) || !remoter.opened) this.removeIx(remoter.key);
      else if (remoter.expired) {
        remoter.close({ force: true });
        this.removeIx(remoter.key, false);
      }
    }
    for (const remoter of work) if (remoter.onReady !== null) remoter.serviceReceives();
    for (const remoter of work) {
      if (remoter.onReady === null) continue; // removed
      remoter.serviceSends();
      this.reschedule(remoter);
    }
  }

  /**
   * After a connection's tick: marks it for the next one when it has more to do now (or was cut
   * off or timed out, to be dropped then), else gives it its idle tymeout as its deadline.
   */
  reschedule(remoter: Remoter, deadline = Infinity): void {
    if (remoter.more || remoter.cutoff || !remoter.opened || remoter.expired) {
      this.agenda.mark(remoter);
      return;
    }
    const idle = remoter.tymeout > 0 ? remoter.tymer.stop : Infinity;
    this.agenda.at(remoter, Math.min(idle, deadline));
  }
}

/**
 * Makes a server (a Server, or `cls` such as ServerTls) and opens it; `using` closes it.
 * Throws when it cannot listen.
 */
export function openServer(opts?: ServerOptions): Server;
export function openServer<O, S extends Server>(opts: O, cls: new (opts: O) => S): S;
export function openServer(opts: unknown = {}, cls: new (opts: never) => Server = Server): Server {
  const server = new cls(opts as never);
  if (!server.reopen()) {
    server.close();
    throw new Error(`Server ${server.name} could not listen on ${keyOf(server.ha)}`);
  }
  return server;
}

/** The error for a server that could not listen, saying what to do about it. */
export function listenError(who: string, [host, port]: readonly [string, number]): Error {
  return new Error(
    `${who} could not listen on ${host || "*"}:${port}: is another server using that port? ` +
      "Stop it, pick another port, or pass port 0 for any free one.",
  );
}
