import { describe, expect, it } from "vitest";
import type { Tymth } from "../../src/base/tyming.ts";
import { Doer, Doist, doify, type DoOptions, type Dog, type EnterOptions } from "../../src/base/doing.ts";
import { ExDoer, exDo, type Trace } from "../../src/base/exdoing.ts";

const tock = 0.03125;
const retymes = (doist: Doist) => [...doist.deeds].map((deed) => deed.retyme);

describe("Doist", () => {
  it("D9 has hio's defaults and an empty do() ticks once and ends done", async () => {
    const doist = new Doist();
    expect([doist.name, doist.tyme, doist.tock, doist.real, doist.limit, doist.done, doist.temp]).toEqual([
      "doist", 0, 0.03125, false, null, null, false,
    ]);
    expect([doist.doers, doist.deeds.length]).toEqual([[], 0]);
    await doist.do();
    expect([doist.tyme, doist.done]).toEqual([0.03125, true]);
  });

  it("D10 enter runs each dog to its first yield and queues deeds due now", () => {
    const doist = new Doist({ tock: 0.25 });
    const doer0 = new ExDoer({ tock: 0.25 });
    const doer1 = new ExDoer({ tock: 0.5 });
    doist.doers = [doer0, doer1];
    expect(doist.enter()).toBe(doist.deeds);
    expect(retymes(doist)).toEqual([0, 0]);
    expect([...doist.deeds].map((deed) => deed.doer)).toEqual([doer0, doer1]);
    expect([doer0.trace, doer1.trace]).toEqual([[[0, "enter"]], [[0, "enter"]]]);
    expect([doer0.done, doer1.done]).toEqual([false, false]);

    const other = new ExDoer();
    const fresh = doist.enter([other]);
    expect(fresh === doist.deeds).toBe(false);
    expect([fresh.length, doist.deeds.length]).toEqual([1, 2]);
    doist.exit(fresh);
    doist.exit();
  });

  it("D10 a dog that returns at enter is not queued; its done is its value unless null", () => {
    function* quitter(_tymth: Tymth, _options: DoOptions & { value?: boolean } = {}): Dog {
      return _options.value;
    }
    const yes = doify(quitter, { value: true });
    const none = doify(quitter);
    const doist = new Doist();
    const deeds = doist.enter([yes, none]);
    expect([deeds.length, yes.done, none.done]).toEqual([0, true, false]);
  });

  it("D11 recur runs due deeds, retymes by doer tock without drift, then ticks", () => {
    const doist = new Doist({ tock: 0.25 });
    const doer0 = new ExDoer({ tock: 0.25 });
    const doer1 = new ExDoer({ tock: 0.5 });
    doist.deeds = doist.enter([doer0, doer1]);
    const passes: Array<[number, number[]]> = [];
    for (let i = 0; i < 7; i++) {
      doist.recur();
      passes.push([doist.tyme, retymes(doist)]);
    }
    expect(passes).toEqual([
      [0.25, [0.25, 0.5]],
      [0.5, [0.5, 0.5]],
      [0.75, [0.75, 1.0]],
      [1.0, [1.0]],
      [1.25, [1.5]],
      [1.5, [1.5]],
      [1.75, []],
    ]);
    expect(doer0.trace).toEqual([
      [0, "enter"], [0, "recur"], [0.25, "recur"], [0.5, "recur"], [0.75, "recur"], [0.75, "exit"],
    ]);
    expect(doer1.trace).toEqual([
      [0, "enter"], [0, "recur"], [0.5, "recur"], [1, "recur"], [1.5, "recur"], [1.5, "exit"],
    ]);
    expect([doer0.done, doer1.done]).toEqual([true, true]);
  });

  it("D11 a positive tock retymes from the old retyme, not from when it ran late (no drift)", () => {
    const doist = new Doist({ tock: 0.25 });
    const doer = new ExDoer({ tock: 0.375, stop: 9 });
    doist.deeds = doist.enter([doer]);
    const passes: Array<[number, number[]]> = [];
    for (let i = 0; i < 7; i++) {
      doist.recur();
      passes.push([doist.tyme - doist.tock, retymes(doist)]);
    }
    expect(passes).toEqual([
      [0, [0.375]],
      [0.25, [0.375]],
      [0.5, [0.75]],
      [0.75, [1.125]],
      [1, [1.125]],
      [1.25, [1.5]],
      [1.5, [1.875]],
    ]);
    expect(doer.trace.map(([tyme]) => tyme)).toEqual([0, 0, 0.5, 0.75, 1.25, 1.5]);
    doist.exit();
  });

  it("D11 a falsy yielded tock reruns at tyme plus the Doist's tock; order is kept", () => {
    function* stepper(_tymth: Tymth, { yields = [] }: DoOptions & { yields?: Array<number | undefined> } = {}): Dog {
      for (const tock of yields) yield tock;
      return true;
    }
    const doist = new Doist({ tock: 0.125 });
    const a = doify(stepper, { yields: [undefined, 0, 0.5, undefined] });
    const b = doify(stepper, { yields: [0, 1, 1, 1] });
    doist.deeds = doist.enter([a, b]);
    const passes: Array<[number, string[]]> = [];
    for (let i = 0; i < 4; i++) {
      doist.recur();
      passes.push([doist.tyme, [...doist.deeds].map((deed) => `${deed.doer === a ? "a" : "b"}@${deed.retyme}`)]);
    }
    expect(passes).toEqual([
      [0.125, ["a@0.125", "b@1"]],
      [0.25, ["a@0.625", "b@1"]],
      [0.375, ["a@0.625", "b@1"]],
      [0.5, ["a@0.625", "b@1"]],
    ]);
  });

  it("D12 exit force-closes what is left newest first so exits nest inside enters", () => {
    const log: string[] = [];
    class Named extends Doer {
      constructor(readonly label: string) {
        super();
      }
      override enter(): void {
        log.push(`enter ${this.label}`);
      }
      override cease(): void {
        log.push(`cease ${this.label}`);
      }
      override exit(): void {
        log.push(`exit ${this.label}`);
      }
    }
    const doers = ["A", "B", "C"].map((label) => new Named(label));
    const doist = new Doist({ doers });
    doist.enter();
    doist.recur();
    doist.exit();
    expect(log).toEqual([
      "enter A", "enter B", "enter C", "cease C", "exit C", "cease B", "exit B", "cease A", "exit A",
    ]);
    expect([doist.deeds.length, doers.map((doer) => doer.done)]).toEqual([0, [false, false, false]]);
  });

  it("D13 do enters, recurs per tick, stops at the limit and ceases what is left", async () => {
    const doist = new Doist({ tock });
    const doer0 = new ExDoer({ tock, tymth: doist.tymen() });
    const doer1 = new ExDoer({ tock: tock * 2, tymth: doist.tymen() });
    await doist.do({ doers: [doer0, doer1], limit: tock * 4 });
    expect([doist.tyme, doist.limit, doist.done]).toEqual([0.125, 0.125, false]);
    expect(doer0.trace).toEqual([
      [0, "enter"], [0, "recur"], [0.03125, "recur"], [0.0625, "recur"], [0.09375, "recur"], [0.09375, "exit"],
    ]);
    expect(doer1.trace).toEqual([[0, "enter"], [0, "recur"], [0.0625, "recur"], [0.125, "cease"], [0.125, "exit"]]);
    expect([doer0.done, doer1.done, doist.deeds.length]).toEqual([true, false, 0]);
  });

  it("D13 with tock 0 both run every tick; a limit of two ticks ceases both", async () => {
    const doer0 = new ExDoer();
    const doer1 = new ExDoer();
    const doist = new Doist({ tock, limit: tock * 4 });
    await doist.do({ doers: [doer0, doer1] });
    const full = [[0, "enter"], [0, "recur"], [0.03125, "recur"], [0.0625, "recur"], [0.09375, "recur"], [0.09375, "exit"]];
    expect([doer0.trace, doer1.trace, doer0.done, doer1.done, doist.done]).toEqual([full, full, true, true, true]);

    doer0.trace = [];
    doer1.trace = [];
    await new Doist({ tock, limit: tock * 2 }).do({ doers: [doer0, doer1] });
    const cut = [[0, "enter"], [0, "recur"], [0.03125, "recur"], [0.0625, "cease"], [0.0625, "exit"]];
    expect([doer0.trace, doer1.trace, doer0.done, doer1.done]).toEqual([cut, cut, false, false]);
  });

  it("D13 the same traces with doified generator functions and their states opt", async () => {
    const gf0 = doify(exDo, { name: "gf0", tock, states: [] as Trace });
    const gf1 = doify(exDo, { name: "gf1", tock: tock * 2, states: [] as Trace });
    const doist = new Doist({ tock });
    await doist.do({ doers: [gf0, gf1], limit: tock * 4 });
    expect(doist.tyme).toBe(0.125);
    expect(gf0.opts.states).toEqual([
      [0, "enter"], [0, "recur"], [0.03125, "recur"], [0.0625, "recur"], [0.09375, "recur"], [0.09375, "exit"],
    ]);
    expect(gf1.opts.states).toEqual([[0, "enter"], [0, "recur"], [0.0625, "recur"], [0.125, "cease"], [0.125, "exit"]]);
    expect([gf0.done, gf1.done]).toEqual([true, false]);
  });

  it("D13 do keeps doers across runs, stores the limit and restarts at a given tyme", async () => {
    const doers = [1, 2, 3].map((stop) => new ExDoer({ stop }));
    const doist = new Doist({ tock: 1, limit: 5, doers });
    await doist.do({ limit: 2 });
    const after = () => [doist.tyme, doist.limit, doist.done, doers.map((doer) => doer.done), doist.deeds.length];
    expect(after()).toEqual([2, 2, false, [true, false, false], 0]);
    await doist.do({ tyme: 0 });
    expect(after()).toEqual([2, 2, false, [true, false, false], 0]);
    expect(doist.doers).toEqual(doers);
    await doist.do({ tyme: 10, limit: 5 });
    expect(after()).toEqual([14, 5, true, [true, true, true], 0]);
  });

  it("D5 done is false once entered, true on return true, false when ceased or failed", async () => {
    const winner = new ExDoer({ stop: 0 });
    const loser = new ExDoer({ stop: 9 });
    const doist = new Doist({ doers: [winner, loser], limit: tock * 2 });
    doist.enter();
    expect([winner.done, loser.done]).toEqual([false, false]);
    doist.exit();
    await doist.do();
    expect([winner.done, loser.done]).toEqual([true, false]);

    const failer = new ExDoer();
    failer.recur = () => {
      throw new Error("Bad");
    };
    await expect(new Doist({ doers: [failer] }).do()).rejects.toThrow("Bad");
    expect(failer.done).toBe(false);
  });

  it("D5 a dog returning a value while force-closed sets done; no value keeps it", async () => {
    function* stubborn(_tymth: Tymth, { tock = 0 }: DoOptions = {}): Dog {
      try {
        for (;;) yield tock;
      } finally {
        // deliberately returns from finally: the JS spelling of Python 3.13's close() value
        // biome-ignore lint/correctness/noUnsafeFinally: the behaviour under test
        return true;
      }
    }
    function* quiet(_tymth: Tymth, { tock = 0 }: DoOptions = {}): Dog {
      for (;;) yield tock;
    }
    const loud = doify(stubborn);
    const mute = doify(quiet);
    await new Doist({ limit: tock * 2 }).do({ doers: [loud, mute] });
    expect([loud.done, mute.done]).toEqual([true, false]);
  });

  it("D15 temp from do(), else the Doist's, else the doer's reaches enter", async () => {
    const temps: Array<boolean | undefined> = [];
    class Temper extends Doer {
      override enter({ temp }: EnterOptions = {}): void {
        temps.push(temp);
      }
      override recur(): boolean {
        return true;
      }
    }
    const plain = new Temper();
    const ownTemp = new Temper({ temp: true });
    await new Doist({ temp: true }).do({ doers: [plain] });
    await new Doist().do({ doers: [plain, ownTemp] });
    await new Doist().do({ doers: [plain], temp: true });
    const doist = new Doist({ temp: true });
    await doist.do({ doers: [plain], temp: false });
    expect(temps).toEqual([true, false, true, true, false]);
    expect(doist.temp).toBe(true); // do()'s temp is for that run only
  });

  it("D19 an error propagates out of do() after the other deeds are closed", async () => {
    const log: string[] = [];
    class Logged extends ExDoer {
      constructor(
        readonly label: string,
        readonly failAt = 0,
      ) {
        super({ stop: 9 });
      }
      override recur(tyme: number): boolean {
        const done = super.recur(tyme);
        if (this.count === this.failAt) throw new Error(`${this.label} failed`);
        return done;
      }
      override exit(): void {
        super.exit();
        log.push(this.label);
      }
    }
    const [a, b, c] = [new Logged("A"), new Logged("B", 2), new Logged("C")];
    const doist = new Doist({ tock, doers: [a, b, c] });
    await expect(doist.do()).rejects.toThrow("B failed");
    expect(a.trace).toEqual([[0, "enter"], [0, "recur"], [tock, "recur"], [tock, "cease"], [tock, "exit"]]);
    expect(b.trace).toEqual([[0, "enter"], [0, "recur"], [tock, "recur"], [tock, "abort"], [tock, "exit"]]);
    expect(c.trace).toEqual([[0, "enter"], [0, "recur"], [tock, "cease"], [tock, "exit"]]);
    expect(log).toEqual(["B", "C", "A"]); // the others close newest first, in enter order
    expect([doist.done, doist.deeds.length, a.done, b.done, c.done]).toEqual([false, 0, false, false, false]);
  });

  it("D19 an error from recur() by hand drops that deed and keeps the others in order", () => {
    const doers = [new ExDoer({ stop: 9 }), new ExDoer({ stop: 9 }), new ExDoer({ stop: 9 })];
    const [, middle] = doers as [ExDoer, ExDoer, ExDoer];
    middle.recur = () => {
      throw new Error("Bad");
    };
    const doist = new Doist({ doers });
    doist.enter();
    expect(() => doist.recur()).toThrow("Bad");
    expect([...doist.deeds].map((deed) => deed.doer)).toEqual([doers[0], doers[2]]);
    expect(doist.tyme).toBe(0); // no tick after the error
    doist.recur(); // only the deed the error kept from its turn is due at tyme 0
    expect(doers.map((doer) => doer.count)).toEqual([1, 2, 1]);
    doist.recur();
    expect(doers.map((doer) => doer.count)).toEqual([2, 2, 2]);
    doist.exit();
  });
});
