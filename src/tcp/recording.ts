/**
 * Recording: what happened on each connection of a server (or client), tick by tick, to a
 * compact file that `testing.replay()` runs again in simulated tyme.
 *
 * A Recorder is told, in the tick it happens, of each connection's open (accepted by a server,
 * connected by a client, with both addresses), each receive that moved bytes into its rxbs, the
 * peer's FIN, a reset, each send the socket took, and the close. It stamps them with the tyme of
 * the tick and the connection's id (1, 2, ... in the order opened) into a batch in memory, which
 * goes to a write stream once the tick is over (a `setImmediate` after the first event of a
 * tick), or at once when it passes 64 KiB. No event waits on the disk: the only synchronous file
 * calls are the open and renames of a rotation, once per `maxBytes`. A disk that falls behind by
 * `Recorder.MaxPending` bytes (64 MiB) stops the recording, told to `onError`; the file is whole
 * up to there.
 *
 * ## The file format, version 1
 *
 * ```
 * file    = magic header record*
 * magic   = "HIOREC" 0x00 version          ; 8 bytes, version = 0x01
 * header  = length:u32le json:utf-8        ; RecordHeader: session, part, started, kind, ...
 * record  = TICK  0x01 tyme:f64le          ; the tyme of the records after it
 *         | OPEN  0x02 conn peer local     ; peer and local are strings: "host:port"
 *         | RX    0x03 conn bytes          ; received (moved into rxbs in one receive)
 *         | TX    0x04 conn bytes          ; sent (taken by the socket in one write)
 *         | FIN   0x05 conn                ; the peer's orderly close, after all it sent
 *         | RESET 0x06 conn                ; a reset or transport error from the peer
 *         | CLOSE 0x07 conn cause:u8       ; we closed it: 0, or 1 when it had faulted then
 *         | STOP  0x08                     ; the recorder was closed: the session ends here
 * conn    = varint                         ; the connection's id, from 1
 * bytes   = length:varint octets
 * string  = length:varint utf-8
 * varint  = unsigned LEB128
 * ```
 *
 * Each batch begins with a TICK, so every file (and every part of one) starts with its tyme.
 * A reader that meets a version it does not know stops with an error saying so.
 *
 * ## Rotation
 *
 * The current file is `path`; once it would pass `maxBytes` it becomes `path.1`, the one before
 * `path.2`, and so on, keeping `files` files in all (the oldest is deleted). A rotation happens
 * between batches, so a file holds whole ticks (a batch larger than `maxBytes` makes a larger
 * file). Every part carries the session's id and its number, so `readSession(path)` puts the
 * parts of one session back in order; a part whose start was deleted is missing connections'
 * opens, and replay skips those connections (it says how many). Opening a recorder moves a file
 * already at `path` aside as `path.1` (rotating the rest), so a restart keeps the last session.
 */
import fs from "node:fs";
import nodePath from "node:path";
import { randomBytes } from "node:crypto";
import type { Address } from "./conduit.ts";

/** The first six bytes of a recording, then 0x00 and the version. */
export const RecordMagic = "HIOREC";
/** The format version this module writes and reads. */
export const RecordVersion = 1;

const TICK = 0x01;
const OPEN = 0x02;
const RX = 0x03;
const TX = 0x04;
const FIN = 0x05;
const RESET = 0x06;
const CLOSE = 0x07;
const STOP = 0x08;

/** What the first record of each file says about the session. */
export interface RecordHeader {
  /** The format version. */
  version: number;
  /** Random id shared by every part of one session. */
  session: string;
  /** 0 for the first file of the session, then 1, 2, ... for each rotation. */
  part: number;
  /** Wall-clock milliseconds (Date.now()) when the session's first file was opened. */
  started: number;
  /** Who recorded: a server's connections or a client's. */
  kind: "server" | "client";
  /** The recorder's name (a server's or client's). */
  name: string;
  /** The Doist's tock, when the recorder was told it: replay paces its ticks by it. */
  tock?: number;
  /** Settings the server was made with that shape its bytes (name, limits, deadlines...). */
  server?: Record<string, unknown>;
}

