import { setup } from "xstate";
import { describe, expect, it } from "vitest";
import { MachineTable, Stepper } from "../../src/base/machining.ts";
import { expectRandomRunsAgree, expectTableAgrees } from "../machines/agreement.ts";

const nested = setup({
  types: { events: {} as { type: "go" } | { type: "next" } | { type: "back" } | { type: "stop" }, tags: {} as "moving" },
}).createMachine({
  id: "nested",
  initial: "idle",
  states: {
    idle: { on: { go: "moving" } },
    moving: {
      tags: ["moving"],
      initial: "slow",
      states: {
        slow: { on: { next: "fast" } },
        fast: { on: { next: "slow", back: "#nested.idle" } },
      },
    },
    stopped: { type: "final" },
  },
  on: { stop: ".stopped" },
});

describe("MachineTable", () => {
  it("flattens nested states into dotted leaf paths", () => {
    const table = new MachineTable(nested);
    expect(table.states).toEqual(["idle", "moving.slow", "moving.fast", "stopped"]);
    expect(table.states[table.initial]).toBe("idle");
    expect([...table.events].sort()).toEqual(["back", "go", "next", "stop"]);
  });

  it("marks tags and final states per leaf", () => {
    const table = new MachineTable(nested);
    expect(table.tags.map((tags) => tags.has("moving"))).toEqual([false, true, true, false]);
    expect(table.final).toEqual([false, false, false, true]);
  });

  it("leaves unhandled events at -1", () => {
    const table = new MachineTable(nested);
    expect(table.step(table.indexOf("idle"), table.eventIndex("next"))).toBe(-1);
    expect(table.step(table.indexOf("stopped"), table.eventIndex("go"))).toBe(-1);
    expect(table.eventIndex("nope")).toBe(-1);
    expect(() => table.indexOf("moving")).toThrow(/no leaf state moving/);
  });

  it("refuses guarded, delayed and parallel machines, which a table cannot step exactly", () => {
    const guarded = setup({ guards: { ok: () => true } }).createMachine({
      id: "g",
      initial: "a",
      states: { a: { on: { e: { guard: "ok", target: "b" } } }, b: {} },
    });
    expect(() => new MachineTable(guarded)).toThrow(/guarded transition on e/);
    const delayed = setup({}).createMachine({ id: "d", initial: "a", states: { a: { after: { 10: "b" } }, b: {} } });
    expect(() => new MachineTable(delayed)).toThrow(/delayed/);
    const parallel = setup({}).createMachine({ id: "p", type: "parallel", states: { a: {}, b: {} } });
    expect(() => new MachineTable(parallel)).toThrow(/parallel/);
  });

  it("agrees with xstate's interpreter on every state and event and on random runs", () => {
    const table = new MachineTable(nested);
    expect(expectTableAgrees(nested, table)).toBe(16);
    expectRandomRunsAgree(nested, table);
  });
});

describe("Stepper", () => {
  it("steps, matches ancestors, reports tags, done and reset", () => {
    const stepper = new Stepper(new MachineTable(nested));
    expect(stepper.send("next")).toBe(false);
    expect(stepper.value).toBe("idle");
    expect(stepper.send("go")).toBe(true);
    expect(stepper.matches("moving")).toBe(true);
    expect(stepper.matches("moving.slow")).toBe(true);
    expect(stepper.matches("mov")).toBe(false);
    expect(stepper.hasTag("moving")).toBe(true);
    stepper.send("next");
    expect(stepper.value).toBe("moving.fast");
    stepper.send("stop");
    expect(stepper.done).toBe(true);
    stepper.reset();
    expect(stepper.value).toBe("idle");
    expect(stepper.step(-1)).toBe(false);
  });

  it("tells its observer of each transition taken, after the state changed, and of nothing else", () => {
    const table = new MachineTable(nested);
    const stepper = new Stepper(table);
    const seen: string[] = [];
    stepper.observer = (event, from, to) => seen.push(`${table.states[from]} -${table.events[event]}-> ${table.states[to]} (${stepper.value})`);
    stepper.send("next"); // not handled in idle: no transition
    stepper.send("go");
    stepper.send("next");
    stepper.send("back");
    stepper.step(-1);
    stepper.send("stop");
    stepper.reset(); // not a transition
    stepper.observer = null;
    stepper.send("go");
    expect(seen).toEqual([
      "idle -go-> moving.slow (moving.slow)",
      "moving.slow -next-> moving.fast (moving.fast)",
      "moving.fast -back-> idle (idle)",
      "idle -stop-> stopped (stopped)",
    ]);
  });
});
