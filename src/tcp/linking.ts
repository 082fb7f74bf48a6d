/**
 * Link: what hio's Remoter and Client share, one connection's rxbs/txbs serviced over a
 * conduit. All its public state changes inside receive/serviceSends (or the caller's own
 * calls), never from a socket event.
 */
import { ByteBuffer } from "../base/buffering.ts";
import { Tymee } from "../base/tyming.ts";
import { wake } from "../base/waking.ts";
import type { TymeeOptions } from "../base/tyming.ts";
import type { Address, Conduit } from "./conduit.ts";
import type { WireLog } from "./wiring.ts";
import type { Agendum } from "./agenda.ts";
import type { Track } from "./recording.ts";

export interface LinkOptions extends TymeeOptions {
  /** Most bytes one receive moves into rxbs (per tick). */
  bufsize?: number | undefined;
  /** Input is held (socket paused) while unconsumed bytes (queued + rxbs) exceed this. */
  rxbsHighWater?: number;
  /** A connection whose rxbs grows past this is cut off. */
  rxbsLimit?: number;
  /** Wire log recording rx/tx bytes, if any. */
  wl?: WireLog | null;
}

/** One connection's buffers over a conduit; base of Remoter and Client. */
export class Link extends Tymee implements Agendum {
  /** Default bufsize: most bytes taken per receive. */
  static Bufsize = 262144;
  /** Default rxbsHighWater: 1 MiB unconsumed pauses input. */
  static RxbsHighWater = 1 << 20;
  /** Default rxbsLimit: 16 MiB in rxbs cuts the connection. */
  static RxbsLimit = 16 << 20;

  /** Everything received; consumers shift() what they parse. */
  readonly rxbs = new ByteBuffer();
  /** Bytes waiting to be sent; tx() appends, serviceSends() drains. */
  readonly txbs = new ByteBuffer();
  bufsize: number;
  rxbsHighWater: number;
  rxbsLimit: number;
  wl: WireLog | null;
  /** Set by an owning server: asks it to service this link in its next tick. */
  onReady: (() => void) | null = null;
  /** The owner's agenda: marked for its next tick. */
  agendaMarked = false;
  /** The owner's agenda: the tyme of its entry there (Infinity: none). */
  agendaAt = Infinity;
  /** The owner's agenda: the tyme by which to look at it again (Infinity: none). */
  agendaDue = Infinity;
  /** Where this connection's events are recorded, set by a recording owner (null: not recorded). */
  track: Track | null = null;
  protected conduit: Conduit | null = null;
  #cutoff = false;
  #ended = false;
  #reset = false;
  #overflowed = false;
  #writing = false;
  #shutting = false; // shutdownSend asked: FIN once txbs drains
  #shut = false; // FIN handed over

  constructor({ tymth, bufsize = Link.Bufsize, rxbsHighWater = Link.RxbsHighWater,
                rxbsLimit = Link.RxbsLimit, wl = null }: LinkOptions = {}) {
    super({ tymth });
    this.bufsize = Math.max(1, bufsize);
    this.rxbsHighWater = rxbsHighWater;
    this.rxbsLimit = rxbsLimit;
    this.wl = wl;
  }

  /** True once the peer closed or reset (or rxbs overflowed): nothing more is received; after a
   * FIN (`ended`) what is queued may still be sent until the connection is closed. */
  get cutoff(): boolean {
    return this.#cutoff;
  }

  /** True when the cutoff was the peer's orderly close (FIN); the peer may still read. */
  get ended(): boolean {
    return this.#ended;
  }

  /** True when the cutoff was a reset or transport error. */
  get reset(): boolean {
    return this.#reset;
  }

  /** True when the cutoff was rxbs growing past rxbsLimit. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** True while bytes handed to the socket were not yet flushed to the system (as of the last service). */
  get writing(): boolean {
    return this.#writing;
  }

  /** True while anything is left to send: txbs not empty or the socket still writing. */
  get txPending(): boolean {
    return this.txbs.length > 0 || this.#writing;
  }

  /** Peer address for the wire log. */
  protected get who(): Address | null {
    return this.conduit?.remote ?? null;
  }

  /** Called on every receive or send that moved bytes. */
  protected traffic(): void {}

  /** Called once when cutoff becomes true. */
  protected cutoffed(): void {}

  /** Clears the per-connection flags for a fresh conduit (used on reconnect). */
  protected relink(conduit: Conduit | null): void {
    this.conduit = conduit;
    this.#cutoff = this.#ended = this.#reset = this.#overflowed = false;
    this.#writing = this.#shutting = this.#shut = false;
  }