/** One event of one connection, as read back. */
export type RecordEvent =
  | { type: "open"; tyme: number; conn: number; peer: string; local: string }
  | { type: "rx" | "tx"; tyme: number; conn: number; bytes: Uint8Array }
  | { type: "fin" | "reset"; tyme: number; conn: number }
  | { type: "close"; tyme: number; conn: number; faulted: boolean }
  | { type: "stop"; tyme: number };

/** A recording read back: its files' headers (oldest first) and their events in order. */
export interface Recording {
  headers: RecordHeader[];
  events: RecordEvent[];
}

export interface RecorderOptions {
  /** The file to write; rotated parts are `path.1`, `path.2`, ... */
  path: string;
  /** Rotate once the current file would pass this many bytes; default 64 MiB. */
  maxBytes?: number;
  /** Files kept in all, the current one included; default 4. */
  files?: number;
  /** Who records (set by the server or client given the options). */
  kind?: "server" | "client";
  /** Name in the header. */
  name?: string;
  /** The Doist's tock, so replay ticks on the same grid. */
  tock?: number;
  /** Told of a write failure (the recorder stops then); default: console.error once. */
  onError?: (error: unknown) => void;
}

/** The per-connection handle a Link records through; made by `Recorder.track()`. */
export class Track {
  readonly recorder: Recorder;
  /** The connection's id in the recording. */
  readonly id: number;

  constructor(recorder: Recorder, id: number) {
    this.recorder = recorder;
    this.id = id;
  }

  /** Bytes moved into rxbs by one receive. */
  rx(tyme: number | null, bytes: Uint8Array): void {
    this.recorder.data(RX, tyme, this.id, bytes);
  }

  /** Bytes the socket took in one write. */
  tx(tyme: number | null, bytes: Uint8Array): void {
    this.recorder.data(TX, tyme, this.id, bytes);
  }

  /** The peer's FIN, after everything it sent was received. */
  fin(tyme: number | null): void {
    this.recorder.mark(FIN, tyme, this.id);
  }

  /** A reset (or transport error) from the peer. */
  reset(tyme: number | null): void {
    this.recorder.mark(RESET, tyme, this.id);
  }

  /** The connection closed by its owner; `faulted` when the transport had failed by then. */
  close(tyme: number | null, faulted: boolean): void {
    this.recorder.mark(CLOSE, tyme, this.id, faulted ? 1 : 0);
  }
}

/** Bytes a batch may reach before it goes to the stream within the tick. */
const BatchHigh = 65536;

const encoder = new TextEncoder();

/**
 * Writes a recording: `track()` gives each new connection its handle; events are batched per tick
 * and appended to `path` through a write stream, rotating by size. `close()` writes STOP and
 * resolves once every byte is on disk; an event after it starts a new session (the closed one
 * rotated aside).
 * @example
 * const server = http.openServer({ app, port: 0, record: { path: "session.log" } });
 * // ... later, after the server closed:
 * await server.recorder?.close();
 */
export class Recorder {
  /** Default `maxBytes`: 64 MiB. */
  static MaxBytes = 64 << 20;
  /** Default `files`: the current one and three older. */
  static Files = 4;
  /**
   * Bytes handed to the file that may wait for the disk: past them the recorder stops (and says
   * so through onError) rather than hold more and more of the process's memory.
   */
  static MaxPending = 64 << 20;

