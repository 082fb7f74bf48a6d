/**
 * Inspection: a server's connections as their machines see them. Every transition of every
 * connection's steward, requestant and responder reaches the listeners with its tyme (xstate's
 * inspection API, for the tabulated machines), and `connectionOf` summarizes one live connection.
 * While nobody listens the steppers have no observer, so stepping costs one null check.
 */
import type { MachineTable, Stepper } from "../base/machining.ts";
import type { Steward } from "./stewarding.ts";

/** The machines of one server connection. */
export type ConnectionMachine = "steward" | "requestant" | "responder";

/** One transition of one connection's machine: states are dotted leaf paths ("body.length"). */
export interface Inspection {
  /** Tyme of the connection when it happened (null: the server is not wound to a tymist). */
  readonly tyme: number | null;
  /** The connection's stable id (`Steward.id`). */
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
 * The listeners of one server and the observers they need: while at least one listens, every
 * live connection's three steppers have an observer (set on `listen`, and on `adopt` for each
 * new connection); when the last one leaves, they are taken off again.
 */
export class Inspector {
  #listeners: readonly InspectionListener[] = []; // replaced, never changed: a dispatch sees one list
  readonly #live: () => Iterable<Steward>;

  /** `live` gives the connections open now. */
  constructor(live: () => Iterable<Steward>) {
    this.#live = live;
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
    if (first) for (const steward of this.#live()) this.adopt(steward);
    return () => {
      const before = this.#listeners.length;
      this.#listeners = this.#listeners.filter((l) => l !== wrapped);
      if (before > 0 && this.#listeners.length === 0) {
        for (const steward of this.#live()) this.#observe(steward, false);
      }
    };
  }

  /** Watches a new connection when anyone listens. */
  adopt(steward: Steward): void {
    if (this.#listeners.length > 0) this.#observe(steward, true);
  }

  #observe(steward: Steward, on: boolean): void {
    this.#watch(steward, "steward", steward.stepper, on);
    this.#watch(steward, "requestant", steward.requestant.stepper, on);
    this.#watch(steward, "responder", steward.responder.stepper, on);
  }

  #watch(steward: Steward, machine: ConnectionMachine, stepper: Stepper, on: boolean): void {
    if (!on) {
      stepper.observer = null;
      return;
    }
    const table: MachineTable = stepper.table;
    stepper.observer = (event, from, to, facts) => {
      this.#emit({
        tyme: steward.remoter.tymer.tyme,
        connection: steward.id,
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
