/**
 * Checks of option values, made once when a server, client or doer is built, so a bad value
 * fails there with the option's name and the value given, not later as a quiet surprise (a port
 * 70000 listening on 4464, a NaN tymeout that never expires).
 *
 * Each check returns the value it was given (narrowed), so a constructor reads
 * `this.tymeout = tyme("tymeout", tymeout)`. A value of the wrong type is a TypeError; a number
 * out of range (NaN included) is a RangeError. `name` goes first in the message as given, so
 * callers may qualify it: `port("http.Server port", port)`.
 */

/** A value as a message shows it: strings quoted, numbers as JavaScript prints them. */
export function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  return `a${typeof value === "object" ? "n" : ""} ${typeof value}`;
}

function number(name: string, value: unknown, wanted: string): number {
  if (typeof value !== "number") throw new TypeError(`${name} must be ${wanted}, not ${shown(value)}`);
  return value;
}

/**
 * A TCP port: an integer from 0 to 65535, where 0 lets the system pick a free one (a listener)
 * or names no port yet (a client given its address later).
 */
export function port(name: string, value: unknown): number {
  const wanted = "an integer from 0 to 65535 (0 picks a free port)";
  const n = number(name, value, wanted);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new RangeError(`${name} must be ${wanted}, not ${shown(n)}`);
  return n;
}

export interface TymeCheck {
  /** Smallest allowed value (default 0). */
  min?: number;
  /** Whether the bound itself is allowed (default true); false for "more than min". */
  inclusive?: boolean;
  /** Allow Infinity, for "never" (default false). */
  allowInfinity?: boolean;
}

/** A span of tyme in seconds: a number, not NaN, at least `min` (0), finite unless allowed. */
export function tyme(name: string, value: unknown, { min = 0, inclusive = true, allowInfinity = false }: TymeCheck = {}): number {
  const bound = inclusive ? `at least ${min}` : `more than ${min}`;
  const wanted = `a number of seconds ${bound}${allowInfinity ? " (Infinity: never)" : ", and finite"}`;
  const n = number(name, value, wanted);
  const low = inclusive ? n < min : n <= min;
  if (Number.isNaN(n) || low || (n === Infinity && !allowInfinity)) {
    throw new RangeError(`${name} must be ${wanted}, not ${shown(n)}`);
  }
  return n;
}

/** An integer from `min` to `max` (both included; max defaults to Number.MAX_SAFE_INTEGER). */
export function integer(name: string, value: unknown, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}): number {
  const wanted = max === Number.MAX_SAFE_INTEGER ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
  const n = number(name, value, wanted);
  if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`${name} must be ${wanted}, not ${shown(n)}`);
  return n;
}

/** An integer of at least 1: a size, a count, a limit. */
export function positiveInt(name: string, value: unknown): number {
  return integer(name, value, { min: 1 });
}

/** An integer of at least 0. */
export function nonNegativeInt(name: string, value: unknown): number {
  return integer(name, value, { min: 0 });
}

/** A boolean (a truthy string such as "false" is a mistake, not true). */
export function boolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new TypeError(`${name} must be true or false, not ${shown(value)}`);
  return value;
}

/** One of a fixed set of strings. */
export function oneOf<const T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value === "string" && (choices as readonly string[]).includes(value)) return value as T;
  const listed = choices.map((choice) => JSON.stringify(choice)).join(", ");
  const error = typeof value === "string" ? RangeError : TypeError;
  throw new error(`${name} must be one of ${listed}, not ${shown(value)}`);
}

/**
 * A TCP port read from an environment variable (`PORT`): decimal digits only, 0 to 65535; an
 * unset or empty variable gives `fallback`. For examples and scripts that start a server.
 */
export function envPort(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text.trim() === "") return fallback;
  if (!/^[0-9]+$/.test(text.trim())) {
    throw new RangeError(`${name} must be a port number from 0 to 65535 (0 picks a free port), not ${shown(text)}`);
  }
  return port(name, Number(text.trim()));
}
