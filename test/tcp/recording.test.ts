/**
 * The recording format: events written by a Recorder read back as they were (tymes bit for bit,
 * bytes, ids, addresses), files rotate by size keeping `files` of them, every part of a session
 * reads back in order, and a file that is not a recording (or a newer version) is refused with a
 * message saying so. A file cut short mid-record gives the events before the cut.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tcp, testing } from "../../src/index.ts";
import type { tcp as Tcp } from "../../src/index.ts";

let dir = "";
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "hio-record-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A little pseudo-random generator, so the events differ but every run is the same. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

type Written = Tcp.RecordEvent;

/** Writes `count` events over a few connections through a Recorder; returns what it wrote. */
function writeSome(recorder: tcp.Recorder, count: number, seed = 7): Written[] {
  const next = random(seed);
  const written: Written[] = [];
  const tracks: tcp.Track[] = [];
  let tyme = 0;
  for (let i = 0; i < count; i++) {
    if (next() < 0.4) tyme += Math.floor(next() * 4) / 64 + (next() < 0.1 ? 1 / 3 : 0); // off-grid too
    const pick = next();
    if (tracks.length === 0 || pick < 0.1) {
      const peer: [string, number] = ["127.0.0.1", 40000 + i];
      const track = recorder.track(tyme, peer, ["127.0.0.1", 8080]);
      tracks.push(track);
      written.push({ type: "open", tyme, conn: track.id, peer: `127.0.0.1:${40000 + i}`, local: "127.0.0.1:8080" });
      continue;
    }
    const track = tracks[Math.floor(next() * tracks.length)]!;
    if (pick < 0.8) {
      const bytes = new Uint8Array(Math.floor(next() * 300)).map(() => Math.floor(next() * 256));
      const type = pick < 0.45 ? "rx" : "tx";
      if (type === "rx") track.rx(tyme, bytes);
      else track.tx(tyme, bytes);
      written.push({ type, tyme, conn: track.id, bytes });
    } else if (pick < 0.87) {
      track.fin(tyme);
      written.push({ type: "fin", tyme, conn: track.id });
    } else if (pick < 0.93) {
      track.reset(tyme);
      written.push({ type: "reset", tyme, conn: track.id });
    } else {
      const faulted = next() < 0.5;
      track.close(tyme, faulted);
      written.push({ type: "close", tyme, conn: track.id, faulted });
    }
  }
  return written;
}

