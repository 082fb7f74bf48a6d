/**
 * Per-request cost of state stepping: the events one keep-alive hello-world request sends to a
 * connection's Requestant, Responder and Steward steppers (the Steward's ticks with their facts,
 * those that move nothing too), stepped through their MachineTables, beside the same events sent
 * to started xstate actors and to xstate's pure `transition()`.
 *
 * The sequence is not written out by hand: it is traced from the real server, the second request
 * of one keep-alive connection on 127.0.0.1, with `Stepper.prototype.step` and `hasTag` wrapped
 * for the trace only (the timed runs use the unwrapped methods).
 *
 *   npm run bench:machines
 */
import net from "node:net";
import { setImmediate as turn } from "node:timers/promises";
import { createActor, getInitialSnapshot, getNextSnapshot, transition } from "xstate";
import type { AnyActorRef, AnyMachineSnapshot, AnyStateMachine } from "xstate";
import { Stepper } from "../src/base/machining.ts";
import type { MachineTable } from "../src/base/machining.ts";
import { Tymist } from "../src/base/tyming.ts";
import { openServer } from "../src/http/server/serving.ts";
import { requestantTable } from "../src/http/server/requestant.ts";
import { responderTable } from "../src/http/server/responder.ts";
import { stewardTable } from "../src/http/server/steward.ts";
import { requestantMachine } from "../machines/requestant.ts";
import { responderMachine } from "../machines/responder.ts";
import { stewardMachine } from "../machines/steward.ts";

const machines: ReadonlyArray<{ table: MachineTable; machine: AnyStateMachine }> = [
  { table: requestantTable, machine: requestantMachine },
  { table: responderTable, machine: responderMachine },
  { table: stewardTable, machine: stewardMachine },
];

/** One thing the hot path does with a stepper: send an event, or read a tag. */
interface Op {
  machine: number; // index into `machines`
  kind: "event" | "tag";
  name: string; // event type or tag
  index: number; // event index in the table (-1 for a tag)
  facts: number; // the event's fact bits
}