  /** Marks the connection cut off without a peer event (e.g. a failed dial). */
  protected cut({ reset = false } = {}): void {
    if (this.#cutoff) return;
    this.#cutoff = true;
    if (reset) this.#reset = true;
    this.cutoffed();
  }

  /** True when the conduit can carry bytes now. */
  protected get live(): boolean {
    return this.conduit !== null && this.conduit.status === "connected" && !this.#cutoff;
  }

  /** True when bytes may be sent now; a Remoter also sends after its peer's FIN. */
  protected get sendable(): boolean {
    return this.live;
  }

  /** True after the peer's orderly close (FIN) while our side can still send: it may still read. */
  protected get halfOpen(): boolean {
    const conduit = this.conduit;
    return conduit !== null && conduit.status === "connected" && this.#ended && !this.#reset
      && !this.#overflowed && !conduit.faulted;
  }
  /** Appends data to txbs (a string is UTF-8 encoded); it goes out with the next sends. */
  tx(data: Uint8Array | string): void {
    this.txbs.push(data);
    this.ready();
  }

  /** Asks the owner (a server) to service this link in its next tick, and wakes a sleeping Doist. */
  ready(): void {
    this.onReady?.();
    wake();
  }

  /**
   * True when the conduit has more for this link right now: bytes that arrived beyond what one
   * receive takes, or queued bytes the socket would take (a blocked socket says when it drains).
   */
  get more(): boolean {
    const conduit = this.conduit;
    if (conduit === null) return false;
    return conduit.unread > 0 && !this.cutoff
      || this.txbs.length > 0 && this.sendable && !this.#shut && !conduit.blocked;
  }

  /** Hands `data` to the socket directly and returns how many bytes it took (0 when blocked). */
  send(data: Uint8Array): number {
    if (!this.sendable || this.#shut) return 0;
    const count = this.conduit!.write(data);
    if (count > 0) {
      if (this.wl) this.wl.writeTx(data.subarray(0, count), this.who);
      if (this.track !== null) this.track.tx(this.tyme, count === data.length ? data : data.subarray(0, count));
      this.traffic();
    }
    return count;
  }

  /**
   * Moves up to bufsize received bytes into rxbs and returns how many. Once everything the
   * peer sent before closing or resetting is in rxbs, sets cutoff; never throws for a peer.
   */
  receive(): number {
    const conduit = this.conduit;
    if (conduit === null || this.#cutoff || conduit.status !== "connected") return 0;
    const before = this.rxbs.length;
    const count = conduit.receive(this.rxbs, this.bufsize);
    if (count > 0) {
      if (this.wl) this.wl.writeRx(this.rxbs.view().subarray(before), this.who);
      if (this.track !== null) this.track.rx(this.tyme, before === 0 ? this.rxbs.view() : this.rxbs.view().subarray(before));
      this.traffic();
    }
    if (this.rxbs.length > this.rxbsLimit) {
      this.#overflowed = true;
      conduit.destroy();
      this.cut();
    } else if (conduit.unread === 0) {
      if (conduit.ended) {
        this.#ended = true;
        this.track?.fin(this.tyme);
        this.cut();
      } else if (conduit.faulted) {
        this.track?.reset(this.tyme);
        this.cut({ reset: true });
      }
    }
    return count;
  }

  /** Services receives: one bounded receive per call (bufsize bounds what one tick takes). */
  serviceReceives(): number {
    return this.receive();
  }

  /**
   * Sends what the socket takes from txbs and keeps the rest (partial sends are normal; a
   * blocked socket takes nothing until it drains). After shutdownSend, half-closes once empty.
   */
  serviceSends(): number {
    const conduit = this.conduit;
    if (conduit === null || !this.sendable) return 0;
    let count = 0;
    if (this.txbs.length > 0 && !this.#shut) {
      count = this.send(this.txbs.view());
      this.txbs.shift(count);
    }
    if (this.#shutting && !this.#shut && this.txbs.length === 0) {
      this.#shut = true;
      conduit.end();
    }
    this.#writing = conduit.writing;
    return count;
  }

  /** Half-closes the sending side once txbs has drained; receiving goes on. */
  shutdownSend(): void {
    this.ready();
    this.#shutting = true;
    if (this.txbs.length === 0 && this.sendable && !this.#shut) {
      this.#shut = true;
      this.conduit!.end();
    }
  }

  /** Drops everything in rxbs. */
  clearRxbs(): void {
    this.rxbs.clear();
  }
}