describe("the recording format", () => {
  it("reads back every event as written, with a header and a closing STOP", async () => {
    const file = path.join(dir, "session.log");
    const recorder = new tcp.Recorder({ path: file, name: "round", tock: 1 / 64 });
    const written = writeSome(recorder, 400);
    await recorder.close();
    const { headers, events } = tcp.readSession(file);
    expect(headers).toHaveLength(1);
    expect(headers[0]).toMatchObject({ version: tcp.RecordVersion, part: 0, kind: "server", name: "round", tock: 1 / 64 });
    const last = Math.max(...written.map((event) => event.tyme));
    expect(events).toEqual([...written, { type: "stop", tyme: last }]);
    const bytes = fs.readFileSync(file);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([...Buffer.from("HIOREC"), 0, 1]));
  });

  it("rotates by size, keeps `files` files of one session, and reads the kept parts in order", async () => {
    const file = path.join(dir, "session.log");
    const recorder = new tcp.Recorder({ path: file, maxBytes: 4096, files: 50 });
    // one tick per flush: each batch goes out before the next event
    const written: Written[] = [];
    for (let round = 0; round < 40; round++) {
      written.push(...writeSome(recorder, 10, round + 1).map((event) => ({ ...event, conn: 0 })));
      recorder.flush();
    }
    await recorder.close();
    const names = fs.readdirSync(dir).sort();
    expect(names.length).toBeGreaterThan(3);
    for (const name of names) expect(fs.statSync(path.join(dir, name)).size).toBeLessThan(4096 + 4096);
    const parts = tcp.sessionFiles(file);
    expect(parts[0]).toBe(`${file}.${names.length - 1}`); // the oldest part is the highest number
    expect(parts[parts.length - 1]).toBe(file);
    const { headers, events } = tcp.readSession(file);
    expect(headers.map((header) => header.part)).toEqual(names.map((_, i) => i));
    expect(new Set(headers.map((header) => header.session)).size).toBe(1);
    expect(events.filter((event) => event.type !== "stop").map((event) => ({ ...event, conn: 0 }))).toEqual(written);
  });

  it("deletes the oldest files beyond `files`, and a new session moves the last aside", async () => {
    const file = path.join(dir, "session.log");
    const first = new tcp.Recorder({ path: file, maxBytes: 2048, files: 3 });
    for (let round = 0; round < 30; round++) {
      writeSome(first, 10, round + 1);
      first.flush();
    }
    await first.close();
    expect(fs.readdirSync(dir).sort()).toEqual(["session.log", "session.log.1", "session.log.2"]);
    const kept = tcp.readSession(file);
    expect(kept.headers[0]!.part).toBeGreaterThan(0); // the first parts are gone
    const second = new tcp.Recorder({ path: file, maxBytes: 2048, files: 3 });
    writeSome(second, 5);
    await second.close();
    const now = tcp.readSession(file);
    expect(now.headers).toHaveLength(1); // only the new session's part
    expect(now.headers[0]!.session).not.toBe(kept.headers[0]!.session);
    expect(tcp.readRecord(fs.readFileSync(`${file}.1`)).header.session).toBe(kept.headers[0]!.session);
  });

  it("refuses what is not a recording, or a version it does not know, saying what to do", () => {
    expect(() => tcp.readRecord(Buffer.from("GET / HTTP/1.1\r\n\r\n"))).toThrow(/not a hio-ts recording/);
    const future = Buffer.from([...Buffer.from("HIOREC"), 0, 9, 2, 0, 0, 0, 0x7b, 0x7d]);
    expect(() => tcp.readRecord(future)).toThrow(/version 9 recording; this hio-ts reads version 1: use the hio-ts that wrote it/);
    expect(() => new tcp.Recorder({ path: path.join(dir, "no", "such", "x.log") })).toThrow(/the folder .* does not exist; make it first/);
    expect(() => new tcp.Recorder({ path: path.join(dir, "x.log"), files: 0 })).toThrow(/record.files must be a whole number of files, at least 1/);
  });

  it("stops, saying why, when the disk falls behind, and leaves a whole file", async () => {
    const file = path.join(dir, "slow.log");
    const told: unknown[] = [];
    const pending = tcp.Recorder.MaxPending;
    tcp.Recorder.MaxPending = 0; // anything still waiting for the disk is too much
    try {
      const recorder = new tcp.Recorder({ path: file, onError: (error) => told.push(error) });
      const track = recorder.track(0, ["127.0.0.1", 1], ["127.0.0.1", 2]);
      track.rx(0, Buffer.from("first"));
      recorder.flush(); // opens the file: the header and this batch wait for the disk
      track.rx(1, Buffer.from("second"));
      recorder.flush(); // too much waiting: stops
      track.rx(2, Buffer.from("third"));
      await recorder.close();
      expect(told).toHaveLength(1);
      expect(String(told[0])).toMatch(/wait for the disk, which does not keep up with the traffic: the recording stops here/);
      const read = tcp.readRecord(fs.readFileSync(file));
      expect(read.truncated).toBe(false);
      expect(read.events.map((event) => event.type)).toEqual(["open", "rx"]);
    } finally {
      tcp.Recorder.MaxPending = pending;
    }
  });

  it("keeps the events before a record cut short", async () => {
    const file = path.join(dir, "session.log");
    const recorder = new tcp.Recorder({ path: file });
    const track = recorder.track(0.5, ["127.0.0.1", 1234], ["127.0.0.1", 80]);
    track.rx(0.5, Buffer.from("GET / HTTP/1.1\r\n\r\n"));
    track.tx(0.75, Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"));
    await recorder.close();
    const whole = fs.readFileSync(file);
    const cut = tcp.readRecord(whole.subarray(0, whole.length - 20));
    expect(cut.truncated).toBe(true);
    expect(cut.events.map((event) => event.type)).toEqual(["open", "rx"]);
    expect(tcp.readRecord(whole).truncated).toBe(false);
  });

  it("is what a tcp.Server records of its connections: open, bytes in and out, FIN, close", async () => {
    const file = path.join(dir, "echo.log");
    const network = new tcp.MemoryNetwork({ latency: 1 / 32 });
    const server = new tcp.Server({ network, host: "127.0.0.1", port: 7, record: { path: file, name: "echo" } });
    const peer = new testing.Peer({ network, ha: ["127.0.0.1", 7], send: "ping", script: [[0.25, "pong"]], fin: 8 });
    await testing.runUntil([new tcp.EchoServerDoer({ server }), peer], { until: () => peer.closed, limit: 2, tock: 1 / 32 });
    server.close();
    await server.recorder!.close();
    const { headers, events } = tcp.readSession(file);
    expect(headers[0]).toMatchObject({ kind: "server", name: "echo" });
    const [host, port] = [peer.client.ca![0], peer.client.ca![1]];
    const shown = events.map((event) => ("bytes" in event ? [event.type, Buffer.from(event.bytes).toString()] : [event.type]));
    expect(shown).toEqual([["open"], ["rx", "ping"], ["tx", "ping"], ["rx", "pong"], ["fin"], ["tx", "pong"], ["close"], ["stop"]]);
    expect(events[0]).toEqual({ type: "open", tyme: 1 / 32, conn: 1, peer: `${host}:${port}`, local: "127.0.0.1:7" });
    // in the tick it happened: accepted when the SYN arrived (a latency), "ping" a round trip
    // later (the peer writes once it is connected), echoed at once; the FIN came right after
    // "pong" (both a latency after the peer's write at 0.25), so one receive took both
    const at = 0.25 + 1 / 32;
    expect(events.slice(0, 6).map((event) => event.tyme)).toEqual([1 / 32, 3 / 32, 3 / 32, at, at, at]);
    expect(events[6]!.tyme).toBeGreaterThan(at);
  });
});
