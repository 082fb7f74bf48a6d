import { describe, expect, it } from "vitest";
import { Tymist, type Tymth } from "../../src/base/tyming.ts";
import {
  DoDoer,
  Doer,
  Doist,
  ReDoer,
  doify,
  doize,
  type DoOptions,
  type Dog,
  type EnterOptions,
} from "../../src/base/doing.ts";
import { TryDoer, exDo, type Trace } from "../../src/base/exdoing.ts";

/** Records all six contexts; recur is done on count `stop`, throws on count `fail`. */
class LifeDoer extends Doer {
  log: string[] = [];
  count = 0;
  constructor(
    readonly stop = 2,
    readonly fail = 0,
    readonly failEnter = false,
  ) {
    super();
  }
  override enter({ temp }: EnterOptions = {}): void {
    this.log.push(`enter${temp ? " temp" : ""}`);
    if (this.failEnter) throw new Error("enter failed");
  }
  override recur(tyme: number): boolean {
    this.count += 1;
    this.log.push(`recur ${tyme}`);
    if (this.count === this.fail) throw new Error("Bad");
    return this.count >= this.stop;
  }
  override clean(): void {
    this.log.push("clean");
  }
  override cease(): void {
    this.log.push("cease");
  }
  override abort(error: unknown): void {
    this.log.push(`abort ${(error as Error).message}`);
  }
  override exit(): void {
    this.log.push("exit");
  }
}

