/**
 * hio's example doers, kept for tests and demos: each records a trace of
 * [tyme, context] pairs so a run can be asserted or printed tick by tick.
 */

import type { Tymth } from "./tyming.ts";
import type { DoOptions, Dog } from "./deeding.ts";
import { Doer, type DoerOptions, type EnterOptions } from "./doer.ts";

/** What happened when: [tyme, context] with context enter, recur, clean, cease, abort, exit. */
export type Trace = Array<[tyme: number | null, context: string]>;

/** hio's ExDoer: records enter, recur, cease, abort, exit; done on its fourth recur. */
export class ExDoer extends Doer {
  trace: Trace = [];
  count: number | null = null;
  /** The error its abort context saw, if any. */
  error: unknown = null;
  /** Recurs needed to be done: done once count exceeds it. */
  stop: number;

  constructor({ stop = 3, ...options }: DoerOptions & { stop?: number } = {}) {
    super(options);
    this.stop = stop;
  }

  override enter(_options: EnterOptions = {}): void {
    this.count = 0;
    this.trace.push([this.tyme, "enter"]);
  }

  override recur(_tyme: number): boolean {
    this.count = (this.count ?? 0) + 1;
    this.trace.push([this.tyme, "recur"]);
    return this.count > this.stop;
  }

  override cease(): void {
    this.count = (this.count ?? 0) + 1;
    this.trace.push([this.tyme, "cease"]);
  }

  override abort(error: unknown): void {
    this.count = (this.count ?? 0) + 1;
    this.error = error;
    this.trace.push([this.tyme, "abort"]);
  }

  override exit(): void {
    this.count = (this.count ?? 0) + 1;
    this.trace.push([this.tyme, "exit"]);
  }
}

/** hio's TryDoer: an ExDoer done once its count exceeds `stop` (default 3). */
export class TryDoer extends ExDoer {}

/** Options of exDo: a trace to record into (a fresh one when null). */
export interface ExDoOptions extends DoOptions {
  states?: Trace | null;
}

/**
 * hio's doifyExDo as a generator function: records enter, recur, cease, abort, exit into
 * `states` and returns true on its fourth recur.
 */
export function* exDo(tymth: Tymth, { tock = 0, states = null }: ExDoOptions = {}): Dog {
  const trace = states ?? [];
  let ending: "cease" | "clean" | "abort" = "cease";
  let count = 0;
  try {
    trace.push([tymth(), "enter"]);
    while (count <= 3) {
      yield tock; // resumes with the tyme
      count += 1;
      trace.push([tymth(), "recur"]);
    }
    ending = "clean";
  } catch (error) {
    ending = "abort";
    trace.push([tymth(), "abort"]);
    throw error;
  } finally {
    if (ending === "cease") trace.push([tymth(), "cease"]);
    trace.push([tymth(), "exit"]);
  }
  return true;
}
