/**
 * WireLog: hio's over-the-wire log for debugging nonblocking transports, recording the bytes
 * each connection receives (rx) and transmits (tx) to memory buffers or to files.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ByteBuffer } from "../base/buffering.ts";
import type { Address } from "./conduit.ts";

/** One logged transfer: direction, peer, bytes. */
export interface WireEntry {
  dx: "rx" | "tx";
  who: string;
  data: Uint8Array;
}

export interface WireLogOptions {
  /** Log received bytes. */
  rxed?: boolean;
  /** Log transmitted bytes. */
  txed?: boolean;
  /** Log rx and tx into one buffer or file. */
  samed?: boolean;
  /** Log to files instead of memory buffers. */
  filed?: boolean;
  /** Formats one entry; default is hio's `\n{dx} {who}:\n{data}\n`. */
  fmt?: (entry: WireEntry) => Uint8Array | string;
  /** Name used in the file names. */
  name?: string;
  /** Files go in a fresh directory under the OS temp dir, removed on close. */
  temp?: boolean;
  /** Directory for persistent log files; default `~/.hio/wirelogs`. */
  headDirPath?: string;
  /** Open at once. */
  reopen?: boolean;
}

const encoder = new TextEncoder();

/** hio's default entry layout. */
export function formatWire({ dx, who, data }: WireEntry): Uint8Array {
  const head = encoder.encode(`\n${dx} ${who}:\n`);
  const out = new Uint8Array(head.length + data.length + 1);
  out.set(head);
  out.set(data, head.length);
  out[out.length - 1] = 0x0a;
  return out;
}

/** A sink: a memory buffer or an open file descriptor. */
interface Sink {
  buffer: ByteBuffer | null;
  fd: number | null;
  path: string | null;
}

/**
 * Records rx/tx bytes per connection. Memory logs are read back with readRx()/readTx();
 * file logs are written synchronously (it is a debugging aid) and flushed on close.
 */
export class WireLog {
  rxed: boolean;
  txed: boolean;
  samed: boolean;
  filed: boolean;
  fmt: (entry: WireEntry) => Uint8Array | string;
  name: string;
  temp: boolean;
  headDirPath: string;
  dirPath: string | null = null;
  opened = false;
  #rxl: Sink | null = null;
  #txl: Sink | null = null;

  constructor({ rxed = true, txed = true, samed = false, filed = false, fmt = formatWire,
                name = "main", temp = false, headDirPath, reopen = false }: WireLogOptions = {}) {
    this.rxed = rxed;
    this.txed = txed;
    this.samed = samed;
    this.filed = filed;
    this.fmt = fmt;
    this.name = name || "main";
    this.temp = temp;
    this.headDirPath = headDirPath ?? path.join(os.homedir(), ".hio", "wirelogs");
    if (reopen) this.reopen();
  }

  /** Paths of the rx and tx log files when filed (the same path when samed). */
  get paths(): { rx: string | null; tx: string | null } {
    return { rx: this.#rxl?.path ?? null, tx: this.#txl?.path ?? null };
  }

  /** Closes (if open) and opens fresh buffers or files; returns opened. */
  reopen(): boolean {
    if (this.opened) this.close();
    if (this.filed) {
      if (this.temp) {
        const base = path.join(os.tmpdir(), "hio", "wirelogs");
        fs.mkdirSync(base, { recursive: true });
        this.dirPath = fs.mkdtempSync(path.join(base, "test_"));
      } else {
        this.dirPath = this.headDirPath;
        fs.mkdirSync(this.dirPath, { recursive: true });
      }
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const make = (suffix: string): Sink => {
      if (!this.filed) return { buffer: new ByteBuffer(), fd: null, path: null };
      const file = path.join(this.dirPath!, `${this.name}.${stamp}${suffix}.log`);
      return { buffer: null, fd: fs.openSync(file, "w+"), path: file };
    };
    if (this.samed) {
      const sink = this.rxed || this.txed ? make("") : null;
      this.#rxl = this.rxed ? sink : null;
      this.#txl = this.txed ? sink : null;
    } else {
      this.#rxl = this.rxed ? make(".rx") : null;
      this.#txl = this.txed ? make(".tx") : null;
    }
    this.opened = true;
    return true;
  }

  #write(sink: Sink | null, entry: WireEntry): void {
    if (!this.opened || sink === null) return;
    const out = this.fmt(entry);
    if (sink.buffer) sink.buffer.push(out);
    else if (sink.fd !== null) {
      if (typeof out === "string") fs.writeSync(sink.fd, out);
      else fs.writeSync(sink.fd, out);
    }
  }

  /** Records bytes received from `who`. */
  writeRx(data: Uint8Array, who: Address | string | null): void {
    this.#write(this.#rxl, { dx: "rx", who: whoOf(who), data });
  }

  /** Records bytes transmitted to `who`. */
  writeTx(data: Uint8Array, who: Address | string | null): void {
    this.#write(this.#txl, { dx: "tx", who: whoOf(who), data });
  }

  #read(sink: Sink | null): Uint8Array {
    if (sink === null) return new Uint8Array(0);
    if (sink.buffer) return sink.buffer.view().slice();
    if (sink.path !== null && fs.existsSync(sink.path)) return new Uint8Array(fs.readFileSync(sink.path));
    return new Uint8Array(0);
  }

  /** Everything logged as rx so far (a copy). */
  readRx(): Uint8Array {
    return this.#read(this.#rxl);
  }

  /** Everything logged as tx so far (a copy). */
  readTx(): Uint8Array {
    return this.#read(this.#txl);
  }

  /** Flushes file logs to disk. */
  flush(): void {
    for (const sink of [this.#rxl, this.#txl]) if (sink?.fd != null) fs.fsyncSync(sink.fd);
  }

  /** Closes the logs; a temp directory is removed, and with `clear` this log's own files too. */
  close({ clear = false }: { clear?: boolean } = {}): void {
    if (!this.opened) return;
    this.flush();
    const sinks = new Set([this.#rxl, this.#txl]);
    for (const sink of sinks) {
      if (sink?.fd == null) continue;
      fs.closeSync(sink.fd);
      sink.fd = null;
      if (clear && sink.path !== null) fs.rmSync(sink.path, { force: true });
    }
    this.opened = false;
    if (this.filed && this.temp && this.dirPath !== null) {
      fs.rmSync(this.dirPath, { recursive: true, force: true });
      this.dirPath = null;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function whoOf(who: Address | string | null): string {
  if (who === null) return "";
  return typeof who === "string" ? who : `${who[0]}:${who[1]}`;
}
