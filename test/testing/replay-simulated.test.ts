/**
 * Record and replay in simulated tyme, over the in-memory network: the recording is the same on
 * every run; the replay is identical, deadlines and all (a 408 for a slow head, an idle close, a
 * half-close, a reset); a server that keeps open what the recorded one closed is a difference;
 * Date values are compared by shape only; and a client's connections record too.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http, tcp, testing } from "../../src/index.ts";
import type { HttpEnv } from "../../src/index.ts";

let dir = "";
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "hio-replay-sim-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const TOCK = 1 / 64;
const app = async (request: Request, env: HttpEnv): Promise<Response> => {
  const body = request.method === "POST" ? await request.text() : "";
  return new Response(`${request.method} ${new URL(request.url).pathname} ${body.length} at ${env.tyme} from ${env.remotePort}`);
};
const deadlines = { idle: 0.5, headers: 0.25 };

/** Runs one session in simulated tyme with the server recording to `file`. */
async function session(file: string): Promise<void> {
  const network = new tcp.MemoryNetwork({ latency: 1 / 64, chunk: 40 });
  const server = new http.Server({ app, network, host: "127.0.0.1", port: 80, deadlines, record: { path: file, tock: TOCK } });
  const GET = (target: string): string => `GET ${target} HTTP/1.1\r\nHost: sim\r\n\r\n`;
  const peers = [
    new testing.Peer({ network, name: "keepalive", send: GET("/one"), script: [[0.25, GET("/two")], [0.5, `POST /three HTTP/1.1\r\nHost: sim\r\nContent-Length: 5\r\n\r\nabcde`]] }),
    new testing.Peer({ network, name: "pipelined", send: GET("/a") + GET("/b") + GET("/c"), fin: true }),
    new testing.Peer({ network, name: "slow", send: GET("/slow"), pace: 1, tock: 1 / 16 }), // its head takes too long: 408
    new testing.Peer({ network, name: "silent" }), // closed by the idle deadline
    new testing.Peer({ network, name: "resets", send: "GET /reset HTTP/1.1\r\nHo", reset: 23 }),
  ];
  await testing.runUntil([new http.ServerDoer({ server }), ...peers], { limit: 3, tock: TOCK });
  await server.recorder?.close();
}

describe("record and replay in simulated tyme", () => {
  it("records the same events on every run, and replays them identical", async () => {
    const file = path.join(dir, "sim.log");
    await session(file);
    const first = tcp.readSession(file);
    await session(file);
    const second = tcp.readSession(file);
    expect(second.events).toEqual(first.events);
    const types = new Set(first.events.map((event) => event.type));
    expect([...types].sort()).toEqual(["close", "fin", "open", "reset", "rx", "stop", "tx"]);
    const text = Buffer.concat(first.events.flatMap((event) => (event.type === "tx" ? [event.bytes] : []))).toString("latin1");
    expect(text).toContain("HTTP/1.1 408");
    expect(text).toContain("POST /three 5 at");

    const report = await testing.replay({ log: file, app });
    expect(testing.formatReport(report)).toBe("5 connections, 6 requests, identical");
    expect(report.tyme).toBeGreaterThanOrEqual(first.events[first.events.length - 1]!.tyme);
  });

  it("calls a connection the recorded server closed and the replayed one kept open a difference", async () => {
    const file = path.join(dir, "sim.log");
    await session(file);
    const { events } = tcp.readSession(file);
    const stop = events[events.length - 1]!.tyme;
    // the silent peer: opened, never sent a byte, closed by the server before the end
    const silent = events.find((event) => event.type === "open"
      && !events.some((other) => other.type === "rx" && other.conn === event.conn))! as { conn: number };
    const closed = events.find((event) => event.type === "close" && event.conn === silent.conn)!;
    expect(closed.tyme).toBeLessThan(stop);

    const report = await testing.replay({ log: file, app, options: { deadlines: { ...deadlines, idle: 60 } } });
    expect(report.identical).toBe(false);
    expect(report.difference).toMatchObject({ connection: silent.conn, offset: 0, expected: "(closed)", got: "(open)", tyme: closed.tyme });
  });

  it("compares Date values by shape: another date is the same, another byte is not", async () => {
    const file = path.join(dir, "sim.log");
    await session(file);
    const recording = tcp.readSession(file);
    const redate = (bytes: Uint8Array): Uint8Array =>
      Buffer.from(Buffer.from(bytes).toString("latin1").replace(/(\r\ndate: )[^\r]+/gi, "$1Thu, 01 Jan 1970 00:00:00 GMT"), "latin1");
    const dated = { ...recording, events: recording.events.map((event) => (event.type === "tx" ? { ...event, bytes: redate(event.bytes) } : event)) };
    expect(dated.events).not.toEqual(recording.events);
    expect((await testing.replay({ log: dated, app })).identical).toBe(true);

    let changed = false;
    const other = {
      ...recording,
      events: recording.events.map((event) => {
        if (event.type !== "tx" || changed || !Buffer.from(event.bytes).includes("GET /two")) return event;
        changed = true;
        return { ...event, bytes: Buffer.from(Buffer.from(event.bytes).toString("latin1").replace("GET /two", "GET /TWO"), "latin1") };
      }),
    };
    expect(changed).toBe(true);
    const report = await testing.replay({ log: other, app });
    expect(report.difference?.expected.slice(report.difference.at)).toMatch(/^TWO/);
  });

  it("records a client's connections too (a client's recording is not for replay)", async () => {
    const file = path.join(dir, "client.log");
    const network = new tcp.MemoryNetwork({ latency: 1 / 64 });
    const server = new http.Server({ app, network, host: "127.0.0.1", port: 80 });
    const client = new http.Client({ network, hostname: "127.0.0.1", port: 80, record: { path: file } });
    client.request({ method: "GET", path: "/first" });
    client.request({ method: "POST", path: "/second", body: "hello" });
    await testing.runUntil([new http.ServerDoer({ server }), new http.ClientDoer({ client })], {
      until: () => client.responses.length === 2, limit: 5, tock: TOCK,
    });
    client.close();
    await client.closeRecorder();
    const { headers, events } = tcp.readSession(file);
    expect(headers[0]).toMatchObject({ kind: "client", name: "client" });
    expect(events[0]).toMatchObject({ type: "open", conn: 1, peer: "127.0.0.1:80" });
    const bytes = (type: "rx" | "tx"): string => Buffer.concat(events.flatMap((event) => (event.type === type ? [event.bytes] : []))).toString("latin1");
    expect(bytes("tx")).toMatch(/^GET \/first HTTP\/1\.1\r\n[^]*POST \/second HTTP\/1\.1\r\n[^]*hello$/);
    expect(bytes("rx")).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*GET \/first 0 at[^]*HTTP\/1\.1 200 OK[^]*POST \/second 5 at/);
    expect(events.map((event) => event.type).slice(-2)).toEqual(["close", "stop"]);
    await expect(testing.replay({ log: file, app })).rejects.toThrow(/recorded by a client/);
  });
});
