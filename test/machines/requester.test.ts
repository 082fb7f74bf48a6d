import { createActor } from "xstate";
import { describe, expect, it } from "vitest";
import { requesterMachine } from "../../machines/requester.ts";
import { requesterTable } from "../../src/http/client/client.ts";
import { expectRandomRunsAgree, expectTableAgrees, pathsTo, replay } from "./agreement.ts";

describe("requesterMachine", () => {
  it("opens, sends, waits, and keeps the connection for the next request", () => {
    const run = replay(requesterMachine, ["opened", "request.sent", "response.ended", "request.sent"]);
    expect(run.values).toEqual(["idle", "waiting", "idle", "waiting"]);
    expect(run.tags).toEqual(["waited"]);
  });

  it("closes after a last response, a requeue, or a drop; a drop takes an idle connection too", () => {
    for (const end of ["response.last", "requeued", "dropped"] as const) {
      const run = replay(requesterMachine, ["opened", "request.sent", end, "opened"]);
      expect(run.values.slice(2), end).toEqual(["closed", "idle"]);
    }
    expect(replay(requesterMachine, ["opened", "dropped"]).values).toEqual(["idle", "closed"]);
  });

  it("sends nothing without a connection and answers nothing that is not out", () => {
    expect(replay(requesterMachine, ["request.sent", "dropped", "response.ended"]).values).toEqual(["closed", "closed", "closed"]);
    expect(replay(requesterMachine, ["opened", "response.ended", "response.last", "requeued", "opened"]).values)
      .toEqual(["idle", "idle", "idle", "idle", "idle"]);
  });

  it("types its events: only their type, only its own", () => {
    const actor = createActor(requesterMachine).start();
    expect(actor.getSnapshot().hasTag("waited")).toBe(false);
    // @ts-expect-error events carry only their type
    actor.send({ type: "opened", socket: 3 });
    // @ts-expect-error no such event
    actor.send({ type: "request.queued" });
    actor.stop();
  });

  it("reaches every state", () => {
    expect([...pathsTo(requesterTable).keys()].length).toBe(requesterTable.states.length);
  });

  it("has a table that agrees with xstate on every state and event", () => {
    expect(expectTableAgrees(requesterMachine, requesterTable)).toBe(requesterTable.states.length * requesterTable.events.length);
  });

  it("agrees with xstate on random event runs", () => {
    expectRandomRunsAgree(requesterMachine, requesterTable);
  });
});
