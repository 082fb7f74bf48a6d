/**
 * A real-time Doist ticks when something is due and sleeps otherwise: a deed's retyme, the pace
 * of a doer yielding 0 that cannot say more, a doer's own `due()`, or an I/O `wake()`.
 */
import { describe, expect, it } from "vitest";
import { DoDoer, Doer, Doist, ServicingDoer, http, wake } from "../../src/index.ts";
import type { Servicing } from "../../src/index.ts";

/** A doer yielding 0 that has nothing to do until woken, or until `at` when set. */
class Idler extends Doer {
  at = Infinity;
  seen: number[] = [];
  stopWhen: (tyme: number) => boolean = () => false;
  due(): number {
    return this.at;
  }
  override recur(tyme: number): boolean {
    this.seen.push(tyme);
    return this.stopWhen(tyme);
  }
}

/** A doer that records the tymes it runs at. */
class Recorder extends Doer {
  seen: number[] = [];
  override recur(tyme: number): boolean {
    this.seen.push(tyme);
    return false;
  }
}

const SIGTERM_BEFORE = (): Function[] => process.listeners("SIGTERM");

describe("a real-time Doist that sleeps until there is work", () => {
  it("sleeps while nothing is due and ticks at once on wake(), at the wall clock's tyme", async () => {
    const tock = 1 / 32;
    const idler = new Idler();
    let woke = false;
    idler.stopWhen = () => woke;
    const timer = setTimeout(() => {
      woke = true;
      wake();
    }, 80);
    const doist = new Doist({ tock, real: true, limit: 4 });
    const started = performance.now();
    await doist.do({ doers: [idler] });
    const elapsed = performance.now() - started;
    clearTimeout(timer);
    expect(doist.done).toBe(true);
    expect(doist.ticks).toBe(2); // the first pass, then the woken one: no pacing in between
    const [first, woken] = idler.seen;
    expect(first).toBe(0);
    expect(woken! % tock).toBe(0); // on the tock grid
    expect(woken! * 1000).toBeLessThanOrEqual(elapsed); // never ahead of the wall clock
    expect(woken).toBeGreaterThanOrEqual(2 * tock); // 80 ms had passed
    expect(elapsed).toBeLessThan(1000); // not held to the limit
  });

  it("wakes for a doer's own due tyme without being told", async () => {
    const idler = new Idler();
    idler.at = 0.125;
    idler.stopWhen = (tyme) => tyme >= 0.125;
    const doist = new Doist({ tock: 1 / 64, real: true, limit: 2 });
    await doist.do({ doers: [idler] });
    expect(idler.seen).toEqual([0, 0.125]);
    expect(doist.ticks).toBe(2);
  });

  it("runs yielding-0 deeds on every tick that runs and periodic deeds only at their retymes", async () => {
    const tock = 1 / 64;
    const idler = new Idler();
    const periodic = new Recorder({ tock: 1 / 8 });
    const wakes = [10, 30, 50].map((ms) => setTimeout(wake, ms));
    const doist = new Doist({ tock, real: true, limit: 0.5 });
    await doist.do({ doers: [idler, periodic] });
    wakes.forEach(clearTimeout);
    expect(periodic.seen).toEqual([0, 0.125, 0.25, 0.375]);
    expect(idler.seen.length).toBe(doist.ticks); // on every tick
    expect(doist.ticks).toBeGreaterThanOrEqual(4);
    expect(doist.ticks).toBeLessThanOrEqual(4 + 3); // the retymes and the three wakes, no pacing
    expect(doist.tyme).toBe(0.5);
  });

  it("paces a doer that yields 0 and cannot say when it is due at one tick a tock, never ahead of the wall", async () => {
    const tock = 1 / 64;
    const walls: Array<[tyme: number, wall: number]> = [];
    let started = 0;
    class Watcher extends Doer {
      override recur(tyme: number): boolean {
        walls.push([tyme, (performance.now() - started) / 1000]);
        return false;
      }
    }
    const doist = new Doist({ tock, real: true, limit: 0.25 });
    started = performance.now();
    await doist.do({ doers: [new Watcher()] });
    expect(walls.map(([tyme]) => tyme)).toEqual(Array.from({ length: 16 }, (_, i) => i * tock));
    for (const [tyme, wall] of walls) expect(tyme).toBeLessThanOrEqual(wall + 1e-9);
  });

  it("lets a DoDoer tell its doers' due tyme", async () => {
    const idler = new Idler();
    idler.at = 0.25;
    idler.stopWhen = (tyme) => tyme >= 0.25;
    const dodoer = new DoDoer({ doers: [idler] });
    const doist = new Doist({ tock: 1 / 64, real: true, limit: 2 });
    await doist.do({ doers: [dodoer] });
    expect(idler.seen).toEqual([0, 0.25]);
    expect(dodoer.due(9)).toBe(Infinity); // no deeds left
  });

  it("sleeps through an idle servicing: no ticks while nothing arrives", async () => {
    const serviced: number[] = [];
    const servicing: Servicing = {
      wind() {},
      reopen: () => true,
      service() {
        serviced.push(1);
      },
      close() {},
      due: () => Infinity,
    };
    const doist = new Doist({ tock: 1 / 1024, real: true, limit: 0.125 });
    await doist.do({ doers: [new ServicingDoer(servicing)] });
    expect(doist.ticks).toBe(1); // 128 paced ticks before this change
    expect(serviced.length).toBe(1);
  });

  it("takes doers added or removed from outside a tick at once, asleep or not", async () => {
    const idler = new Idler();
    const late = new Recorder();
    const doist = new Doist({ tock: 1 / 64, real: true, limit: 30 });
    setTimeout(() => doist.extend([late]), 20);
    setTimeout(() => doist.remove([idler, late]), 60);
    const started = performance.now();
    await doist.do({ doers: [idler] });
    expect(performance.now() - started).toBeLessThan(5000); // not held to the 30 s limit
    expect(doist.done).toBe(true);
    expect(late.seen.length).toBeGreaterThanOrEqual(1); // ran while the idler slept
  });

  it("sleeps through an idle HTTP client, and its request() wakes it", async () => {
    const server = http.openServer({ app: () => new Response("hi"), host: "127.0.0.1", port: 0 });
    const client = new http.Client({ hostname: "127.0.0.1", port: server.ha[1] });
    let answer: number | null = null;
    const asker = new (class extends Doer {
      override recur(tyme: number): boolean {
        const response = client.respond();
        if (response !== null) answer = response.status;
        return tyme >= 0.25;
      }
    })({ tock: 1 / 8 }); // periodic: due at its retymes only
    setTimeout(() => client.request({ method: "GET", path: "/" }), 100);
    const doist = new Doist({ tock: 1 / 1024, real: true, limit: 0.5 });
    await doist.do({ doers: [new http.ServerDoer({ server }), new http.ClientDoer({ client }), asker] });
    expect(answer).toBe(200);
    // a few ticks for the connection and the exchange, not the 512 a paced client would cost
    expect(doist.ticks).toBeLessThan(40);
  });

  it("moves tyme on with the wall clock while a doer stays busy tick after tick", async () => {
    const busy = new Idler();
    busy.at = -Infinity; // always work to do now
    const started = performance.now();
    busy.stopWhen = () => performance.now() - started > 100;
    const doist = new Doist({ tock: 1 / 64, real: true, limit: 5 });
    await doist.do({ doers: [busy] });
    expect(busy.seen.at(-1)).toBeGreaterThanOrEqual(3 / 64); // about 100 ms of wall: not frozen at 0
    for (let i = 1; i < busy.seen.length; i++) expect(busy.seen[i]).toBeGreaterThanOrEqual(busy.seen[i - 1]!);
  });

  it("stops cleanly on SIGTERM as on SIGINT, and on no signal when told so", async () => {
    const before = SIGTERM_BEFORE();
    const recorder = new Recorder();
    const exits: string[] = [];
    recorder.exit = () => void exits.push("exit");
    const timer = setTimeout(() => {
      for (const listener of process.listeners("SIGTERM").filter((fn) => !before.includes(fn))) (listener as () => void)();
    }, 30);
    const doist = new Doist({ tock: 1 / 64, real: true, limit: 10 });
    await doist.do({ doers: [recorder] });
    clearTimeout(timer);
    expect([doist.done, exits]).toEqual([false, ["exit"]]);
    expect(process.listeners("SIGTERM")).toEqual(before);

    const quiet = new Doist({ tock: 1 / 64, real: true, limit: 1 / 16, signals: [] });
    let added = -1;
    const peek = new Recorder();
    peek.recur = () => {
      added = process.listeners("SIGTERM").length + process.listeners("SIGINT").length;
      return true;
    };
    const baseline = process.listeners("SIGTERM").length + process.listeners("SIGINT").length;
    await quiet.do({ doers: [peek] });
    expect(added).toBe(baseline);
  });
});
