/**
 * Compiles an xstate machine definition into a flat transition table, once, so the hot path
 * steps a connection's state with an array lookup instead of xstate's interpreter.
 *
 * The xstate definition stays the source of truth: every entry of the table is what xstate's own
 * `getNextSnapshot` returns for that state and event, computed at load. That is exact for the
 * machines it accepts: no guards, no delayed (`after`) transitions, no parallel states, and
 * events that carry nothing but their type (the classes do the bytes and report what happened;
 * the machine decides what is next).
 */
import { getInitialSnapshot, getNextSnapshot } from "xstate";
import type { AnyStateMachine, EventFromLogic, StateValue } from "xstate";

interface NodeLike {
  key: string;
  type: string;
  states: Record<string, NodeLike>;
  transitions: Map<string, ReadonlyArray<{ guard?: unknown }>>;
  after: ReadonlyArray<unknown>;
}

/**
 * What MachineTable takes: any xstate v5 machine (`AnyStateMachine`). Spelled out here rather
 * than imported so this package's declarations never load xstate's, which do not typecheck
 * under `exactOptionalPropertyTypes` with `skipLibCheck: false`.
 */
export interface TabulableMachine {
  readonly id: string;
  readonly root: object;
  resolveState(config: never): unknown;
  transition(snapshot: never, event: never, actorScope: never): unknown;
  getInitialSnapshot(actorScope: never, input?: never): unknown;
}

/** A state as xstate gives it ("a" or { a: "b" }), as `StateValue` is shaped. */
export type MachineStateValue = string | { readonly [key: string]: MachineStateValue | undefined };

/** The derived table: states are leaf paths ("body" or "body.chunked"), `next[s * E + e]`. */
export class MachineTable<TEvent extends string = string> {
  readonly id: string;
  readonly states: readonly string[];
  readonly events: readonly TEvent[];
  readonly initial: number;
  /** Next state index for state s and event e at `s * events.length + e`; -1 = not handled. */
  readonly next: Int16Array;
  readonly tags: ReadonlyArray<ReadonlySet<string>>;
  readonly final: readonly boolean[];
  readonly #eventIndex: Map<string, number>;
  readonly #stateIndex: Map<string, number>;

  constructor(tabulable: TabulableMachine, input?: unknown) {
    const machine = tabulable as unknown as AnyStateMachine;
    this.id = machine.id;
    const leaves: string[][] = [];
    collectLeaves(machine.root as unknown as NodeLike, [], leaves, machine.id);
    this.states = leaves.map((path) => path.join("."));
    this.#stateIndex = new Map(this.states.map((s, i) => [s, i]));

    const events = new Set<string>();
    collectEvents(machine.root as unknown as NodeLike, events);
    this.events = [...events] as TEvent[];
    this.#eventIndex = new Map(this.events.map((e, i) => [e, i]));

    const start = getInitialSnapshot(machine, input);
    const context = start.context;
    this.initial = this.indexOf(start.value);
    const E = this.events.length;
    this.next = new Int16Array(this.states.length * E).fill(-1);
    const tags: Set<string>[] = [];
    const final: boolean[] = [];
    leaves.forEach((path, s) => {
      const snapshot = machine.resolveState({ value: toValue(path), context });
      tags.push(new Set(snapshot.tags as Set<string>));
      final.push(snapshot.status === "done");
      this.events.forEach((type, e) => {
        const event = { type } as EventFromLogic<AnyStateMachine>;
        if (snapshot.status !== "active" || !snapshot.can(event)) return;
        const after = getNextSnapshot(machine, snapshot, event);
        this.next[s * E + e] = this.indexOf(after.value);
      });
    });
    this.tags = tags;
    this.final = final;
  }

  /** Index of an event type, or -1 when the machine has no such event. */
  eventIndex(type: string): number {
    return this.#eventIndex.get(type) ?? -1;
  }

  /** Index of a state given as xstate's value or as a dotted leaf path. */
  indexOf(value: MachineStateValue): number {
    const key = typeof value === "string" ? value : fromValue(value);
    const index = this.#stateIndex.get(key);
    if (index === undefined) throw new Error(`machine ${this.id} has no leaf state ${key}`);
    return index;
  }

  /** Next state index, or -1 when the event is not handled in that state. */
  step(state: number, event: number): number {
    return this.next[state * this.events.length + event] ?? -1;
  }

