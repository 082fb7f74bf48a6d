/**
 * Client: hio's nonblocking TCP client. reopen() starts connecting to `ha`; each service call
 * advances the connect, sends txbs and receives into rxbs, so a doer drives it once per tick.
 * Real sockets, or a MemoryNetwork when given.
 */
import net from "node:net";
import { port as checkPort } from "../base/options.ts";
import { Tymer } from "../base/tyming.ts";
import type { Tymth } from "../base/tyming.ts";
import { keyOf, normalizeHost, SocketConduit } from "./conduit.ts";
import type { Address, Conduit } from "./conduit.ts";
import { Link } from "./linking.ts";
import type { LinkOptions } from "./linking.ts";
import type { MemoryNetwork } from "./memory.ts";
import { Recorder } from "./recording.ts";
import type { RecorderOptions } from "./recording.ts";

export interface ClientOptions extends LinkOptions {
  /** Server address; default [host, port]. */
  ha?: Address;
  /** Server host (a name is resolved by the socket); default 127.0.0.1. */
  host?: string;
  /** Server port; default 56000 as hio. */
  port?: number;
  /** Reconnect retry delay in tyme (0: at the next service). */
  tymeout?: number;
  /** Reconnect after a refused or cut-off connection. */
  reconnectable?: boolean;
  /** Connect over this in-memory network instead of real sockets. */
  network?: MemoryNetwork | null;
  /** Name for logs and traces. */
  name?: string;
  /**
   * Records every connection's events (see recording.ts): a Recorder (yours to close), or its
   * options (the client makes one and closes it when `closeRecorder()` is called).
   */
  record?: Recorder | RecorderOptions | null | undefined;
}

/**
 * One outgoing connection. Progress shows in `accepted` (TCP connected), `connected`
 * (usable: TLS handshake done too) and `cutoff` (refused, closed or reset by the peer), all
 * updated in service calls. What is tx()'d before the connect goes out once connected.
 * With `reconnectable`, a refused or cut-off connection is reopened `tymeout` tyme after the
 * cutoff was seen (rxbs and unsent txbs are kept), and a dial still pending after
 * `tymeout` (> 0) is retried.
 * @example
 * using client = tcp.openClient({ host: "127.0.0.1", port, tymth: doist.tymen() });
 * client.tx("hello");
 */
export class Client extends Link {
  /** Default reconnect retry delay in tyme. */
  static Tymeout = 0.0;
  /** Default for reconnectable. */
  static Reconnectable = false;

  name: string;
  /** Server address (the peer's resolved address once accepted). */
  ha: Address;
  /** Host as given (before normalizing). */
  hostname: string;
  /** Near side address once accepted. */
  ca: Address | null = null;
  tymeout: number;
  /** Reconnect retry tymer. */
  readonly tymer: Tymer;
  reconnectable: boolean;
  readonly network: MemoryNetwork | null;
  /** Where connections are recorded (null: not recorded). */
  recorder: Recorder | null;
  #ownsRecorder: boolean;
  #opened = false;
  #accepted = false;
  #connected = false;

  constructor({ ha, host = "127.0.0.1", port = 56000, tymeout = Client.Tymeout,
                reconnectable = Client.Reconnectable, network = null, name = "client",
                record = null, ...rest }: ClientOptions = {}) {
    super(rest);
    const [hostname, hport] = ha ?? [host, port];
    checkPort("tcp.Client port", hport);
    this.hostname = hostname;
    this.ha = [normalizeHost(hostname === "" ? "127.0.0.1" : hostname), hport];
    this.tymeout = tymeout;
    this.reconnectable = reconnectable;
    this.network = network;
    this.name = name;
    this.tymer = new Tymer({ tymth: this.tymth, duration: tymeout });
    this.#ownsRecorder = record !== null && !(record instanceof Recorder);
    this.recorder = record === null ? null
      : record instanceof Recorder ? record : new Recorder({ kind: "client", name, ...record });
  }

  /**
   * Ends the recording (when made from options): resolves once it is on disk. Connections closed
   * before it are in it; a later connection starts a new session.
   */
  closeRecorder(): Promise<void> {
    return this.#ownsRecorder ? this.recorder!.close() : Promise.resolve();
  }

