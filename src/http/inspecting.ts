/**
 * Inspection: connections as their machines see them. Every transition of every server
 * connection's steward, requestant and responder, and of a client's requester and respondent,
 * reaches the listeners with its tyme (xstate's inspection API, for the tabulated machines), and
 * `connectionOf` summarizes one live server connection. While nobody listens the steppers have
 * no observer, so stepping costs one null check.
 */
import type { MachineTable, Stepper } from "../base/machining.ts";
import type { Steward } from "./server/steward.ts";

/** The machines of one connection: a server's (steward, requestant, responder) or a client's (requester, respondent). */
export type ConnectionMachine = "steward" | "requestant" | "responder" | "requester" | "respondent";

/** One transition of one connection's machine: states are dotted leaf paths ("body.length"). */
export interface Inspection {
  /** Tyme of the connection when it happened (null: the server is not wound to a tymist). */
  readonly tyme: number | null;
  /** The connection's stable id (`Steward.id`, `Client.id`). */
  readonly connection: string;
  readonly machine: ConnectionMachine;
  /** The event's type, as the machine names it ("request.parsed"). */
  readonly event: string;
  readonly from: string;
  readonly to: string;
  /** The facts the event carried that were true (a steward's `tick`: ["starved", "expired"]); empty for most events. */
  readonly facts: readonly string[];
}

/** Told of each transition; what it throws is reported on the console and does not reach the server. */
export type InspectionListener = (inspection: Inspection) => void;

/** One live connection as `connections()` lists it. */
export interface ConnectionState {
  id: string;
  /** The peer's address. */
  peer: [string, number];
  steward: string;
  requestant: string;
  responder: string;
  /** Requests dispatched on this connection so far. */
  requests: number;
  /** Bytes waiting in the send buffer (not yet handed to the socket). */
  queued: number;
}

/** A plain summary of one connection: its id, peer, machine states, requests so far and bytes queued. */
export function connectionOf(steward: Steward): ConnectionState {
  const remoter = steward.remoter;
  return {
    id: steward.id,
    peer: [remoter.ca[0], remoter.ca[1]],
    steward: steward.stepper.value,
    requestant: steward.requestant.stepper.value,
    responder: steward.responder.stepper.value,
    requests: steward.exchanges,
    queued: remoter.txbs.length,
  };
}

/**
 * One watched connection as an Inspector sees it: its machines, and its id and tyme, read
 * (getters) each time one of them steps.
 */
export interface Inspected {
  readonly id: string;
  readonly tyme: number | null;
  readonly machines: ReadonlyArray<readonly [ConnectionMachine, Stepper]>;
}

/** A server connection as inspected: its steward, requestant and responder. */
function stewardInspected(steward: Steward): Inspected {
  return {
    get id() {
      return steward.id;
    },
    get tyme() {
      return steward.remoter.tymer.tyme;
    },
    machines: [["steward", steward.stepper], ["requestant", steward.requestant.stepper], ["responder", steward.responder.stepper]],
  };
}

/**
 * The listeners of one server (or client) and the observers they need: while at least one
 * listens, every live connection's steppers have an observer (set on `listen`, and on `adopt`
 * for each new connection); when the last one leaves, they are taken off again.
 */
export class Inspector<T = Steward> {
  #listeners: readonly InspectionListener[] = []; // replaced, never changed: a dispatch sees one list
  readonly #live: () => Iterable<T>;
  readonly #inspected: (connection: T) => Inspected;

  /**
   * `live` gives the connections open now; `inspected` reads one when it steps (by default a
   * server connection's).
   */
  constructor(live: () => Iterable<T>, inspected: (connection: T) => Inspected = stewardInspected as unknown as (connection: T) => Inspected) {
    this.#live = live;
    this.#inspected = inspected;
  }

  /** True while anyone listens. */
  get listening(): boolean {
    return this.#listeners.length > 0;
  }

  /** Adds a listener; returns its unsubscribe (calling it again does nothing). */
  listen(listener: InspectionListener): () => void {
    const first = this.#listeners.length === 0;
    const wrapped: InspectionListener = (inspection) => listener(inspection); // each call is its own subscription
    this.#listeners = [...this.#listeners, wrapped];
    if (first) for (const connection of this.#live()) this.adopt(connection);
    return () => {
      const before = this.#listeners.length;
      this.#listeners = this.#listeners.filter((l) => l !== wrapped);
      if (before > 0 && this.#listeners.length === 0) {
        for (const connection of this.#live()) this.#observe(connection, false);
      }
    };
  }

  /** Watches a new connection when anyone listens. */
  adopt(connection: T): void {
    if (this.#listeners.length > 0) this.#observe(connection, true);
  }

  #observe(connection: T, on: boolean): void {
    const inspected = this.#inspected(connection);
    for (const [machine, stepper] of inspected.machines) this.#watch(inspected, machine, stepper, on);
  }

  #watch(inspected: Inspected, machine: ConnectionMachine, stepper: Stepper, on: boolean): void {
    if (!on) {
      stepper.observer = null;
      return;
    }
    const table: MachineTable = stepper.table;
    stepper.observer = (event, from, to, facts) => {
      this.#emit({
        tyme: inspected.tyme,
        connection: inspected.id,
        machine,
        event: table.events[event] as string,
        from: table.states[from] as string,
        to: table.states[to] as string,
        facts: table.factNames(facts),
      });
    };
  }

  #emit(inspection: Inspection): void {
    // One object for every listener, readonly by its type (not frozen: freezing costs ten times the rest)
    for (const listener of this.#listeners) {
      try {
        listener(inspection);
      } catch (error) {
        // A transition is under way: a listener's failure must not leave the connection half-stepped.
        console.error("hio-ts: an inspect listener threw:", error);
      }
    }
  }
}
