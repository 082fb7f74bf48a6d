/**
 * Deeds: the scheduling core shared by Doist and DoDoer. A deed is one running doer:
 * its dog (generator), the tyme it should run next (retyme) and the doer it came from.
 * Both schedulers enter, recur, exit, extend and remove deeds with the functions here,
 * so the retyme rules live in one place.
 */

import type { Tymth } from "./tyming.ts";

/**
 * A doer's generator: yields its tock (falsy: run again on the next pass), resumes with
 * the tyme through `next(tyme)`, returns its done state.
 */
export type Dog = Generator<number | undefined, boolean | undefined, number>;

/** What a scheduler passes to `doer.do(tymth, options)`: the doer's tock, temp and opts. */
export interface DoOptions {
  /** Desired tyme between runs; 0 means as soon as possible. */
  tock?: number;
  /** True asks the doer to use temporary resources (files, databases). */
  temp?: boolean;
}

/** Extra options a doer carries in `opts` and a scheduler injects into its `do()`. */
export type DoOpts = Record<string, unknown>;

/** A generator function a scheduler can run: `fn(tymth, { tock, temp, ...opts })`. */
export type DoFn<O extends DoOptions = DoOptions & DoOpts> = (tymth: Tymth, options?: O) => Dog;

/**
 * Anything a Doist or DoDoer can schedule: a Doer, a doified or a doized generator function.
 * `done` is null before a run, then false once entered and true when its dog returned true.
 */
export interface DoerLike {
  done: boolean | null;
  tock: number;
  temp?: boolean;
  opts?: object;
  do(tymth: Tymth, options: DoOptions & DoOpts): Dog;
  /**
   * Optional: the earliest tyme at which this doer has work of its own, asked by a real-time
   * Doist that wants to sleep while this doer's dog yields 0. Infinity: nothing until an I/O
   * wake (see `wake()`); at or before the present tyme: work now. `pace` is the tyme a doer
   * without this method is next run at (the next tock). Simulated runs never ask.
   */
  due?(pace: number): number;
  /**
   * Optional: asked once per tick while a real-time Doist stops gracefully (a first SIGTERM or
   * SIGINT): finish what was started, take nothing new, and return true once nothing is left.
   * The Doist exits every doer when all say so, or when its grace runs out.
   */
  drain?(): boolean;
}

/** One running doer: its dog, the tyme it runs next, and the doer whose done it reports. */
export interface Deed {
  dog: Dog;
  retyme: number;
  doer: DoerLike;
}

/**
 * hio's deque of deeds: a ring buffer with push/shift at the ends, so a scheduler pass
 * moves each deed from front to back without allocating. Iteration gives front to back.
 * `pending` counts the deeds at the front not yet visited by the pass in progress, which
 * lets `removeDeeds` edit the queue from inside a running doer.
 */
export class DeedQueue implements Iterable<Deed> {
  /** Deeds at the front still to visit in the current pass (0 outside a pass). */
  pending = 0;
  /** The deed being recurred, out of the queue while its doer runs (null outside a pass). */
  current: Deed | null = null;
  #ring: (Deed | undefined)[];
  #mask: number;
  #head = 0;
  #size = 0;

  constructor(deeds: Iterable<Deed> = []) {
    this.#ring = new Array<Deed | undefined>(16).fill(undefined);
    this.#mask = 15;
    for (const deed of deeds) this.push(deed);
  }

  get length(): number {
    return this.#size;
  }

