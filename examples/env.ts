/**
 * Reading the examples' settings from the environment: a bad one stops the example with one
 * line that says what to give instead, before anything listens.
 */
import { envPort } from "../src/base/options.ts";

/** The port from PORT (PORT=0 picks a free port), else `fallback`; exits on anything else. */
export function portFromEnv(fallback = 8080): number {
  try {
    return envPort("PORT", process.env.PORT, fallback);
  } catch (error) {
    console.error(`${(error as Error).message}: give e.g. PORT=8080, or PORT=0 for any free port`);
    process.exit(2);
  }
}
