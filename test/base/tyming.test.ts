import { describe, expect, it } from "vitest";
import { Tymee, Tymer, Tymist } from "../../src/base/tyming.ts";

describe("Tymist", () => {
  it("T1 keeps tyme and tock, ticks by tock or by a given tock once", () => {
    const fresh = new Tymist();
    expect([fresh.tyme, fresh.tock, Tymist.Tock]).toEqual([0, 0.03125, 0.03125]);

    const tymist = new Tymist({ tock: 1 });
    const tymes = [tymist.tick(), tymist.tick(0.75)];
    expect(tymist.tock).toBe(1);
    tymist.tock = 0.5;
    tymes.push(tymist.tick());
    expect(tymes).toEqual([1, 1.75, 2.25]);
    expect([tymist.tyme, tymist.tock]).toEqual([2.25, 0.5]);

    tymist.tock = -0.25; // stored as its absolute value, like hio
    expect(tymist.tock).toBe(0.25);
    expect(new Tymist({ tyme: 2, tock: -1 }).tick()).toBe(3);
  });

  it("T2 tymen returns a closure reading the live tyme", () => {
    const tymist = new Tymist({ tock: 0.25 });
    const tymth = tymist.tymen();
    const seen = [tymth()];
    tymist.tick();
    seen.push(tymth());
    tymist.tyme = 5;
    seen.push(tymth());
    expect(seen).toEqual([0, 0.25, 5]);
    expect(tymth()).toBe(tymist.tyme);
  });
});

describe("Tymee", () => {
  it("T3 has no tyme until wound, then follows its tymist; wind switches", () => {
    const tymee = new Tymee();
    expect([tymee.tymth, tymee.tyme]).toEqual([null, null]);

    const one = new Tymist({ tyme: 1 });
    const two = new Tymist({ tyme: 7.5 });
    tymee.wind(one.tymen());
    expect(tymee.tyme).toBe(1);
    one.tick();
    expect(tymee.tyme).toBe(1.03125);
    tymee.wind(two.tymen());
    expect(tymee.tyme).toBe(7.5);

    const born = new Tymee({ tymth: one.tymen() });
    expect(born.tyme).toBe(one.tyme);
  });
});

describe("Tymer", () => {
  it("T4 measures duration, elapsed, remaining and expired against its tymth", () => {
    const bare = new Tymer();
    expect([bare.duration, bare.elapsed, bare.remaining, bare.expired]).toEqual([0, 0, 0, true]);

    const tymist = new Tymist({ tock: 0.25 });
    const tymer = new Tymer({ tymth: tymist.tymen(), duration: 1 });
    const readings: Array<[number, number, number, boolean]> = [];
    for (let i = 0; i < 5; i++) {
      readings.push([tymer.duration, tymer.elapsed, tymer.remaining, tymer.expired]);
      tymist.tick();
    }
    expect(readings).toEqual([
      [1, 0, 1, false],
      [1, 0.25, 0.75, false],
      [1, 0.5, 0.5, false],
      [1, 0.75, 0.25, false],
      [1, 1, 0, true],
    ]);
  });

  it("T4 start keeps the duration, starts now by default, allows past and future starts", () => {
    const tymist = new Tymist({ tock: 0.25 });
    const tymer = new Tymer({ tymth: tymist.tymen(), duration: 1 });
    tymist.tick();
    tymist.tick();
    expect(tymer.start()).toBe(0.5); // now, same duration
    expect([tymer.duration, tymer.elapsed, tymer.remaining]).toEqual([1, 0, 1]);
    expect(tymer.start({ duration: 2 })).toBe(0.5);
    expect([tymer.duration, tymer.remaining]).toEqual([2, 2]);

    const early = new Tymer({ tymth: new Tymist().tymen() });
    expect(early.start({ duration: 1, start: 0.25 })).toBe(0.25);
    expect([early.elapsed, early.remaining, early.expired]).toEqual([-0.25, 1.25, false]);
    expect(early.start({ start: -1 })).toBe(-1); // past start: duration kept, already expired
    expect([early.duration, early.elapsed, early.remaining, early.expired]).toEqual([1, 1, 0, true]);

    const unwound = new Tymer({ duration: 0.5, start: 2 });
    expect([unwound.elapsed, unwound.remaining, unwound.expired]).toEqual([-2, 2.5, false]);
  });

  it("T5 restart is lossless: the next period begins at the old stop, not now", () => {
    const tymist = new Tymist({ tock: 0.25 });
    const tymer = new Tymer({ tymth: tymist.tymen(), duration: 1 });
    for (let i = 0; i < 5; i++) tymist.tick();
    expect([tymist.tyme, tymer.expired]).toEqual([1.25, true]);
    expect(tymer.restart()).toBe(1);
    expect([tymer.elapsed, tymer.remaining, tymer.expired]).toEqual([0.25, 0.75, false]);
    expect(tymer.restart(0.125)).toBe(2); // new duration, still from the old stop
    expect([tymer.duration, tymer.elapsed, tymer.remaining, tymer.expired]).toEqual([
      0.125, -0.75, 0.875, false,
    ]);
  });

  it("T6 winding restarts it at the new base with the same duration", () => {
    const tymer = new Tymer({ duration: 1 });
    expect([tymer.elapsed, tymer.remaining, tymer.expired]).toEqual([0, 1, false]);
    const tymist = new Tymist({ tyme: 5 });
    tymer.wind(tymist.tymen());
    expect([tymer.started, tymer.stop, tymer.duration, tymer.expired]).toEqual([5, 6, 1, false]);
    tymist.tick(1);
    expect(tymer.expired).toBe(true);
  });
});