/** Traces the machine operations of the second request on one keep-alive connection. */
async function trace(): Promise<Op[]> {
  const ops: Op[] = [];
  let recording = false;
  const which = (stepper: Stepper): number => machines.findIndex((m) => m.table === stepper.table);
  const { step, hasTag } = Stepper.prototype;
  Stepper.prototype.step = function (this: Stepper, event: number, facts = 0): boolean {
    if (recording) ops.push({ machine: which(this), kind: "event", name: this.table.events[event] as string, index: event, facts });
    return step.call(this, event, facts);
  };
  Stepper.prototype.hasTag = function (this: Stepper, tag: string): boolean {
    if (recording) ops.push({ machine: which(this), kind: "tag", name: tag, index: -1, facts: 0 });
    return hasTag.call(this, tag);
  };

  const tymist = new Tymist({ tock: 1 / 1024 });
  const app = (): Response => new Response("Hello World!", { headers: { "content-type": "text/plain" } });
  const server = openServer({ app, host: "127.0.0.1", port: 0, tymth: tymist.tymen() });
  const socket = net.connect(server.ha[1], "127.0.0.1");
  let received = "";
  socket.setEncoding("latin1");
  socket.on("data", (text: string) => (received += text));
  const tick = async (): Promise<void> => {
    server.service();
    tymist.tick();
    await turn(); // socket I/O and the response body's read settle between ticks
  };
  try {
    for (let request = 0; request < 2; request++) {
      received = "";
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.ha[1]}\r\n\r\n`);
      // Wait for the request to arrive without servicing stewards (idle ticks read tags too).
      while (server.servant.ixes.size === 0 || [...server.servant.ixes.values()].every((r) => r.rxbs.length === 0)) {
        server.servant.serviceConnects();
        server.servant.serviceReceivesAllIx();
        await turn();
        if (received.length > 0 || socket.destroyed) throw new Error("unexpected traffic");
      }
      recording = request === 1;
      const stewards = server.stewards;
      for (let t = 0; t < 1000 && !received.endsWith("Hello World!"); t++) {
        await tick();
        // Stop recording once the steward is back to waiting with the exchange ended.
        if (recording && [...stewards.values()].every((s) => s.stepper.value === "waiting")) recording = false;
      }
      recording = false;
      if (!received.startsWith("HTTP/1.1 200") || !received.endsWith("Hello World!")) {
        throw new Error(`unexpected response: ${JSON.stringify(received)}`);
      }
    }
  } finally {
    Stepper.prototype.step = step;
    Stepper.prototype.hasTag = hasTag;
    socket.destroy();
    server.close();
  }
  return ops;
}

/** Best ns per request over 7 rounds, each sized to take about 100 ms. */
function measure(request: () => number): number {
  let sink = 0;
  let n = 1;
  for (;;) {
    const start = performance.now();
    for (let i = 0; i < n; i++) sink += request();
    if (performance.now() - start > 50) break;
    n *= 2;
  }
  n *= 2;
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += request();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  if (sink === -1) console.log(sink); // keeps the work observable
  return best;
}

/** Runs ops (events only, or events and tag reads) per method; checks every method ends at rest. */
function methods(ops: Op[]) {
  const kinds = new Uint8Array(ops.map((op) => (op.kind === "event" ? 0 : 1)));
  const targets = new Uint8Array(ops.map((op) => op.machine));
  const indexes = new Int16Array(ops.map((op) => op.index));
  const factBits = new Uint8Array(ops.map((op) => op.facts));
  const objects = ops.map((op) => {
    const table = (machines[op.machine] as { table: MachineTable }).table;
    return { type: op.name, ...Object.fromEntries(table.facts.map((name, i) => [name, (op.facts & (1 << i)) !== 0])) };
  });
  const tags = ops.map((op) => op.name);
  const len = ops.length;

  const steppers = machines.map((m) => new Stepper(m.table));
  const table = (): number => {
    let hits = 0;
    for (let i = 0; i < len; i++) {
      const stepper = steppers[targets[i] as number] as Stepper;
      if (kinds[i] === 0) stepper.step(indexes[i] as number, factBits[i] as number);
      else if (stepper.hasTag(tags[i] as string)) hits++;
    }
    return hits;
  };

  const actors: AnyActorRef[] = machines.map((m) => createActor(m.machine).start());
  const actor = (): number => {
    let hits = 0;
    for (let i = 0; i < len; i++) {
      const target = actors[targets[i] as number] as AnyActorRef;
      if (kinds[i] === 0) target.send(objects[i]);
      else if ((target.getSnapshot() as AnyMachineSnapshot).hasTag(tags[i] as string)) hits++;
    }
    return hits;
  };

  const pure = (next: (m: AnyStateMachine, s: AnyMachineSnapshot, e: { type: string }) => AnyMachineSnapshot) => {
    const snapshots = machines.map((m) => getInitialSnapshot(m.machine) as AnyMachineSnapshot);
    const run = (): number => {
      let hits = 0;
      for (let i = 0; i < len; i++) {
        const m = targets[i] as number;
        const snapshot = snapshots[m] as AnyMachineSnapshot;
        if (kinds[i] === 0) snapshots[m] = next((machines[m] as { machine: AnyStateMachine }).machine, snapshot, objects[i] as { type: string });
        else if (snapshot.hasTag(tags[i] as string)) hits++;
      }
      return hits;
    };
    return { run, values: () => snapshots.map((s) => JSON.stringify(s.value)) };
  };
  const viaTransition = pure((m, s, e) => transition(m, s, e as never)[0] as AnyMachineSnapshot);
  const viaNext = pure((m, s, e) => getNextSnapshot(m, s, e as never) as AnyMachineSnapshot);

  // One request by each method must leave every machine where it began (ready for the next).
  const initial = machines.map((m) => JSON.stringify(getInitialSnapshot(m.machine).value));
  const check = (name: string, values: string[]) => {
    if (values.join() !== initial.join()) throw new Error(`${name}: not at rest after one request: ${values.join()}`);
  };
  table();
  check("table", steppers.map((s) => JSON.stringify(s.value)));
  actor();
  check("actor", actors.map((a) => JSON.stringify((a.getSnapshot() as AnyMachineSnapshot).value)));
  viaTransition.run();
  check("transition", viaTransition.values());
  viaNext.run();
  check("getNextSnapshot", viaNext.values());

  return {
    stop: () => actors.forEach((a) => a.stop()),
    rows: [
      { method: "MachineTable + Stepper (hot path)", run: table },
      { method: "xstate actor.send (started actors)", run: actor },
      { method: "xstate transition() (pure)", run: viaTransition.run },
      { method: "xstate getNextSnapshot() (pure)", run: viaNext.run },
    ],
  };
}

const ops = await trace();
const events = ops.filter((op) => op.kind === "event");
const tagReads = ops.length - events.length;
const names = ["requestant", "responder", "steward"];
console.log(`Node ${process.version}, ${process.platform} ${process.arch}`);
console.log(`One keep-alive GET / (hello world) sends ${events.length} events:`);
const factsOf = (op: Op): string => {
  const names = (machines[op.machine] as { table: MachineTable }).table.factNames(op.facts);
  return names.length > 0 ? ` [${names.join(",")}]` : "";
};
console.log(events.map((op) => `${names[op.machine]}:${op.name}${factsOf(op)}`).join(", "));
console.log(`and reads ${tagReads} tags in the ticks that serve it.\n`);

const onlyEvents = methods(events);
const withTags = methods(ops);
const timed = onlyEvents.rows.map((row, i) => ({
  method: row.method,
  ns: measure(row.run),
  nsTags: measure((withTags.rows[i] as { run: () => number }).run),
}));
onlyEvents.stop();
withTags.stop();

const base = timed[0] as { ns: number; nsTags: number };
console.log(`| method | ns/request | events/request | ratio to table | ns/request with ${tagReads} tag reads | ratio |`);
console.log("|---|--:|--:|--:|--:|--:|");
for (const { method, ns, nsTags } of timed) {
  console.log(
    `| ${method} | ${ns.toFixed(ns < 100 ? 1 : 0)} | ${events.length} | ${(ns / base.ns).toFixed(1)} | ` +
      `${nsTags.toFixed(nsTags < 100 ? 1 : 0)} | ${(nsTags / base.nsTags).toFixed(1)} |`,
  );
}
