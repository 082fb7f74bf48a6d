import { describe, expect, it } from "vitest";
import { DoDoer, Doer, Doist, doify, doize, type Dog } from "../../src/index.ts";
import type { Tymth } from "../../src/index.ts";

class Blink extends Doer {}

function* count(_tymth: Tymth, { tock = 0 }: { tock?: number } = {}): Dog {
  for (;;) yield tock;
}

function* once(): Dog {
  yield;
  return true;
}

const watch = doize({ tock: 0.25 })(function* watch(_tymth: Tymth, { tock = 0 }: { tock?: number } = {}): Dog {
  for (;;) yield tock;
});

describe("Doist.deedTree", () => {
  it("lists each deed's doer name, tock, retyme and done, a DoDoer's deeds nested, and drops returned ones", () => {
    const onceDoer = doify(once, { name: "once" });
    const nested = new DoDoer({ tock: 0.125, doers: [watch, onceDoer] });
    const doist = new Doist({ name: "main", tock: 0.125, doers: [new Blink({ tock: 0.25 }), doify(count, { name: "counter", tock: 0.5 }), nested] });
    doist.enter();
    expect(doist.deedTree()).toEqual({
      name: "main",
      tyme: 0,
      tock: 0.125,
      done: null,
      deeds: [
        { name: "Blink", tock: 0.25, retyme: 0, done: false },
        { name: "counter", tock: 0.5, retyme: 0, done: false },
        {
          name: "DoDoer",
          tock: 0.125,
          retyme: 0,
          done: false,
          deeds: [
            { name: "watch", tock: 0.25, retyme: 0, done: false },
            { name: "once", tock: 0, retyme: 0, done: false },
          ],
        },
      ],
    });

    doist.recur(); // at 0: each runs; once returns
    doist.recur(); // at 0.125: the DoDoer alone is due (its watch is not)
    expect(onceDoer.done).toBe(true);
    expect(doist.deedTree()).toEqual({
      name: "main",
      tyme: 0.25,
      tock: 0.125,
      done: null,
      deeds: [
        { name: "Blink", tock: 0.25, retyme: 0.25, done: false },
        { name: "counter", tock: 0.5, retyme: 0.5, done: false },
        { name: "DoDoer", tock: 0.125, retyme: 0.25, done: false, deeds: [{ name: "watch", tock: 0.25, retyme: 0.25, done: false }] },
      ],
    });
    doist.exit();
    expect(doist.deedTree().deeds).toEqual([]);
  });

  it("names an anonymous doified function so, and a doer by its own name before its class", () => {
    class Named extends Doer {
      readonly name = "sentry";
    }
    const doist = new Doist({ tock: 0.125, doers: [doify(function* (): Dog { for (;;) yield; }), new Named()] });
    doist.enter();
    expect(doist.deedTree().deeds.map((deed) => deed.name)).toEqual(["(anonymous)", "sentry"]);
    doist.exit();
  });

  it("lists every deed in order when a doer asks during a pass, itself included", () => {
    const seen: string[][] = [];
    let doist: Doist | null = null;
    function* look(): Dog {
      yield 0; // entered (the doers after it are not yet)
      for (;;) {
        seen.push(doist!.deedTree().deeds.map((deed) => deed.name));
        yield 0;
      }
    }
    doist = new Doist({ tock: 0.125, doers: [doify(count, { name: "first" }), doify(look, { name: "look" }), doify(count, { name: "last" })] });
    doist.enter();
    doist.recur();
    doist.recur();
    expect(seen).toEqual([["first", "look", "last"], ["first", "look", "last"]]);
    expect(doist.deedTree().deeds.map((deed) => deed.name)).toEqual(["first", "look", "last"]);
  });
});

