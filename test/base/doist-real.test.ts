import { createServer, connect, type Server, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { Doer, Doist, doify, type Dog } from "../../src/base/doing.ts";
import { ExDoer, exDo, type Trace } from "../../src/base/exdoing.ts";

const tock = 0.03125;

/** The SIGINT listeners added since `before` (the Doist's own, while it runs). */
const addedSigint = (before: Function[]) => process.listeners("SIGINT").filter((fn) => !before.includes(fn));

describe("Doist in real time", () => {
  it("D14 real mode gives the simulated traces, paced to wall-clock tock", async () => {
    const doer0 = new ExDoer({ tock });
    const doer1 = new ExDoer({ tock: tock * 2 });
    const gf = doify(exDo, { tock: tock * 2, states: [] as Trace });
    const doist = new Doist({ tock, real: true, limit: tock * 4 });
    const started = performance.now();
    await doist.do({ doers: [doer0, doer1, gf] });
    const elapsed = performance.now() - started;
    expect(doist.tyme).toBe(0.125);
    expect(doer0.trace).toEqual([
      [0, "enter"], [0, "recur"], [0.03125, "recur"], [0.0625, "recur"], [0.09375, "recur"], [0.09375, "exit"],
    ]);
    const cut = [[0, "enter"], [0, "recur"], [0.0625, "recur"], [0.125, "cease"], [0.125, "exit"]];
    expect([doer1.trace, gf.opts.states]).toEqual([cut, cut]);
    expect([doer0.done, doer1.done, gf.done, doist.done]).toEqual([true, false, false, false]);
    expect(elapsed).toBeGreaterThanOrEqual(4 * tock * 1000 - 1); // four ticks of wall clock
  });

  it("D14 a late tick does not push the later ones: pacing catches up without drift", async () => {
    const slow = 0.0625; // tock of 62.5 ms, eight ticks: 500 ms
    class Hog extends Doer {
      override recur(): boolean {
        if (this.tyme === 0) {
          const until = performance.now() + 250; // block four ticks' worth once
          while (performance.now() < until);
        }
        return false;
      }
    }
    const doist = new Doist({ tock: slow, real: true, limit: slow * 8 });
    const started = performance.now();
    await doist.do({ doers: [new Hog()] });
    const elapsed = performance.now() - started;
    expect(doist.tyme).toBe(0.5);
    expect(elapsed).toBeGreaterThanOrEqual(500 - 1);
    expect(elapsed).toBeLessThan(700); // with drift it would take 750 ms
  });

  it("D20 a doer sees a 50 ms timer started in enter done within a few real ticks", async () => {
    class Waiter extends Doer {
      fired = false;
      seenAt: number | null = null;
      override enter(): void {
        setTimeout(() => {
          this.fired = true;
        }, 50);
      }
      override recur(tyme: number): boolean {
        if (this.fired) this.seenAt = tyme;
        return this.fired;
      }
    }
    const waiter = new Waiter();
    const doist = new Doist({ tock, real: true, limit: 0.5 });
    await doist.do({ doers: [waiter] });
    expect([waiter.done, doist.done]).toEqual([true, true]);
    // 50 ms is past tick 1 (31.25 ms), so tick 2 at the soonest; a few ticks later at most
    expect(waiter.seenAt).toBeGreaterThanOrEqual(2 * tock);
    expect(waiter.seenAt).toBeLessThanOrEqual(10 * tock);
  });

  it("D20 simulated ticks let the event loop turn so loopback sockets make progress", async () => {
    const server: Server = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    let client: Socket | null = null;
    function* echoer(): Dog {
      const received: Buffer[] = [];
      client = connect(port, "127.0.0.1", () => client?.write("ping"));
      client.on("data", (data) => received.push(data));
      try {
        while (Buffer.concat(received).toString() !== "ping") yield 0;
      } finally {
        client.destroy();
      }
      return true;
    }
    const doer = doify(echoer);
    const doist = new Doist({ tock, limit: tock * 100_000 });
    try {
      await doist.do({ doers: [doer] });
    } finally {
      server.close();
    }
    expect([doer.done, doist.done]).toEqual([true, true]);
    expect(doist.tyme).toBeLessThan(tock * 100_000);
  });

  it("stops on SIGINT in real time: exits the deeds, resolves, removes its listener", async () => {
    const before = process.listeners("SIGINT");
    let listeners = 0;
    class Interrupter extends ExDoer {
      override recur(tyme: number): boolean {
        const done = super.recur(tyme);
        if (this.count === 2) {
          const added = addedSigint(before);
          listeners = added.length;
          for (const listener of added) (listener as () => void)();
        }
        return done;
      }
    }
    const interrupter = new Interrupter({ stop: 9 });
    const bystander = new ExDoer({ stop: 9 });
    const doist = new Doist({ tock, real: true, limit: 10 });
    await doist.do({ doers: [interrupter, bystander] });
    expect(listeners).toBe(1);
    // stopped at the tyme the wall clock had reached (the tick at tock, unless the machine stalled)
    const stopped = doist.tyme;
    expect([doist.done, stopped >= tock, stopped % tock, doist.deeds.length]).toEqual([false, true, 0, 0]);
    expect(interrupter.trace).toEqual([[0, "enter"], [0, "recur"], [tock, "recur"], [stopped, "cease"], [stopped, "exit"]]);
    expect(bystander.trace.slice(-2)).toEqual([[stopped, "cease"], [stopped, "exit"]]);
    expect(addedSigint(before)).toEqual([]);
  });

  it("installs no SIGINT listener in simulated runs and removes it after a failed real run", async () => {
    const before = process.listeners("SIGINT");
    const seen: number[] = [];
    const failer = new ExDoer();
    failer.recur = () => {
      seen.push(addedSigint(before).length);
      throw new Error("Bad");
    };
    await expect(new Doist({ tock }).do({ doers: [failer] })).rejects.toThrow("Bad");
    await expect(new Doist({ tock, real: true }).do({ doers: [failer] })).rejects.toThrow("Bad");
    expect(seen).toEqual([0, 1]);
    expect(addedSigint(before)).toEqual([]);
  });
});
