/**
 * Composing doers in a Doist: three doers with different tocks share one tyme.
 * Run: npx tsx examples/doers-in-doist.ts
 */

import { Doer, Doist, doify, type DoOptions, type Dog, type EnterOptions } from "../src/base/doing.ts";
import type { Tymth } from "../src/base/tyming.ts";

const say = (tyme: number | null, who: string, what: string) =>
  console.log(`${String(tyme).padEnd(6)} ${who.padEnd(8)} ${what}`);

/** Prints the tyme at the start of every pass (it runs first, tock 0). */
class Ticker extends Doer {
  override recur(tyme: number): boolean {
    console.log(`-- tick at tyme ${tyme}`);
    return false;
  }
}

/** Blinks every tock until it has blinked `times` times, then is done. */
class Blinker extends Doer {
  count = 0;
  constructor(
    readonly label: string,
    readonly times: number,
    tock: number,
  ) {
    super({ tock });
  }
  override enter(_options: EnterOptions = {}): void {
    say(this.tyme, this.label, "enter");
  }
  override recur(tyme: number): boolean {
    this.count += 1;
    say(tyme, this.label, `blink ${this.count}`);
    return this.count >= this.times;
  }
  override clean(): void {
    say(this.tyme, this.label, "clean (done by itself)");
  }
  override cease(): void {
    say(this.tyme, this.label, "cease (forced closed)");
  }
  override exit(): void {
    say(this.tyme, this.label, "exit");
  }
}

/** A generator function doer: counts down, then returns true. */
function* countdown(tymth: Tymth, { tock = 0, from = 3 }: DoOptions & { from?: number } = {}): Dog {
  say(tymth(), "count", `enter at ${from}`);
  try {
    for (let left = from; left > 0; left--) {
      const tyme: number = yield tock;
      say(tyme, "count", `${left}…`);
    }
  } finally {
    say(tymth(), "count", "exit");
  }
  return true;
}

const doist = new Doist({ tock: 0.125, limit: 1 });
const fast = new Blinker("fast", 3, 0.125);
const slow = new Blinker("slow", 9, 0.25);
const count = doify(countdown, { name: "count", tock: 0.375, from: 2 });
await doist.do({ doers: [new Ticker(), fast, slow, count] });
console.log(`doist done ${doist.done} at tyme ${doist.tyme}; fast ${fast.done}, slow ${slow.done}, count ${count.done}`);
