/**
 * Doist: hio's root scheduler. It keeps tyme, runs its doers' dogs once per tick in order,
 * and ticks either as fast as the event loop turns (simulated) or paced to the wall clock.
 */

import { setImmediate as immediate } from "node:timers";
import { Tymer, Tymist, type TymistOptions } from "./tyming.ts";
import {
  DeedQueue,
  enterDeeds,
  exitDeeds,
  extendDeeds,
  recurDeeds,
  removeDeeds,
  type DoerLike,
} from "./deeding.ts";

export interface DoistOptions extends TymistOptions {
  name?: string;
  /** True paces ticks to wall-clock tock; false runs them as fast as the event loop turns. */
  real?: boolean;
  /** Tyme after which `do()` stops and force-closes what is left; null or 0: no limit. */
  limit?: number | null;
  doers?: Iterable<DoerLike>;
  /** True asks every doer to use temporary resources. */
  temp?: boolean;
}

/** Options of one `Doist.do()` run; each overrides the Doist's own for this run. */
export interface DoistDoOptions {
  /** Replaces `.doers` (and resets `.deeds`). */
  doers?: Iterable<DoerLike>;
  /** Stored as the Doist's limit (absolute value). */
  limit?: number;
  /** Starting tyme. */
  tyme?: number;
  /** Temp for the doers of this run. */
  temp?: boolean;
}

const NONE = Symbol("none");

/**
 * Runs doers in tyme: enter, one recur pass per tick, exit. `do()` always exits what is
 * left, also on an error (rethrown) and on SIGINT in real time (then it resolves).
 *
 * @example
 * const doist = new Doist({ tock: 1 / 32, limit: 1 });
 * await doist.do({ doers: [new Doer()] });
 */
export class Doist extends Tymist {
  /** Real time: waits shorter than this many milliseconds are spent in event-loop turns. */
  static Spin = 0.25;

  name: string;
  real: boolean;
  limit: number | null;
  /** null until `do()`; then false, true once every deed finished by itself. */
  done: boolean | null = null;
  doers: DoerLike[];
  deeds: DeedQueue = new DeedQueue();
  temp: boolean;
  #runTemp: boolean | null = null;
  #wake: (() => void) | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #interrupted = false;
  #running = false;
  // made once so a tick's wait allocates only its promise and timer
  readonly #settle = (resolve: () => void): void => {
    this.#wake = resolve;
  };
  readonly #awake = (): void => {
    this.#timer = null;
    const wake = this.#wake;
    this.#wake = null;
    if (wake !== null) wake();
  };
  readonly #onSigint = (): void => {
    this.#interrupted = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#awake();
  };

  constructor({
    name = "doist",
    real = false,
    limit = null,
    doers = [],
    temp = false,
    ...tyming
  }: DoistOptions = {}) {
    super(tyming);
    this.name = name;
    this.real = real;
    this.limit = limit === null ? null : Math.abs(limit);
    this.doers = [...doers];
    this.temp = temp;
  }

  /**
   * Enters `doers` (default: `.doers` into `.deeds`; given doers get a fresh queue) at the
   * current tyme and returns the deeds. Each doer's done becomes false.
   */
  enter(doers?: Iterable<DoerLike>): DeedQueue {
    const deeds = doers === undefined ? this.deeds : new DeedQueue();
    return enterDeeds(doers ?? this.doers, deeds, this.tymen(), this.#temp());
  }

  /**
   * Runs each deed whose retyme has come, then advances tyme by one tock.
   * A positive yielded tock reruns at the old retyme plus tock (no drift).
   */
  recur(deeds: DeedQueue = this.deeds): void {
    recurDeeds(deeds, this.tyme, this.tock);
    this.tick();
  }

  /** Force-closes the deeds left (default `.deeds`), newest first. */
  exit(deeds: DeedQueue = this.deeds): void {
    exitDeeds(deeds);
  }

  /** Enters the doers not already in `.doers` now and adds them to `.doers` and `.deeds`. */
  extend(doers: Iterable<DoerLike>): void {
    extendDeeds(doers, this.doers, this.deeds, this.tymen(), this.#temp());
  }

  /** Removes doers from `.doers` and force-closes their deeds; others keep their order. */
  remove(doers: Iterable<DoerLike>): void {
    removeDeeds(doers, this.doers, this.deeds);
  }

  /**
   * Enters, recurs once per tick until no deeds are left (done true) or the limit is
   * reached (done false), then exits. Rejects with a doer's error after closing the rest.
   */
  async do({ doers, limit, tyme, temp }: DoistDoOptions = {}): Promise<void> {
    if (this.#running) throw new Error(`doist ${this.name} is already running: await its do() before calling it again`);
    this.#running = true;
    try {
      await this.#run({ doers, limit, tyme, temp });
    } finally {
      this.#running = false;
    }
  }

  async #run({ doers, limit, tyme, temp }: DoistDoOptions): Promise<void> {
    this.done = false;
    if (doers !== undefined) {
      this.doers = [...doers];
      this.deeds = new DeedQueue();
    }
    if (limit !== undefined) this.limit = Math.abs(limit);
    if (tyme !== undefined) this.tyme = tyme;
    this.#runTemp = temp ?? null;
    this.#interrupted = false;
    const real = this.real;
    if (real) process.on("SIGINT", this.#onSigint);
    let failure: unknown = NONE;
    try {
      this.enter();
      const tymer = new Tymer({ tymth: this.tymen(), duration: this.limit ?? 0 });
      const start = performance.now();
      const tockMs = this.tock * 1000;
      for (let ticks = 1; ; ticks++) {
        this.recur();
        if (real) await this.#until(start + ticks * tockMs);
        else await this.#turn();
        if (this.#interrupted) break;
        if (this.deeds.length === 0) {
          this.done = true;
          break;
        }
        if (this.limit && tymer.expired) break;
      }
    } catch (error) {
      failure = error;
    }
    if (real) process.off("SIGINT", this.#onSigint);
    this.#runTemp = null;
    try {
      this.exit();
    } catch (error) {
      if (failure === NONE) failure = error;
    }
    if (failure !== NONE) throw failure;
  }

  #temp(): boolean {
    return this.#runTemp ?? this.temp;
  }

  /** One event-loop turn: I/O callbacks run, then the next tick. */
  #turn(): Promise<void> {
    const turned = new Promise<void>(this.#settle);
    immediate(this.#awake);
    return turned;
  }

  /**
   * Waits until `performance.now()` reaches `due` (one turn at least; none lost if late).
   * Timers cannot wait less than a millisecond, so the last quarter millisecond is spent in
   * event-loop turns: sub-millisecond tocks keep their pace (and keep a core busy).
   */
  async #until(due: number): Promise<void> {
    let remaining = due - performance.now();
    if (remaining <= 0) return this.#turn();
    while (remaining > 0 && !this.#interrupted) {
      if (remaining < Doist.Spin) {
        await this.#turn();
      } else {
        const waited = new Promise<void>(this.#settle);
        this.#timer = setTimeout(this.#awake, Math.ceil(remaining));
        await waited;
      }
      remaining = due - performance.now();
    }
  }
}
