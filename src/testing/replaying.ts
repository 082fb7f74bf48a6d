/**
 * replay(): a recorded session (see tcp/recording.ts) run again through a fresh server on a
 * MemoryNetwork in simulated tyme, and the bytes it sends compared with the bytes the recorded
 * server sent, connection by connection. For reproducing a production bug deterministically:
 * record the server (`record: { path }`), take the log, replay it against the app as it was
 * (it should say identical) and as changed (it says where the output differs, with the
 * connection's machine transitions around that point).
 *
 * How a session is replayed: each recorded connection is dialed from its recorded peer address
 * at the tyme it was accepted, and its received bytes, FIN and reset are delivered at their
 * recorded tymes, on the recorded tyme grid (every tyme something was recorded is a tick, and a
 * tick every `tock` between them, so deadlines pass as they did; while no connection is open the
 * replay goes straight to the next recorded tyme). A real-time server may have answered a tick later or sooner
 * than the simulated one does (an async app settles on promise turns, not on the tock grid), so
 * a peer's event also waits, for up to `slack` tyme, until the replayed server has sent what the
 * recorded one had sent before that event: the order of each connection's bytes and events is
 * kept, even where the tymes of answers shift by a tick. And where a real-time Doist ran a second
 * tick at the same tyme (woken by an app's answer), the replay does too while it is behind the
 * recording.
 *
 * What "identical" means: every recorded connection's output (the bytes the server handed its
 * socket, in order) is equal to the replayed server's, byte for byte, except the values of
 * `Date` header fields (`date: <IMF-fixdate>`), which the server takes from the wall clock: they
 * are kept in the log and compared by shape, not value. And the server closed the connections the
 * recorded one closed during the session, and no others. Tymes are not compared.
 *
 * An app that reads the wall clock (`Date.now()`, `new Date()`, `performance.now()`) or draws
 * random numbers answers differently on every run, recorded or replayed; stub those. The tyme of
 * the tick is `env.tyme` (the app's second argument), the same in the recording and the replay:
 * use it instead of the clock, and a seeded generator instead of `Math.random()`.
 */
import type { ByteBuffer as ByteBufferType } from "../base/buffering.ts";
import { ByteBuffer } from "../base/buffering.ts";
import { Tymist } from "../base/tyming.ts";
import { wakeCount } from "../base/waking.ts";
import { BareServer, Server } from "../http/server/serving.ts";
import type { ServerOptions } from "../http/server/serving.ts";
import type { Inspection } from "../http/inspecting.ts";
import type { FetchApp } from "../http/server/app.ts";
import type { Address } from "../tcp/conduit.ts";
import { MemoryNetwork } from "../tcp/memory.ts";
import type { MemoryConduit } from "../tcp/memory.ts";
import { readSession } from "../tcp/recording.ts";
import type { RecordEvent, Recording } from "../tcp/recording.ts";
import type { Fetcher } from "./requesting.ts";

/** Server settings as replay gives them to the server it makes (or to your `server` function). */
export type ReplaySettings = Omit<ServerOptions, "app">;

export interface ReplayOptions {
  /**
   * The recording: a file path (its older rotated parts of the same session are read too), a
   * list of files, one file's bytes, or a Recording read already.
   */
  log: string | readonly string[] | Uint8Array | Recording;
  /** The app to replay against: a fetch handler or an object with `fetch` (a Hono app). */
  app?: FetchApp | Fetcher;
  /**
   * Makes the server instead (wins over `app`): given the in-memory network and the settings
   * replay would use (the recorded name, limits, deadlines, address...), returns a BareServer.
   */
  server?: (network: MemoryNetwork, settings: ReplaySettings) => BareServer;
  /** Server settings over the recorded ones. */
  options?: Partial<ReplaySettings>;
  /** Tyme between ticks where nothing was recorded; default the recorded tock, else 1/32. */
  tock?: number;
  /** Most tyme a peer's event waits for the replayed server to catch up; default 1. */
  slack?: number;
  /** Tyme the replay goes on after the last recorded event while answers are missing; default 2. */
  settle?: number;
  /** Bytes shown before and after a difference; default 24. */
  window?: number;
}

