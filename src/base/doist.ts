/**
 * Doist: hio's root scheduler. It keeps tyme, runs its doers' dogs once per tick in order,
 * and ticks either as fast as the event loop turns (simulated) or paced to the wall clock.
 */

import { setImmediate as immediate } from "node:timers";
import { Tymer, Tymist, type TymistOptions } from "./tyming.ts";
import { sleep, unsleep, wake, wakeCount } from "./waking.ts";
import { tyme } from "./options.ts";
import {
  DeedQueue,
  drainDeeds,
  dueOf,
  enterDeeds,
  exitDeeds,
  extendDeeds,
  recurDeeds,
  removeDeeds,
  deedTreeOf,
  type DeedNode,
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
  /** Real time: signals that stop a run cleanly (default SIGINT and SIGTERM; [] for none). */
  signals?: readonly NodeJS.Signals[];
  /**
   * Real time: seconds a stop signal leaves doers that can drain (servers) to finish what they
   * started before every doer is exited; a second signal ends it at once. 0: exit at once.
   */
  grace?: number;
}

/** Options of one `Doist.do()` run; each overrides the Doist's own for this run. */
export interface DoistDoOptions {
  /** Replaces `.doers` (and resets `.deeds`). */
  doers?: Iterable<DoerLike> | undefined;
  /** Stored as the Doist's limit (absolute value). */
  limit?: number | undefined;
  /** Starting tyme. */
  tyme?: number | undefined;
  /** Temp for the doers of this run. */
  temp?: boolean | undefined;
}

/** A Doist's deeds as `deedTree()` gives them, under its own name, tyme, tock and done. */
export interface DeedTree {
  name: string;
  tyme: number;
  tock: number;
  done: boolean | null;
  deeds: DeedNode[];
}

const NONE = Symbol("none");
/** Longest a timer can wait (Node clamps longer delays to 1 ms). */
const MaxDelay = 2 ** 31 - 1;

/**
 * Runs doers in tyme: enter, one recur pass per tick, exit. `do()` always exits what is
 * left, also on an error (rethrown) and, in real time, on a stop signal (then it resolves).
 *
 * Simulated (`real: false`): ticks run back to back, one tock of tyme apart, letting the event
 * loop turn between them. Real time (`real: true`): a tick runs when something is due, never
 * before: a deed's retyme, the pace of a doer that yields 0 (one tock), or an I/O `wake()`. In
 * between the Doist sleeps on a timer, so an idle server costs nothing. Tyme follows the wall
 * clock on the tock grid: it never goes backwards and never runs ahead of the wall clock.
 *
 * @example
 * const doist = new Doist({ tock: 1 / 32, limit: 1 });
 * await doist.do({ doers: [new Doer()] });
 */
export class Doist extends Tymist {
  /** Real time: waits shorter than this many milliseconds are spent in event-loop turns. */
  static Spin = 0.25;
  /** Real time: the signals that stop a run cleanly unless `signals` says otherwise. */
  static Signals: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

