/**
 * Peer: a fake client on a MemoryNetwork that misbehaves on purpose, the way slow and broken
 * clients do: it writes a byte per tick, stops reading, half-closes early or resets, and
 * records what it received and when.
 */
import { ByteBuffer } from "../base/buffering.ts";
import { Doer } from "../base/doer.ts";
import { integer } from "../base/options.ts";
import { Client } from "../tcp/clienting.ts";
import type { Address } from "../tcp/conduit.ts";
import type { MemoryNetwork } from "../tcp/memory.ts";
import { wireText } from "./tracing.ts";
import type { Trace } from "./tracing.ts";

/** Bytes that moved at one tyme. */
export interface Piece {
  tyme: number;
  bytes: Uint8Array;
}

/**
 * What happened to a peer: connected; refused (nothing listened); sent (all it had queued so
 * far was written); half-closed (its FIN); reset (it reset the connection); rx (bytes arrived,
 * count: how many); stalled (it stopped reading); closed (the far end's FIN, after everything
 * before it was read); cut (a reset seen). The count of sent, half-closed and reset is the bytes
 * written in all; of stalled, the bytes read in all.
 */
export type PeerWhat = "connected" | "refused" | "sent" | "half-closed" | "reset" | "rx" | "stalled" | "closed" | "cut";

/** One thing that happened, at its tyme, with a byte count where one applies. */
export type PeerEvent = [tyme: number, what: PeerWhat, count?: number];

export interface PeerOptions {
  network: MemoryNetwork;
  /** Address to dial; default 127.0.0.1:80. */
  ha?: Address;
  /** What to write once connected (text as UTF-8); `write()` queues more. */
  send?: string | Uint8Array;
  /** More to write at given tymes: each piece is queued at its first run at or after its tyme. */
  script?: Iterable<readonly [at: number, data: string | Uint8Array]>;
  /** Most bytes written per tick it runs (1: one byte per tick); default all at once. */
  pace?: number;
  /** Stop reading once this many bytes were read (a stalled reader; 0: never read). */
  read?: number;
  /** Half-close (FIN) once this many bytes were written (the rest is never sent); true: once all is. */
  fin?: number | boolean;
  /** Reset the connection the tick after this many bytes were written (0: once connected). */
  reset?: number;
  /** Its events also go here, named `<name> <what>`; rx entries carry the text (see wireText). */
  trace?: Trace | null;
  /** Name in traces and in the tcp client; default "peer". */
  name?: string;
  /** Tyme between its runs (a Doer's tock): with pace 1 and tock 2, a byte every 2 s. */
  tock?: number;
}

const encoder = new TextEncoder();

/**
 * A Doer owning one tcp.Client on a MemoryNetwork: enter dials, each run writes (as paced, up to
 * a FIN or reset mark), sends and reads (up to `read`), exit closes. Done once the connection
 * ended (closed, cut, refused, or its own reset); a stalled reader reads no more, so it never
 * sees the far end close: end its run with `runUntil`'s `until` or limit.
 * @example
 * const slowloris = new Peer({ network, send: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", pace: 1 });
 * const stalled = new Peer({ network, send: "GET /big HTTP/1.1\r\nHost: a\r\n\r\n", read: 100 });
 * await runUntil([new http.ServerDoer({ server }), slowloris, stalled], { limit: 30 });
 * slowloris.text; // what the server answered; slowloris.events says when
 */
export class Peer extends Doer {
  readonly client: Client;
  readonly network: MemoryNetwork;
  readonly name: string;
  readonly pace: number;
  readonly read: number;
  /** Every write, with its tyme. */
  readonly writes: Piece[] = [];
  /** Every arrival, with its tyme. */
  readonly arrivals: Piece[] = [];
  readonly events: PeerEvent[] = [];
  trace: Trace | null;
  /** Tyme it connected, null until then. */
  connectedAt: number | null = null;
  /** Tyme the connection ended for it (closed, cut, refused or its own reset), null until then. */
  closedAt: number | null = null;
  #pending = new ByteBuffer();
  #received = new ByteBuffer();
  #written = 0;
  #finMark: number;
  #resetMark: number;
  #ending = false; // end() asked: FIN once the queue is written
  #shut = false; // wrote its last byte (FIN or reset under way)
  #resetting = false;
  #stalled = false;
  #noted = 0; // bytes written when "sent" was last noted
  #script: Array<readonly [number, string | Uint8Array]>;
  readonly #bufsize: number;