  /**
   * The table drawn as a Mermaid state diagram: one arrow per handled event (events that lead
   * to the same state from one state share an arrow), tags in notes, nested states as `a_b`.
   */
  toMermaid(): string {
    const id = (state: number): string => (this.states[state] as string).replaceAll(".", "_");
    const lines = ["stateDiagram-v2", `  [*] --> ${id(this.initial)}`];
    this.states.forEach((_, s) => {
      const arrows = new Map<number, string[]>();
      this.events.forEach((type, e) => {
        const next = this.step(s, e);
        if (next >= 0) arrows.set(next, [...(arrows.get(next) ?? []), type]);
      });
      for (const [next, types] of arrows) lines.push(`  ${id(s)} --> ${id(next)}: ${types.join(", ")}`);
      if (this.final[s]) lines.push(`  ${id(s)} --> [*]`);
      const tags = [...(this.tags[s] ?? [])];
      if (tags.length > 0) lines.push(`  note right of ${id(s)}: ${tags.join(", ")}`);
    });
    return lines.join("\n");
  }
}

/**
 * Told of one transition a Stepper took: the event's index and the states left and entered, as
 * indexes into its table (`table.events[event]`, `table.states[from]` give the names).
 */
export type StepObserver = (event: number, from: number, to: number) => void;

/**
 * A machine's current state stepped through its table: xstate's snapshot API in miniature
 * (`value`, `hasTag`, `matches`, `done`) at the cost of one array read per event.
 */
export class Stepper<TEvent extends string = string> {
  readonly table: MachineTable<TEvent>;
  state: number;
  /**
   * Told of every transition taken (an event the state does not handle is none; a transition to
   * the same state is one), after the state changed; `reset()` is not a transition. null, the
   * default, costs one check per step and allocates nothing.
   */
  observer: StepObserver | null = null;

  constructor(table: MachineTable<TEvent>) {
    this.table = table;
    this.state = table.initial;
  }

  /** Current leaf state as a dotted path. */
  get value(): string {
    return this.table.states[this.state] as string;
  }

  /** True once in a final state. */
  get done(): boolean {
    return this.table.final[this.state] === true;
  }

  hasTag(tag: string): boolean {
    return this.table.tags[this.state]?.has(tag) === true;
  }

  /** True when the current state is `path` or inside it ("body" matches "body.chunked"). */
  matches(path: string): boolean {
    const value = this.value;
    return value === path || value.startsWith(path + ".");
  }

  /** Sends an event by type; returns false (state kept) when the state does not handle it. */
  send(type: TEvent): boolean {
    return this.step(this.table.eventIndex(type));
  }

  /** Sends an event by its table index (resolve once with `table.eventIndex`). */
  step(event: number): boolean {
    if (event < 0) return false;
    const from = this.state;
    const next = this.table.step(from, event);
    if (next < 0) return false;
    this.state = next;
    if (this.observer !== null) this.observer(event, from, next);
    return true;
  }

  /** Back to the initial state. */
  reset(): void {
    this.state = this.table.initial;
  }
}

function collectLeaves(node: NodeLike, path: string[], out: string[][], id: string): void {
  if (node.type === "parallel") throw new Error(`machine ${id}: parallel states cannot be tabulated`);
  if (node.after.length > 0) throw new Error(`machine ${id}: delayed transitions cannot be tabulated`);
  for (const [type, transitions] of node.transitions) {
    if (transitions.some((t) => t.guard !== undefined)) {
      throw new Error(`machine ${id}: guarded transition on ${type} in ${path.join(".") || "(root)"} cannot be tabulated`);
    }
  }
  const children = Object.values(node.states);
  if (children.length === 0) {
    out.push(path);
    return;
  }
  for (const child of children) collectLeaves(child, [...path, child.key], out, id);
}

function collectEvents(node: NodeLike, out: Set<string>): void {
  for (const type of node.transitions.keys()) {
    if (type !== "*" && !type.startsWith("xstate.")) out.add(type);
  }
  for (const child of Object.values(node.states)) collectEvents(child, out);
}

function toValue(path: string[]): StateValue {
  let value: StateValue = path[path.length - 1] as string;
  for (let i = path.length - 2; i >= 0; i--) value = { [path[i] as string]: value };
  return value;
}

function fromValue(value: MachineStateValue): string {
  if (typeof value === "string") return value;
  const [key, child] = Object.entries(value)[0] ?? [];
  if (key === undefined || child === undefined) throw new Error("empty state value");
  return `${key}.${fromValue(child)}`;
}