/** Where the replayed server first did otherwise. */
export interface ReplayDifference {
  /** The connection's id in the recording (1 for the first accepted). */
  connection: number;
  /** Its recorded peer, "host:port". */
  peer: string;
  /** Offset in the connection's output of the first byte that differs (its length: a close). */
  offset: number;
  /** Recorded tyme of that byte (the replay's when the recording has no such byte). */
  tyme: number;
  /** The recorded output from `offset - window` to `offset + window`, printable (`\r`, `\n`, `\xNN`). */
  expected: string;
  /** The replayed output over the same range; "(closed)" and "(open)" stand for a close that differs. */
  got: string;
  /** Where in those windows the offset is (both start at the same offset). */
  at: number;
  /** The connection's machine transitions before and just after that byte went out. */
  transitions: Inspection[];
}

export interface ReplayReport {
  /** Connections replayed. */
  connections: number;
  /** Connections left out: their accept was in a rotated part no longer kept. */
  skipped: number;
  /** Requests the replayed server dispatched to the app. */
  requests: number;
  /** Every connection's output was the recorded one (see the module doc for what is compared). */
  identical: boolean;
  /** The first difference by recorded tyme (then by connection), when not identical. */
  difference?: ReplayDifference;
  /** What the replayed server's onError was told. */
  errors: unknown[];
  /** Tyme the replay ended at. */
  tyme: number;
}

type Input =
  | { type: "rx"; tyme: number; bytes: Uint8Array; sentBefore: number }
  | { type: "fin" | "reset"; tyme: number; sentBefore: number };

/** One recorded connection and its replay. */
class Conn {
  readonly inputs: Input[] = [];
  next = 0;
  expected: Buffer = Buffer.alloc(0);
  /** 1 where the expected byte is a Date value (compared by shape). */
  masked: Uint8Array = new Uint8Array(0);
  /** [offset, tyme] of each recorded send, in order. */
  readonly sends: Array<[number, number]> = [];
  /** Recorded tyme the server closed it during the session (null: open at the end). */
  closedAt: number | null = null;
  conduit: MemoryConduit | null = null;
  key = "";
  readonly rxbs: ByteBufferType = new ByteBuffer();
  readonly got: Buffer[] = [];
  gotLength = 0;
  readonly gotTymes: Array<[number, number]> = [];
  /** Replay tyme the server closed (FIN or reset) its end. */
  serverClosed: number | null = null;
  mismatch: { offset: number; tyme: number } | null = null;
  readonly ring: Inspection[] = [];
  captured: Inspection[] | null = null;
  wrote = false; // bytes delivered in this tick

  constructor(readonly id: number, readonly peer: string, readonly local: string, readonly openAt: number) {}

  get done(): boolean {
    return this.next >= this.inputs.length;
  }
}

