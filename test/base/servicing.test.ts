import { describe, expect, it } from "vitest";
import { Doist, ServicingDoer } from "../../src/index.ts";
import type { Servicing, Tymth } from "../../src/index.ts";

class Recorder implements Servicing {
  readonly trace: Array<[number | null, string]> = [];
  #tymth: Tymth | null = null;
  #now = (): number | null => (this.#tymth === null ? null : this.#tymth());
  wind(tymth: Tymth | null): void {
    this.#tymth = tymth;
  }
  reopen(): boolean {
    this.trace.push([this.#now(), "reopen"]);
    return true;
  }
  service(): void {
    this.trace.push([this.#now(), "service"]);
  }
  close(): void {
    this.trace.push([this.#now(), "close"]);
  }
}

describe("ServicingDoer", () => {
  it("winds and opens at enter, services each run, never ends by itself, closes at exit", async () => {
    const recorder = new Recorder();
    const doist = new Doist({ tock: 1 / 8, limit: 3 / 8 });
    await doist.do({ doers: [new ServicingDoer(recorder, { tock: 1 / 8 })] });
    expect(recorder.trace).toEqual([
      [0, "reopen"],
      [0, "service"],
      [0.125, "service"],
      [0.25, "service"],
      [0.375, "close"],
    ]);
    expect(doist.done).toBe(false);
  });
});
