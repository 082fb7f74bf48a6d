/**
 * A DoDoer tree: a house DoDoer runs a kitchen DoDoer and a garden doer; the kitchen runs
 * two cooks. Enters nest outside in, exits inside out. Run: npx tsx examples/dodoer-tree.ts
 */

import { DoDoer, Doer, Doist, type DoerLike, type EnterOptions } from "../src/base/doing.ts";

let depth = 0;
const say = (tyme: number | null, text: string) => console.log(`${String(tyme).padEnd(6)} ${"  ".repeat(depth)}${text}`);

/** A doer that works `shifts` recurs, then is done. */
class Worker extends Doer {
  worked = 0;
  constructor(
    readonly label: string,
    readonly shifts: number,
    tock = 0,
  ) {
    super({ tock });
  }
  override enter(_options: EnterOptions = {}): void {
    say(this.tyme, `${this.label}: enter`);
  }
  override recur(tyme: number): boolean {
    this.worked += 1;
    say(tyme, `${this.label}: shift ${this.worked}/${this.shifts}`);
    return this.worked >= this.shifts;
  }
  override exit(): void {
    say(this.tyme, `${this.label}: exit (done ${this.done})`);
  }
}

/** A DoDoer that says when it enters, recurs and exits, indenting its doers' lines. */
class Room extends DoDoer {
  constructor(
    readonly label: string,
    doers: DoerLike[],
    tock = 0,
  ) {
    super({ doers, tock });
  }
  override enter(options: EnterOptions = {}) {
    say(this.tyme, `${this.label}: enter`);
    depth += 1;
    const deeds = super.enter(options);
    depth -= 1;
    return deeds;
  }
  override recur(tyme: number): boolean {
    say(tyme, `${this.label}: pass (deeds: ${this.deeds.length})`);
    depth += 1;
    const done = super.recur(tyme);
    depth -= 1;
    return done;
  }
  override exit(): void {
    depth += 1;
    super.exit();
    depth -= 1;
    say(this.tyme, `${this.label}: exit (done ${this.done})`);
  }
}

const kitchen = new Room("kitchen", [new Worker("cook A", 2), new Worker("cook B", 4, 0.5)]);
const house = new Room("house", [kitchen, new Worker("gardener", 9, 0.75)], 0.25);
const doist = new Doist({ tock: 0.25, limit: 2 });
await doist.do({ doers: [house] });
console.log(`doist done ${doist.done} at tyme ${doist.tyme}: the gardener was still at work`);
