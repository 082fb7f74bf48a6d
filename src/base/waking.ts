/**
 * The wake line: how I/O reaches a sleeping real-time Doist. A real-time Doist with nothing due
 * sleeps (a timer, not a spin) until its earliest retyme; `wake()` cuts the sleep short, so it
 * runs a tick as soon as the I/O callbacks of this event-loop turn are in. Socket, listener and
 * promise callbacks of this library call it; so may a user's own I/O callbacks.
 *
 * Calling it costs a counter increment when nothing sleeps, so it can be called per event.
 * It wakes every sleeping Doist of the process: a spurious wake is one tick that finds little
 * to do, never a missed one.
 */

/** Called on a wake: schedules the sleeper's next tick. */
export type Sleeper = () => void;

let wakes = 0;
const sleepers: Sleeper[] = [];

/** Tells every sleeping real-time Doist that something happened: each runs a tick soon. */
export function wake(): void {
  wakes += 1;
  if (sleepers.length === 0) return;
  const woken = sleepers.splice(0);
  for (const sleeper of woken) sleeper();
}

/** How many wakes there have been: a Doist compares it before and after a tick. */
export function wakeCount(): number {
  return wakes;
}

/** Registers `sleeper` for the next wake only (it is forgotten once called). */
export function sleep(sleeper: Sleeper): void {
  if (!sleepers.includes(sleeper)) sleepers.push(sleeper);
}

/** Forgets `sleeper` (it woke by its own timer). */
export function unsleep(sleeper: Sleeper): void {
  const at = sleepers.indexOf(sleeper);
  if (at !== -1) sleepers.splice(at, 1);
}