const DATE_FIELD = /\r\ndate:[ \t]*([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)/gi;
/** Transitions kept per connection before a difference, and taken after it. */
const Before = 16;
const After = 6;
/** Most extra ticks at one tyme (a real-time Doist's ticks woken within one tock). */
const MaxRepeats = 8;

function addressOf(text: string): Address {
  const colon = text.lastIndexOf(":");
  return [text.slice(0, colon), Number(text.slice(colon + 1))];
}

/** Bytes as text a terminal shows safely: printable ASCII as is, the rest escaped. */
export function printable(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    if (byte === 0x0d) out += "\\r";
    else if (byte === 0x0a) out += "\\n";
    else if (byte === 0x09) out += "\\t";
    else if (byte === 0x5c) out += "\\\\";
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** The connections of a recording with their inputs and expected outputs; and the skipped count. */
function connectionsOf(events: readonly RecordEvent[]): { conns: Conn[]; skipped: number; stop: number | null; last: number; tymes: number[] } {
  const byId = new Map<number, Conn>();
  const sent = new Map<number, Buffer[]>();
  const sentBytes = new Map<number, number>();
  const skippedIds = new Set<number>();
  let stop: number | null = null;
  let last = -Infinity;
  const tymes = new Set<number>();
  for (const event of events) {
    last = Math.max(last, event.tyme);
    tymes.add(event.tyme);
    if (event.type === "stop") {
      stop = event.tyme;
      continue;
    }
    if (event.type === "open") {
      byId.set(event.conn, new Conn(event.conn, event.peer, event.local, event.tyme));
      sent.set(event.conn, []);
      sentBytes.set(event.conn, 0);
      continue;
    }
    const conn = byId.get(event.conn);
    if (conn === undefined) {
      skippedIds.add(event.conn);
      continue;
    }
    const before = sentBytes.get(conn.id)!;
    switch (event.type) {
      case "tx":
        conn.sends.push([before, event.tyme]);
        sent.get(conn.id)!.push(Buffer.from(event.bytes));
        sentBytes.set(conn.id, before + event.bytes.length);
        break;
      case "rx":
        conn.inputs.push({ type: "rx", tyme: event.tyme, bytes: event.bytes, sentBefore: before });
        break;
      case "fin":
      case "reset":
        conn.inputs.push({ type: event.type, tyme: event.tyme, sentBefore: before });
        break;
      case "close":
        conn.closedAt = event.tyme;
        // a reset the server found while draining (after the peer's FIN) shows only in the close
        if (event.faulted && !conn.inputs.some((input) => input.type === "reset")) {
          conn.inputs.push({ type: "reset", tyme: event.tyme, sentBefore: before });
        }
        break;
    }
  }
  const conns = [...byId.values()].sort((a, b) => a.id - b.id);
  for (const conn of conns) {
    conn.expected = Buffer.concat(sent.get(conn.id)!);
    conn.masked = new Uint8Array(conn.expected.length);
    for (const match of conn.expected.toString("latin1").matchAll(DATE_FIELD)) {
      const value = match[1]!;
      const start = match.index + match[0].length - value.length;
      conn.masked.fill(1, start, start + value.length);
    }
    // closed by the recorder's own end (the server closing at STOP) is not a close to compare
    if (conn.closedAt !== null && stop !== null && conn.closedAt >= stop) conn.closedAt = null;
  }
  return { conns, skipped: skippedIds.size, stop, last, tymes: [...tymes].sort((a, b) => a - b) };
}

function settingsOf(recording: Recording, conns: readonly Conn[]): ReplaySettings {
  const header = recording.headers[0];
  const recorded = (header?.server ?? {}) as Record<string, unknown>;
  const settings: Record<string, unknown> = {};
  for (const key of ["name", "scheme", "limits", "dictable", "bufsize", "stream"]) {
    if (recorded[key] !== undefined && recorded[key] !== null) settings[key] = recorded[key];
  }
  const deadlines = recorded["deadlines"];
  if (deadlines !== undefined) settings["deadlines"] = deadlines;
  const local = conns[0]?.local;
  const ha = local ? addressOf(local) : (["127.0.0.1", 80] as Address);
  return { ...(settings as ReplaySettings), ha: [ha[0] || "127.0.0.1", ha[1] || 80] };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Replays a recorded session through a fresh server in simulated tyme and compares what it sends
 * with what the recorded server sent (see the module doc). Resolves with a report; rejects only
 * for a log it cannot read or a server it cannot make.
 * @example
 * const report = await replay({ log: "session.log", app });
 * if (!report.identical) console.log(formatReport(report));
 */
export async function replay(options: ReplayOptions): Promise<ReplayReport> {
  const { log, app, server: makeServer, options: overrides = {}, slack = 1, settle = 2, window = 24 } = options;
  const recording: Recording = typeof log === "string" || log instanceof Uint8Array || Array.isArray(log)
    ? readSession(log as string | readonly string[] | Uint8Array) : (log as Recording);
  if (recording.headers[0]?.kind === "client") {
    throw new TypeError("replay runs a server's recording; this one was recorded by a client");
  }
  const tock = options.tock ?? recording.headers[0]?.tock ?? Tymist.Tock;
  if (!(tock > 0)) throw new TypeError(`replay tock must be a positive tyme, not ${String(tock)}`);
  const { conns, skipped, stop, last, tymes } = connectionsOf(recording.events);
  const errors: unknown[] = [];
  const network = new MemoryNetwork({ window: 2 ** 30 });
  const settings: ReplaySettings = { ...settingsOf(recording, conns), ...overrides, network, onError: (error) => void errors.push(error) };
  let server: BareServer;
  if (makeServer !== undefined) server = makeServer(network, settings);
  else if (app !== undefined) {
    const handler: FetchApp = typeof app === "function" ? app : (request, env) => app.fetch(request, env);
    server = new Server({ ...settings, app: handler });
  } else throw new TypeError("replay needs the app to replay against: { log, app } or { log, server: (network) => server }");

  const start = tymes[0] ?? 0;
  const tymist = new Tymist({ tyme: start, tock });
  const clock = tymist.tymen();
  server.wind(clock);
  if (!server.opened && !server.reopen()) throw new Error(`replay: the server could not listen on ${server.ha.join(":")} of its in-memory network`);
  const target: Address = [server.eha[0], server.eha[1]];

  // machine transitions, by connection
  let requests = 0;
  const byKey = new Map<string, Conn>();
  const byId = new Map<string, Conn>();
  const unsubscribe = server.inspect((inspection) => {
    // the app is called (the server's own error answers go through the Responder too: not counted)
    if (inspection.machine === "steward" && inspection.event === "request.parsed") requests += 1;
    let conn = byId.get(inspection.connection);
    if (conn === undefined) {
      conn = byKey.get(inspection.connection.slice(inspection.connection.indexOf("@") + 1));
      if (conn === undefined) return;
      byId.set(inspection.connection, conn);
    }
    if (conn.captured !== null) {
      if (conn.captured.length < conn.ring.length + After) conn.captured.push(inspection);
      return;
    }
    conn.ring.push(inspection);
    if (conn.ring.length > Before) conn.ring.shift();
  });

  let opened = 0; // conns dialed so far (they are in id order, and opens in tyme order)
  const live = new Set<Conn>();

  const deliver = (now: number): boolean => {
    let held = false;
    while (opened < conns.length && conns[opened]!.openAt <= now) {
      const conn = conns[opened++]!;
      conn.conduit = network.dial(target, clock, 2 ** 30, addressOf(conn.peer));
      conn.key = `${conn.conduit.local[0]}:${conn.conduit.local[1]}`;
      byKey.set(conn.key, conn);
      live.add(conn);
    }
    for (const conn of live) {
      conn.wrote = false;
      const conduit = conn.conduit!;
      for (; conn.next < conn.inputs.length; conn.next++) {
        const input = conn.inputs[conn.next]!;
        if (input.tyme > now) break;
        if (conn.gotLength < input.sentBefore && now < input.tyme + slack) break; // the server is behind
        if (input.type === "rx") {
          conduit.write(input.bytes);
          conn.wrote = true;
        } else if (input.type === "fin") conduit.end();
        else if (conn.wrote) { // a reset drops what arrives with it: the bytes go first
          held = true;
          break;
        } else network.reset(conduit.local);
      }
    }
    return held;
  };

  const collect = (now: number): void => {
    for (const conn of live) {
      const conduit = conn.conduit!;
      const count = conduit.receive(conn.rxbs, 2 ** 30);
      if (count > 0) {
        const chunk = Buffer.from(conn.rxbs.take());
        const offset = conn.gotLength;
        conn.got.push(chunk);
        conn.gotTymes.push([offset, now]);
        conn.gotLength += chunk.length;
        if (conn.mismatch === null) compare(conn, chunk, offset, now);
      }
      if (conn.serverClosed === null && (conduit.ended || conduit.faulted)) conn.serverClosed = now;
      if (conn.serverClosed !== null && conn.done) {
        conduit.close();
        live.delete(conn);
      }
    }
  };

  const compare = (conn: Conn, chunk: Buffer, offset: number, now: number): void => {
    const { expected, masked } = conn;
    for (let i = 0; i < chunk.length; i++) {
      const at = offset + i;
      if (at >= expected.length || (masked[at] === 0 && chunk[i] !== expected[at])) {
        conn.mismatch = { offset: at, tyme: now };
        conn.captured = [...conn.ring];
        return;
      }
    }
  };

  /** A peer's event of this tyme can go now: the replayed server has caught up with it in this tick. */
  const deliverable = (now: number): boolean => {
    for (const conn of live) {
      const input = conn.inputs[conn.next];
      if (input !== undefined && input.tyme <= now && conn.gotLength >= input.sentBefore) return true;
    }
    return false;
  };

  const behind = (now: number): boolean => {
    for (const conn of live) {
      const input = conn.inputs[conn.next];
      if (input !== undefined && input.tyme <= now) return true;
      const sends = conn.sends;
      for (let i = sends.length - 1; i >= 0; i--) { // expected by now: the sends recorded at or before now
        if (sends[i]![1] <= now) {
          if (conn.gotLength < (sends[i + 1]?.[0] ?? conn.expected.length)) return true;
          break;
        }
      }
    }
    return false;
  };

  const complete = (): boolean => {
    if (opened < conns.length) return false;
    for (const conn of conns) {
      if (!conn.done) return false;
      if (conn.gotLength < conn.expected.length) return false;
      if (conn.closedAt !== null && conn.serverClosed === null) return false;
    }
    return true;
  };

  let tymeIndex = 0;
  let repeats = 0;
  let ended = Infinity; // tyme the replay was complete
  try {
    for (;;) {
      const now = tymist.tyme;
      const wakes = wakeCount();
      const held = deliver(now);
      server.service();
      collect(now);
      await turn(); // promises settle: an async app answers
      if (now >= last) {
        if (complete()) ended = Math.min(ended, now);
        if (now >= ended + 2 * tock || now >= last + slack + settle) break;
      }
      if ((held || deliverable(now) || (wakeCount() !== wakes && behind(now))) && repeats < MaxRepeats) {
        repeats += 1;
        continue; // another tick at this tyme, as a woken real-time Doist runs
      }
      repeats = 0;
      while (tymeIndex < tymes.length && tymes[tymeIndex]! <= now) tymeIndex += 1;
      const recorded = tymes[tymeIndex] ?? Infinity;
      const idle = live.size === 0 && server.stewards.size === 0;
      const grid = (Math.floor(now / tock + 1e-9) + 1) * tock;
      tymist.tyme = idle && recorded !== Infinity ? recorded : Math.min(grid, recorded);
    }
  } finally {
    unsubscribe();
    for (const conn of live) conn.conduit!.close();
    server.close();
  }

  const report: ReplayReport = { connections: conns.length, skipped, requests, identical: true, errors, tyme: tymist.tyme };
  let first: { key: number; difference: ReplayDifference } | null = null;
  const stopTyme = stop ?? last;
  for (const conn of conns) {
    const difference = differenceOf(conn, stopTyme, window);
    if (difference === null) continue;
    if (first === null || difference.tyme < first.key) first = { key: difference.tyme, difference };
  }
  if (first !== null) {
    report.identical = false;
    report.difference = first.difference;
  }
  return report;
}

function tymeAt(table: ReadonlyArray<[number, number]>, offset: number): number | null {
  let found: number | null = null;
  for (const [start, tyme] of table) {
    if (start > offset) break;
    found = tyme;
  }
  return found;
}

function differenceOf(conn: Conn, stop: number, window: number): ReplayDifference | null {
  const got = Buffer.concat(conn.got);
  let offset: number;
  let closeText: [string, string] | null = null;
  if (conn.mismatch !== null) offset = conn.mismatch.offset;
  else if (conn.gotLength < conn.expected.length) offset = conn.gotLength;
  else if (conn.closedAt !== null && conn.serverClosed === null) {
    offset = conn.expected.length;
    closeText = ["(closed)", "(open)"];
  } else if (conn.closedAt === null && conn.serverClosed !== null && conn.serverClosed < stop) {
    offset = conn.expected.length;
    closeText = ["(open)", "(closed)"];
  } else return null;
  const from = Math.max(0, offset - window);
  const tyme = offset < conn.expected.length ? tymeAt(conn.sends, offset)
    : closeText !== null ? (conn.closedAt ?? conn.serverClosed) : tymeAt(conn.gotTymes, offset);
  const expected = printable(conn.expected.subarray(from, offset + window));
  const gotText = printable(got.subarray(from, offset + window));
  const at = printable(conn.expected.subarray(from, offset)).length;
  return {
    connection: conn.id,
    peer: conn.peer,
    offset,
    tyme: tyme ?? conn.mismatch?.tyme ?? stop,
    expected: closeText === null ? expected : `${expected}${closeText[0]}`,
    got: closeText === null ? gotText : `${gotText}${closeText[1]}`,
    at,
    transitions: conn.captured ?? [...conn.ring],
  };
}

/**
 * The report in words: "N connections, M requests, identical", or the first difference with its
 * windows and transitions.
 */
export function formatReport(report: ReplayReport): string {
  const skipped = report.skipped > 0 ? ` (${report.skipped} skipped: their start was rotated away)` : "";
  const head = `${report.connections} connections${skipped}, ${report.requests} requests`;
  const difference = report.difference;
  if (report.identical || difference === undefined) return `${head}, identical`;
  const lines = [
    `${head}, different`,
    `first difference: connection ${difference.connection} (peer ${difference.peer}), output byte ${difference.offset}, recorded at tyme ${difference.tyme}`,
    `  expected: ${difference.expected}`,
    `  got:      ${difference.got}`,
    `            ${" ".repeat(difference.at)}^`,
  ];
  if (difference.transitions.length > 0) {
    lines.push("  transitions of that connection:");
    for (const { tyme, machine, event, from, to } of difference.transitions) {
      lines.push(`    ${String(tyme).padEnd(12)} ${machine.padEnd(10)} ${from} -${event}-> ${to}`);
    }
  }
  if (report.errors.length > 0) lines.push(`  the app failed ${report.errors.length} times; first: ${String(report.errors[0])}`);
  return lines.join("\n");
}
