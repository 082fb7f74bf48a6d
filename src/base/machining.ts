/**
 * Compiles an xstate machine definition into a flat transition table, once, so the hot path
 * steps a connection's state with an array lookup instead of xstate's interpreter.
 *
 * The xstate definition stays the source of truth: every entry of the table is what xstate's own
 * `getNextSnapshot` returns for that state, event and facts, computed at load. That is exact for
 * the machines it accepts: no delayed (`after`) transitions, no parallel states, no actions, and
 * guards that read nothing but the event's facts.
 *
 * Facts are the few booleans a tick hands a machine ("the deadline passed", "the peer ended").
 * A machine names them as its guard implementations (`setup({ guards: { expired: ({ event }) =>
 * event.expired === true } })`), one guard per fact, and combines them in its transitions with
 * xstate's `and`, `or` and `not`. An event carries its facts as boolean properties beside its
 * type; the hot path passes them as bits (`table.fact("expired")` gives the bit). The table holds
 * an entry for every state, event and combination of facts: at build, the guards of every guarded
 * (state, event) pair are evaluated by xstate over all 2^facts combinations, once.
 */
import { getInitialSnapshot, getNextSnapshot } from "xstate";
import type { AnyStateMachine, EventFromLogic, StateValue } from "xstate";

interface TransitionLike {
  guard?: unknown;
  actions?: ReadonlyArray<unknown>;
}

interface NodeLike {
  key: string;
  type: string;
  parent?: NodeLike | undefined;
  states: Record<string, NodeLike>;
  transitions: Map<string, ReadonlyArray<TransitionLike>>;
  after: ReadonlyArray<unknown>;
  entry: ReadonlyArray<unknown>;
  exit: ReadonlyArray<unknown>;
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

/** Most facts one machine may read: the table holds 2^facts entries per state and event. */
const MAX_FACTS = 8;

/** `next` entries that are no state: the event is refused, or handled with no guard passing. */
export const REFUSED = -1;
export const UNMOVED = -2;

/**
 * The derived table: states are leaf paths ("body" or "body.chunked"); the next state for state
 * s, event e and fact bits f is `next[((s * E + e) << F) | f]`, with F the number of facts.
 */
export class MachineTable<TEvent extends string = string> {
  readonly id: string;
  readonly states: readonly string[];
  readonly events: readonly TEvent[];
  /** Fact names in bit order: fact i is the bit `1 << i` (its guard's name in the machine). */
  readonly facts: readonly string[];
  readonly initial: number;
  /**
   * Next state index per state, event and fact bits; REFUSED (-1): the state handles no such
   * event; UNMOVED (-2): it handles it, but none of its guards passes with these facts.
   */
  readonly next: Int16Array;
  readonly tags: ReadonlyArray<ReadonlySet<string>>;
  readonly final: readonly boolean[];
  /** `events.length` and `facts.length`, kept as numbers for the hot path's index arithmetic. */
  readonly width: number;
  readonly shift: number;
  /** Events refused (not handled by their state) by this table's steppers while not strict. */
  refused = 0;
  readonly #eventIndex: Map<string, number>;
  readonly #stateIndex: Map<string, number>;
  readonly #factNames: ReadonlyArray<readonly string[]>;