  readonly path: string;
  readonly maxBytes: number;
  readonly files: number;
  /** Goes into each file's header; settings may be added until the first event. */
  readonly meta: Omit<RecordHeader, "version" | "session" | "part" | "started">;
  /** The write failure that stopped this recorder, if any. */
  error: unknown = null;
  readonly #onError: (error: unknown) => void;
  #batch = Buffer.allocUnsafe(BatchHigh * 2);
  #length = 0;
  #tyme = NaN; // tyme of the batch's last TICK (NaN: none yet in this batch)
  #last = 0; // latest tyme seen, for STOP
  #scheduled = false;
  #conns = 0;
  #stream: fs.WriteStream | null = null;
  #fileBytes = 0;
  #session = "";
  #part = 0;
  #started = 0;
  #ending: Promise<void>[] = []; // streams closing (rotated or closed), until they have finished
  #drained: Promise<void> = Promise.resolve(); // every stream ended so far has finished
  readonly #flushSoon = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor({ path, maxBytes = Recorder.MaxBytes, files = Recorder.Files, kind = "server", name = kind, tock, onError }: RecorderOptions) {
    if (typeof path !== "string" || path === "") throw new TypeError("record.path must name a file to write the recording to");
    if (!(maxBytes > 0)) throw new TypeError(`record.maxBytes must be a positive number of bytes, not ${String(maxBytes)}`);
    if (!Number.isInteger(files) || files < 1) throw new TypeError(`record.files must be a whole number of files, at least 1, not ${String(files)}`);
    const folder = nodePath.dirname(nodePath.resolve(path));
    if (!fs.existsSync(folder)) throw new TypeError(`record.path ${path}: the folder ${folder} does not exist; make it first`);
    this.path = path;
    this.maxBytes = maxBytes;
    this.files = files;
    this.meta = { kind, name, ...(tock === undefined ? {} : { tock }) };
    this.#onError = onError ?? ((error) => console.error(`hio-ts recorder ${path} stopped:`, error));
  }

  /** Connections opened so far in this session. */
  get connections(): number {
    return this.#conns;
  }

  /** True while a session's file is open. */
  get opened(): boolean {
    return this.#stream !== null;
  }

  /** A new connection: records its OPEN and returns the handle its link records through. */
  track(tyme: number | null, peer: Address | null, local: Address | null): Track {
    if (this.#stream === null && this.#length === 0) this.#conns = 0; // a new session
    const id = ++this.#conns;
    if (this.error !== null) return new Track(this, id);
    const peerText = encoder.encode(peer === null ? "" : `${peer[0]}:${peer[1]}`);
    const localText = encoder.encode(local === null ? "" : `${local[0]}:${local[1]}`);
    this.#at(tyme, 1 + 5 + 5 + peerText.length + 5 + localText.length);
    this.#u8(OPEN);
    this.#varint(id);
    this.#varint(peerText.length);
    this.#put(peerText);
    this.#varint(localText.length);
    this.#put(localText);
    this.#queued();
    return new Track(this, id);
  }

  /** Records an RX or TX of `bytes` (copied). */
  data(type: number, tyme: number | null, conn: number, bytes: Uint8Array): void {
    if (this.error !== null) return;
    this.#at(tyme, 1 + 5 + 5 + bytes.length);
    this.#u8(type);
    this.#varint(conn);
    this.#varint(bytes.length);
    this.#put(bytes);
    this.#queued();
  }

  /** Records a FIN, RESET or CLOSE (with its cause byte). */
  mark(type: number, tyme: number | null, conn: number, cause = -1): void {
    if (this.error !== null) return;
    this.#at(tyme, 1 + 5 + 1);
    this.#u8(type);
    this.#varint(conn);
    if (cause >= 0) this.#u8(cause);
    this.#queued();
  }

  /** Sends the batch to the file now (opening or rotating it first as needed). */
  flush(): void {
    if (this.#length === 0 || this.error !== null) return;
    try {
      const waiting = this.#stream?.writableLength ?? 0;
      if (waiting > Recorder.MaxPending) {
        throw new Error(`${Math.round(waiting / 2 ** 20)} MiB of recording wait for the disk, which does not keep up ` +
          "with the traffic: the recording stops here (its file is whole up to this point). Record to a faster disk, or less traffic.");
      }
      if (this.#stream === null) this.#open();
      else if (this.#fileBytes + this.#length > this.maxBytes && this.#fileBytes > 0) this.#rotate();
      const stream = this.#stream!;
      const out = Buffer.from(this.#batch.subarray(0, this.#length)); // the stream keeps it
      stream.write(out);
      this.#fileBytes += out.length;
    } catch (error) {
      this.#fail(error);
    }
    this.#length = 0;
    this.#tyme = NaN;
    if (this.#batch.length > BatchHigh * 4) this.#batch = Buffer.allocUnsafe(BatchHigh * 2); // a big tick is over
  }

  /**
   * Ends the session: writes STOP, flushes, closes the file. Resolves once everything written is
   * on disk (also what earlier rotations still had to write). Calling it again is harmless.
   */
  close(): Promise<void> {
    if (this.#stream !== null || this.#length > 0) {
      if (this.error === null) {
        this.#at(this.#last, 1);
        this.#u8(STOP);
      }
      this.flush();
      this.#end();
    }
    if (this.#ending.length > 0) {
      const ending = [this.#drained, ...this.#ending];
      this.#ending = [];
      this.#drained = Promise.all(ending).then(() => undefined);
    }
    return this.#drained;
  }

  #fail(error: unknown): void {
    if (this.error !== null) return;
    this.error = error;
    this.#onError(error);
  }

  /** The stream goes on writing what it was given, then closes; close() waits for it. */
  #end(): void {
    const stream = this.#stream;
    if (stream === null) return;
    this.#stream = null;
    this.#ending.push(new Promise<void>((resolve) => {
      stream.once("close", resolve);
      stream.end();
    }));
  }

  /** Opens a new session: an older file at path moves aside first. */
  #open(): void {
    this.#session = randomBytes(8).toString("hex");
    this.#part = 0;
    this.#started = Date.now();
    this.#shiftFiles();
    this.#openPart();
  }

  #rotate(): void {
    this.#end();
    this.#part += 1;
    this.#shiftFiles();
    this.#openPart();
  }

  /** path.(files-1) is deleted, path.i becomes path.(i+1), path becomes path.1. */
  #shiftFiles(): void {
    const { path, files } = this;
    const name = (i: number): string => (i === 0 ? path : `${path}.${i}`);
    for (let i = files - 1; i >= 0; i--) {
      if (!fs.existsSync(name(i))) continue;
      if (i + 1 >= files) fs.rmSync(name(i), { force: true });
      else fs.renameSync(name(i), name(i + 1));
    }
  }

  #openPart(): void {
    const header: RecordHeader = {
      version: RecordVersion, session: this.#session, part: this.#part, started: this.#started, ...this.meta,
    };
    const json = Buffer.from(JSON.stringify(header));
    const head = Buffer.alloc(12 + json.length);
    head.write(RecordMagic, 0, "latin1");
    head[6] = 0;
    head[7] = RecordVersion;
    head.writeUInt32LE(json.length, 8);
    json.copy(head, 12);
    // Opened synchronously so a rename right after cannot race the open; writes go on async.
    const fd = fs.openSync(this.path, "w");
    const stream = fs.createWriteStream("", { fd, highWaterMark: BatchHigh });
    stream.on("error", (error) => this.#fail(error));
    stream.write(head);
    this.#stream = stream;
    this.#fileBytes = head.length;
  }

  /** Makes room for `need` more bytes, and begins the record with a TICK when the tyme moved. */
  #at(tyme: number | null, need: number): void {
    const at = tyme ?? 0;
    if (at > this.#last) this.#last = at;
    this.#room(need + 9);
    if (at !== this.#tyme) {
      this.#tyme = at;
      this.#u8(TICK);
      this.#batch.writeDoubleLE(at, this.#length);
      this.#length += 8;
    }
  }

  #room(need: number): void {
    if (this.#length + need <= this.#batch.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#batch.length * 2, this.#length + need));
    this.#batch.copy(grown, 0, 0, this.#length);
    this.#batch = grown;
  }

  /** After a record: flush now when the batch is large, else once this tick is over. */
  #queued(): void {
    if (this.#length >= BatchHigh) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushSoon);
    }
  }

  #u8(value: number): void {
    this.#batch[this.#length++] = value;
  }

  #varint(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.#batch[this.#length++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.#batch[this.#length++] = rest;
  }

  #put(bytes: Uint8Array): void {
    this.#batch.set(bytes, this.#length);
    this.#length += bytes.length;
  }
}