describe("Doer", () => {
  it("D1 has done null, tock 0, temp false, opts {} and a dog that enters, recurs, returns done", () => {
    const doer = new Doer();
    expect([doer.done, doer.tock, doer.temp, doer.opts, doer.tymth]).toEqual([null, 0, false, {}, null]);
    expect(new Doer({ tock: -0.5 }).tock).toBe(0.5); // absolute value, as hio
    const tymist = new Tymist();
    const dog = doer.do(tymist.tymen(), { tock: 0 });
    expect(doer.done).toBe(null); // nothing runs before the first next()
    expect(dog.next()).toEqual({ value: 0, done: false });
    expect(doer.done).toBe(false);
    expect(dog.next(0.25)).toEqual({ value: 0, done: false });
    expect(dog.return(undefined)).toEqual({ value: undefined, done: true });
    expect(dog.next(0.5)).toEqual({ value: undefined, done: true });
  });

  it("D2 do winds the doer to the tymth and yields the injected tock", () => {
    const tymist = new Tymist({ tyme: 2 });
    const doer = new Doer({ tock: 0.25 });
    const dog = doer.do(tymist.tymen(), { tock: 1 });
    expect(dog.next()).toEqual({ value: 1, done: false });
    expect([doer.tock, doer.tyme]).toEqual([1, 2]);
    tymist.tick();
    expect(doer.tyme).toBe(2.03125);
    expect(dog.next(tymist.tyme)).toEqual({ value: 1, done: false });
    dog.return(undefined);
  });

  it("D3 runs enter, recur…, clean, exit when recur reports done and returns true", () => {
    const doer = new LifeDoer(2);
    const dog = doer.do(new Tymist().tymen());
    const results = [dog.next(), dog.next(0), dog.next(1)];
    expect(results).toEqual([
      { value: 0, done: false },
      { value: 0, done: false },
      { value: true, done: true },
    ]);
    expect(doer.log).toEqual(["enter", "recur 0", "recur 1", "clean", "exit"]);
    expect(doer.done).toBe(true);
  });

  it("D3 runs enter, recur…, cease, exit when forced closed", () => {
    const doer = new LifeDoer(5);
    const dog = doer.do(new Tymist().tymen());
    dog.next();
    dog.next(0);
    expect(dog.return(undefined)).toEqual({ value: undefined, done: true });
    expect(doer.log).toEqual(["enter", "recur 0", "cease", "exit"]);
    expect(doer.done).toBe(false);
  });

  it("D3 runs enter, recur…, abort, exit and rethrows an error from recur", () => {
    const doer = new LifeDoer(5, 2);
    const dog = doer.do(new Tymist().tymen());
    dog.next();
    dog.next(0);
    expect(() => dog.next(1)).toThrow("Bad");
    expect(doer.log).toEqual(["enter", "recur 0", "recur 1", "abort Bad", "exit"]);
    expect(dog.next(2)).toEqual({ value: undefined, done: true });
  });

  it("D3 runs enter, recur…, abort, exit for an error thrown in and rethrows it", () => {
    const doer = new LifeDoer(5);
    const dog = doer.do(new Tymist().tymen());
    dog.next();
    dog.next(0);
    expect(() => dog.throw(new Error("Thrown"))).toThrow("Thrown");
    expect(doer.log).toEqual(["enter", "recur 0", "abort Thrown", "exit"]);
  });

  it("D3 runs enter, abort, exit when enter fails", () => {
    const doer = new LifeDoer(5, 0, true);
    const dog = doer.do(new Tymist().tymen());
    expect(() => dog.next()).toThrow("enter failed");
    expect(doer.log).toEqual(["enter", "abort enter failed", "exit"]);
  });

  it("D4 TryDoer fed by hand: enter, four recurs, exit; then next gives undefined", () => {
    const tymist = new Tymist({ tock: 0.125 });
    const doer = new TryDoer({ tymth: tymist.tymen(), tock: 0.25 });
    const dog = doer.do(doer.tymth as Tymth, { tock: doer.tock });
    const yields = [dog.next().value, dog.next(tymist.tyme).value];
    for (let i = 0; i < 2; i++) {
      tymist.tick();
      yields.push(dog.next(tymist.tyme).value);
    }
    tymist.tick();
    const last = dog.next(tymist.tyme);
    expect(yields).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(last).toEqual({ value: true, done: true });
    expect(doer.trace).toEqual([
      [0, "enter"],
      [0, "recur"],
      [0.125, "recur"],
      [0.25, "recur"],
      [0.375, "recur"],
      [0.375, "exit"],
    ]);
    expect(doer.count).toBe(5);
    tymist.tick();
    expect(dog.next(tymist.tyme)).toEqual({ value: undefined, done: true });
  });

  it("D4 TryDoer closed after its second recur: cease, exit", () => {
    const tymist = new Tymist({ tock: 0.125 });
    const doer = new TryDoer({ tymth: tymist.tymen(), tock: 0.25 });
    const dog = doer.do(tymist.tymen(), { tock: doer.tock });
    dog.next();
    dog.next(tymist.tyme);
    tymist.tick();
    dog.next(tymist.tyme);
    tymist.tick();
    expect(dog.return(undefined)).toEqual({ value: undefined, done: true });
    expect(doer.trace).toEqual([
      [0, "enter"],
      [0, "recur"],
      [0.125, "recur"],
      [0.25, "cease"],
      [0.25, "exit"],
    ]);
    expect(doer.count).toBe(4);
    tymist.tick();
    expect(dog.next(tymist.tyme)).toEqual({ value: undefined, done: true });
  });

  it("D4 TryDoer thrown Bad after its second recur: abort, exit, rethrown", () => {
    const tymist = new Tymist({ tock: 0.125 });
    const doer = new TryDoer({ tymth: tymist.tymen(), tock: 0.25 });
    const dog = doer.do(tymist.tymen(), { tock: doer.tock });
    dog.next();
    dog.next(tymist.tyme);
    tymist.tick();
    dog.next(tymist.tyme);
    tymist.tick();
    expect(() => dog.throw(new Error("Bad"))).toThrow("Bad");
    expect(doer.trace).toEqual([
      [0, "enter"],
      [0, "recur"],
      [0.125, "recur"],
      [0.25, "abort"],
      [0.25, "exit"],
    ]);
    expect((doer.error as Error).message).toBe("Bad");
    expect(doer.count).toBe(4);
    expect(dog.next(tymist.tyme)).toEqual({ value: undefined, done: true });
  });

  it("D6 ReDoer delegates to its generator recur: three yields then done true", () => {
    const tymist = new Tymist();
    const redoer = new ReDoer({ tymth: tymist.tymen(), tock: 1 });
    expect(redoer.tock).toBe(1);
    redoer.tock = 0;
    const dog = redoer.do(tymist.tymen(), { tock: redoer.tock });
    const steps = [dog.next()];
    for (let i = 0; i < 4; i++) {
      tymist.tick();
      steps.push(dog.next(tymist.tyme));
    }
    expect(steps).toEqual([
      { value: 0, done: false },
      { value: 0, done: false },
      { value: 0, done: false },
      { value: true, done: true },
      { value: undefined, done: true },
    ]);
    expect(redoer.done).toBe(true);

    const closed = redoer.do(tymist.tymen(), { tock: 0 });
    closed.next();
    closed.next(tymist.tyme);
    expect(closed.return(undefined)).toEqual({ value: undefined, done: true });
    expect(closed.next(tymist.tyme)).toEqual({ value: undefined, done: true });
    expect(redoer.done).toBe(false);
  });

  it("D6 a generator recur receives the tock and runs the lifecycle around it", () => {
    class Counting extends ReDoer {
      seen: Array<number | string> = [];
      override *recur(tock: number): Dog {
        this.seen.push(tock);
        const tyme: number = yield tock;
        this.seen.push(tyme);
        return false;
      }
      override clean(): void {
        this.seen.push("clean");
      }
      override exit(): void {
        this.seen.push("exit");
      }
    }
    const doer = new Counting();
    const dog = doer.do(new Tymist().tymen(), { tock: 0.5 });
    expect(dog.next()).toEqual({ value: 0.5, done: false });
    expect(dog.next(3)).toEqual({ value: false, done: true });
    expect(doer.seen).toEqual([0.5, 3, "clean", "exit"]);
    expect(doer.done).toBe(false);
  });

  it("D6 ReDoer in a Doist of tock 1 and limit 4 ends itself at tyme 3", async () => {
    const doist = new Doist({ tock: 1, limit: 4 });
    const redoer = new ReDoer();
    await doist.do({ doers: [redoer] });
    expect([doist.tyme, doist.done, redoer.done]).toEqual([3, true, true]);
  });
});

