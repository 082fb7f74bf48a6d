/**
 * A test in simulated tyme: drive a Doist by hand with enter/recur/exit and assert the
 * whole trace. Nothing waits on the clock, so it is exact and repeatable.
 * Run: npx tsx examples/simulated-test.ts
 */

import assert from "node:assert/strict";
import { Doer, Doist } from "../src/base/doing.ts";

type Trace = Array<[number | null, string]>;

/** A debouncer: reports a button press only once the input has been high for `hold` tyme. */
class Debouncer extends Doer {
  trace: Trace = [];
  #since: number | null = null;
  constructor(
    readonly input: { high: boolean },
    readonly hold: number,
  ) {
    super({ tock: 0.125 });
  }
  override recur(tyme: number): boolean {
    if (!this.input.high) {
      this.#since = null;
      return false;
    }
    this.#since ??= tyme;
    if (tyme - this.#since < this.hold) return false;
    this.trace.push([tyme, "pressed"]);
    return true;
  }
  override cease(): void {
    this.trace.push([this.tyme, "cease"]);
  }
}

const input = { high: false };
const debouncer = new Debouncer(input, 0.25);
const doist = new Doist({ tock: 0.125, doers: [debouncer] });
const levels = [false, true, false, true, true, true, true];

doist.enter();
for (const high of levels) {
  input.high = high;
  doist.recur();
  console.log(`tyme ${doist.tyme - doist.tock}: input ${high ? "high" : "low "} -> done ${debouncer.done}`);
}
doist.exit();

// a bounce (high for one tick) is ignored; held for two tocks it counts, at tyme 0.625
assert.deepEqual(debouncer.trace, [[0.625, "pressed"]]);
assert.equal(debouncer.done, true);
assert.equal(doist.deeds.length, 0);
console.log("ok: the trace is", JSON.stringify(debouncer.trace));