/** A recording file that cannot be read: says what is wrong and where. */
export class RecordError extends Error {
  override name = "RecordError";
}

/**
 * Reads one recording file's bytes: its header and events. A file cut short (the process died
 * mid-write) gives the events before the cut; anything else malformed throws a RecordError.
 */
export function readRecord(bytes: Uint8Array, source = "the recording"): { header: RecordHeader; events: RecordEvent[]; truncated: boolean } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 12 || buffer.toString("latin1", 0, 6) !== RecordMagic || buffer[6] !== 0) {
    throw new RecordError(`${source} is not a hio-ts recording (it does not begin with ${RecordMagic})`);
  }
  const version = buffer[7]!;
  if (version !== RecordVersion) {
    throw new RecordError(`${source} is a version ${version} recording; this hio-ts reads version ${RecordVersion}: use the hio-ts that wrote it`);
  }
  const jsonLength = buffer.readUInt32LE(8);
  if (12 + jsonLength > buffer.length) throw new RecordError(`${source} is cut short inside its header`);
  const header = JSON.parse(buffer.toString("utf8", 12, 12 + jsonLength)) as RecordHeader;
  const events: RecordEvent[] = [];
  let at = 12 + jsonLength;
  let tyme = NaN;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= buffer.length) throw new RangeError("cut");
      const byte = buffer[at++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  };
  const take = (n: number): Buffer => {
    if (at + n > buffer.length) throw new RangeError("cut");
    const out = buffer.subarray(at, at + n);
    at += n;
    return out;
  };
  let truncated = false;
  while (at < buffer.length) {
    const start = at;
    const type = buffer[at++]!;
    try {
      if (type === TICK) {
        tyme = take(8).readDoubleLE(0);
        continue;
      }
      if (tyme !== tyme) throw new RecordError(`${source}: a record at byte ${start} comes before any TICK`);
      if (type === STOP) {
        events.push({ type: "stop", tyme });
        continue;
      }
      const conn = varint();
      switch (type) {
        case OPEN: {
          const peer = take(varint()).toString("utf8");
          const local = take(varint()).toString("utf8");
          events.push({ type: "open", tyme, conn, peer, local });
          break;
        }
        case RX:
        case TX:
          events.push({ type: type === RX ? "rx" : "tx", tyme, conn, bytes: new Uint8Array(take(varint())) });
          break;
        case FIN:
        case RESET:
          events.push({ type: type === FIN ? "fin" : "reset", tyme, conn });
          break;
        case CLOSE:
          events.push({ type: "close", tyme, conn, faulted: take(1)[0] === 1 });
          break;
        default:
          throw new RecordError(`${source}: unknown record type ${type} at byte ${start}`);
      }
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      truncated = true; // the last record was cut short: keep what came before it
      break;
    }
  }
  return { header, events, truncated };
}

