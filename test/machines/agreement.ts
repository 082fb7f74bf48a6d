/**
 * Proves a MachineTable agrees with xstate's own interpreter: every state reachable from the
 * initial one, every event in it, replayed on a real actor; and random event runs side by side.
 */
import { getShortestPaths } from "@xstate/graph";
import { createActor } from "xstate";
import type { AnyStateMachine, StateValue } from "xstate";
import fc from "fast-check";
import { expect } from "vitest";
import { Stepper } from "../../src/base/machining.ts";
import type { MachineTable } from "../../src/base/machining.ts";

export function flat(value: StateValue): string {
  if (typeof value === "string") return value;
  const [key, child] = Object.entries(value)[0] as [string, StateValue];
  return `${key}.${flat(child)}`;
}

/** Shortest event path (by BFS over the table) to each reachable state. */
export function pathsTo(table: MachineTable): Map<number, string[]> {
  const paths = new Map<number, string[]>([[table.initial, []]]);
  const queue = [table.initial];
  while (queue.length > 0) {
    const state = queue.shift() as number;
    table.events.forEach((type, e) => {
      const next = table.step(state, e);
      if (next >= 0 && !paths.has(next)) {
        paths.set(next, [...(paths.get(state) as string[]), type]);
        queue.push(next);
      }
    });
  }
  return paths;
}

/** Replays events on a fresh actor; returns the flattened value after each and the tags at the end. */
export function replay(machine: AnyStateMachine, events: readonly string[]): { values: string[]; tags: string[]; status: string } {
  const actor = createActor(machine).start();
  const values: string[] = [];
  for (const type of events) {
    // A finished actor takes no events (xstate warns); its state stays as it is.
    if (actor.getSnapshot().status === "active") actor.send({ type });
    values.push(flat(actor.getSnapshot().value));
  }
  const snapshot = actor.getSnapshot();
  actor.stop();
  return { values, tags: [...snapshot.tags].sort(), status: snapshot.status };
}

/** Every (reachable state, event) pair: the table's next state equals the actor's. */
export function expectTableAgrees(machine: AnyStateMachine, table: MachineTable): number {
  let checked = 0;
  for (const [state, path] of pathsTo(table)) {
    const at = replay(machine, path);
    expect(at.tags, `tags of ${table.states[state]}`).toEqual([...(table.tags[state] ?? [])].sort());
    expect(at.status === "done", `final ${table.states[state]}`).toBe(table.final[state]);
    table.events.forEach((type, e) => {
      const next = table.step(state, e);
      const actual = replay(machine, [...path, type]).values.at(-1);
      expect(actual, `${table.states[state]} + ${type}`).toBe(table.states[next < 0 ? state : next]);
      checked += 1;
    });
  }
  return checked;
}

/** Random event runs give the same state sequence in an actor and in a Stepper. */
export function expectRandomRunsAgree(machine: AnyStateMachine, table: MachineTable, runs = 200): void {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...table.events), { maxLength: 30 }), (events) => {
      const stepper = new Stepper(table);
      const stepped = events.map((type) => {
        stepper.send(type);
        return stepper.value;
      });
      expect(stepped).toEqual(replay(machine, events).values);
    }),
    { numRuns: runs },
  );
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
        stepper.send(type);
        const snapshot = actor.getSnapshot();
        expect(tags.map((t) => stepper.hasTag(t))).toEqual(tags.map((t) => snapshot.hasTag(t)));
      }
      actor.stop();
    }),
    { numRuns: runs },
  );
}
