import { describe, expect, it } from "vitest";
import type { Tymth } from "../../src/base/tyming.ts";
import { Doist, doize, type DoOptions, type Dog, type DoerLike } from "../../src/base/doing.ts";
import { TryDoer } from "../../src/base/exdoing.ts";

const queued = (doist: Doist) => [...doist.deeds].map((deed) => deed.doer);

/** TryDoers stopping after 1, 2, 3 (and more) recurs in a Doist of tock 1. */
function setup(stops: number[]) {
  const doers = stops.map((stop) => new TryDoer({ stop }));
  const doist = new Doist({ tock: 1, limit: 5, doers });
  return { doist, doers };
}

describe("Doist extend and remove", () => {
  it("D16 extend enters new doers now and appends them; doers already there are ignored", () => {
    const { doist, doers } = setup([1, 2, 3]);
    const [doer0, doer1, doer2] = doers as [TryDoer, TryDoer, TryDoer];
    doist.enter();
    doist.recur();
    doist.recur();
    expect([doist.tyme, doers.map((doer) => doer.done), doist.deeds.length]).toEqual([2, [true, false, false], 2]);

    const doer3 = new TryDoer({ stop: 1 });
    const doer4 = new TryDoer({ stop: 2 });
    doist.extend([doer1, doer3, doer4]);
    expect(doist.doers).toEqual([doer0, doer1, doer2, doer3, doer4]);
    expect(queued(doist)).toEqual([doer1, doer2, doer3, doer4]);
    expect(doer3.trace).toEqual([[2, "enter"]]);

    doist.recur();
    doist.recur();
    expect([doist.tyme, [doer0, doer1, doer2, doer3, doer4].map((doer) => doer.done), doist.deeds.length]).toEqual([
      4, [true, true, true, true, false], 1,
    ]);
    doist.exit();
    expect([doer4.done, doist.deeds.length, doer4.trace.slice(-2)]).toEqual([false, 0, [[4, "cease"], [4, "exit"]]]);
  });

  it("D17 remove takes doers out of doers and deeds and force-closes their deeds", () => {
    const { doist, doers } = setup([1, 2, 3, 2, 3]);
    const [doer0, doer1, doer2, doer3, doer4] = doers as [TryDoer, TryDoer, TryDoer, TryDoer, TryDoer];
    doist.enter();
    doist.recur();
    doist.recur();
    expect(queued(doist)).toEqual([doer1, doer2, doer3, doer4]);

    doist.remove([doer0, doer1, doer3, new TryDoer()]);
    expect(doist.doers).toEqual([doer2, doer4]);
    expect(queued(doist)).toEqual([doer2, doer4]);
    expect([doer0.done, doer1.done, doer3.done]).toEqual([true, false, false]);
    expect(doer1.trace.slice(-2)).toEqual([[2, "cease"], [2, "exit"]]);
    expect(doer3.trace.slice(-2)).toEqual([[2, "cease"], [2, "exit"]]);
    expect(doer0.trace.at(-1)).toEqual([1, "exit"]); // finished before; not closed again

    doist.recur();
    doist.recur();
    expect([doist.tyme, doist.done, doist.deeds.length, doer2.done, doer4.done]).toEqual([4, null, 0, true, true]);
  });

  it("D18 a doer removing the others from inside its recur keeps running until it returns", () => {
    const doist = new Doist({ tock: 1, limit: 5 });
    const removeDo = doize({ tock: 0, doist })(function* removeDo(
      _tymth: Tymth,
      options: DoOptions & { doist?: Doist } = {},
    ): Dog {
      const host = options.doist as Doist;
      yield; // enter
      host.remove(host.doers.filter((doer) => doer !== (removeDo as unknown))); // itself: doize returns it
      yield; // a couple more passes after the removal
      yield;
      return true;
    });
    const others = [1, 2, 3, 2, 3].map((stop) => new TryDoer({ stop }));
    doist.doers = [...others, removeDo];
    doist.enter();
    doist.recur();
    expect([doist.tyme, doist.doers, queued(doist)]).toEqual([1, [removeDo], [removeDo]]);
    expect(others.map((doer) => doer.done)).toEqual([false, false, false, false, false]);
    expect(others.map((doer) => doer.trace.slice(-2))).toEqual(
      others.map(() => [[0, "cease"], [0, "exit"]]),
    );
    doist.recur();
    expect([doist.tyme, doist.deeds.length]).toEqual([2, 1]);
    doist.recur();
    expect([doist.tyme, doist.deeds.length, doist.doers, removeDo.done, doist.done]).toEqual([
      3, 0, [removeDo], true, null,
    ]);
  });

  it("D18 a doer removing every doer including itself leaves doers but runs to its end", () => {
    const doist = new Doist({ tock: 1, limit: 5 });
    const removeAll = doize({ doist })(function* removeAll(
      _tymth: Tymth,
      options: DoOptions & { doist?: Doist } = {},
    ): Dog {
      const host = options.doist as Doist;
      yield;
      host.remove([...host.doers]);
      yield;
      yield;
      return true;
    });
    const others = [1, 2, 3].map((stop) => new TryDoer({ stop }));
    doist.doers = [...others, removeAll];
    doist.enter();
    doist.recur();
    expect([doist.doers, queued(doist), removeAll.done]).toEqual([[], [removeAll], false]);
    expect(others.map((doer) => doer.done)).toEqual([false, false, false]);
    doist.recur();
    doist.recur();
    expect([doist.tyme, doist.deeds.length, removeAll.done]).toEqual([3, 0, true]);
  });

  it("D18 removing deeds not yet visited in the pass keeps them from running", () => {
    const doist = new Doist({ tock: 0 }); // everything stays due: a deed visited twice would rerun
    const later = [new TryDoer({ stop: 5 }), new TryDoer({ stop: 5 })];
    const keeper = new TryDoer({ stop: 5 });
    const first = doize({})(function* first(): Dog {
      yield;
      doist.remove(later);
      yield;
      return true;
    });
    doist.doers = [first, later[0] as DoerLike, keeper, later[1] as DoerLike];
    doist.enter();
    doist.recur();
    expect(later.map((doer) => doer.trace)).toEqual(later.map(() => [[0, "enter"], [0, "cease"], [0, "exit"]]));
    expect(keeper.trace).toEqual([[0, "enter"], [0, "recur"]]);
    expect(queued(doist)).toEqual([first, keeper]);
    doist.recur();
    expect([queued(doist), keeper.count]).toEqual([[keeper], 2]);
    doist.exit();
  });

  it("D16 a doer extending the Doist from inside its recur: the new deed runs next pass, as hio", () => {
    const doist = new Doist({ tock: 1 });
    const added = new TryDoer({ stop: 1 });
    const spawner = doize({})(function* spawner(): Dog {
      yield;
      doist.extend([added]);
      yield;
      return true;
    });
    const bystander = new TryDoer({ stop: 5 });
    doist.doers = [spawner, bystander];
    doist.enter();
    doist.recur();
    // as in hio, the new deed is queued before the deeds that run after it in the pass
    expect([doist.doers, queued(doist), added.trace]).toEqual([
      [spawner, bystander, added], [added, spawner, bystander], [[0, "enter"]],
    ]);
    doist.recur();
    doist.recur();
    expect(added.trace).toEqual([[0, "enter"], [1, "recur"], [2, "recur"], [2, "exit"]]);
    doist.exit();
  });
});
