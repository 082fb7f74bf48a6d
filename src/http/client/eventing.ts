/**
 * hio's EventSource: the client side parser of a text/event-stream body (WHATWG HTML §9.2.6),
 * fed body bytes as they arrive and appending each dispatched event to `events`.
 * Lines may end in CRLF, LF or CR, split anywhere between feeds; a leading UTF-8 BOM is dropped.
 */
import { ByteBuffer } from "../../base/buffering.ts";

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SPACE = 0x20;
const BOM = [0xef, 0xbb, 0xbf];
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true }); // only the stream's first BOM is dropped

/**
 * One server-sent event, hio's event dict: `id` is the last event id in effect ("" when none
 * was ever sent), `name` the event field ("" when absent), `data` the data lines joined by "\n",
 * `retry` the stream's reconnection time in milliseconds as last set (null until a retry field).
 * With `dictable`, `json` holds the data parsed as JSON (null when it is not JSON).
 */
export interface ServerSentEvent {
  id: string;
  name: string;
  data: string;
  retry: number | null;
  json?: unknown;
}

export interface EventSourceOptions {
  /** Where dispatched events go (shared with a Client's `events`); a fresh array when omitted. */
  events?: ServerSentEvent[] | undefined;
  /** Parse each event's data as JSON into `json`. */
  dictable?: boolean;
  /** Longest line in bytes; a longer one fails the stream. */
  maxLine?: number;
}

/**
 * Parses one event stream. `feed()` takes body bytes and dispatches every event whose blank
 * line has arrived; `close()` ends the stream (a last event without its blank line is dropped,
 * as browsers do). `leid` and `retry` carry over to a reconnect when the caller keeps them.
 */
export class EventSource {
  static readonly MaxLine = 1 << 20;

  readonly events: ServerSentEvent[];
  dictable: boolean;
  readonly maxLine: number;
  /** Last event id seen (hio's leid); null until an id field arrived. */
  leid: string | null = null;
  /** Reconnection time in milliseconds from the last valid retry field, else null. */
  retry: number | null = null;
  /** True when the stream began with a UTF-8 BOM. */
  bom = false;
  /** True once closed. */
  closed = false;
  /** Why the stream failed (a line over maxLine), else "". */
  detail = "";

  readonly #raw = new ByteBuffer(1024);
  #scan = 0; // offset in #raw up to which no line end was found
  #skipLF = false; // the last line ended in CR at the end of a feed: a following LF belongs to it
  #started = false; // the BOM check is done
  #name = "";
  #data: string[] = [];
  #id: string | null = null; // the last event ID buffer: leid takes it at each dispatch

  constructor({ events, dictable = false, maxLine = EventSource.MaxLine }: EventSourceOptions = {}) {
    this.events = events ?? [];
    this.dictable = dictable;
    this.maxLine = maxLine;
  }

  /** Starts a new stream on the same events; leid and retry are kept (a reconnect resumes them). */
  reset(): void {
    this.#raw.clear();
    this.#scan = 0;
    this.#skipLF = this.#started = this.bom = this.closed = false;
    this.#name = "";
    this.#data = [];
    this.#id = this.leid;
    this.detail = "";
  }

  /** Parses `bytes[start, end)`; false once the stream has failed (see `detail`). */
  feed(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    if (this.closed || this.detail) return this.detail === "";
    if (end > start) this.#raw.push(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
    return this.#parse();
  }

  /** Ends the stream: what is left without a line end or a blank line is dropped. */
  close(): void {
    this.closed = true;
    this.#raw.clear();
    this.#scan = 0;
    this.#data = [];
    this.#name = "";
  }

  #parse(): boolean {
    const raw = this.#raw;
    if (!this.#started) {
      const n = Math.min(raw.length, 3);
      for (let i = 0; i < n; i++) {
        if (raw.at(i) !== BOM[i]) {
          this.#started = true;
          break;
        }
      }
      if (!this.#started) {
        if (raw.length < 3) return true;
        this.bom = this.#started = true;
        raw.shift(3);
      }
    }
    for (;;) {
      if (this.#skipLF && raw.length > 0) {
        if (raw.at(0) === LF) raw.shift(1);
        this.#skipLF = false;
      }
      const buf = raw.view();
      let p = this.#scan;
      while (p < buf.length && buf[p] !== LF && buf[p] !== CR) p++;
      if (p === buf.length) {
        this.#scan = p;
        if (p > this.maxLine) {
          this.detail = `event stream line longer than ${this.maxLine} bytes`;
          return false;
        }
        return true;
      }
      this.#line(buf, p);
      if (buf[p] === CR) {
        if (p + 1 < buf.length) raw.shift(buf[p + 1] === LF ? p + 2 : p + 1);
        else {
          raw.shift(p + 1);
          this.#skipLF = true;
        }
      } else {
        raw.shift(p + 1);
      }
      this.#scan = 0;
    }
  }

  /** Acts on one line `buf[0, end)`. */
  #line(buf: Uint8Array, end: number): void {
    if (end === 0) {
      this.#dispatch();
      return;
    }
    if (buf[0] === COLON) return; // a comment
    let colon = buf.indexOf(COLON);
    if (colon < 0 || colon > end) colon = end;
    const field = utf8.decode(buf.subarray(0, colon));
    let from = colon + 1;
    if (from < end && buf[from] === SPACE) from += 1;
    const value = from >= end ? "" : utf8.decode(buf.subarray(from, end));
    switch (field) {
      case "data":
        this.#data.push(value);
        break;
      case "event":
        this.#name = value;
        break;
      case "id":
        if (!value.includes("\0")) this.#id = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
    }
  }

  #dispatch(): void {
    this.leid = this.#id; // HTML §9.2.6 dispatch step 1, before the empty-data check
    const lines = this.#data;
    const name = this.#name;
    this.#data = [];
    this.#name = "";
    if (lines.length === 0) return;
    const data = lines.join("\n");
    const event: ServerSentEvent = { id: this.leid ?? "", name, data, retry: this.retry };
    if (this.dictable) {
      try {
        event.json = JSON.parse(data);
      } catch {
        event.json = null;
      }
    }
    this.events.push(event);
  }
}
