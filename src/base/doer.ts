/**
 * Doers: hio's cooperative coroutines. A Doer's `do()` returns its dog, a generator whose
 * contexts (enter, recur, clean, cease, abort, exit) are the Doer's lifecycle methods.
 * doify and doize make plain generator functions schedulable the same way.
 */

import { Tymee, type Tymth } from "./tyming.ts";
import type { DoFn, DoOptions, DoOpts, DoerLike, Dog } from "./deeding.ts";

export interface DoerOptions {
  /** Tymth of the tymist to follow before a scheduler winds this doer. */
  tymth?: Tymth | null;
  /** Desired tyme between runs; 0 means as soon as possible. Stored as its absolute value. */
  tock?: number;
  /** Extra options a scheduler injects into `do()`. */
  opts?: DoOpts;
  /** True asks for temporary resources. */
  temp?: boolean;
}

/** What `enter()` receives: whether to use temporary resources. */
export interface EnterOptions {
  temp?: boolean;
}

/** How a dog's try ended: still "cease" in `finally` means it was forced closed. */
type Ending = "cease" | "clean" | "abort";

const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor as Function;

/**
 * A doer with lifecycle methods to override. Its dog runs them in hio's context orders:
 * enter, recur…, clean, exit (recur returned true) · enter, recur…, cease, exit (forced:
 * `dog.return()`) · enter, recur…, abort, exit (an error, rethrown) · enter, abort, exit.
 * When `recur` is a generator method (see ReDoer) the dog delegates to it with `yield*`.
 */
export class Doer extends Tymee implements DoerLike {
  /** null before a run, false once entered, true when recur reported done. */
  done: boolean | null = null;
  opts: DoOpts;
  temp: boolean;
  /** True keeps the dog recurring after done until forced closed (DoDoer's always). */
  protected keep = false;
  #tock = 0;

  constructor({ tymth = null, tock = 0, opts = {}, temp = false }: DoerOptions = {}) {
    super({ tymth });
    this.tock = tock;
    this.opts = opts;
    this.temp = temp;
  }

  /** Desired tyme between runs; 0 means as soon as possible. Always non-negative. */
  get tock(): number {
    return this.#tock;
  }

  set tock(tock: number) {
    this.#tock = Math.abs(tock);
  }

  /**
   * Returns this doer's dog: winds to `tymth`, takes `tock`, runs enter on the first
   * `next()` and yields the tock; each `next(tyme)` runs recur; returns done.
   */
  *do(tymth: Tymth, { tock = 0, temp }: DoOptions & DoOpts = {}): Dog {
    let ending: Ending = "cease";
    try {
      this.wind(tymth);
      this.tock = tock;
      this.done = false;
      this.enter({ temp: temp ?? this.temp });
      if (this.recur instanceof GeneratorFunction) {
        const done = yield* (this.recur(this.tock) as Dog);
        this.done = done ?? false;
      } else {
        while (!this.done || this.keep) {
          const tyme: number = yield this.tock;
          this.done = this.recur(tyme) === true;
        }
      }
      ending = "clean";
    } catch (error) {
      ending = "abort";
      this.abort(error);
      throw error;
    } finally {
      try {
        if (ending === "clean") this.clean();
        else if (ending === "cease") this.cease();
      } finally {
        this.exit();
      }
    }
    return this.done;
  }

  /** Enter context: set up resources. `temp` asks for temporary ones. */
  enter(_options: EnterOptions = {}): void {}

  /**
   * Recur context, once per run: return true when done. A subclass may make this a
   * generator method taking the tock; the dog then delegates to it and its return is done.
   */
  recur(_tyme: number): boolean | Dog {
    return false;
  }

  /** Clean context: after recur reported done, before exit. */
  clean(): void {}

  /** Cease context: the dog was forced closed (hio's close), before exit. */
  cease(): void {}

  /** Abort context: an error ended the dog; it is rethrown after exit. */
  abort(_error: unknown): void {}

  /** Exit context: release resources; runs after every ending. */
  exit(): void {}
}

/**
 * hio's example of a generator `recur`: yields its tock three times, then returns true.
 * Subclass it and override `recur` with your own generator method.
 */
export class ReDoer extends Doer {
  override *recur(_tock: number): Dog {
    let count = 0;
    for (;;) {
      yield this.tock; // resumes with the tyme
      count += 1;
      if (count >= 3) return true;
    }
  }
}

/** Options of doify: the doer's name, tock and temp; the rest become its opts. */
export interface DoifyOptions {
  name?: string;
  tock?: number;
  temp?: boolean;
}

/** A doer made by doify: a fresh object per call around a generator function. */
export interface Doified<P extends object = DoOpts> extends DoerLike {
  readonly name: string;
  temp: boolean;
  opts: P;
  do(tymth: Tymth, options?: DoOptions & DoOpts): Dog;
}

/** The options of a generator function besides tock and temp: what doify keeps as opts. */
export type OptsOf<O extends DoOptions> = Omit<O, keyof DoOptions>;

/**
 * Makes a new doer from a generator function `fn(tymth, { tock, temp, ...opts })`:
 * done null, tock as given (0: as soon as possible), temp false unless given, opts the
 * remaining options as a fresh object. Each call gives a distinct doer; pass a bound
 * function to doify a method.
 */
export function doify<O extends DoOptions>(
  fn: DoFn<O>,
  options?: DoifyOptions & NoInfer<OptsOf<O>>,
): Doified<OptsOf<O>> {
  const { name, tock = 0, temp = false, ...opts } = options ?? ({} as DoifyOptions);
  return {
    name: name ?? fn.name,
    done: null,
    tock,
    temp,
    opts: { ...opts } as OptsOf<O>,
    do(tymth: Tymth, given: DoOptions & DoOpts = {}): Dog {
      return fn(tymth, given as O);
    },
  };
}

/** A generator function given the doer fields by doize; it stays callable. */
export type Doized<F extends DoFn<any>> = F & DoerLike & { opts: DoOpts; temp: boolean };

/**
 * Returns a decorator that gives a generator function itself the doer fields (done null,
 * tock, temp, opts) so a Doist or DoDoer runs it directly. There is one set of fields per
 * function: every use of that function shares them (hio's caveat for doized methods).
 */
export function doize({ tock = 0, temp = false, ...opts }: DoifyOptions & DoOpts = {}) {
  return <F extends DoFn<any>>(fn: F): Doized<F> => {
    const doer = fn as Doized<F>;
    doer.done = null;
    doer.tock = tock;
    doer.temp = temp;
    doer.opts = { ...opts };
    doer.do = fn;
    return doer;
  };
}
