/**
 * A doified generator function: doify makes a fresh doer per call, each with its own opts;
 * doize gives a function the doer fields itself. Run: npx tsx examples/doified-generator.ts
 */

import { Doist, doify, doize, type DoOptions, type Dog } from "../src/base/doing.ts";
import type { Tymth } from "../src/base/tyming.ts";

/** Polls a mailbox every tock; done when it has read `want` letters. */
function* reader(
  tymth: Tymth,
  { tock = 0, box = [], want = 1, label = "reader" }: DoOptions & { box?: string[]; want?: number; label?: string } = {},
): Dog {
  let read = 0;
  console.log(`${tymth()}\t${label}: enter, waiting for ${want}`);
  try {
    while (read < want) {
      const tyme: number = yield tock;
      const letter = box.shift();
      if (letter !== undefined) {
        read += 1;
        console.log(`${tyme}\t${label}: read "${letter}" (${read}/${want})`);
      } else {
        console.log(`${tyme}\t${label}: empty box`);
      }
    }
  } finally {
    console.log(`${tymth()}\t${label}: exit after ${read}`);
  }
  return true;
}

const box: string[] = [];

/** A doized writer: the function itself is the doer (one per function). */
const writer = doize({ tock: 0.5, box })(function* writer(tymth: Tymth, { tock = 0, box = [] }: DoOptions & { box?: string[] } = {}): Dog {
  for (const letter of ["hello", "from", "hio-ts"]) {
    box.push(letter);
    console.log(`${tymth()}\twriter: posted "${letter}"`);
    yield tock;
  }
  return true;
});

const quick = doify(reader, { name: "quick", tock: 0.25, box, want: 2, label: "quick" });
const patient = doify(reader, { name: "patient", tock: 0.75, box, want: 1, label: "patient" });
console.log(`two doers from one function: ${quick.name} wants ${quick.opts.want}, ${patient.name} wants ${patient.opts.want}`);
const doist = new Doist({ tock: 0.25, limit: 3 });
await doist.do({ doers: [writer, quick, patient] });
console.log(`done: writer ${writer.done}, quick ${quick.done}, patient ${patient.done}; doist ${doist.done} at ${doist.tyme}`);
