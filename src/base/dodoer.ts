/**
 * DoDoer: hio's nested scheduler, a doer that runs its own doers with the tyme it is fed,
 * so doers form a tree under one Doist.
 */

import type { Tymth } from "./tyming.ts";
import {
  DeedQueue,
  drainDeeds,
  dueOf,
  enterDeeds,
  exitDeeds,
  extendDeeds,
  recurDeeds,
  removeDeeds,
  type DoOptions,
  type DoOpts,
  type DoerLike,
  type Dog,
} from "./deeding.ts";
import { Doer, type DoerOptions, type EnterOptions } from "./doer.ts";

export interface DoDoerOptions extends DoerOptions {
  doers?: Iterable<DoerLike>;
  /** True keeps it running after all its doers are done, until forced closed. */
  always?: boolean;
}

/** Options of `DoDoer.do()`: a doer's, plus doers and always for this run. */
export interface DoDoerDoOptions extends DoOptions {
  doers?: Iterable<DoerLike>;
  always?: boolean;
}

/**
 * Schedules its doers like a Doist, with the tyme it is fed: enter enters them, each recur
 * runs one pass (falsy tocks rerun after this DoDoer's tock) and reports "no deeds left"
 * as its done, exit force-closes what is left, newest first. With `always` it keeps
 * recurring after that until forced closed, so doers can be added while it runs.
 */
export class DoDoer extends Doer {
  doers: DoerLike[];
  deeds: DeedQueue = new DeedQueue();
  always: boolean;
  #temp = false;

  constructor({ doers = [], always = false, ...options }: DoDoerOptions = {}) {
    super(options);
    this.doers = [...doers];
    this.always = always;
  }

  /**
   * Returns the dog: as a Doer's, running this DoDoer's doers. `doers` replaces `.doers`
   * (and resets `.deeds`); `always` overrides `.always` for this run.
   */
  override *do(tymth: Tymth, { doers, always, ...options }: DoDoerDoOptions & DoOpts = {}): Dog {
    if (doers !== undefined) {
      this.doers = [...doers];
      this.deeds = new DeedQueue();
    }
    this.keep = always ?? this.always;
    return yield* super.do(tymth, options);
  }

  /**
   * Enters `doers` (default: `.doers` into `.deeds`; given doers get a fresh queue) with
   * this DoDoer's tymth and returns the deeds. `temp` true makes every doer temp.
   */
  override enter({ temp, doers }: EnterOptions & { doers?: Iterable<DoerLike> } = {}): DeedQueue {
    if (doers === undefined) this.#temp = temp ?? this.temp;
    const deeds = doers === undefined ? this.deeds : new DeedQueue();
    return enterDeeds(doers ?? this.doers, deeds, this.#tymth(), temp ?? this.#temp);
  }

  /** Runs one pass over the deeds at `tyme`; returns true when no deeds are left. */
  override recur(tyme: number, deeds: DeedQueue = this.deeds): boolean {
    recurDeeds(deeds, tyme, this.tock);
    return deeds.length === 0;
  }

  /** The earliest tyme any of its deeds needs a pass (see DoerLike.due); Infinity when none. */
  due(pace: number): number {
    return dueOf(this.deeds, this.tyme ?? 0, pace);
  }

  /** A graceful stop of its doers (see DoerLike.drain); true once all of them are done. */
  drain(): boolean {
    return drainDeeds(this.deeds);
  }

  /** Force-closes the deeds left (default `.deeds`), newest first. */
  override exit(deeds: DeedQueue = this.deeds): void {
    exitDeeds(deeds);
  }

  /** Enters the doers not already in `.doers` now and adds them to `.doers` and `.deeds`. */
  extend(doers: Iterable<DoerLike>): void {
    extendDeeds(doers, this.doers, this.deeds, this.#tymth(), this.#temp);
  }

  /** Removes doers from `.doers` and force-closes their deeds; others keep their order. */
  remove(doers: Iterable<DoerLike>): void {
    removeDeeds(doers, this.doers, this.deeds);
  }

  #tymth(): Tymth {
    const tymth = this.tymth;
    if (tymth === null) throw new TypeError("DoDoer is not wound to a tymist: no tymth");
    return tymth;
  }
}
