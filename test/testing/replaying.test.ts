/**
 * Record a real session, replay it in simulated tyme. A server on 127.0.0.1 (port 0) in a
 * real-time Doist records 12 connections from raw sockets: keep-alive connections taking turns,
 * pipelined requests, a chunked upload written in pieces, a server-sent event stream that ends,
 * Connection: close, HEAD and 404, and a client that resets mid-request. Replayed against the
 * same app, every connection's output is the recorded one; against an app changed in one answer,
 * the replay points at that connection and the offset of that answer's first changed byte (found
 * here from the recorded bytes on their own). Also: a rotated recording replays, and so does the
 * part of it that rotation kept; the CLI says the same with its exit code.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Doist, http, tcp, testing } from "../../src/index.ts";
import { parseResponses } from "../helpers.ts";
import { makeApp } from "./replay-app.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const TOCK = 1 / 256;
let dir = "";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: () => boolean, label: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await sleep(2);
  }
}

/** A raw client connection that collects what arrives. */
class Raw {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  closed = false;
  readonly ready: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.ready = new Promise((resolve) => this.socket.once("connect", () => resolve()));
    this.socket.on("data", (data: Buffer) => (this.received = Buffer.concat([this.received, data])));
    this.socket.on("close", () => (this.closed = true));
    this.socket.on("error", () => {}); // a reset we cause ourselves
  }

  finals(heads: boolean[] = []): number {
    return parseResponses(this.received, { heads }).filter((response) => response.status >= 200).length;
  }

  async exchange(request: string, count: number, heads: boolean[] = []): Promise<void> {
    this.socket.write(request);
    await until(() => this.finals(heads) >= count, `${count} responses`);
  }

  async finish(): Promise<void> {
    this.socket.end();
    await until(() => this.closed, "the server to close");
  }
}

