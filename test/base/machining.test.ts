import { and, assign, not, or, setup } from "xstate";
import { afterEach, describe, expect, it } from "vitest";
import { MachineTable, REFUSED, RefusedEvent, Stepper, UNMOVED } from "../../src/base/machining.ts";
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

  it("refuses delayed and parallel machines and actions, which a table cannot step exactly", () => {
    const delayed = setup({}).createMachine({ id: "d", initial: "a", states: { a: { after: { 10: "b" } }, b: {} } });
    expect(() => new MachineTable(delayed)).toThrow(/delayed/);
    const parallel = setup({}).createMachine({ id: "p", type: "parallel", states: { a: {}, b: {} } });
    expect(() => new MachineTable(parallel)).toThrow(/parallel/);
    const acting = setup({}).createMachine({ id: "x", initial: "a", context: { n: 0 }, states: { a: { on: { e: { target: "a", actions: assign({ n: 1 }) } } } } });
    expect(() => new MachineTable(acting)).toThrow(/actions on e in a cannot be tabulated/);
    const entering = setup({}).createMachine({ id: "y", initial: "a", states: { a: { entry: () => {} } } });
    expect(() => new MachineTable(entering)).toThrow(/entry or exit actions in a/);
  });

  it("refuses more facts than it tabulates", () => {
    const guards = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`f${i}`, () => true]));
    const many = setup({ guards }).createMachine({ id: "many", initial: "a", states: { a: {} } });
    expect(() => new MachineTable(many)).toThrow(/reads 9 facts: at most 8/);
  });

  it("agrees with xstate's interpreter on every state and event and on random runs", () => {
    const table = new MachineTable(nested);
    expect(expectTableAgrees(nested, table)).toBe(16);
    expectRandomRunsAgree(nested, table);
  });
});

type Gate = { type: "tick"; open?: boolean; late?: boolean } | { type: "shut" };
const fact = (name: "open" | "late") => ({ event }: { event: Gate }): boolean => event.type === "tick" && event[name] === true;
/** A machine whose ticks are guarded by two facts, as the Steward's are. */
const gate = setup({ types: { events: {} as Gate }, guards: { open: fact("open"), late: fact("late") } }).createMachine({
  id: "gate",
  initial: "closed",
  states: {
    closed: { on: { tick: [{ guard: and(["open", not("late")]), target: "opened" }, { guard: "late", target: "gone" }] } },
    opened: { on: { shut: "closed", tick: { guard: or(["late", not("open")]), target: "closed" } } },
    gone: { type: "final" },
  },
});

describe("MachineTable with facts", () => {
  it("names its facts after the machine's guards, one bit each", () => {
    const table = new MachineTable(gate);
    expect(table.facts).toEqual(["open", "late"]);
    expect([table.fact("open"), table.fact("late")]).toEqual([1, 2]);
    expect(() => table.fact("nope")).toThrow(/reads no fact nope: its facts are open, late/);
    expect(table.factBits({ late: true, other: true })).toBe(2);
    expect(table.factNames(3)).toEqual(["open", "late"]);
  });

  it("tabulates every combination of facts: guards evaluated at build, UNMOVED where none passes", () => {
    const table = new MachineTable(gate);
    const [closed, opened, gone] = ["closed", "opened", "gone"].map((s) => table.indexOf(s)) as [number, number, number];
    const tick = table.eventIndex("tick");
    expect([0, 1, 2, 3].map((bits) => table.step(closed, tick, bits))).toEqual([UNMOVED, opened, gone, gone]);
    expect([0, 1, 2, 3].map((bits) => table.step(opened, tick, bits))).toEqual([closed, UNMOVED, closed, closed]);
    // An unguarded event goes the same way whatever the facts; a refused one is refused whatever they are.
    expect([0, 1, 2, 3].map((bits) => table.step(opened, table.eventIndex("shut"), bits))).toEqual([closed, closed, closed, closed]);
    expect([0, 1, 2, 3].map((bits) => table.step(closed, table.eventIndex("shut"), bits))).toEqual([REFUSED, REFUSED, REFUSED, REFUSED]);
    expect(table.handles(closed, tick)).toBe(true);
    expect(table.handles(gone, tick)).toBe(false);
  });

  it("agrees with xstate's interpreter on every state, event and fact combination, and on random runs", () => {
    const table = new MachineTable(gate);
    expect(expectTableAgrees(gate, table)).toBe(3 * 2 * 4); // every state reachable, two events, four combinations
    expectRandomRunsAgree(gate, table);
  });

  it("draws a guarded arrow with the exact facts that take it", () => {
    const drawing = new MachineTable(gate).toMermaid();
    expect(drawing).toContain("closed --> opened: tick [open & !late]");
    expect(drawing).toContain("closed --> gone: tick [late]");
    expect(drawing).toContain("opened --> closed: tick [!open | late], shut");
  });
});

describe("Stepper with facts", () => {
  it("steps by facts, and a guard that holds is no transition and no refusal", () => {
    const table = new MachineTable(gate);
    const stepper = new Stepper(table);
    const seen: string[] = [];
    stepper.observer = (event, from, to, facts) => seen.push(`${table.states[from]} -${table.events[event]} [${table.factNames(facts).join(",")}]-> ${table.states[to]}`);
    expect(stepper.send("tick")).toBe(false);
    expect(stepper.send("tick", { open: true })).toBe(true);
    expect(stepper.step(table.eventIndex("tick"), table.fact("open"))).toBe(false);
    expect(stepper.step(table.eventIndex("tick"), table.fact("late"))).toBe(true);
    expect(seen).toEqual(["closed -tick [open]-> opened", "opened -tick [late]-> closed"]);
  });
});

describe("Stepper refusals", () => {
  const strict = Stepper.strict;
  afterEach(() => {
    Stepper.strict = strict;
  });

  it("is strict under test (NODE_ENV is test), as in development", () => {
    expect(process.env["NODE_ENV"]).toBe("test");
    expect(strict).toBe(true);
  });

  it("throws RefusedEvent, naming machine, state and event, when strict; the state is kept", () => {
    Stepper.strict = true;
    const stepper = new Stepper(new MachineTable(nested));
    expect(() => stepper.send("next")).toThrow(RefusedEvent);
    expect(() => stepper.send("back")).toThrow(/machine nested in state idle refuses event back/);
    expect(stepper.value).toBe("idle");
  });

  it("ignores and counts a refused event per table when not strict (production)", () => {
    Stepper.strict = false;
    const table = new MachineTable(nested);
    const stepper = new Stepper(table);
    expect(stepper.send("next")).toBe(false);
    expect(stepper.step(-1)).toBe(false);
    expect(stepper.value).toBe("idle");
    expect(table.refused).toBe(2);
    new Stepper(table).send("back");
    expect(table.refused).toBe(3);
  });
});

describe("Stepper", () => {
  it("steps, matches ancestors, reports tags, done and reset", () => {
    const stepper = new Stepper(new MachineTable(nested));
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
  });

  it("tells its observer of each transition taken, after the state changed, and of nothing else", () => {
    Stepper.strict = false;
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
    Stepper.strict = true;
    expect(seen).toEqual([
      "idle -go-> moving.slow (moving.slow)",
      "moving.slow -next-> moving.fast (moving.fast)",
      "moving.fast -back-> idle (idle)",
      "idle -stop-> stopped (stopped)",
    ]);
  });
});
