import { createActor } from "xstate";
import { describe, expect, it } from "vitest";
import { responderMachine } from "../../machines/responder.ts";
import { responderTable } from "../../src/http/server/responder.ts";
import { expectRandomRunsAgree, expectTableAgrees, pathsTo, replay } from "./agreement.ts";

describe("responderMachine", () => {
  it("walks a whole response from dispatch to end and back to idle", () => {
    const run = replay(responderMachine, ["request.dispatched", "app.settled", "response.whole", "head.sent", "body.ended", "reset"]);
    expect(run.values).toEqual(["pending", "settled", "heading.whole", "streaming.whole", "ended", "idle"]);
  });

  it("writes a reply or an error whole at once", () => {
    expect(replay(responderMachine, ["request.dispatched", "app.settled", "reply.written"]).values.at(-1)).toBe("ended");
  });

  it("follows the body stream's reads under the head and the body alike", () => {
    const run = replay(responderMachine, [
      "request.dispatched", "app.settled", "response.streamed", "body.read", "body.piece", "body.read",
      "head.sent", "body.piece", "body.read", "body.end", "body.ended",
    ]);
    expect(run.values).toEqual([
      "pending", "settled", "heading.held", "heading.reading", "heading.held", "heading.reading",
      "streaming.reading", "streaming.held", "streaming.reading", "streaming.whole", "ended",
    ]);
  });

  it("answers a body that failed before the head with its error; after the head, aborts", () => {
    const before = ["request.dispatched", "app.settled", "response.streamed", "body.read", "body.error"];
    expect(replay(responderMachine, [...before, "reply.written"]).values.slice(-2)).toEqual(["heading.failed", "ended"]);
    expect(replay(responderMachine, [...before, "head.sent"]).values.at(-1)).toBe("heading.failed"); // no head for a failed body
    const after = ["request.dispatched", "app.settled", "response.streamed", "body.read", "head.sent", "body.error", "failed"];
    expect(replay(responderMachine, after).values.slice(-2)).toEqual(["streaming.failed", "aborted"]);
  });

  it("aborts a body short of its Content-Length; cuts one that goes past it", () => {
    expect(replay(responderMachine, ["request.dispatched", "app.settled", "response.whole", "head.sent", "failed"]).values.at(-1)).toBe("aborted");
    expect(replay(responderMachine, ["request.dispatched", "app.settled", "response.streamed", "head.sent", "body.ended"]).values.at(-1)).toBe("ended");
  });

  it("tags the phases with hio's flags", () => {
    const actor = createActor(responderMachine).start();
    expect(actor.getSnapshot().hasTag("busy")).toBe(false);
    actor.send({ type: "request.dispatched" });
    expect(actor.getSnapshot().hasTag("busy")).toBe(true);
    actor.send({ type: "app.settled" });
    actor.send({ type: "response.whole" });
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

  it("aborts from every busy phase on cutoff", () => {
    for (const path of [["request.dispatched"], ["request.dispatched", "app.settled"], ["request.dispatched", "app.settled", "response.streamed"],
      ["request.dispatched", "app.settled", "response.whole", "head.sent"]]) {
      expect(replay(responderMachine, [...path, "cutoff"]).values.at(-1)).toBe("aborted");
      expect(replay(responderMachine, [...path, "cutoff", "reset"]).values.at(-1)).toBe("idle");
    }
  });

  it("ignores events a phase does not handle (xstate's way; a strict Stepper throws)", () => {
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
