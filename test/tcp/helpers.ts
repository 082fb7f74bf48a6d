/** Helpers for the tcp tests: bounded event-loop turns, patterned payloads, handle counts. */
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Lets the event loop run once (I/O callbacks included). */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs `step` then one event-loop turn until `done()` holds; throws `${what} not reached
 * after N turns` when it never does. Returns the number of turns taken.
 */
export async function drive(step: () => void, done: () => boolean,
                            { turns = 5000, what = "condition" }: { turns?: number; what?: string } = {}):
  Promise<number> {
  for (let i = 0; i < turns; i++) {
    step();
    if (done()) return i;
    await turn();
  }
  throw new Error(`${what} not reached after ${turns} turns`);
}

/** `n` bytes of a pattern that shows reordering and loss (a byte per offset, mod 251). */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i + seed) % 251;
  return out;
}

/** True when `a` and `b` hold the same bytes. */
export function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Open TCP handles (sockets and listeners, TLS included) in this process. */
export function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => /^(TCP|TLS)/.test(name)).length;
}

const certs = path.join(path.dirname(fileURLToPath(import.meta.url)), "certs");

/** Paths of the committed test PKI (see certs/README.md). */
export const pki = {
  ca: path.join(certs, "ca.crt"),
  serverKey: path.join(certs, "server.key"),
  serverCert: path.join(certs, "server.crt"),
  clientKey: path.join(certs, "client.key"),
  clientCert: path.join(certs, "client.crt"),
  strangerKey: path.join(certs, "stranger.key"),
  strangerCert: path.join(certs, "stranger.crt"),
};
