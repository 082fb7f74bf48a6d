/**
 * Remoter: hio's server side of one accepted TCP connection, with its rxbs/txbs and an idle
 * tymer in tyme. Made by a Server's serviceConnects; not meant to be built by hand.
 */
import { Tymer } from "../base/tyming.ts";
import type { Tymth } from "../base/tyming.ts";
import { keyOf } from "./conduit.ts";
import type { Address, Conduit } from "./conduit.ts";
import { Link } from "./linking.ts";
import type { LinkOptions } from "./linking.ts";

export interface RemoterOptions extends LinkOptions {
  /** The accepted connection. */
  conduit: Conduit;
  /** Near side address; default the conduit's. */
  ha?: Address;
  /** Peer address, the key in the server's ixes; default the conduit's. */
  ca?: Address;
  /** Idle tymeout in tyme; 0 never times out. */
  tymeout?: number;
  /** Traffic restarts the tymer. */
  refreshable?: boolean;
}

/**
 * One accepted connection. `rxbs` grows in receive(), `txbs` drains in serviceSends();
 * `cutoff` once the peer closed or reset. The tymer measures idleness: with `refreshable`
 * every receive or send that moves bytes starts it anew, so `expired` means `tymeout` of
 * tyme since the last traffic (hio restarts it from its old stop, and its servers never
 * check it: we do both the way hio meant).
 */
export class Remoter extends Link {
  /** Default idle tymeout: 0, never. */
  static Tymeout = 0.0;

  readonly ha: Address;
  readonly ca: Address;
  /** `${host}:${port}` of ca: the key in the server's ixes. */
  readonly key: string;
  readonly tymer: Tymer;
  refreshable: boolean;
  #tymeout: number;

  constructor({ conduit, ha, ca, tymeout = Remoter.Tymeout, refreshable = true, ...rest }: RemoterOptions) {
    super(rest);
    this.conduit = conduit;
    this.ha = ha ?? conduit.local ?? ["", 0];
    this.ca = ca ?? conduit.remote ?? ["", 0];
    this.key = keyOf(this.ca);
    this.#tymeout = tymeout;
    this.refreshable = refreshable;
    this.tymer = new Tymer({ tymth: this.tymth, duration: tymeout });
  }

  /** Idle tymeout in tyme (0: never). Setting it starts the tymer anew with that duration. */
  get tymeout(): number {
    return this.#tymeout;
  }

  set tymeout(tymeout: number) {
    this.#tymeout = tymeout;
    this.tymer.start({ duration: tymeout });
  }

  /** True once idle for tymeout (never when tymeout is 0). */
  get expired(): boolean {
    return this.#tymeout > 0 && this.tymer.expired;
  }

  /** False for a virtual conduit, looked at on every service (it has no events); set by the server. */
  watched = true;

  /** True until close(). */
  get opened(): boolean {
    return this.conduit !== null;
  }

  /** Winds the remoter and its tymer (which restarts at the new tyme). */
  override wind(tymth: Tymth | null): void {
    super.wind(tymth);
    this.tymer?.wind(tymth);
  }

  /** Starts the idle tymer anew from now. */
  refresh(): void {
    this.tymer.start();
  }

  /**
   * A peer's orderly close (FIN) ends only its sending: it may still read, so what is queued
   * for it (an HTTP reply to a request sent just before the FIN) still goes out.
   */
  protected override get sendable(): boolean {
    return this.live || this.halfOpen;
  }

  /** True once the transport failed (a reset seen while writing after the peer's FIN, say). */
  get faulted(): boolean {
    return this.reset || (this.conduit?.faulted ?? false);
  }

  protected override traffic(): void {
    if (this.refreshable) this.refresh();
  }

  /**
   * Closes the connection; what the socket already took is still flushed, unless `force`:
   * then it is dropped at once (for a peer that stopped reading). Idempotent.
   */
  close({ force = false }: { force?: boolean } = {}): void {
    if (this.conduit === null) return;
    if (this.track !== null) this.track.close(this.tyme, this.faulted);
    if (force) this.conduit.destroy();
    else this.conduit.close();
    this.conduit = null;
  }
}
