/**
 * runUntil: runs doers in simulated tyme until a condition holds, every doer is done, or a tyme
 * limit comes, the way a test wants it: bounded, with the tyme it stopped at.
 */
import { setImmediate as immediate } from "node:timers";
import type { DoerLike } from "../base/deeding.ts";
import { Doist } from "../base/doist.ts";
import { Tymist } from "../base/tyming.ts";
import { tyme as checkTyme } from "../base/options.ts";
import type { Trace } from "./tracing.ts";

export interface RunOptions {
  /** Checked before each tick; the run stops once it returns true. */
  until?: () => boolean;
  /** Tyme the run may take (from its start): no tick runs at or past start + limit. */
  limit: number;
  /** Tyme per tick; default Tymist.Tock (1/32). Ignored when `doist` is given. */
  tock?: number;
  /** Tyme of the first tick; default the doist's tyme (0 for a new one). */
  tyme?: number;
  /** Run on this Doist (its tock, its tymth already given out) instead of a new one. */
  doist?: Doist;
  /** Wound to the run's clock, so `trace.note()` stamps with the tyme of the tick. */
  trace?: Trace;
}

export interface Run {
  /** Tyme of the last tick run (the start when none ran). */
  tyme: number;
  /** Ticks run. */
  ticks: number;
  /** `until` held. */
  met: boolean;
  /** Every doer finished by itself. */
  done: boolean;
  /** The Doist that ran, its tyme one tock past the last tick. */
  doist: Doist;
  /** The trace given, if any. */
  trace?: Trace;
}

const turn = (): Promise<void> => new Promise((resolve) => immediate(resolve));

/**
 * Enters `doers` in a simulated Doist, then ticks (turning the event loop between ticks, so
 * promises and streams move on as under `Doist.do()`) until `until()` holds, no doer is left, or
 * the limit, and exits whatever is left. A doer's error exits the rest, then rejects the run.
 * @example
 * const peer = new Peer({ network, send: "GET / HTTP/1.1\r\nHost: a\r\n\r\n" });
 * const run = await runUntil([new http.ServerDoer({ server }), peer], { until: () => peer.closed, limit: 5 });
 */
export async function runUntil(doers: Iterable<DoerLike>, options: RunOptions): Promise<Run> {
  const { until, limit, tock = Tymist.Tock, tyme, trace } = options;
  checkTyme("runUntil limit", limit);
  const doist = options.doist ?? new Doist({ tock: checkTyme("runUntil tock", tock, { min: 0, inclusive: false }) });
  if (tyme !== undefined) doist.tyme = tyme;
  const start = doist.tyme;
  const stop = start + limit;
  trace?.wind(doist.tymen());
  const deeds = doist.enter(doers);
  let ticks = 0;
  let last = start;
  let met = false;
  let done = false;
  try {
    for (;;) {
      if (until?.()) {
        met = true;
        break;
      }
      if (deeds.length === 0) {
        done = true;
        break;
      }
      if (doist.tyme >= stop) break;
      last = doist.tyme;
      doist.recur(deeds);
      ticks += 1;
      await turn();
    }
  } finally {
    doist.exit(deeds);
  }
  const run: Run = { tyme: last, ticks, met, done, doist };
  if (trace !== undefined) run.trace = trace;
  return run;
}
