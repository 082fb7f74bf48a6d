import { createActor } from "xstate";
import { describe, expect, it } from "vitest";
import { respondentMachine } from "../../machines/respondent.ts";
import type { RespondentEventType } from "../../machines/respondent.ts";
import { respondentTable } from "../../src/http/client/respondent.ts";
import { expectEveryStateReached, expectRandomRunsAgree, expectTableAgrees, expectTagsAgree, flat, pathsTo, replay } from "./agreement.ts";

const table = respondentTable;

describe("respondentMachine", () => {
  it("reads a response by Content-Length: first byte, status line, head, body, ended", () => {
    const run = replay(respondentMachine, ["line.started", "line.parsed", "head.parsed.length", "body.parsed"]);
    expect(run.values).toEqual(["line", "headers", "body.length", "ended"]);
    expect(run.tags).toEqual(["bodied", "ended", "headed", "started"]);
  });

  it("loops over chunks, then trailers; a close-delimited body ends when the connection closes", () => {
    expect(replay(respondentMachine, [
      "line.started", "line.parsed", "head.parsed.chunked", "chunk.sized", "chunk.parsed", "chunk.last", "trailers.parsed",
    ]).values).toEqual(["line", "headers", "body.size", "body.data", "body.size", "body.trailers", "ended"]);
    expect(replay(respondentMachine, ["line.started", "line.parsed", "head.parsed.close", "closed"]).values)
      .toEqual(["line", "headers", "body.close", "ended"]);
  });

  it("goes back to the status line after an interim (1xx) head, still started", () => {
    const run = replay(respondentMachine, ["line.started", "line.parsed", "head.interim", "line.parsed", "head.parsed.empty"]);
    expect(run.values).toEqual(["line", "headers", "line", "headers", "ended"]);
  });

  it("errors unanswered, in the head, or in the body, each ended and errored with what had come", () => {
    const cases: Array<[RespondentEventType[], string, string[]]> = [
      [[], "errored.unanswered", ["ended", "errored"]],
      [["line.started"], "errored.head", ["ended", "errored", "started"]],
      [["line.started", "line.parsed"], "errored.head", ["ended", "errored", "started"]],
      [["line.started", "line.parsed", "head.parsed.length"], "errored.body", ["ended", "errored", "headed", "started"]],
      [["line.started", "line.parsed", "head.parsed.chunked", "chunk.sized"], "errored.body", ["ended", "errored", "headed", "started"]],
      [["line.started", "line.parsed", "head.parsed.close"], "errored.body", ["ended", "errored", "headed", "started"]],
    ];
    for (const [path, state, tags] of cases) {
      const run = replay(respondentMachine, [...path, "error"]);
      expect([run.values.at(-1), run.tags], path.join(" ")).toEqual([state, tags]);
    }
  });

  it("takes a close only after a close-delimited body, and nothing but reset once over", () => {
    expect(replay(respondentMachine, ["line.started", "closed"]).values).toEqual(["line", "line"]);
    const over = replay(respondentMachine, ["line.started", "line.parsed", "head.parsed.empty", "error", "line.started", "closed"]);
    expect(over.values.slice(2)).toEqual(["ended", "ended", "ended", "ended"]);
    for (const [state, path] of pathsTo(table)) {
      const run = replay(respondentMachine, [...path, "reset"]);
      expect([table.states[state], run.values.at(-1), run.status]).toEqual([table.states[state], "idle", "active"]);
    }
  });

  it("types its events: only their type, only its own", () => {
    const actor = createActor(respondentMachine).start();
    // @ts-expect-error events carry only their type
    actor.send({ type: "error", status: 400 });
    // @ts-expect-error no such event
    actor.send({ type: "head.parsed" });
    expect(flat(actor.getSnapshot().value)).toBe("errored.unanswered"); // the type alone decides
    actor.stop();
  });

  it("reaches every leaf state by xstate's own shortest paths", () => {
    expectEveryStateReached(respondentMachine, table);
  });

  it("has a table that agrees with xstate on every state and event", () => {
    expect(expectTableAgrees(respondentMachine, table)).toBe(table.states.length * table.events.length);
  });

  it("agrees with xstate on random event runs", () => {
    expectRandomRunsAgree(respondentMachine, table, 300);
  });

  it("gives the Stepper's tags the actor's tags on random runs", () => {
    expectTagsAgree(respondentMachine, table, ["started", "headed", "bodied", "ended", "errored"]);
  });
});
