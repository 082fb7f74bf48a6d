/**
 * testing.runUntil and testing.Trace: doers in simulated tyme until a condition, a limit or their
 * end, with a tyme-stamped trace that compares by digest.
 */
import { describe, expect, it } from "vitest";
import { Doer, Doist, doify, http, tcp, testing } from "../../src/index.ts";
import type { Dog, Tymth } from "../../src/index.ts";

/** Notes its lifecycle in a trace; done after `runs` recurs. */
class Noter extends Doer {
  #runs = 0;
  constructor(readonly trace: testing.Trace, readonly name: string, readonly runs = Infinity, tock = 0) {
    super({ tock });
  }
  override enter(): void {
    this.trace.note(`${this.name} enter`);
  }
  override recur(tyme: number): boolean {
    this.trace.at(tyme, `${this.name} recur`);
    return ++this.#runs >= this.runs;
  }
  override exit(): void {
    this.trace.note(`${this.name} exit`);
  }
}

describe("testing.runUntil", () => {
  it("stops once until holds, at the tyme of the tick that made it so, and exits what is left", async () => {
    const trace = new testing.Trace();
    const noter = new Noter(trace, "a", Infinity, 1 / 4);
    const run = await testing.runUntil([noter], { until: () => trace.only("a recur").length >= 3, limit: 10, tock: 1 / 8, trace });
    expect([run.tyme, run.ticks, run.met, run.done]).toEqual([0.5, 5, true, false]);
    expect(trace.entries).toEqual([[0, "a enter"], [0, "a recur"], [0.25, "a recur"], [0.5, "a recur"], [0.625, "a exit"]]);
    expect(run.doist.tyme).toBe(0.625); // one tock past the last tick
    expect(run.trace).toBe(trace);
  });

  it("runs no tick at or past the limit", async () => {
    const trace = new testing.Trace();
    const run = await testing.runUntil([new Noter(trace, "a")], { limit: 0.5, tock: 1 / 8, tyme: 2, trace });
    expect([run.tyme, run.ticks, run.met, run.done]).toEqual([2.375, 4, false, false]);
    expect(trace.only("a recur").map(([tyme]) => tyme)).toEqual([2, 2.125, 2.25, 2.375]);
  });

  it("ends when every doer is done by itself", async () => {
    const trace = new testing.Trace();
    function* twice(tymth: Tymth, { tock = 0 }: { tock?: number } = {}): Dog {
      yield tock; // entered
      trace.at(tymth(), "g 1");
      yield tock;
      trace.at(tymth(), "g 2");
      return true;
    }
    const run = await testing.runUntil([new Noter(trace, "a", 2), doify(twice, { tock: 1 / 4 })], { limit: 10, tock: 1 / 8, trace });
    expect([run.done, run.met, run.tyme]).toEqual([true, false, 0.25]);
    expect(trace.entries).toEqual([
      [0, "a enter"], [0, "a recur"], [0, "g 1"], [0.125, "a recur"], [0.125, "a exit"], [0.25, "g 2"],
    ]);
  });

  it("exits the other doers and rejects when a doer throws", async () => {
    const trace = new testing.Trace();
    const thrower = doify(function* thrower(): Dog {
      yield 0;
      throw new Error("thrown at its second run");
    });
    await expect(testing.runUntil([new Noter(trace, "a"), thrower], { limit: 1, trace })).rejects.toThrow("thrown at its second run");
    expect(trace.entries.at(-1)?.[1]).toBe("a exit");
  });

  it("runs on a Doist given, keeping its tock and the tymth it gave out", async () => {
    const doist = new Doist({ tock: 1 / 4 });
    const network = new tcp.MemoryNetwork();
    const server = http.openServer({ app: () => new Response("hi"), network, host: "127.0.0.1", port: 80, tymth: doist.tymen() });
    const client = new http.Client({ network, port: 80, tymth: doist.tymen() });
    client.request({ path: "/" });
    const run = await testing.runUntil([new http.ServerDoer({ server }), new http.ClientDoer({ client })], {
      doist, until: () => client.responses.length > 0, limit: 5,
    });
    expect(client.respond()?.body).toEqual(new TextEncoder().encode("hi"));
    expect(run.tyme).toBe(0.25);
  });

  it("refuses a limit that is not a tyme", async () => {
    await expect(testing.runUntil([], { limit: Number.NaN })).rejects.toThrow(/runUntil limit must be a number of seconds/);
    await expect(testing.runUntil([], { limit: 1, tock: 0 })).rejects.toThrow(/runUntil tock must be/);
  });
});

describe("testing.Trace", () => {
  it("stamps notes with its clock and says when it has none", () => {
    const trace = new testing.Trace();
    expect(() => trace.note("x")).toThrow(/no clock/);
    let tyme = 1.5;
    trace.wind(() => tyme);
    trace.note("x", 1, "two", true, null);
    tyme = 2;
    trace.at(7, "y");
    expect(trace.entries).toEqual([[1.5, "x", 1, "two", true, null], [7, "y"]]);
    expect(trace.lines()).toEqual(['1.5 x 1 "two" true null', "7 y"]);
  });

  it("digests equal traces equally and different ones differently", () => {
    const make = (what: string): testing.Trace => {
      const trace = new testing.Trace({ tymth: () => 0 });
      trace.note(what);
      return trace;
    };
    expect(make("a").digest()).toBe(make("a").digest());
    expect(make("a").digest()).not.toBe(make("b").digest());
    expect(make("a").digest()).toMatch(/^[0-9a-f]{64}$/);
  });

  it("records a client's wire through its wire log, dates masked", async () => {
    const trace = new testing.Trace();
    const network = new tcp.MemoryNetwork({ latency: 1 / 32 });
    const server = http.openServer({ app: () => new Response("hi"), network, host: "127.0.0.1", port: 80 });
    const client = new http.Client({ network, port: 80, wl: trace.wireLog("client") });
    client.request({ path: "/x", headers: { "user-agent": "test" } });
    await testing.runUntil([new http.ServerDoer({ server }), new http.ClientDoer({ client })], {
      until: () => client.responses.length > 0, limit: 2, tock: 1 / 32, trace,
    });
    expect(trace.entries.map(([tyme, what, who]) => [tyme, what, who])).toEqual([
      [2 / 32, "client tx", "127.0.0.1:80"], // connected after a round trip
      [4 / 32, "client rx", "127.0.0.1:80"], // there a latency later, answered, back a latency later
    ]);
    expect(trace.entries[1]![3]).toMatch(/\r\ndate: <date>\r\n/);
    expect(testing.wireText(new TextEncoder().encode("Date: Sun, 06 Nov 1994 08:49:37 GMT"))).toBe("Date: <date>");
  });
});
