/**
 * Proves a MachineTable agrees with xstate's own interpreter: every state reachable from the
 * initial one, every event in it with every combination of the facts the machine reads, replayed
 * on a real actor; and random event runs (with random facts) side by side.
 */
import { getShortestPaths } from "@xstate/graph";
import { createActor } from "xstate";
import type { AnyStateMachine, StateValue } from "xstate";
import fc from "fast-check";
import { expect } from "vitest";
import { Stepper } from "../../src/base/machining.ts";
import type { MachineTable } from "../../src/base/machining.ts";

/** An event as sent to an actor: its type alone, or its type with its facts. */
export type Sent = string | { readonly type: string; readonly [fact: string]: unknown };

export function flat(value: StateValue): string {
  if (typeof value === "string") return value;
  const [key, child] = Object.entries(value)[0] as [string, StateValue];
  return `${key}.${flat(child)}`;
}

/** The event of type `type` with the facts of `bits` (a string when the machine reads no facts). */
export function eventOf(table: MachineTable, type: string, bits = 0): Sent {
  if (table.facts.length === 0) return type;
  return { type, ...Object.fromEntries(table.facts.map((name, i) => [name, (bits & (1 << i)) !== 0])) };
}

/** Every (event, facts) pair of a table, as indexes. */
function inputs(table: MachineTable): Array<[event: number, bits: number]> {
  const out: Array<[number, number]> = [];
  table.events.forEach((_, e) => {
    for (let bits = 0; bits < 1 << table.facts.length; bits++) out.push([e, bits]);
  });
  return out;
}

/** Shortest event path (by BFS over the table, facts included) to each reachable state. */
export function pathsTo(table: MachineTable): Map<number, Sent[]> {
  const paths = new Map<number, Sent[]>([[table.initial, []]]);
  const queue = [table.initial];
  while (queue.length > 0) {
    const state = queue.shift() as number;
    for (const [e, bits] of inputs(table)) {
      const next = table.step(state, e, bits);
      if (next >= 0 && !paths.has(next)) {
        paths.set(next, [...(paths.get(state) as Sent[]), eventOf(table, table.events[e] as string, bits)]);
        queue.push(next);
      }
    }
  }
  return paths;
}

/** Replays events on a fresh actor; returns the flattened value after each and the tags at the end. */
export function replay(machine: AnyStateMachine, events: readonly Sent[]): { values: string[]; tags: string[]; status: string } {
  const actor = createActor(machine).start();
  const values: string[] = [];
  for (const sent of events) {
    // A finished actor takes no events (xstate warns); its state stays as it is.
    if (actor.getSnapshot().status === "active") actor.send(typeof sent === "string" ? { type: sent } : sent);
    values.push(flat(actor.getSnapshot().value));
  }
  const snapshot = actor.getSnapshot();
  actor.stop();
  return { values, tags: [...snapshot.tags].sort(), status: snapshot.status };
}

/**
 * Every (reachable state, event, facts) triple: the table's next state equals the actor's (the
 * state kept when the table says REFUSED or UNMOVED). Returns the number of triples checked.
 */
export function expectTableAgrees(machine: AnyStateMachine, table: MachineTable): number {
  let checked = 0;
  for (const [state, path] of pathsTo(table)) {
    const at = replay(machine, path);
    expect(at.tags, `tags of ${table.states[state]}`).toEqual([...(table.tags[state] ?? [])].sort());
    expect(at.status === "done", `final ${table.states[state]}`).toBe(table.final[state]);
    for (const [e, bits] of inputs(table)) {
      const type = table.events[e] as string;
      const next = table.step(state, e, bits);
      const actual = replay(machine, [...path, eventOf(table, type, bits)]).values.at(-1);
      const facts = table.factNames(bits).join("&");
      expect(actual, `${table.states[state]} + ${type} [${facts}]`).toBe(table.states[next < 0 ? state : next]);
      checked += 1;
    }
  }
  return checked;
}

/** Random event runs (random facts) give the same state sequence in an actor and in a Stepper. */
export function expectRandomRunsAgree(machine: AnyStateMachine, table: MachineTable, runs = 200): void {
  const strict = Stepper.strict;
  Stepper.strict = false; // random runs send events their state refuses: xstate ignores them, so must the table
  try {
    const input = fc.tuple(fc.constantFrom(...table.events), fc.nat({ max: (1 << table.facts.length) - 1 }));
    fc.assert(
      fc.property(fc.array(input, { maxLength: 30 }), (events) => {
        const stepper = new Stepper(table);
        const stepped = events.map(([type, bits]) => {
          stepper.step(table.eventIndex(type), bits);
          return stepper.value;
        });
        expect(stepped).toEqual(replay(machine, events.map(([type, bits]) => eventOf(table, type, bits))).values);
      }),
      { numRuns: runs },
    );
  } finally {
    Stepper.strict = strict;
  }
}

/** Every leaf state of the table is reached, by xstate's own shortest paths and by the table's. */
export function expectEveryStateReached(machine: AnyStateMachine, table: MachineTable): void {
  const reached = getShortestPaths(machine).map((path) => flat(path.state.value)).sort();
  expect(reached).toEqual([...table.states].sort());
  expect([...pathsTo(table).keys()].length).toBe(table.states.length);
}

/** On random event runs, a Stepper's `tags` are the actor's after every event. */
export function expectTagsAgree(machine: AnyStateMachine, table: MachineTable, tags: readonly string[], runs = 200): void {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...table.events), { maxLength: 25 }), (events) => {
      const actor = createActor(machine).start();
      const stepper = new Stepper(table);
      for (const type of events) {
        actor.send({ type });
        if (table.handles(stepper.state, table.eventIndex(type))) stepper.send(type); // a strict Stepper throws on the rest
        const snapshot = actor.getSnapshot();
        expect(tags.map((t) => stepper.hasTag(t))).toEqual(tags.map((t) => snapshot.hasTag(t)));
      }
      actor.stop();
    }),
    { numRuns: runs },
  );
}
