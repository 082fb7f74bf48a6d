import { createActor } from "xstate";
import { describe, expect, it } from "vitest";
import { stewardMachine } from "../../machines/steward.ts";
import { stewardTable } from "../../src/http/stewarding.ts";
import { expectRandomRunsAgree, expectTableAgrees, pathsTo, replay } from "./agreement.ts";

describe("stewardMachine", () => {
  it("loops waiting, responding, pouring on a persistent connection", () => {
    const run = replay(stewardMachine, ["request.parsed", "response.headed", "response.ended", "request.parsed"]);
    expect(run.values).toEqual(["responding", "pouring", "waiting", "responding"]);
  });

  it("closes after the last response once drained and the peer closed or the linger ended", () => {
    const run = replay(stewardMachine, ["request.parsed", "response.headed", "response.last", "drained", "lingered"]);
    expect(run.values).toEqual(["responding", "pouring", "closing", "lingering", "closed"]);
    expect(run.status).toBe("done");
    expect(replay(stewardMachine, ["request.failed", "response.last", "drained", "cutoff"]).values.at(-1)).toBe("closed");
  });

  it("answers a malformed request and closes", () => {
    const run = replay(stewardMachine, ["request.failed", "response.last", "drained"]);
    expect(run.values).toEqual(["responding", "closing", "lingering"]);
  });

  it("closes once drained after the peer's FIN between requests", () => {
    expect(replay(stewardMachine, ["peer.ended", "drained"]).values).toEqual(["closing", "lingering"]);
    expect(replay(stewardMachine, ["request.parsed", "peer.ended"]).values).toEqual(["responding", "responding"]);
  });

  it("closes a waiting connection gracefully when the server drains; a busy one ignores it", () => {
    expect(replay(stewardMachine, ["drain", "drained", "lingered"]).values).toEqual(["closing", "lingering", "closed"]);
    expect(replay(stewardMachine, ["request.parsed", "drain"]).values).toEqual(["responding", "responding"]);
  });

  it("closes on cutoff or tymeout from any phase", () => {
    for (const path of [[], ["request.parsed"], ["request.parsed", "response.headed"], ["request.failed", "response.last"]]) {
      expect(replay(stewardMachine, [...path, "cutoff"]).values.at(-1)).toBe("closed");
      expect(replay(stewardMachine, [...path, "tymeout"]).values.at(-1)).toBe("closed");
    }
  });

  it("tags waited, busy and closing", () => {
    const actor = createActor(stewardMachine).start();
    expect(actor.getSnapshot().hasTag("waited")).toBe(true);
    actor.send({ type: "request.parsed" });
    expect(actor.getSnapshot().hasTag("busy")).toBe(true);
    actor.send({ type: "response.last" });
    expect(actor.getSnapshot().hasTag("closing")).toBe(true);
    // @ts-expect-error events carry only their type
    actor.send({ type: "drained", bytes: 0 });
    actor.stop();
  });

  it("reaches every state", () => {
    expect([...pathsTo(stewardTable).keys()].length).toBe(stewardTable.states.length);
  });

  it("has a table that agrees with xstate on every state and event", () => {
    expect(expectTableAgrees(stewardMachine, stewardTable)).toBe(stewardTable.states.length * stewardTable.events.length);
  });

  it("agrees with xstate on random event runs", () => {
    expectRandomRunsAgree(stewardMachine, stewardTable);
  });
});