  constructor(tabulable: TabulableMachine, input?: unknown) {
    const machine = tabulable as unknown as AnyStateMachine;
    this.id = machine.id;
    const leaves: NodeLike[] = [];
    const paths: string[][] = [];
    collectLeaves(machine.root as unknown as NodeLike, [], leaves, paths, machine.id);
    this.states = paths.map((path) => path.join("."));
    this.#stateIndex = new Map(this.states.map((s, i) => [s, i]));

    const events = new Set<string>();
    collectEvents(machine.root as unknown as NodeLike, events);
    this.events = [...events] as TEvent[];
    this.#eventIndex = new Map(this.events.map((e, i) => [e, i]));

    this.facts = Object.keys((machine.implementations as { guards?: object }).guards ?? {});
    const F = this.facts.length;
    this.shift = F;
    if (F > MAX_FACTS) throw new Error(`machine ${machine.id} reads ${F} facts: at most ${MAX_FACTS} can be tabulated`);
    const combinations = 1 << F;
    this.#factNames = Array.from({ length: combinations }, (_, bits) => Object.freeze(this.facts.filter((_, i) => (bits & (1 << i)) !== 0)));

    const start = getInitialSnapshot(machine, input);
    const context = start.context;
    this.initial = this.indexOf(start.value);
    const E = this.events.length;
    this.width = E;
    this.next = new Int16Array(this.states.length * E * combinations).fill(REFUSED);
    const tags: Set<string>[] = [];
    const final: boolean[] = [];
    paths.forEach((path, s) => {
      const snapshot = machine.resolveState({ value: toValue(path), context });
      tags.push(new Set(snapshot.tags as Set<string>));
      final.push(snapshot.status === "done");
      const leaf = leaves[s] as NodeLike;
      this.events.forEach((type, e) => {
        const handlers = handlersOf(leaf, type);
        if (snapshot.status !== "active" || handlers === null) return;
        const guarded = handlers.some((t) => t.guard !== undefined);
        const base = (s * E + e) * combinations;
        for (let bits = 0; bits < (guarded ? combinations : 1); bits++) {
          const event = { type, ...this.#factObject(bits) } as EventFromLogic<AnyStateMachine>;
          const next = snapshot.can(event) ? this.indexOf(getNextSnapshot(machine, snapshot, event).value) : UNMOVED;
          if (guarded) this.next[base + bits] = next;
          else this.next.fill(next, base, base + combinations); // facts cannot change it
        }
      });
    });
    this.tags = tags;
    this.final = final;
  }

  /** Index of an event type, or -1 when the machine has no such event. */
  eventIndex(type: string): number {
    return this.#eventIndex.get(type) ?? -1;
  }

  /** The bit of a fact, to OR into the facts passed to `step`; throws for a fact the machine does not read. */
  fact(name: string): number {
    const index = this.facts.indexOf(name);
    if (index < 0) throw new Error(`machine ${this.id} reads no fact ${name}: its facts are ${this.facts.join(", ") || "none"}`);
    return 1 << index;
  }

  /** Fact bits from an object of booleans (as an xstate event carries them); unknown keys are ignored. */
  factBits(facts: Readonly<Record<string, unknown>>): number {
    let bits = 0;
    this.facts.forEach((name, i) => {
      if (facts[name] === true) bits |= 1 << i;
    });
    return bits;
  }

  /** The names of the facts set in `bits` (one frozen array per combination, made at build). */
  factNames(bits: number): readonly string[] {
    return this.#factNames[bits & ((1 << this.facts.length) - 1)] as readonly string[];
  }

  /** Index of a state given as xstate's value or as a dotted leaf path. */
  indexOf(value: MachineStateValue): number {
    const key = typeof value === "string" ? value : fromValue(value);
    const index = this.#stateIndex.get(key);
    if (index === undefined) throw new Error(`machine ${this.id} has no leaf state ${key}`);
    return index;
  }

  /** Next state index, REFUSED (-1) when the state does not handle the event, UNMOVED (-2) when no guard passes. */
  step(state: number, event: number, facts = 0): number {
    return this.next[((state * this.width + event) << this.shift) | facts] ?? REFUSED;
  }

  /** True when the state handles the event for some facts (a guard may still hold it back). */
  handles(state: number, event: number): boolean {
    return event >= 0 && this.step(state, event) !== REFUSED;
  }

  /**
   * The table drawn as a Mermaid state diagram: one arrow per handled event and guard outcome
   * (events that lead to the same state from one state share an arrow; an arrow taken only with
   * some facts names them, `tick [expired & !sending]`), tags in notes, nested states as `a_b`.
   */
  toMermaid(): string {
    const id = (state: number): string => (this.states[state] as string).replaceAll(".", "_");
    const lines = ["stateDiagram-v2", `  [*] --> ${id(this.initial)}`];
    this.states.forEach((_, s) => {
      const arrows = new Map<number, string[]>();
      this.events.forEach((type, e) => {
        for (const [next, label] of this.#outcomes(s, e, type)) arrows.set(next, [...(arrows.get(next) ?? []), label]);
      });
      for (const [next, labels] of arrows) lines.push(`  ${id(s)} --> ${id(next)}: ${labels.join(", ")}`);
      if (this.final[s]) lines.push(`  ${id(s)} --> [*]`);
      const tags = [...(this.tags[s] ?? [])];
      if (tags.length > 0) lines.push(`  note right of ${id(s)}: ${tags.join(", ")}`);
    });
    return lines.join("\n");
  }

  /** Where an event leads from a state, each target labelled by the facts that lead there (if they matter). */
  #outcomes(state: number, event: number, type: string): Array<[number, string]> {
    const combinations = 1 << this.facts.length;
    const targets = new Map<number, number[]>();
    for (let bits = 0; bits < combinations; bits++) {
      const next = this.step(state, event, bits);
      if (next >= 0) targets.set(next, [...(targets.get(next) ?? []), bits]);
    }
    const out: Array<[number, string]> = [];
    for (const [next, set] of targets) {
      out.push([next, set.length === combinations ? type : `${type} [${this.#condition(set)}]`]);
    }
    return out;
  }

  /**
   * A short condition true for exactly the fact combinations in `set`: the facts fixed across
   * all of them (`a & !b`) when that is exact, else a disjunction of such terms (`a | b & !c`).
   */
  #condition(set: readonly number[]): string {
    const F = this.facts.length;
    const members = new Set(set);
    const terms: string[] = [];
    const covered = new Set<number>();
    // Greedy cover by cubes (facts fixed, the rest free), largest first: readable, and exact.
    const cubes: Array<{ care: number; value: number; size: number }> = [];
    for (let care = 0; care < 1 << F; care++) {
      for (let value = care; ; value = (value - 1) & care) {
        let inside = true;
        for (let bits = 0; bits < 1 << F && inside; bits++) if ((bits & care) === value && !members.has(bits)) inside = false;
        if (inside) cubes.push({ care, value, size: F - popcount(care) });
        if (value === 0) break;
      }
    }
    cubes.sort((a, b) => b.size - a.size || a.care - b.care || b.value - a.value);
    for (const cube of cubes) {
      const cells = set.filter((bits) => (bits & cube.care) === cube.value);
      if (cells.every((bits) => covered.has(bits))) continue;
      for (const bits of cells) covered.add(bits);
      const literals = this.facts.flatMap((name, i) => ((cube.care >> i) & 1 ? [((cube.value >> i) & 1 ? "" : "!") + name] : []));
      terms.push(literals.join(" & "));
      if (covered.size === set.length) break;
    }
    return terms.join(" | ");
  }

