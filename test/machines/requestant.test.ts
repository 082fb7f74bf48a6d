import { createActor, getNextSnapshot } from "xstate";
import { describe, expect, it } from "vitest";
import { requestantMachine } from "../../machines/requestant.ts";
import { requestantTable } from "../../src/http/server/requestant.ts";
import { expectEveryStateReached, expectRandomRunsAgree, expectTableAgrees, expectTagsAgree, flat, pathsTo, replay } from "./agreement.ts";

const table = requestantTable;

describe("requestantMachine", () => {
  it("reads a request without a body: line, headers, ended", () => {
    expect(replay(requestantMachine, ["line.parsed", "head.parsed.empty"]).values).toEqual(["headers", "ended"]);
  });

  it("reads a body by Content-Length", () => {
    const run = replay(requestantMachine, ["line.parsed", "head.parsed.length", "body.begun", "body.parsed"]);
    expect(run.values).toEqual(["headers", "body.length_awaited", "body.length", "ended"]);
    expect(run.tags).toEqual(["ended", "headed"]);
  });

  it("loops over chunks, then trailers, then ends", () => {
    const run = replay(requestantMachine, [
      "line.parsed", "head.parsed.chunked", "body.begun", "chunk.sized", "chunk.parsed", "chunk.sized", "chunk.parsed",
      "chunk.last", "trailers.parsed",
    ]);
    expect(run.values).toEqual([
      "headers", "body.size_awaited", "body.size", "body.data", "body.size", "body.data", "body.size", "body.trailers", "ended",
    ]);
  });

  it("errors from the head without headed, from the body with it", () => {
    for (const path of [[], ["line.parsed"]]) {
      const run = replay(requestantMachine, [...path, "error"]);
      expect([run.values.at(-1), run.tags]).toEqual(["errored.head", ["errored"]]);
    }
    const bodies = [["head.parsed.length"], ["head.parsed.length", "body.begun"], ["head.parsed.chunked"], ["head.parsed.chunked", "body.begun", "chunk.sized"], ["head.parsed.chunked", "body.begun", "chunk.last"]];
    for (const path of bodies) {
      const run = replay(requestantMachine, ["line.parsed", ...path, "error"]);
      expect([run.values.at(-1), run.tags]).toEqual(["errored.body", ["errored", "headed"]]);
    }
  });

  it("stays ended or errored until reset, which starts over from any state", () => {
    expect(replay(requestantMachine, ["line.parsed", "head.parsed.empty", "error", "line.parsed"]).values.slice(2)).toEqual(["ended", "ended"]);
    expect(replay(requestantMachine, ["error", "line.parsed", "reset"]).values).toEqual(["errored.head", "errored.head", "line"]);
    for (const [state, path] of pathsTo(table)) {
      const run = replay(requestantMachine, [...path, "reset"]);
      expect([table.states[state], run.values.at(-1), run.status]).toEqual([table.states[state], "line", "active"]);
    }
  });

  it("tags with an actor: headed, ended, errored; never done", () => {
    const actor = createActor(requestantMachine).start();
    expect(actor.getSnapshot().hasTag("headed")).toBe(false);
    actor.send({ type: "line.parsed" });
    actor.send({ type: "head.parsed.length" });
    expect(actor.getSnapshot().value).toEqual({ body: "length_awaited" }); // no body byte yet: a 100 Continue may be owed
    expect(actor.getSnapshot().hasTag("headed")).toBe(true);
    actor.send({ type: "body.begun" });
    expect(actor.getSnapshot().value).toEqual({ body: "length" });
    actor.send({ type: "body.parsed" });
    expect([actor.getSnapshot().hasTag("ended"), actor.getSnapshot().status]).toEqual([true, "active"]);
    actor.send({ type: "reset" });
    actor.send({ type: "error" });
    expect([actor.getSnapshot().hasTag("errored"), actor.getSnapshot().hasTag("headed")]).toEqual([true, false]);
    // @ts-expect-error events carry only their type
    actor.send({ type: "error", status: 400 });
    // @ts-expect-error no such event
    actor.send({ type: "chunk.skipped" });
    actor.stop();
  });

  it("reaches every leaf state by xstate's own shortest paths", () => {
    expectEveryStateReached(requestantMachine, table);
  });

  it("has a table that agrees with xstate on every state and event", () => {
    expect(expectTableAgrees(requestantMachine, table)).toBe(table.states.length * table.events.length);
  });

  it("agrees with xstate's pure transition for every state and event", () => {
    for (const [s, value] of table.states.entries()) {
      const snapshot = requestantMachine.resolveState({ value: toValue(value), context: {} });
      for (const [e, type] of table.events.entries()) {
        const next = getNextSnapshot(requestantMachine, snapshot, { type });
        const stepped = table.step(s, e);
        expect(flat(next.value), `${value} + ${type}`).toBe(table.states[stepped < 0 ? s : stepped]);
      }
    }
  });

  it("agrees with xstate on random event runs", () => {
    expectRandomRunsAgree(requestantMachine, table, 300);
  });

  it("gives the Stepper's tags the actor's tags on random runs", () => {
    expectTagsAgree(requestantMachine, table, ["headed", "ended", "errored"]);
  });
});

function toValue(path: string): string | Record<string, string> {
  const [head, leaf] = path.split(".");
  return leaf === undefined ? (head as string) : { [head as string]: leaf };
}