  get host(): string { return this.ha[0]; }
  get port(): number { return this.ha[1]; }
  /** True while a socket exists (connecting or connected). */
  get opened(): boolean { return this.#opened; }
  /** True once the TCP connection is established. */
  get accepted(): boolean { return this.#accepted; }
  /** True once usable: accepted, and for TLS the handshake is done. */
  get connected(): boolean { return this.#connected; }

  /** Winds the client and its tymer. */
  override wind(tymth: Tymth | null): void {
    super.wind(tymth);
    this.tymer?.wind(tymth);
  }

  /** Starts a connection attempt to ha; ClientTls overrides it. */
  protected dial(): Conduit {
    if (this.network !== null) {
      return this.network.dial(this.ha, () => this.tyme ?? 0, this.rxbsHighWater);
    }
    const socket = net.connect({ host: this.ha[0], port: this.ha[1], allowHalfOpen: true });
    return new SocketConduit(socket, { highWater: this.rxbsHighWater, status: "dialing" });
  }

  /** Starts connecting (nonblocking); progress shows in service calls. Returns opened. */
  open(): boolean {
    if (this.#opened) return true;
    this.#accepted = this.#connected = false;
    this.ca = null;
    this.relink(this.dial());
    this.#opened = true;
    this.tymer.start({ duration: this.tymeout });
    return true;
  }

  /** Closes then opens: a fresh connection attempt. */
  reopen(): boolean {
    this.close();
    return this.open();
  }

  /** Closes the connection; what the socket already took is still flushed. Idempotent. */
  close(): void {
    if (this.track !== null) {
      this.track.close(this.tyme, this.reset || (this.conduit?.faulted ?? false));
      this.track = null;
    }
    this.conduit?.close();
    this.conduit = null;
    this.#opened = this.#accepted = this.#connected = false;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Restarts the retry tymer from now. */
  refresh(): void {
    this.tymer.start();
  }

  /**
   * After the server's FIN a client that does not reconnect still sends (the server may read on,
   * as a Remoter does); a reconnectable one keeps its unsent txbs for the next connection.
   */
  protected override get sendable(): boolean {
    return this.live || (!this.reconnectable && this.halfOpen);
  }

  /** The retry delay runs from the moment the cutoff is found. */
  protected override cutoffed(): void {
    this.tymer.start({ duration: this.tymeout });
  }

  /**
   * Advances the connection: notes accepted/connected, or a refused dial as cutoff, and
   * reconnects when reconnectable and due (a cutoff is always visible for one tick first).
   * Returns connected.
   */
  serviceConnect(): boolean {
    const conduit = this.conduit;
    if (!this.#opened || conduit === null) return false;
    if (!this.#connected && !this.cutoff) {
      const status = conduit.status;
      if (status === "accepted" || status === "connected") {
        if (!this.#accepted) {
          this.#accepted = true;
          this.ca = conduit.local;
          if (conduit.remote) this.ha = conduit.remote;
          if (this.recorder !== null) this.track = this.recorder.track(this.tyme, this.ha, this.ca);
        }
        if (status === "connected") this.#connected = true;
      } else if (status === "failed") {
        this.cut({ reset: true });
        return false; // let the cutoff be seen for a tick
      } else if (this.reconnectable && this.tymeout > 0 && this.tymer.expired) {
        this.reopen(); // a dial that hangs: start over
        return false;
      }
    }
    if (this.cutoff && this.reconnectable && this.tymer.expired) this.reopen();
    return this.#connected;
  }

  /** Same as serviceConnect (hio's connect attempt). */
  connect(): boolean {
    return this.serviceConnect();
  }

  /** One tick: serviceConnect, serviceSends, serviceReceives (hio's order). */
  service(): void {
    this.serviceConnect();
    this.serviceSends();
    this.serviceReceives();
  }

  override toString(): string {
    return `${this.name}->${keyOf(this.ha)}`;
  }
}

/**
 * Makes a client (a Client, or `cls` such as ClientTls) and starts it connecting; `using`
 * closes it.
 */
export function openClient(opts?: ClientOptions): Client;
export function openClient<O, C extends Client>(opts: O, cls: new (opts: O) => C): C;
export function openClient(opts: unknown = {}, cls: new (opts: never) => Client = Client): Client {
  const client = new cls(opts as never);
  client.reopen();
  return client;
}