  #factObject(bits: number): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    this.facts.forEach((name, i) => (out[name] = (bits & (1 << i)) !== 0));
    return out;
  }
}

/**
 * Told of one transition a Stepper took: the event's index, the states left and entered, as
 * indexes into its table (`table.events[event]`, `table.states[from]` give the names), and the
 * facts it carried (`table.factNames(facts)`).
 */
export type StepObserver = (event: number, from: number, to: number, facts: number) => void;

/** An event that the current state does not handle, thrown by a strict Stepper. */
export class RefusedEvent extends Error {
  constructor(readonly machine: string, readonly state: string, readonly event: string) {
    super(`machine ${machine} in state ${state} refuses event ${event}: a phase the code did not expect (a bug to fix where the event is sent)`);
    this.name = "RefusedEvent";
  }
}

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};

/**
 * A machine's current state stepped through its table: xstate's snapshot API in miniature
 * (`value`, `hasTag`, `matches`, `done`) at the cost of one array read per event.
 */
export class Stepper<TEvent extends string = string> {
  /**
   * What an event the current state does not handle does. Strict (tests and development): it
   * throws RefusedEvent, as the code sent an event in a phase it did not expect. Not strict
   * (production): it is ignored and counted in `table.refused`. Strict by default when
   * NODE_ENV is "test" (as vitest sets it) or "development", or HIO_STRICT is "1"; HIO_STRICT
   * "0" turns it off. Settable at any time.
   */
  static strict: boolean = env["HIO_STRICT"] === "1" || (env["HIO_STRICT"] !== "0" && (env["NODE_ENV"] === "test" || env["NODE_ENV"] === "development"));

