/**
 * An adversarial review of Doist's real mode (`real: true`): a doer failing mid-run, SIGINT
 * during a long wait, failures in enter, limits, and that every run ends by itself with no
 * timer or SIGINT listener left behind. Complements doist-real.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Doer, Doist } from "../../src/base/doing.ts";
import { ExDoer } from "../../src/base/exdoing.ts";

const tock = 0.015625;

/** SIGINT listeners added since `before`. */
const addedSigint = (before: Function[]) => process.listeners("SIGINT").filter((fn) => !before.includes(fn));
/** How many timers the process holds now. */
const timers = (): number => process.getActiveResourcesInfo().filter((name) => name === "Timeout").length;

describe("Doist real mode under review", () => {
  it("rejects with a doer's mid-run error, exits the others, leaves no timer or listener", async () => {
    const before = process.listeners("SIGINT");
    const timersBefore = timers();
    class Failer extends ExDoer {
      override recur(tyme: number): boolean {
        if (tyme >= 3 * tock) throw new Error("mid-run");
        return super.recur(tyme);
      }
    }
    const failer = new Failer();
    const bystander = new ExDoer({ stop: 100 });
    const doist = new Doist({ tock, real: true, limit: 1 });
    const started = performance.now();
    await expect(doist.do({ doers: [failer, bystander] })).rejects.toThrow("mid-run");
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(3 * tock * 1000 - 1);  // three paced ticks first
    expect(elapsed).toBeLessThan(500);
    expect(doist.deeds.length).toBe(0);
    expect(bystander.trace.slice(-2).map(([, what]) => what)).toEqual(["cease", "exit"]);
    expect(doist.done).toBe(false);
    expect(addedSigint(before)).toEqual([]);
    expect(timers()).toBeLessThanOrEqual(timersBefore); // none added (one from another test may have ended meanwhile)
  });

  it("removes its SIGINT listener when a doer's enter throws", async () => {
    const before = process.listeners("SIGINT");
    class BadEnter extends Doer {
      override enter(): void {
        throw new Error("no entry");
      }
    }
    const doist = new Doist({ tock, real: true, limit: 1 });
    await expect(doist.do({ doers: [new BadEnter()] })).rejects.toThrow("no entry");
    expect(addedSigint(before)).toEqual([]);
  });

  it("wakes at once on SIGINT during a long tock, clears its timer and resolves", async () => {
    const before = process.listeners("SIGINT");
    const timersBefore = timers();
    const doer = new ExDoer({ stop: 100 });
    const doist = new Doist({ tock: 30, real: true, limit: 300 });  // one tick waits 30 s
    let added: Function[] = [];
    const interrupt = setTimeout(() => {
      added = addedSigint(before);
      for (const listener of added) (listener as () => void)();
    }, 30);
    const started = performance.now();
    await doist.do({ doers: [doer] });
    clearTimeout(interrupt);
    const elapsed = performance.now() - started;
    expect(added.length).toBe(1);
    expect(elapsed).toBeLessThan(2000);
    // tyme never runs ahead of the wall clock: 30 ms into a 30 s tock it is still 0
    expect([doist.done, doist.tyme, doist.deeds.length]).toEqual([false, 0, 0]);
    expect(doer.trace.slice(-2).map(([, what]) => what)).toEqual(["cease", "exit"]);
    expect(addedSigint(before)).toEqual([]);
    expect(timers()).toBeLessThanOrEqual(timersBefore); // none added (one from another test may have ended meanwhile)
  });

  it("a later run after a SIGINT is not stopped by the old interrupt", async () => {
    const before = process.listeners("SIGINT");
    const doist = new Doist({ tock, real: true, limit: 1 });
    const interrupter = new ExDoer({ stop: 100 });
    interrupter.recur = () => {
      for (const listener of addedSigint(before)) (listener as () => void)();
      return false;
    };
    await doist.do({ doers: [interrupter] });
    expect(doist.tyme % tock).toBe(0); // interrupted in the first tick: the wall clock's tyme on the grid
    const next = new ExDoer({ stop: 100 });
    await doist.do({ doers: [next], limit: 4 * tock, tyme: 0 });
    expect([doist.done, doist.tyme]).toEqual([false, 4 * tock]);
    expect(next.trace.filter(([, what]) => what === "recur").length).toBe(4);
    expect(addedSigint(before)).toEqual([]);
  });

  it("ends by itself at the limit with no timer left, paced with sub-millisecond tocks too", async () => {
    const timersBefore = timers();
    const fine = 1 / 2048;  // ~0.49 ms (exact in binary): below timer resolution, paced by turns
    const doist = new Doist({ tock: fine, real: true, limit: fine * 40 });
    const started = performance.now();
    await doist.do({ doers: [new ExDoer({ stop: 1000 })] });
    const elapsed = performance.now() - started;
    expect([doist.done, doist.tyme]).toEqual([false, fine * 40]);
    expect(elapsed).toBeGreaterThanOrEqual(40 * fine * 1000 - 1);
    expect(elapsed).toBeLessThan(500);
    expect(timers()).toBeLessThanOrEqual(timersBefore); // none added (one from another test may have ended meanwhile)
  });

  it("ends by itself with done true once every doer finished, before the limit", async () => {
    const doist = new Doist({ tock, real: true, limit: 10 });
    const started = performance.now();
    await doist.do({ doers: [new ExDoer({ stop: 3 })] });
    expect([doist.done, doist.deeds.length]).toEqual([true, 0]);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("Doist.do while running", () => {
  it("refuses a second run of the same Doist until the first has ended", async () => {
    const doist = new Doist({ tock: 1 / 32, limit: 1 / 8 });
    const first = doist.do({ doers: [] });
    await expect(doist.do()).rejects.toThrow(/already running/);
    await first;
    await expect(doist.do({ limit: 1 / 16 })).resolves.toBeUndefined();
  });
});