  constructor({ network, ha = ["127.0.0.1", 80], send, script = [], pace = Infinity, read = Infinity, fin = false, reset,
                trace = null, name = "peer", tock = 0 }: PeerOptions) {
    super({ tock });
    this.network = network;
    this.name = name;
    this.pace = pace === Infinity ? Infinity : integer("Peer pace", pace, { min: 1 });
    this.read = read === Infinity ? Infinity : integer("Peer read", read, { min: 0 });
    this.trace = trace;
    this.client = new Client({ network, ha, name });
    this.#bufsize = this.client.bufsize;
    if (send !== undefined) this.#pending.push(typeof send === "string" ? encoder.encode(send) : send);
    this.#finMark = typeof fin === "boolean" ? Infinity : integer("Peer fin", fin, { min: 0 });
    this.#ending = fin === true;
    this.#resetMark = reset === undefined ? Infinity : integer("Peer reset", reset, { min: 0 });
    this.#script = [...script].sort(([a], [b]) => a - b);
  }

  /** Everything received so far. */
  get received(): Uint8Array {
    return this.#received.view().slice();
  }

  /** Everything received so far as Latin-1 text (one character per byte). */
  get text(): string {
    return this.#received.toString("latin1");
  }

  /** Bytes written so far. */
  get written(): number {
    return this.#written;
  }

  /** True once the connection ended for this peer. */
  get closed(): boolean {
    return this.closedAt !== null;
  }

  /** True once it stopped reading. */
  get stalled(): boolean {
    return this.#stalled;
  }

  /** Queues more bytes to write (text as UTF-8), after what is queued. */
  write(data: string | Uint8Array): void {
    this.#pending.push(typeof data === "string" ? encoder.encode(data) : data);
  }

  /** Half-closes once everything queued (and scripted) is written. */
  end(): void {
    this.#ending = true;
  }

  /** Resets the connection at its next run (what it wrote this tick may be lost). */
  reset(): void {
    this.#resetting = true;
  }

  override enter(): void {
    this.client.wind(this.tymth);
    this.client.reopen();
  }

  override recur(tyme: number): boolean {
    const client = this.client;
    if (this.#resetting) {
      if (client.ca !== null) this.network.reset(client.ca);
      this.#event(tyme, "reset", this.#written);
      this.closedAt = tyme;
      return true;
    }
    client.serviceConnect();
    if (this.connectedAt === null) {
      if (client.cutoff) return this.#end(tyme, "refused");
      if (!client.connected) return false;
      this.connectedAt = tyme;
      this.#event(tyme, "connected");
    }
    while (this.#script.length > 0 && this.#script[0]![0] <= tyme) this.write(this.#script.shift()![1]);
    if (!this.#shut) this.#send(tyme);
    client.serviceSends();
    if (!this.#stalled) this.#receive(tyme);
    if (client.cutoff) return this.#end(tyme, client.reset ? "cut" : "closed"); // seen by a read
    return false;
  }

  override exit(): void {
    this.client.close();
  }

  #send(tyme: number): void {
    const client = this.client;
    const mark = Math.min(this.#finMark, this.#resetMark);
    const n = Math.min(this.pace, this.#pending.length, mark - this.#written);
    if (n > 0) {
      const bytes = this.#pending.take(n);
      client.tx(bytes);
      this.#written += n;
      this.writes.push({ tyme, bytes });
    }
    if (this.#pending.length === 0 && this.#written > this.#noted) {
      this.#noted = this.#written;
      this.#event(tyme, "sent", this.#written);
    }
    if (this.#written >= this.#resetMark) {
      this.#shut = this.#resetting = true; // next run: the bytes of this one go out first
    } else if (this.#written >= this.#finMark || (this.#ending && this.#pending.length === 0 && this.#script.length === 0)) {
      this.#shut = true;
      client.shutdownSend();
      this.#event(tyme, "half-closed", this.#written);
    }
  }

  #receive(tyme: number): void {
    const client = this.client;
    const left = this.read - this.#received.length;
    if (left > 0) {
      client.bufsize = Math.min(this.#bufsize, left);
      client.serviceReceives();
      if (client.rxbs.length > 0) {
        const bytes = client.rxbs.take();
        this.#received.push(bytes);
        this.arrivals.push({ tyme, bytes });
        this.#event(tyme, "rx", bytes.length, wireText(bytes));
      }
    }
    if (this.#received.length >= this.read) {
      this.#stalled = true;
      this.#event(tyme, "stalled", this.#received.length);
    }
  }

  #end(tyme: number, what: PeerWhat): boolean {
    this.closedAt = tyme;
    this.#event(tyme, what);
    return true;
  }

  #event(tyme: number, what: PeerWhat, count?: number, text?: string): void {
    this.events.push(count === undefined ? [tyme, what] : [tyme, what, count]);
    if (this.trace === null) return;
    const detail = count === undefined ? [] : text === undefined ? [count] : [count, text];
    this.trace.at(tyme, `${this.name} ${what}`, ...detail);
  }
}