/** The files of the session `path` belongs to, oldest part first (rotated parts of other sessions left out). */
export function sessionFiles(path: string): string[] {
  const current = readRecord(fs.readFileSync(path), path).header;
  const found: Array<[number, string]> = [[current.part, path]];
  for (let i = 1; ; i++) {
    const older = `${path}.${i}`;
    if (!fs.existsSync(older)) break;
    let header: RecordHeader;
    try {
      header = readRecord(fs.readFileSync(older), older).header;
    } catch {
      continue;
    }
    if (header.session === current.session) found.push([header.part, older]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, file]) => file);
}

/**
 * Reads a session: `path` and its older parts (`path.1`, ... of the same session), or the files
 * given, or the bytes of one file, into one Recording, parts in order.
 */
export function readSession(source: string | readonly string[] | Uint8Array): Recording {
  const parts: Array<{ header: RecordHeader; events: RecordEvent[] }> = [];
  if (source instanceof Uint8Array) parts.push(readRecord(source));
  else {
    const files = typeof source === "string" ? sessionFiles(source) : source;
    for (const file of files) parts.push(readRecord(fs.readFileSync(file), file));
    parts.sort((a, b) => a.header.part - b.header.part);
  }
  return { headers: parts.map((part) => part.header), events: parts.flatMap((part) => part.events) };
}
