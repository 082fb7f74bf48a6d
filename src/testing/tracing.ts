/**
 * Trace: a tyme-stamped record of what a program in simulated tyme did, for asserting whole
 * runs and for comparing runs by hash. Entries are plain arrays, so `toEqual` and
 * `JSON.stringify` see them as they are.
 */
import { createHash } from "node:crypto";
import type { Tymth } from "../base/tyming.ts";
import { WireLog } from "../tcp/wiring.ts";
import type { WireEntry } from "../tcp/wiring.ts";

/** What a trace entry may carry after its tyme and name: JSON values that compare exactly. */
export type Detail = string | number | boolean | null;

/** One entry: the tyme it happened at, what happened, then any detail. */
export type TraceEntry = [tyme: number, what: string, ...detail: Detail[]];

export interface TraceOptions {
  /** The clock `note()` stamps with; `runUntil` winds it to its Doist when given the trace. */
  tymth?: Tymth | null;
}

const latin1 = new TextDecoder("latin1");
const FIXDATE = /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT\b/g;

/**
 * Wire text as a trace keeps it: bytes as Latin-1 (one character per byte), with every HTTP
 * date (a server's `date` field, which reads the wall clock) replaced by `<date>`. A date cut
 * in two by the network's `chunk` is not recognized: keep chunks whole where dates matter.
 */
export function wireText(bytes: Uint8Array): string {
  return latin1.decode(bytes).replace(FIXDATE, "<date>");
}

/**
 * A list of tyme-stamped entries. `note()` stamps with the trace's clock (wound by `runUntil`),
 * `at()` with a given tyme; `digest()` hashes the entries, so two runs (or two processes)
 * compare by one string.
 * @example
 * const trace = new Trace();
 * const blink = doify(function* (tymth) { trace.note("blink"); yield 0; return true; });
 * await runUntil([blink], { limit: 1, trace });
 * trace.entries; // [[0, "blink"]]
 */
export class Trace {
  readonly entries: TraceEntry[] = [];
  tymth: Tymth | null;

  constructor({ tymth = null }: TraceOptions = {}) {
    this.tymth = tymth;
  }

  /** Sets the clock `note()` reads. */
  wind(tymth: Tymth | null): void {
    this.tymth = tymth;
  }

  /** The clock's tyme; throws when the trace has no clock yet. */
  get tyme(): number {
    if (this.tymth === null) throw new Error("this Trace has no clock: give it to runUntil or wind() it first");
    return this.tymth();
  }

  /** Adds an entry stamped with the clock's tyme. */
  note(what: string, ...detail: Detail[]): void {
    this.entries.push([this.tyme, what, ...detail]);
  }

  /** Adds an entry stamped with `tyme` (a doer's recur argument, an env.tyme). */
  at(tyme: number, what: string, ...detail: Detail[]): void {
    this.entries.push([tyme, what, ...detail]);
  }

  /** The entries whose name starts with `prefix`. */
  only(prefix: string): TraceEntry[] {
    return this.entries.filter(([, what]) => what.startsWith(prefix));
  }

  /** One line per entry, `tyme what detail...`, for reading a trace or a diff of two. */
  lines(): string[] {
    return this.entries.map(([tyme, what, ...detail]) => [tyme, what, ...detail.map((d) => JSON.stringify(d))].join(" "));
  }

  /** SHA-256 (hex) of the entries as JSON: equal digests, equal traces. */
  digest(): string {
    return createHash("sha256").update(JSON.stringify(this.entries)).digest("hex");
  }

  /**
   * A memory WireLog (the `wl` option of a tcp or http Client) that notes every transfer in this
   * trace as `[tyme, "<name> rx" | "<name> tx", peer, text]`, text as `wireText` gives it.
   */
  wireLog(name: string): WireLog {
    const fmt = ({ dx, who, data }: WireEntry): string => {
      this.note(`${name} ${dx}`, who, wireText(data));
      return "";
    };
    return new WireLog({ name, fmt, reopen: true });
  }
}
