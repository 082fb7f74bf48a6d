import { describe, expect, it } from "vitest";
import { Tymist, type Tymth } from "../../src/base/tyming.ts";
import { DoDoer, Doer, Doist, doize, type Dog, type DoerLike, type EnterOptions } from "../../src/base/doing.ts";
import { ExDoer, TryDoer } from "../../src/base/exdoing.ts";

const tock = 0.03125;
const queued = (dodoer: DoDoer) => [...dodoer.deeds].map((deed) => deed.doer);

describe("DoDoer", () => {
  it("D21 an empty DoDoer is done at its first recur", () => {
    const tymist = new Tymist();
    const dodoer = new DoDoer({ tymth: tymist.tymen(), tock: 1 });
    expect([dodoer.tock, dodoer.doers, dodoer.always, dodoer.done]).toEqual([1, [], false, null]);
    dodoer.tock = 0;
    const dog = dodoer.do(tymist.tymen(), { tock: dodoer.tock });
    expect(dog.next()).toEqual({ value: 0, done: false });
    tymist.tick();
    expect(dog.next(tymist.tyme)).toEqual({ value: true, done: true });
    tymist.tick();
    expect(dog.next(tymist.tyme)).toEqual({ value: undefined, done: true });
  });

  it("D21 doers given to do() replace its doers; a forced close ceases it and closes them", () => {
    const tymist = new Tymist();
    const dodoer = new DoDoer({ tymth: tymist.tymen() });
    const doers = [new ExDoer({ stop: 9 }), new ExDoer({ stop: 9 }), new ExDoer({ stop: 9 })];
    const dog = dodoer.do(tymist.tymen(), { tock: 0, doers });
    expect(dodoer.doers).toEqual([]); // nothing runs before the first next()
    expect(dog.next()).toEqual({ value: 0, done: false });
    expect([dodoer.doers, queued(dodoer)]).toEqual([doers, doers]);
    for (let i = 0; i < 2; i++) {
      tymist.tick();
      expect(dog.next(tymist.tyme)).toEqual({ value: 0, done: false });
    }
    expect(dog.return(undefined)).toEqual({ value: undefined, done: true });
    expect(doers.map((doer) => doer.trace)).toEqual(
      doers.map(() => [[0, "enter"], [tock, "recur"], [2 * tock, "recur"], [2 * tock, "cease"], [2 * tock, "exit"]]),
    );
    expect([dodoer.done, dodoer.deeds.length, doers.map((doer) => doer.done)]).toEqual([false, 0, [false, false, false]]);
  });

  it("D21 retymes falsy tocks by its own tock and closes its doers newest first", () => {
    const log: string[] = [];
    class Named extends ExDoer {
      override exit(): void {
        super.exit();
        log.push(`exit ${this.stop}`);
      }
    }
    const doers = [new Named({ stop: 7 }), new Named({ stop: 8 }), new Named({ stop: 9 })];
    const dodoer = new DoDoer({ doers, tock: 0.25 });
    const doist = new Doist({ tock, doers: [dodoer] });
    doist.enter();
    doist.recur();
    expect([...dodoer.deeds].map((deed) => deed.retyme)).toEqual([0.25, 0.25, 0.25]);
    doist.exit();
    expect(log).toEqual(["exit 9", "exit 8", "exit 7"]);
  });

  it("D21 passes temp on to its doers", async () => {
    const temps: Array<boolean | undefined> = [];
    class Temper extends Doer {
      override enter({ temp }: EnterOptions = {}): void {
        temps.push(temp);
      }
      override recur(): boolean {
        return true;
      }
    }
    await new Doist({ temp: true }).do({ doers: [new DoDoer({ doers: [new Temper()] })] });
    await new Doist().do({ doers: [new DoDoer({ doers: [new Temper()], temp: true })] });
    await new Doist().do({ doers: [new DoDoer({ doers: [new Temper(), new Temper({ temp: true })] })] });
    expect(temps).toEqual([true, true, false, true]);
  });

  it("D21 an error in a doer aborts the DoDoer after closing its other doers", async () => {
    const failer = new ExDoer({ stop: 9 });
    failer.recur = () => {
      throw new Error("Bad");
    };
    const other = new ExDoer({ stop: 9 });
    class Watched extends DoDoer {
      contexts: string[] = [];
      override abort(error: unknown): void {
        this.contexts.push(`abort ${(error as Error).message}`);
      }
      override exit(): void {
        super.exit();
        this.contexts.push(`exit ${this.deeds.length}`);
      }
    }
    const dodoer = new Watched({ doers: [other, failer] });
    await expect(new Doist({ tock }).do({ doers: [dodoer] })).rejects.toThrow("Bad");
    expect(dodoer.contexts).toEqual(["abort Bad", "exit 0"]);
    expect(other.trace).toEqual([[0, "enter"], [0, "recur"], [0, "cease"], [0, "exit"]]);
    expect(failer.trace).toEqual([[0, "enter"], [0, "abort"], [0, "exit"]]);
  });

  it("D22 always keeps it running after its doers finish, until forced closed", async () => {
    const doers = [1, 2, 3].map((stop) => new TryDoer({ stop }));
    const [doer0, doer1, doer2] = doers as [TryDoer, TryDoer, TryDoer];
    const dodoer = new DoDoer({ tock: 1, doers });
    const doist = new Doist({ tock: 1, limit: 5, doers: [dodoer] });
    const state = () => [doist.tyme, dodoer.done, doers.map((doer) => doer.done), dodoer.deeds.length];

    await doist.do();
    expect(state()).toEqual([4, true, [true, true, true], 0]);
    expect([dodoer.tyme, doer0.tyme]).toEqual([4, 4]);
    await doist.do({ limit: 2 });
    expect(state()).toEqual([6, false, [true, false, false], 0]);

    dodoer.always = true;
    await doist.do({ limit: 5 });
    expect(state()).toEqual([11, true, [true, true, true], 0]);
    await doist.do({ limit: 2 });
    expect(state()).toEqual([13, false, [true, false, false], 0]);

    doist.enter();
    doist.recur();
    doist.recur();
    expect(state()).toEqual([15, false, [true, false, false], 2]);

    const doer3 = new TryDoer({ stop: 1 });
    const doer4 = new TryDoer({ stop: 2 });
    dodoer.extend([doer3, doer4]);
    expect([dodoer.doers, queued(dodoer)]).toEqual([
      [doer0, doer1, doer2, doer3, doer4],
      [doer1, doer2, doer3, doer4],
    ]);
    doist.recur();
    doist.recur();
    expect([doist.tyme, [...doers, doer3, doer4].map((doer) => doer.done), dodoer.deeds.length]).toEqual([
      17, [true, true, true, true, false], 1,
    ]);
    doist.exit();
    expect([dodoer.done, doer4.done, doist.deeds.length, dodoer.deeds.length]).toEqual([false, false, 0, 0]);
  });

  it("D21 remove closes the removed doers' deeds; an always DoDoer runs on after the rest finish", () => {
    const doers = [1, 2, 3, 2, 3].map((stop) => new TryDoer({ stop }));
    const [doer0, doer1, doer2, doer3, doer4] = doers as [TryDoer, TryDoer, TryDoer, TryDoer, TryDoer];
    const dodoer = new DoDoer({ tock: 1, doers, always: true });
    const doist = new Doist({ tock: 1, limit: 5, doers: [dodoer] });
    doist.enter();
    doist.recur();
    doist.recur();
    expect(queued(dodoer)).toEqual([doer1, doer2, doer3, doer4]);
    dodoer.remove([doer0, doer1, doer3]);
    expect([dodoer.doers, queued(dodoer), doer1.done, doer3.done]).toEqual([[doer2, doer4], [doer2, doer4], false, false]);
    expect(doer1.trace.slice(-2)).toEqual([[2, "cease"], [2, "exit"]]);
    doist.recur();
    doist.recur();
    expect([doist.tyme, doist.done, dodoer.done, dodoer.deeds.length, dodoer.doers.length]).toEqual([4, null, true, 0, 2]);
    expect(doers.map((doer) => doer.done)).toEqual([true, false, true, false, true]);
    doist.recur();
    doist.recur();
    expect([doist.deeds.length, dodoer.done]).toEqual([1, true]); // always: still running
    doist.exit();
  });

  it("D21 a doer of a DoDoer removing the others from inside keeps running to its end (D18)", () => {
    class RemoveDoDoer extends DoDoer {
      readonly removeDo: DoerLike;
      constructor(doers: DoerLike[], tock: number) {
        super({ doers, tock });
        this.removeDo = doize({})(this.#removal.bind(this)); // a doized bound method
        this.doers.push(this.removeDo);
      }
      *#removal(_tymth: Tymth): Dog {
        yield;
        this.remove(this.doers.filter((doer) => doer !== this.removeDo));
        yield;
        yield;
        return true;
      }
    }
    const others = [1, 2, 3, 2, 3].map((stop) => new TryDoer({ stop }));
    const dodoer = new RemoveDoDoer(others, 1);
    const doist = new Doist({ tock: 1, limit: 5, doers: [dodoer] });
    doist.enter();
    doist.recur();
    expect([doist.tyme, dodoer.doers, queued(dodoer), dodoer.done]).toEqual([1, [dodoer.removeDo], [dodoer.removeDo], false]);
    expect(others.map((doer) => doer.done)).toEqual([false, false, false, false, false]);
    doist.recur();
    expect([doist.tyme, doist.deeds.length, dodoer.done]).toEqual([2, 1, false]);
    doist.recur();
    expect([doist.tyme, doist.deeds.length, dodoer.done, dodoer.removeDo.done]).toEqual([3, 0, true, true]);
  });

  it("D23 nested DoDoers run their doers with the tyme fed from the Doist", async () => {
    const doist = new Doist({ tock });
    const doer0 = new ExDoer({ tock: 0 });
    const doer1 = new ExDoer({ tock: tock * 2 });
    const aDoer = new DoDoer({ tock: 0, doers: [doer0, doer1] });
    const doer2 = new ExDoer({ tock: 0 });
    const doer3 = new ExDoer({ tock: tock * 4 });
    const bDoer = new DoDoer({ tock: tock * 2, doers: [doer2, doer3] });
    await doist.do({ doers: [aDoer, bDoer], limit: tock * 8 });
    expect([doist.tyme, aDoer.done, bDoer.done]).toEqual([0.25, true, false]);
    expect(doer0.trace).toEqual([
      [0, "enter"], [0, "recur"], [0.03125, "recur"], [0.0625, "recur"], [0.09375, "recur"], [0.09375, "exit"],
    ]);
    const everyOther = [[0, "enter"], [0, "recur"], [0.0625, "recur"], [0.125, "recur"], [0.1875, "recur"], [0.1875, "exit"]];
    expect([doer1.trace, doer2.trace]).toEqual([everyOther, everyOther]);
    expect(doer3.trace).toEqual([[0, "enter"], [0, "recur"], [0.125, "recur"], [0.25, "cease"], [0.25, "exit"]]);
    expect([doer0.done, doer1.done, doer2.done, doer3.done]).toEqual([true, true, true, false]);
  });
});