const GET = (target: string, extra = ""): string => `GET ${target} HTTP/1.1\r\nHost: replay.test\r\n${extra}\r\n`;
const POST = (target: string, body: string): string =>
  `POST ${target} HTTP/1.1\r\nHost: replay.test\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** Records the session to `file` with a real-time Doist; returns how many requests were sent. */
async function recordSession(record: http.ServerOptions["record"]): Promise<{ requests: number; connections: number }> {
  const onError = vi.fn();
  const server = http.openServer({ app: makeApp(), host: "127.0.0.1", port: 0, record, onError });
  const serverDoer = new http.ServerDoer({ server });
  const doist = new Doist({ real: true, tock: TOCK, limit: 60, signals: [], doers: [serverDoer] });
  const run = doist.do();
  const port = server.ha[1];
  let requests = 0;
  let connections = 0;
  const open = async (): Promise<Raw> => {
    const raw = new Raw(port);
    connections += 1;
    await raw.ready;
    return raw;
  };
  try {
    const keepAlive = async (c: number): Promise<void> => {
      const raw = await open();
      for (let i = 0; i < 6; i++) {
        const n = c * 10 + i;
        await raw.exchange(i % 2 === 0 ? GET(`/hello?n=${n}`) : POST(`/echo?n=${n}`, `body ${n} `.repeat(n + 1)), i + 1);
        await sleep((c + i) % 3); // the connections interleave differently
      }
      requests += 6;
      await raw.finish();
    };
    const pipelined = async (): Promise<void> => {
      const raw = await open();
      await raw.exchange(Array.from({ length: 8 }, (_, i) => GET(`/hello?n=${100 + i}`)).join(""), 8);
      requests += 8;
      await raw.finish();
    };
    const upload = async (): Promise<void> => {
      const raw = await open();
      raw.socket.write("POST /upload HTTP/1.1\r\nHost: replay.test\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (const piece of ["5\r\nhello\r\n", "400\r\n" + "x".repeat(1024) + "\r\n", "3\r\nend\r\n0\r\n\r\n"]) {
        await sleep(15);
        raw.socket.write(piece);
      }
      await until(() => raw.finals() >= 1, "the upload's answer");
      await raw.exchange(GET("/hello?n=150"), 2);
      requests += 2;
      await raw.finish();
    };
    const events = async (): Promise<void> => {
      const raw = await open();
      raw.socket.write(GET("/events", "Accept: text/event-stream\r\n"));
      await until(() => raw.finals() >= 1, "the event stream's end");
      expect(raw.received.toString("latin1")).toContain("data: event 4 at");
      await raw.exchange(GET("/hello?n=200"), 2);
      requests += 2;
      await raw.finish();
    };
    const closing = async (): Promise<void> => {
      const raw = await open();
      raw.socket.write(GET("/hello?n=300", "Connection: close\r\n"));
      await until(() => raw.closed, "Connection: close");
      requests += 1;
    };
    const others = async (): Promise<void> => {
      const raw = await open();
      await raw.exchange(`HEAD /hello?n=400 HTTP/1.1\r\nHost: replay.test\r\n\r\n${GET("/nowhere")}`, 2, [true]);
      requests += 2;
      await raw.finish();
    };
    await Promise.all([...[0, 1, 2, 3, 4, 5].map(keepAlive), pipelined(), upload(), events(), closing(), others()]);
    // then a client that resets in the middle of a request head, once the server has read it
    await until(() => server.stewards.size === 0, "every connection to close");
    const reset = await open();
    reset.socket.write("GET /hello?n=500 HTTP/1.1\r\nHost: replay.test\r\n");
    await until(() => server.connections().some((state) => state.requestant === "headers"), "the head to be read");
    reset.socket.resetAndDestroy();
    await until(() => server.stewards.size === 0, "the reset connection to go");
  } finally {
    doist.remove([serverDoer]);
    await run;
    await server.recorder?.close();
  }
  expect(onError).not.toHaveBeenCalled();
  return { requests, connections };
}

let session = { requests: 0, connections: 0 };
let log = "";

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "hio-replay-"));
  log = path.join(dir, "session.log");
  session = await recordSession({ path: log, tock: TOCK });
}, 30_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("a recorded real-socket session", () => {
  it("was recorded whole: every connection opened, read, answered and closed, one a reset", () => {
    expect(session).toEqual({ requests: 51, connections: 12 });
    const { headers, events } = tcp.readSession(log);
    expect(headers).toHaveLength(1);
    expect(headers[0]).toMatchObject({ kind: "server", tock: TOCK, server: { name: "hio-ts" } });
    const count = (type: string): number => events.filter((event) => event.type === type).length;
    expect(count("open")).toBe(12);
    expect(count("close")).toBe(12);
    expect(count("reset")).toBe(1);
    expect(count("fin")).toBeGreaterThanOrEqual(9);
    expect(events[events.length - 1]!.type).toBe("stop");
    const tymes = events.map((event) => event.tyme);
    expect(tymes).toEqual([...tymes].sort((a, b) => a - b)); // in tyme order
  });

  it("replays identical against the same app", async () => {
    const report = await testing.replay({ log, app: makeApp() });
    expect(testing.formatReport(report)).toBe("12 connections, 51 requests, identical"); // else it says where

    expect(report).toMatchObject({ connections: 12, skipped: 0, requests: 51, identical: true, errors: [] });
    expect(testing.formatReport(report)).toBe("12 connections, 51 requests, identical");
  });

  it("points at the first changed byte when the app answers one request differently", async () => {
    // where it must be, from the recorded bytes alone: the connection that asked for /hello?n=4,
    // and in its output the first byte of that answer's body
    const { events } = tcp.readSession(log);
    const asked = events.find((event) => event.type === "rx" && Buffer.from(event.bytes).toString("latin1").includes("GET /hello?n=4 "));
    expect(asked).toBeDefined();
    const conn = (asked as { conn: number }).conn;
    const output = Buffer.concat(events.filter((event) => event.type === "tx" && event.conn === conn)
      .map((event) => (event as { bytes: Uint8Array }).bytes));
    const offset = output.indexOf("hello 4 from");
    expect(offset).toBeGreaterThan(0);

    const report = await testing.replay({ log, app: makeApp({ changed: true }) });
    expect(report.identical).toBe(false);
    const difference = report.difference!;
    expect(difference.connection).toBe(conn);
    expect(difference.offset).toBe(offset);
    expect(difference.expected.slice(difference.at)).toMatch(/^hello 4 from/);
    expect(difference.got.slice(difference.at)).toMatch(/^HELLO 4 from/);
    expect(difference.expected.slice(0, difference.at)).toBe(difference.got.slice(0, difference.at));
    // the machines of that connection, up to the answer that went out wrong
    const ids = new Set(difference.transitions.map((transition) => transition.connection));
    expect(ids.size).toBe(1);
    expect(difference.transitions.some((t) => t.machine === "responder" && t.event === "request.dispatched")).toBe(true);
    expect(testing.formatReport(report)).toMatch(new RegExp(`first difference: connection ${conn} \\(peer [^)]+\\), output byte ${offset}`));
  });

  it("runs from the command line: exit code 0 when identical, 1 with the difference", () => {
    const cli = (change: boolean): ReturnType<typeof spawnSync> => spawnSync(process.execPath,
      ["--import", "tsx", path.join(root, "src/cli.ts"), "replay", log, "--app", path.join(root, "test/testing/replay-app.ts")],
      { cwd: root, encoding: "utf8", env: { ...process.env, HIO_REPLAY_CHANGE: change ? "1" : "0" }, timeout: 60_000 });
    const same = cli(false);
    expect(same.stderr).toBe("");
    expect(same.stdout).toBe("12 connections, 51 requests, identical\n");
    expect(same.status).toBe(0);
    const changed = cli(true);
    expect(changed.stdout).toMatch(/^12 connections, 51 requests, different\nfirst difference: connection \d+ /);
    expect(changed.stdout).toContain("HELLO 4 from");
    expect(changed.status).toBe(1);
    const missing = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "src/cli.ts"), "replay", log],
      { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(missing.stderr).toMatch(/^--app is needed/);
    expect(missing.status).toBe(2);
  });
});

describe("a rotated recording", () => {
  it("replays whole from its parts, and the kept parts replay the connections that began in them", async () => {
    const file = path.join(dir, "rotated.log");
    const recorded = await recordSession({ path: file, tock: TOCK, maxBytes: 4096, files: 100 });
    const parts = tcp.sessionFiles(file);
    expect(parts.length).toBeGreaterThan(3);
    for (const part of parts) expect(tcp.readRecord(fs.readFileSync(part), part).header.kind).toBe("server"); // each readable alone
    const whole = await testing.replay({ log: file, app: makeApp() });
    expect(testing.formatReport(whole)).toBe(`${recorded.connections} connections, ${recorded.requests} requests, identical`);
    expect(whole).toMatchObject({ connections: recorded.connections, skipped: 0, requests: recorded.requests, identical: true });

    // drop the oldest half, as a smaller `files` would have: what began in the rest still replays
    const kept = parts.slice(Math.floor(parts.length / 2));
    const recording = tcp.readSession(kept);
    const opens = recording.events.filter((event) => event.type === "open").length;
    const partial = await testing.replay({ log: kept, app: makeApp() });
    expect(testing.formatReport(partial)).toMatch(/ identical$/);
    expect(partial.connections).toBe(opens);
    expect(partial.connections + partial.skipped).toBeLessThanOrEqual(recorded.connections);
    expect(partial.connections).toBeLessThan(recorded.connections);
  }, 30_000);
});
