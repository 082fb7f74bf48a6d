import { createActor } from "xstate";
import { describe, expect, it } from "vitest";
import { stewardMachine } from "../../machines/steward.ts";
import type { StewardFacts } from "../../machines/steward.ts";
import { stewardTable } from "../../src/http/server/steward.ts";
import { expectRandomRunsAgree, expectTableAgrees, pathsTo, replay } from "./agreement.ts";

const tick = (facts: StewardFacts = {}) => ({ type: "tick", ...facts });
const answered = (persists: boolean) => ({ type: "answered", persists });

describe("stewardMachine", () => {
  it("loops waiting, receiving, answering on a persistent connection", () => {
    const run = replay(stewardMachine, ["request.begun", "request.parsed", answered(true), "request.begun"]);
    expect(run.values).toEqual(["receiving.plain", "answering.plain", "waiting", "receiving.plain"]);
  });

  it("closes after the last answer: drained, our FIN, then the peer's close or the linger's end", () => {
    const run = replay(stewardMachine, [
      "request.begun", "request.parsed", answered(false), tick({ sending: true }), tick(), tick(), tick({ expired: true }),
    ]);
    expect(run.values).toEqual(["receiving.plain", "answering.plain", "closing", "closing", "lingering", "lingering", "closed"]);
    expect(run.status).toBe("done");
    expect(replay(stewardMachine, ["request.begun", "request.parsed", answered(false), tick(), tick({ peerEnded: true })]).values.slice(2))
      .toEqual(["closing", "lingering", "closed"]);
    // The peer closed before everything left: closed once drained, without a FIN to linger on.
    expect(replay(stewardMachine, ["request.begun", "request.failed", "answered", tick({ peerEnded: true })]).values.at(-1)).toBe("closed");
  });

  it("refuses a malformed request through the Responder, then closes whatever the answer says", () => {
    const run = replay(stewardMachine, ["request.begun", "request.failed", answered(true)]);
    expect(run.values).toEqual(["receiving.plain", "refusing", "closing"]);
  });

  it("answers 408 at the headers or request deadline, unless the peer reads nothing", () => {
    expect(replay(stewardMachine, ["request.begun", tick({ starved: true, expired: true })]).values.at(-1)).toBe("refusing");
    expect(replay(stewardMachine, ["request.begun", tick({ expired: true, sending: true })]).values.at(-1)).toBe("closed");
    expect(replay(stewardMachine, ["request.begun", tick({ starved: true })]).values.at(-1)).toBe("receiving.plain");
  });

  it("closes a waiting connection at the idle deadline, and once drained after the peer's FIN", () => {
    expect(replay(stewardMachine, [tick({ expired: true })]).values).toEqual(["closed"]);
    expect(replay(stewardMachine, [tick({ peerEnded: true, starved: true }), tick({ peerEnded: true })]).values).toEqual(["closing", "closed"]);
    // A request cut short by the FIN is dropped; one still being parsed is not.
    expect(replay(stewardMachine, ["request.begun", tick({ peerEnded: true, starved: true })]).values.at(-1)).toBe("closing");
    expect(replay(stewardMachine, ["request.begun", tick({ peerEnded: true })]).values.at(-1)).toBe("receiving.plain");
    expect(replay(stewardMachine, ["request.begun", "request.parsed", tick({ peerEnded: true })]).values.at(-1)).toBe("answering.plain");
  });

  it("closes a waiting connection gracefully when the server drains; one receiving or answering goes on", () => {
    expect(replay(stewardMachine, [tick({ draining: true, starved: true }), tick({ draining: true }), tick({ expired: true })]).values)
      .toEqual(["closing", "lingering", "closed"]);
    // Requests already in hand (more than one tick takes) are answered first.
    expect(replay(stewardMachine, [tick({ draining: true }), tick({ peerEnded: true })]).values).toEqual(["waiting", "waiting"]);
    expect(replay(stewardMachine, ["request.begun", tick({ draining: true })]).values.at(-1)).toBe("receiving.plain");
    expect(replay(stewardMachine, ["request.begun", "request.parsed", tick({ draining: true })]).values.at(-1)).toBe("answering.plain");
  });

  it("sends 100 Continue once per request, while receiving or, for a streamed body, while answering", () => {
    expect(replay(stewardMachine, ["request.begun", "continue.sent", "request.parsed"]).values).toEqual(["receiving.plain", "receiving.continued", "answering.plain"]);
    expect(replay(stewardMachine, ["request.begun", "request.parsed", "continue.sent", "request.failed"]).values.slice(2)).toEqual(["answering.continued", "refusing"]);
  });

  it("closes on cutoff from any phase, and on its deadline while answering", () => {
    for (const path of [[], ["request.begun"], ["request.begun", "request.parsed"], ["request.begun", "request.failed"], [tick({ draining: true, starved: true })]]) {
      expect(replay(stewardMachine, [...path, "cutoff"]).values.at(-1)).toBe("closed");
    }
    expect(replay(stewardMachine, ["request.begun", "request.parsed", tick({ expired: true })]).values.at(-1)).toBe("closed");
  });

  it("tags the phases in which an answer is under way busy", () => {
    const actor = createActor(stewardMachine).start();
    expect(actor.getSnapshot().hasTag("busy")).toBe(false);
    actor.send({ type: "request.begun" });
    actor.send({ type: "request.parsed" });
    expect(actor.getSnapshot().hasTag("busy")).toBe(true);
    actor.send({ type: "answered", persists: false });
    expect(actor.getSnapshot().hasTag("busy")).toBe(false);
    // @ts-expect-error facts are booleans
    actor.send({ type: "tick", expired: 1 });
    actor.stop();
  });

  it("reads its facts in the order of the table's bits", () => {
    expect(stewardTable.facts).toEqual(["starved", "peerEnded", "sending", "expired", "draining", "persists"]);
    expect(stewardTable.fact("expired")).toBe(8);
  });

  it("reaches every state", () => {
    expect([...pathsTo(stewardTable).keys()].length).toBe(stewardTable.states.length);
  });

  it("has a table that agrees with xstate on every state, event and combination of facts", () => {
    const checked = expectTableAgrees(stewardMachine, stewardTable);
    expect(checked).toBe(stewardTable.states.length * stewardTable.events.length * 2 ** stewardTable.facts.length);
  });

  it("agrees with xstate on random event runs", () => {
    expectRandomRunsAgree(stewardMachine, stewardTable);
  });
});