  readonly table: MachineTable<TEvent>;
  state: number;
  /**
   * Told of every transition taken (an event the state does not handle, or whose guards all fail,
   * is none; a transition to the same state is one), after the state changed; `reset()` is not a
   * transition. null, the default, costs one check per step and allocates nothing.
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

  /** Sends an event by type, its facts as booleans; returns false (state kept) when no transition is taken. */
  send(type: TEvent, facts?: Readonly<Record<string, unknown>>): boolean {
    return this.step(this.table.eventIndex(type), facts === undefined ? 0 : this.table.factBits(facts));
  }

  /**
   * Sends an event by its table index (resolve once with `table.eventIndex`) with its fact bits
   * (OR of `table.fact(name)`). Returns true when a transition was taken; false when the state's
   * guards held it back, or when the state does not handle the event (see `strict`).
   */
  step(event: number, facts = 0): boolean {
    const from = this.state;
    const table = this.table;
    const next = event < 0 ? REFUSED : (table.next[((from * table.width + event) << table.shift) | facts] ?? REFUSED);
    if (next < 0) {
      if (next === REFUSED) this.#refuse(event);
      return false;
    }
    this.state = next;
    if (this.observer !== null) this.observer(event, from, next, facts);
    return true;
  }

  /** Back to the initial state. */
  reset(): void {
    this.state = this.table.initial;
  }

  #refuse(event: number): void {
    if (Stepper.strict) throw new RefusedEvent(this.table.id, this.value, this.table.events[event] ?? `#${event}`);
    this.table.refused += 1;
  }
}

function collectLeaves(node: NodeLike, path: string[], leaves: NodeLike[], out: string[][], id: string): void {
  const where = path.join(".") || "(root)";
  if (node.type === "parallel") throw new Error(`machine ${id}: parallel states cannot be tabulated`);
  if (node.after.length > 0) throw new Error(`machine ${id}: delayed transitions cannot be tabulated`);
  if (node.entry.length > 0 || node.exit.length > 0) throw new Error(`machine ${id}: entry or exit actions in ${where} cannot be tabulated`);
  for (const [type, transitions] of node.transitions) {
    if (transitions.some((t) => (t.actions?.length ?? 0) > 0)) {
      throw new Error(`machine ${id}: actions on ${type} in ${where} cannot be tabulated: the classes act, the machine decides`);
    }
  }
  const children = Object.values(node.states);
  if (children.length === 0) {
    leaves.push(node);
    out.push(path);
    return;
  }
  for (const child of children) collectLeaves(child, [...path, child.key], leaves, out, id);
}

/** Every transition for `type` from a leaf up to the root (xstate tries them in that order); null if none. */
function handlersOf(leaf: NodeLike, type: string): ReadonlyArray<TransitionLike> | null {
  const out: TransitionLike[] = [];
  for (let node: NodeLike | undefined = leaf; node !== undefined; node = node.parent) {
    const handlers = node.transitions.get(type);
    if (handlers !== undefined) out.push(...handlers);
  }
  return out.length > 0 ? out : null;
}

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v !== 0; v &= v - 1) count++;
  return count;
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