  name: string;
  real: boolean;
  limit: number | null;
  /** null until `do()`; then false, true once every deed finished by itself. */
  done: boolean | null = null;
  doers: DoerLike[];
  deeds: DeedQueue = new DeedQueue();
  temp: boolean;
  /** Signals that stop a real-time run (every doer's exit runs, then `do()` resolves). */
  signals: readonly NodeJS.Signals[];
  /** Seconds a stop signal gives draining doers before they are exited (see DoerLike.drain). */
  grace: number;
  /** Default grace: 10 s, inside the 30 s most process managers wait before they kill. */
  static Grace = 10;
  /** Passes run by the current or last `do()`. */
  ticks = 0;
  #runTemp: boolean | null = null;
  #wake: (() => void) | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = Infinity; // performance.now() the timer fires at
  #interrupted = false;
  #draining = -1; // performance.now() by which a graceful stop must end; -1 while not stopping
  #running = false;
  // made once so a tick's wait allocates only its promise and timer
  readonly #settle = (resolve: () => void): void => {
    this.#wake = resolve;
  };
  readonly #awake = (): void => {
    const wake = this.#wake;
    this.#wake = null;
    if (wake !== null) wake();
  };
  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#timerAt = Infinity;
    this.#awake();
  };
  // an I/O wake while asleep: tick once the callbacks of this event-loop turn are in (the
  // timer stays armed for the next sleep: re-arming it on every request costs more than it saves)
  readonly #onWake = (): void => {
    immediate(this.#awake);
  };
  readonly #onSignal = (): void => {
    if (this.#draining < 0 && this.grace > 0 && [...this.deeds].some((deed) => deed.doer.drain !== undefined)) {
      this.#draining = performance.now() + this.grace * 1000; // a graceful stop first
    } else {
      this.#interrupted = true; // no one to drain, or a second signal: stop now
    }
    unsleep(this.#onWake);
    this.#awake();
  };

  constructor({
    name = "doist",
    real = false,
    limit = null,
    doers = [],
    temp = false,
    signals = Doist.Signals,
    grace = Doist.Grace,
    ...tyming
  }: DoistOptions = {}) {
    super(tyming);
    this.name = name;
    this.real = real;
    this.limit = limit === null ? null : Math.abs(limit);
    this.doers = [...doers];
    this.temp = temp;
    this.signals = [...signals];
    this.grace = tyme("grace", grace);
  }

  /** Makes a sleeping real-time run tick at once (any Doist's: see `wake()` in waking.ts). */
  wake(): void {
    wake();
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
    wake(); // a sleeping real-time run takes them at once
  }

  /** Removes doers from `.doers` and force-closes their deeds; others keep their order. */
  remove(doers: Iterable<DoerLike>): void {
    removeDeeds(doers, this.doers, this.deeds);
    wake(); // a sleeping real-time run may have nothing left: it ends at once
  }

  /**
   * The deeds running now as a tree of plain objects: for each, its doer's name, tock, retyme
   * and done, front to back (the order of the next pass); a DoDoer's own deeds nested in its.
   * A doer that has returned is no longer a deed, so it is not listed.
   */
  deedTree(): DeedTree {
    return { name: this.name, tyme: this.tyme, tock: this.tock, done: this.done, deeds: deedTreeOf(this.deeds) };
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
    this.#draining = -1;
    this.ticks = 0;
    const real = this.real;
    const signals = real ? this.signals : [];
    for (const signal of signals) process.on(signal, this.#onSignal);
    let failure: unknown = NONE;
    try {
      this.enter();
      if (real) await this.#runReal();
      else await this.#runSimulated();
    } catch (error) {
      failure = error;
    }
    for (const signal of signals) process.off(signal, this.#onSignal);
    unsleep(this.#onWake);
    this.#disarm();
    this.#runTemp = null;
    try {
      this.exit();
    } catch (error) {
      if (failure === NONE) failure = error;
    }
    if (failure !== NONE) throw failure;
  }

  /** Ticks back to back, one tock apart, turning the event loop in between. */
  async #runSimulated(): Promise<void> {
    const tymer = new Tymer({ tymth: this.tymen(), duration: this.limit ?? 0 });
    for (;;) {
      this.recur();
      this.ticks += 1;
      await this.#turn();
      if (this.deeds.length === 0) {
        this.done = true;
        break;
      }
      if (this.limit && tymer.expired) break;
    }
  }

  /**
   * Ticks when something is due, sleeping in between. Each pass runs at the latest tyme on the
   * tock grid not ahead of the wall clock, but not past the earliest due tyme (so late ticks
   * catch up one retyme at a time, without drift). A deed that yields 0 runs on every tick.
   */
  async #runReal(): Promise<void> {
    const tock = this.tock;
    const base = this.tyme;
    const started = performance.now();
    const stop = this.limit ? base + (tock > 0 ? Math.ceil(this.limit / tock) * tock : this.limit) : Infinity;
    // the tyme on the tock grid the wall clock has reached
    const wall = (): number => {
      const elapsed = (performance.now() - started) / 1000;
      return base + (tock > 0 ? Math.floor(elapsed / tock) * tock : elapsed);
    };
    const wallMs = (at: number): number => started + (at - base) * 1000;
    for (;;) {
      const tyme = this.tyme;
      const wakes = wakeCount();
      recurDeeds(this.deeds, tyme, 0);
      this.ticks += 1;
      if (this.#interrupted) break;
      if (this.#draining >= 0 && (drainDeeds(this.deeds) || performance.now() >= this.#draining)) break;
      if (this.deeds.length === 0) {
        this.done = true;
        await this.#until(wallMs(tyme + tock));
        this.tyme = tyme + tock;
        return;
      }
      let due = Math.min(dueOf(this.deeds, tyme, tyme + tock), stop);
      if (this.#draining >= 0) due = Math.min(due, base + (this.#draining - started) / 1000); // the grace's end
      if (wakeCount() === wakes) await this.#until(wallMs(due), wakes);
      else await this.#turn();
      if (this.#interrupted) break;
      // Late ticks catch up one retyme at a time; work due now (or woken) runs at the wall's tyme,
      // so a doer that stays busy tick after tick never freezes tyme.
      const next = Math.max(tyme, due > tyme ? Math.min(wall(), due) : wall());
      if (next >= stop) {
        await this.#until(wallMs(stop));
        this.tyme = stop;
        return;
      }
      this.tyme = next;
    }
    this.tyme = Math.max(this.tyme, wall()); // stopped by a signal
  }

  #temp(): boolean {
    return this.#runTemp ?? this.temp;
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  /** One event-loop turn: I/O callbacks run, then the next tick. */
  #turn(): Promise<void> {
    const turned = new Promise<void>(this.#settle);
    immediate(this.#awake);
    return turned;
  }

  /**
   * Waits until `performance.now()` reaches `due` (one turn at least), or, when `wakes` is
   * given, until a `wake()` after that count; a stop signal ends the wait either way. Timers
   * cannot wait less than a millisecond, so the last quarter millisecond is spent in event-loop
   * turns: sub-millisecond tocks keep their pace (and keep a core busy).
   */
  async #until(due: number, wakes?: number): Promise<void> {
    let remaining = due - performance.now();
    if (remaining <= 0) return this.#turn();
    const draining = this.#draining; // a stop signal that starts a drain ends the wait too
    while (remaining > 0 && !this.#interrupted && this.#draining === draining && (wakes === undefined || wakeCount() === wakes)) {
      if (remaining < Doist.Spin) {
        await this.#turn();
      } else {
        const waited = new Promise<void>(this.#settle);
        // A timer armed for a sleep before this one and not later than `due` is kept: when it
        // fires early the loop finds time remaining and sleeps again.
        if (this.#timer === null || this.#timerAt > due) {
          this.#disarm();
          const delay = Math.min(Math.ceil(remaining), MaxDelay);
          this.#timer = setTimeout(this.#onTimer, delay);
          this.#timerAt = performance.now() + delay;
        }
        if (wakes !== undefined) sleep(this.#onWake);
        await waited;
        unsleep(this.#onWake);
      }
      remaining = due - performance.now();
    }
  }
}
