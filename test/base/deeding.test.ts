import { describe, expect, it } from "vitest";
import { Tymist } from "../../src/base/tyming.ts";
import { DeedQueue, type Deed, type Dog } from "../../src/base/doing.ts";
import { enterDeeds, exitDeeds, recurDeeds } from "../../src/base/deeding.ts";
import { ExDoer } from "../../src/base/exdoing.ts";

function* idle(): Dog {
  for (;;) yield 0;
}
const deed = (retyme: number): Deed => ({ dog: idle(), retyme, doer: new ExDoer() });

describe("DeedQueue", () => {
  it("keeps deeds in order across wrap-around and growth", () => {
    const queue = new DeedQueue();
    for (let i = 0; i < 10; i++) queue.push(deed(i));
    for (let i = 0; i < 6; i++) queue.push(queue.shift() as Deed); // wrap the ring
    for (let i = 10; i < 40; i++) queue.push(deed(i)); // grow twice while wrapped
    const expected = [6, 7, 8, 9, 0, 1, 2, 3, 4, 5, ...Array.from({ length: 30 }, (_, i) => i + 10)];
    expect(queue.toArray().map((d) => d.retyme)).toEqual(expected);
    expect([queue.length, queue.at(0)?.retyme, queue.at(-1)?.retyme, queue.at(40)]).toEqual([40, 6, 39, undefined]);
    expect(queue.pop()?.retyme).toBe(39);
    expect(queue.shift()?.retyme).toBe(6);
    queue.clear();
    expect([queue.length, queue.shift(), queue.pop()]).toEqual([0, undefined, undefined]);
  });

  it("a pass over thousands of deeds keeps their order and retymes each", () => {
    const tymist = new Tymist({ tock: 0.25 });
    const doers = Array.from({ length: 3000 }, () => new ExDoer({ stop: 9 }));
    const queue = enterDeeds(doers, new DeedQueue(), tymist.tymen(), false);
    recurDeeds(queue, tymist.tyme, tymist.tock);
    expect(queue.toArray().map((d) => d.doer)).toEqual(doers);
    expect(new Set(queue.toArray().map((d) => d.retyme))).toEqual(new Set([0.25]));
    exitDeeds(queue);
    expect([queue.length, doers.every((doer) => doer.trace.at(-1)?.[1] === "exit")]).toEqual([0, true]);
  });

  it("exit closes every deed even when one throws, then rethrows the first error", () => {
    const doers = [new ExDoer(), new ExDoer(), new ExDoer()];
    const [first, , last] = doers as [ExDoer, ExDoer, ExDoer];
    first.exit = () => {
      throw new Error("first");
    };
    last.exit = () => {
      throw new Error("last");
    };
    const queue = enterDeeds(doers, new DeedQueue(), new Tymist().tymen(), false);
    expect(() => exitDeeds(queue)).toThrow("last"); // newest is closed first
    expect([queue.length, doers[1]?.trace.at(-1)]).toEqual([0, [0, "exit"]]);
  });
});