  /** Appends a deed at the back. */
  push(deed: Deed): void {
    if (this.#size > this.#mask) this.#grow();
    this.#ring[(this.#head + this.#size) & this.#mask] = deed;
    this.#size += 1;
  }

  /** Removes and returns the front deed (undefined when empty). */
  shift(): Deed | undefined {
    if (this.#size === 0) return undefined;
    const deed = this.#ring[this.#head];
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size -= 1;
    return deed;
  }

  /** Removes and returns the back deed (undefined when empty). */
  pop(): Deed | undefined {
    if (this.#size === 0) return undefined;
    this.#size -= 1;
    const i = (this.#head + this.#size) & this.#mask;
    const deed = this.#ring[i];
    this.#ring[i] = undefined;
    if (this.pending > this.#size) this.pending = this.#size;
    return deed;
  }

  /** The deed at index `i` from the front (negative counts from the back). */
  at(i: number): Deed | undefined {
    const j = i < 0 ? this.#size + i : i;
    return j >= 0 && j < this.#size ? this.#ring[(this.#head + j) & this.#mask] : undefined;
  }

  /** Drops every deed without closing its dog. */
  clear(): void {
    this.#ring.fill(undefined);
    this.#head = 0;
    this.#size = 0;
    this.pending = 0;
  }

  /** The deeds front to back, as a new array. */
  toArray(): Deed[] {
    return [...this];
  }

  *[Symbol.iterator](): Iterator<Deed> {
    for (let i = 0; i < this.#size; i++) yield this.#ring[(this.#head + i) & this.#mask] as Deed;
  }

  #grow(): void {
    const old = this.#ring;
    const ring = new Array<Deed | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.#size; i++) ring[i] = old[(this.#head + i) & this.#mask];
    this.#ring = ring;
    this.#mask = ring.length - 1;
    this.#head = 0;
  }
}

/** Sets done from a dog's return value; hio keeps the old done when it is null. */
function settle(doer: DoerLike, value: boolean | undefined | null): void {
  if (value !== undefined && value !== null) doer.done = value;
}

/**
 * Enters each doer: done = false, makes its dog with the given tymth, its tock, temp and
 * opts, and runs it to its first yield. A dog that returns at once is not scheduled;
 * the others are appended to `deeds` due now. Returns `deeds`.
 * `temp` true makes every doer temp; otherwise each doer's own temp is passed.
 */
export function enterDeeds(
  doers: Iterable<DoerLike>,
  deeds: DeedQueue,
  tymth: Tymth,
  temp: boolean,
): DeedQueue {
  for (const doer of doers) {
    doer.done = false;
    const dog = doer.do(tymth, { ...doer.opts, tock: doer.tock, temp: temp || doer.temp === true });
    const result = dog.next();
    if (result.done) {
      settle(doer, result.value);
      continue;
    }
    deeds.push({ dog, retyme: tymth(), doer });
  }
  return deeds;
}

/**
 * Runs one pass over `deeds` in order. A deed whose retyme has come gets `next(tyme)`;
 * a returned dog sets its doer's done and leaves the queue; a falsy yielded tock reruns
 * at `tyme + tock`, a positive one at the old retyme plus that tock (no drift). Deeds
 * not due keep their place. Deeds added during the pass wait for the next one.
 * An error from a dog propagates; that deed is gone and the others keep their order.
 */
export function recurDeeds(deeds: DeedQueue, tyme: number, tock: number): void {
  deeds.pending = deeds.length;
  try {
    while (deeds.pending > 0) {
      deeds.pending -= 1;
      const deed = deeds.shift() as Deed;
      if (deed.retyme <= tyme) {
        deeds.current = deed;
        const result = deed.dog.next(tyme);
        deeds.current = null;
        if (result.done) {
          settle(deed.doer, result.value);
          continue;
        }
        const next = result.value;
        deed.retyme = next ? deed.retyme + next : tyme + tock;
      }
      deeds.push(deed);
    }
  } catch (error) {
    deeds.current = null;
    // restore queue order: the unvisited deeds went first before the pass began
    for (; deeds.pending > 0; deeds.pending -= 1) deeds.push(deeds.shift() as Deed);
    throw error;
  }
}

/**
 * The earliest tyme at which any deed needs a pass, for a scheduler that may sleep: a deed
 * waiting for its retyme is due then; one that runs on every pass (it yielded 0) is due when
 * its doer says (`due(pace)`), or at `pace` when the doer cannot tell. Infinity when nothing is
 * due until a wake.
 */
export function dueOf(deeds: DeedQueue, tyme: number, pace: number): number {
  let due = Infinity;
  for (const deed of deeds) {
    const next = deed.retyme > tyme ? deed.retyme : deed.doer.due === undefined ? pace : deed.doer.due(pace);
    if (next < due) due = next;
  }
  return due;
}

/** One drain step of every deed's doer that can drain (see DoerLike.drain); true when all are done. */
export function drainDeeds(deeds: DeedQueue): boolean {
  let drained = true;
  for (const deed of deeds) if (deed.doer.drain !== undefined && !deed.doer.drain()) drained = false;
  return drained;
}

/**
 * Force-closes every deed, newest first, so exits nest inside enters (enter A, B, C;
 * exit C, B, A). A dog that returns a value while closing sets its done; otherwise done
 * stays. All deeds are closed even if one throws; then the first error is rethrown.
 */
export function exitDeeds(deeds: DeedQueue): void {
  let failed = false;
  let failure: unknown;
  for (let deed = deeds.pop(); deed !== undefined; deed = deeds.pop()) {
    try {
      const result = deed.dog.return(undefined);
      if (result.done) settle(deed.doer, result.value);
    } catch (error) {
      if (!failed) failure = error;
      failed = true;
    }
  }
  if (failed) throw failure;
}

/**
 * Enters the doers not yet in `doers` and appends them to `doers` and their deeds to
 * `deeds`. If one fails to enter, the ones entered before it are closed, then it throws.
 */
export function extendDeeds(
  add: Iterable<DoerLike>,
  doers: DoerLike[],
  deeds: DeedQueue,
  tymth: Tymth,
  temp: boolean,
): void {
  const fresh = [...new Set(add)].filter((doer) => !doers.includes(doer));
  const entered = new DeedQueue();
  try {
    enterDeeds(fresh, entered, tymth, temp);
  } catch (error) {
    exitDeeds(entered);
    throw error;
  }
  doers.push(...fresh);
  for (let deed = entered.shift(); deed !== undefined; deed = entered.shift()) deeds.push(deed);
}

/**
 * Removes the given doers that are in `doers`: their deeds leave `deeds` (the others keep
 * their order, also mid-pass) and are force-closed, newest first. A doer removing itself
 * from inside its own run has no deed queued, so it keeps running until it returns.
 */
export function removeDeeds(remove: Iterable<DoerLike>, doers: DoerLike[], deeds: DeedQueue): void {
  const gone = new Set<DoerLike>();
  for (const doer of remove) if (doers.includes(doer)) gone.add(doer);
  if (gone.size === 0) return;
  const closing = new DeedQueue();
  const unvisited = deeds.pending;
  let pending = unvisited;
  for (let i = 0, n = deeds.length; i < n; i++) {
    const deed = deeds.shift() as Deed;
    if (gone.has(deed.doer)) {
      closing.push(deed);
      if (i < unvisited) pending -= 1;
    } else {
      deeds.push(deed);
    }
  }
  deeds.pending = pending;
  for (const doer of gone) doers.splice(doers.indexOf(doer), 1);
  exitDeeds(closing);
}

/** One deed as a Doist's `deedTree()` shows it. */
export interface DeedNode {
  /** The doer's name: a doified or doized function's, a doer's own `name`, else its class's. */
  name: string;
  tock: number;
  /** The tyme at which the deed runs next. */
  retyme: number;
  done: boolean | null;
  /** Present on a doer that schedules deeds of its own (a DoDoer): those, front to back. */
  deeds?: DeedNode[];
}

/** The deeds front to back as plain objects, a scheduling doer's (a DoDoer's) deeds nested in its own. */
export function deedTreeOf(deeds: DeedQueue): DeedNode[] {
  const out: DeedNode[] = [];
  let order: Iterable<Deed> = deeds;
  if (deeds.pending > 0 || deeds.current !== null) {
    // Asked during a pass (by a doer): the queue holds the unvisited deeds, then the visited
    // ones, and the running one is out of it. Listed in the order the pass began with.
    const queued = [...deeds];
    const visited = queued.slice(deeds.pending);
    order = [...visited, ...(deeds.current === null ? [] : [deeds.current]), ...queued.slice(0, deeds.pending)];
  }
  for (const { doer, retyme } of order) {
    const node: DeedNode = { name: doerName(doer), tock: doer.tock, retyme, done: doer.done };
    const own = (doer as { deeds?: unknown }).deeds;
    if (own instanceof DeedQueue) node.deeds = deedTreeOf(own);
    out.push(node);
  }
  return out;
}

/** A doer's name: its own `name` (doify's, a doized function's), else its class's. */
function doerName(doer: DoerLike): string {
  const name = Object.hasOwn(doer, "name") ? (doer as { name?: unknown }).name : undefined;
  if (typeof name === "string") return name === "" ? "(anonymous)" : name;
  return doer.constructor.name;
}
