/**
 * Scheduler overhead: nanoseconds per doer recur for N trivial Doers run by Doist.recur(),
 * beside the floor: N plain generators each next()'d once per pass in a bare loop.
 * Run: npx tsx bench/scheduler.ts
 */

import { Doer, Doist } from "../src/base/doing.ts";

const PASS_BUDGET = 2_000_000; // doer recurs per timed round
const ROUNDS = 7;

function* plain(): Generator<number, never, number> {
  for (;;) yield 0;
}

/** Best ns per recur over ROUNDS rounds of `passes` calls to `pass`. */
function measure(n: number, pass: () => void): number {
  const passes = Math.max(10, Math.floor(PASS_BUDGET / n));
  for (let i = 0; i < passes; i++) pass(); // warm up
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < passes; i++) pass();
    const ns = Number(process.hrtime.bigint() - start);
    best = Math.min(best, ns / (passes * n));
  }
  return best;
}

function doistRecur(n: number): number {
  const doers = Array.from({ length: n }, () => new Doer());
  const doist = new Doist({ doers });
  doist.enter();
  const ns = measure(n, () => doist.recur());
  doist.exit();
  return ns;
}

function bareLoop(n: number): number {
  const gens = Array.from({ length: n }, () => plain());
  for (const gen of gens) gen.next();
  let tyme = 0;
  return measure(n, () => {
    for (let i = 0; i < n; i++) (gens[i] as Generator<number, never, number>).next(tyme);
    tyme += 0.03125;
  });
}

const rows = [1_000, 10_000].map((n) => {
  const floor = bareLoop(n);
  const recur = doistRecur(n);
  return { n, recur, floor, ratio: recur / floor };
});

console.log(`Node ${process.version}, ${process.platform} ${process.arch}`);
console.log("| doers | ns/recur | floor ns | ratio |");
console.log("|------:|---------:|---------:|------:|");
for (const { n, recur, floor, ratio } of rows) {
  console.log(`| ${n.toLocaleString("en")} | ${recur.toFixed(1)} | ${floor.toFixed(1)} | ${ratio.toFixed(2)} |`);
}
