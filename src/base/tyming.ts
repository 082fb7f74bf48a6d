/**
 * Tyme: cycle time as a number of seconds, kept by a Tymist and read by Tymees through
 * an injected closure (a tymth), so one clock drives a whole tree of doers.
 */

/** A read-only view of a Tymist's live tyme: `tymist.tymen()` returns one. */
export type Tymth = () => number;

export interface TymistOptions {
  /** Starting tyme in seconds. */
  tyme?: number;
  /** Increment of one `tick()` in seconds. */
  tock?: number;
}

/** Keeps tyme and advances it one tock per tick. */
export class Tymist {
  /** Default tock: 1/32 s, exact in binary floating point. */
  static readonly Tock = 0.03125;

  tyme: number;
  #tock: number;

  constructor({ tyme = 0, tock = Tymist.Tock }: TymistOptions = {}) {
    this.tyme = tyme;
    this.#tock = Math.abs(tock);
  }

  /** Tick increment in seconds; always stored as its absolute value, like hio. */
  get tock(): number {
    return this.#tock;
  }

  set tock(tock: number) {
    this.#tock = Math.abs(tock);
  }

  /** Advances tyme by `tock` once (default: this tymist's tock) and returns the new tyme. */
  tick(tock?: number): number {
    this.tyme += tock === undefined ? this.#tock : tock;
    return this.tyme;
  }

  /** Returns a closure that reads this tymist's current tyme. */
  tymen(): Tymth {
    return () => this.tyme;
  }
}

export interface TymeeOptions {
  tymth?: Tymth | null | undefined;
}

/** Something that reads tyme through an injected tymth; tyme is null until wound. */
export class Tymee {
  #tymth: Tymth | null;

  constructor({ tymth = null }: TymeeOptions = {}) {
    this.#tymth = tymth;
  }

  get tymth(): Tymth | null {
    return this.#tymth;
  }

  /** Current tyme of the tymist this tymee is wound to, or null when it is not wound. */
  get tyme(): number | null {
    return this.#tymth === null ? null : this.#tymth();
  }

  /** Injects a tymth so this tymee follows that tymist from now on. */
  wind(tymth: Tymth | null): void {
    this.#tymth = tymth;
  }
}

export interface TymerOptions extends TymeeOptions {
  /** Period in seconds from start to stop. */
  duration?: number;
  /** Start tyme; defaults to the current tyme (0 when not wound). */
  start?: number;
}

/**
 * Measures a period of tyme: expired once tyme reaches start + duration.
 * A 0-duration tymer is expired at once. Winding restarts it at the new base.
 */
export class Tymer extends Tymee {
  #start = 0;
  #stop = 0;

  constructor({ tymth = null, duration = 0, start }: TymerOptions = {}) {
    super({ tymth });
    this.start({ duration, start });
  }

  /** Current tyme, or 0 when not wound (hio starts an unwound tymer at 0). */
  #now(): number {
    return this.tyme ?? 0;
  }

  get duration(): number {
    return this.#stop - this.#start;
  }

  get elapsed(): number {
    return this.#now() - this.#start;
  }

  get remaining(): number {
    return this.#stop - this.#now();
  }

  get expired(): boolean {
    return this.#now() >= this.#stop;
  }

  /** The tyme the current period started at. */
  get started(): number {
    return this.#start;
  }

  /** The tyme the current period stops at. */
  get stop(): number {
    return this.#stop;
  }

  /**
   * Starts a period of `duration` (default: the current duration) at `start`
   * (default: now) and returns the start tyme. Past and future starts are allowed.
   */
  start({ duration, start }: { duration?: number | undefined; start?: number | undefined } = {}): number {
    const period = duration === undefined ? this.duration : duration;
    this.#start = start === undefined ? this.#now() : start;
    this.#stop = this.#start + period;
    return this.#start;
  }

  /**
   * Starts the next period at the old stop, not now, so no tyme is lost between periods.
   * Returns the new start.
   */
  restart(duration?: number): number {
    return this.start({ duration, start: this.#stop });
  }

  /** Winds to a new tymist and restarts there with the same duration. */
  override wind(tymth: Tymth | null): void {
    super.wind(tymth);
    this.start();
  }
}
