import { createActor } from "xstate";
import { describe, expect, it } from "vitest";
import { responderMachine } from "../../machines/responder.ts";
import { responderTable } from "../../src/http/responding.ts";
import { expectRandomRunsAgree, expectTableAgrees, pathsTo, replay } from "./agreement.ts";

describe("responderMachine", () => {
  it("walks a response from dispatch to end and back to idle", () => {
    const run = replay(responderMachine, ["request.dispatched", "response.ready", "head.sent", "body.ended", "reset"]);
    expect(run.values).toEqual(["pending", "heading", "streaming", "ended", "idle"]);
  });

  it("tags the phases with hio's flags", () => {
    const actor = createActor(responderMachine).start();
    expect(actor.getSnapshot().hasTag("busy")).toBe(false);
    actor.send({ type: "request.dispatched" });
    expect(actor.getSnapshot().hasTag("busy")).toBe(true);
    actor.send({ type: "response.ready" });
    actor.send({ type: "head.sent" });
    expect(actor.getSnapshot().hasTag("headed")).toBe(true);
    actor.send({ type: "body.ended" });
    expect(actor.getSnapshot().hasTag("ended")).toBe(true);
    expect(actor.getSnapshot().hasTag("busy")).toBe(false);
    // @ts-expect-error events carry only their type
    actor.send({ type: "body.ended", bytes: 3 });
    // @ts-expect-error no such event
    actor.send({ type: "flush" });
    actor.stop();
  });

  it("aborts from every busy phase on cutoff and on failure after dispatch", () => {
    expect(replay(responderMachine, ["request.dispatched", "cutoff"]).values.at(-1)).toBe("aborted");
    expect(replay(responderMachine, ["request.dispatched", "response.ready", "cutoff"]).values.at(-1)).toBe("aborted");
    expect(replay(responderMachine, ["request.dispatched", "response.ready", "head.sent", "failed"]).values.at(-1)).toBe("aborted");
    expect(replay(responderMachine, ["request.dispatched", "response.ready", "head.sent", "failed", "reset"]).values.at(-1)).toBe("idle");
  });

  it("ignores events a phase does not handle", () => {
    expect(replay(responderMachine, ["head.sent", "body.ended", "cutoff"]).values).toEqual(["idle", "idle", "idle"]);
  });

  it("reaches every state", () => {
    expect([...pathsTo(responderTable).keys()].length).toBe(responderTable.states.length);
  });

  it("has a table that agrees with xstate on every state and event", () => {
    expect(expectTableAgrees(responderMachine, responderTable)).toBe(responderTable.states.length * responderTable.events.length);
  });

  it("agrees with xstate on random event runs", () => {
    expectRandomRunsAgree(responderMachine, responderTable);
  });
});