describe("doify and doize", () => {
  function* genfun(_tymth: Tymth, { tock = 0 }: DoOptions = {}): Dog {
    yield tock;
    return true;
  }

  it("D7 doify makes a fresh doer per call with name, tock, temp and opts", () => {
    const gf0 = doify(genfun, { name: "gf0", tock: 0.25 });
    const gf1 = doify(genfun, { name: "gf1", tock: 0.125 });
    expect(gf0).not.toBe(gf1);
    expect([gf0.name, gf0.tock, gf0.done, gf0.temp, gf0.opts]).toEqual(["gf0", 0.25, null, false, {}]);
    expect([gf1.name, gf1.tock, gf1.done, gf1.temp, gf1.opts]).toEqual(["gf1", 0.125, null, false, {}]);
    expect(doify(genfun).name).toBe("genfun");

    const ex0 = doify(exDo, { tock: 0.25, states: null });
    const ex1 = doify(exDo, { tock: 0.25, states: null });
    expect(ex0.opts).toEqual({ states: null });
    expect(ex0.opts).not.toBe(ex1.opts);
    ex0.opts.states = [];
    expect(ex1.opts.states).toBe(null);

    const tymist = new Tymist();
    const g0 = gf0.do(tymist.tymen(), { tock: gf0.tock, ...gf0.opts });
    const g1 = gf0.do(tymist.tymen(), { tock: gf1.tock, ...gf1.opts });
    expect(g0 === g1).toBe(false); // (expect on a generator itself would iterate it)
    expect([g0.next().value, g1.next().value]).toEqual([0.25, 0.125]);
  });

  it("D7 a doified bound method runs against its object", async () => {
    class Counter {
      x = 1;
      *count(_tymth: Tymth, { tock = 0 }: DoOptions = {}): Dog {
        while (this.x <= 3) {
          yield tock;
          this.x += 1;
        }
        return true;
      }
    }
    const counter = new Counter();
    const doer = doify(counter.count.bind(counter), { name: "count", tock: 0.25 });
    await new Doist({ limit: 1 }).do({ doers: [doer] });
    expect([doer.done, counter.x]).toEqual([true, 4]);
  });

  it("D8 doize gives the function itself the doer fields; it stays callable", () => {
    function* plain(_tymth: Tymth, { tock = 0 }: DoOptions = {}): Dog {
      const tyme: number = yield tock;
      return tyme > 0;
    }
    const doized = doize({ tock: 0.25 })(plain);
    expect(doized).toBe(plain);
    expect([doized.tock, doized.done, doized.temp, doized.opts]).toEqual([0.25, null, false, {}]);
    expect(doize({ tock: 0, states: null })(exDo).opts).toEqual({ states: null });

    const dog = doized(new Tymist().tymen(), { tock: doized.tock });
    expect(dog.next()).toEqual({ value: 0.25, done: false });
    expect(dog.next(1)).toEqual({ value: true, done: true });
  });

  it("D8 a doized function runs in a Doist and in a DoDoer directly", async () => {
    const states: Trace = [];
    const doized = doize({ tock: 0.25, states })(exDo);
    const doist = new Doist({ tock: 0.125, limit: 2 });
    await doist.do({ doers: [doized] });
    expect(doized.done).toBe(true);
    expect(states).toEqual([
      [0, "enter"],
      [0, "recur"],
      [0.25, "recur"],
      [0.5, "recur"],
      [0.75, "recur"],
      [0.75, "exit"],
    ]);

    states.length = 0;
    doist.tyme = 0;
    const dodoer = new DoDoer({ doers: [doized] });
    await doist.do({ doers: [dodoer], limit: 0.5 });
    expect([doized.done, dodoer.done]).toEqual([false, false]);
    expect(states).toEqual([
      [0, "enter"],
      [0, "recur"],
      [0.25, "recur"],
      [0.5, "cease"],
      [0.5, "exit"],
    ]);
  });
});
