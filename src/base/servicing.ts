/**
 * A doer for anything serviced once per tick (a server, a client): hio's ServerDoer and
 * ClientDoer share this shape, so the tcp and http doers are this class with a name.
 */
import { Doer } from "./doer.ts";
import type { DoerOptions } from "./doer.ts";
import type { Tymth } from "./tyming.ts";

/** What a ServicingDoer runs: wound to the doer's tyme, opened, serviced, closed. */
export interface Servicing {
  wind(tymth: Tymth | null): void;
  reopen(): boolean;
  service(): void;
  close(): void;
  /**
   * Optional: the earliest tyme it has work of its own (Infinity: none until an I/O wake);
   * without it a real-time Doist services it every `pace`. See DoerLike.due.
   */
  due?(pace: number): number;
  /** Optional: one step of a graceful stop (see DoerLike.drain); true once nothing is left. */
  drain?(): boolean;
}

/**
 * Runs one Servicing in a Doist or DoDoer: winding the doer winds it too; enter winds and
 * opens it, recur services it once per run (never done by itself), exit closes it.
 */
export class ServicingDoer<S extends Servicing> extends Doer {
  /** What this doer runs. */
  readonly servicing: S;

  constructor(servicing: S, options: DoerOptions = {}) {
    super(options);
    this.servicing = servicing;
    if (this.tymth !== null) servicing.wind(this.tymth);
  }

  override wind(tymth: Tymth | null): void {
    super.wind(tymth);
    this.servicing.wind(tymth);
  }

  override enter(): void {
    this.servicing.wind(this.tymth);
    this.open(this.servicing);
  }

  /** Opens at enter; override to open differently (e.g. only when not open yet). */
  protected open(servicing: S): void {
    servicing.reopen();
  }

  override recur(_tyme: number): boolean {
    this.servicing.service();
    return false;
  }

  /** When the servicing has work next, so a real-time Doist may sleep until then. */
  due(pace: number): number {
    const servicing = this.servicing;
    return servicing.due === undefined ? pace : servicing.due(pace);
  }

  /** A graceful stop: asks the servicing to finish what it has started (true when it has none). */
  drain(): boolean {
    const servicing = this.servicing;
    return servicing.drain === undefined ? true : servicing.drain();
  }

  override exit(): void {
    this.servicing.close();
  }
}
