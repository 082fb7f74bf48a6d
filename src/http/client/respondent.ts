/**
 * hio's Respondent: parses the HTTP/1.x responses arriving on a client connection's receive
 * buffer (rxbs), one at a time, as far as the bytes allow, resuming at any byte boundary.
 * Bytes in, response out; no sockets. A text/event-stream body is parsed into events as it
 * arrives (hio's EventSource) while the response stays open.
 *
 * The phase is `respondentMachine`'s, stepped through its table; hio's flags (`started`,
 * `headed`, `bodied`, `ended`, `errored`) are read from it. The framing rules (Framing) and the
 * chunked body's reader (ChunkedReader) are the server's Requestant's own.
 */
import { ByteBuffer } from "../../base/buffering.ts";
import { MachineTable, Stepper } from "../../base/machining.ts";
import { respondentMachine } from "../../../machines/respondent.ts";
import type { RespondentEventType } from "../../../machines/respondent.ts";
import { Accrual, ChunkedReader, REFUSED } from "../wire/chunking.ts";
import { EventSource } from "./eventing.ts";
import type { ServerSentEvent } from "./eventing.ts";
import { Hict } from "../wire/hicting.ts";
import { HTTPException, PrematureClosure, jsonOf } from "../wire/httping.ts";
import { Delimit, Framing } from "../wire/framing.ts";
import { DONE, FieldScanner, MORE } from "../wire/scanning.ts";
import { StatusLineScanner } from "../wire/statusing.ts";

/** Size limits of one response; a breach fails it with an HTTPException. */
export interface ResponseLimits {
  /** Status line bytes, CRLF excluded. */
  maxLine: number;
  /** Whole header section bytes, final empty line included; also for trailers. */
  maxHeaderBytes: number;
  /** Header field lines; also for trailers. */
  maxHeaders: number;
  /** Body bytes, declared or received (an event stream's are not kept, so not counted). */
  maxBody: number;
  /** Chunk-size line bytes with extensions, CRLF excluded. */
  maxChunkLine: number;
  /** Longest event stream line. */
  maxEventLine: number;
}

export const ResponseLimitDefaults: Readonly<ResponseLimits> = Object.freeze({
  maxLine: 8192,
  maxHeaderBytes: 262144,
  maxHeaders: 200,
  maxBody: 64 * 1024 * 1024,
  maxChunkLine: 4096,
  maxEventLine: EventSource.MaxLine,
});

export interface RespondentOptions {
  /** The connection's receive buffer (a fresh one when omitted). */
  msg?: ByteBuffer;
  /** Method of the request answered: HEAD responses have no body. */
  method?: string;
  /** Parse every body (and every event's data) as JSON, not only application/json ones. */
  dictable?: boolean;
  /** Where server-sent events go (shared with a Client's `events`). */
  events?: ServerSentEvent[];
  limits?: Partial<ResponseLimits> | undefined;
}

/** The respondent machine as a table, built once at load. */
export const respondentTable = new MachineTable<RespondentEventType>(respondentMachine);

const IDLE = respondentTable.indexOf("idle");
const LINE = respondentTable.indexOf("line");
const HEADERS = respondentTable.indexOf("headers");
const LENGTH = respondentTable.indexOf("body.length");
const SIZE = respondentTable.indexOf("body.size");
const DATA = respondentTable.indexOf("body.data");
const TRAILERS = respondentTable.indexOf("body.trailers");
const CLOSE = respondentTable.indexOf("body.close");

const event = (type: RespondentEventType): number => respondentTable.eventIndex(type);
const LINE_STARTED = event("line.started");
const LINE_PARSED = event("line.parsed");
const HEAD_INTERIM = event("head.interim");
const HEAD_EMPTY = event("head.parsed.empty");
const HEAD_LENGTH = event("head.parsed.length");
const HEAD_CHUNKED = event("head.parsed.chunked");
const HEAD_CLOSE = event("head.parsed.close");
const BODY_PARSED = event("body.parsed");
const CHUNK_SIZED = event("chunk.sized");
const CHUNK_PARSED = event("chunk.parsed");
const CHUNK_LAST = event("chunk.last");
const TRAILERS_PARSED = event("trailers.parsed");
const CLOSED = event("closed");
const ERROR = event("error");
const RESET = event("reset");

const REDIRECTS = new Set([300, 301, 302, 303, 307, 308]);
const EMPTY = new Uint8Array(0);

/**
 * One connection's response parser: `reinit({ method })` before each response, `parse()`
 * after each receive until `ended`, `close()` when the connection is cut off (a body framed by
 * the close then ends; anything else incomplete fails with PrematureClosure). A broken response
 * ends `errored` with an HTTPException in `error`; `parse()` never throws.
 * @example
 * const respondent = new Respondent({ msg: connector.rxbs, method: "GET" });
 * if (respondent.parse() && !respondent.errored) use(respondent.status, respondent.body);
 */
export class Respondent {
  /** Default server-sent event retry in milliseconds (hio's Retry). */
  static Retry = 100;

  msg: ByteBuffer;
  method: string;
  dictable: boolean;
  readonly limits: Readonly<ResponseLimits>;
  /** The event stream parser; its leid and retry carry over from response to response. */
  readonly eventSource: EventSource;
  /** The response's phase: `respondentMachine` stepped by table. */
  readonly stepper: Stepper<(typeof respondentTable.events)[number]>; // not the machines/ alias: keeps xstate out of the .d.ts

  /** [1, 1] for HTTP/1.1 (any 1.x above 0), [1, 0] for HTTP/1.0; null until a status line. */
  version: [number, number] | null = null;
  status = 0;
  reason = "";
  /** Every field line in order, names as received. */
  headers = new Hict();
  /** The body, dechunked (empty for HEAD, 1xx, 204, 304 and for an event stream). */
  body: Uint8Array = EMPTY;
  /** Content-Length once headed (null when chunked or close-delimited), the body size once ended. */
  length: number | null = null;
  chunked = false;
  /** Content-Type says application/json. */
  jsoned = false;
  /** Content-Type says text/event-stream: the body goes to `events`, not `body`. */
  evented = false;
  /** Content-Type's charset, else HTTP/1.1's old default. */
  encoding = "ISO-8859-1";
  /** A redirect status (300, 301, 302, 303, 307, 308). */
  redirectant = false;
  /** Chunk extensions of every chunk, name → value (null without one). */
  parms = new Map<string, string | null>();
  /** Trailer fields of a chunked body. */
  trails = new Hict();
  /** Interim (1xx) responses skipped before this one. */
  interims = 0;
  /** The body as JSON once ended, when jsoned or dictable; else null. */
  data: unknown = null;
  /** The connection was closed (no more bytes will come): a fact of the connection, not a phase. */
  closed = false;
  error: HTTPException | null = null;

  #line = new StatusLineScanner();
  #fields = new FieldScanner();
  #framing = new Framing();
  #chunks = new ChunkedReader();
  #accrual = new Accrual();
  #persisted = false;
  #remaining = 0; // body bytes of the Content-Length still to read (an event stream's)
  #received = 0; // body bytes received (for maxBody)
  #reset = false; // the connection was reset, not closed: a close-delimited body is incomplete
  /** Takes body bytes `msg[0, n)`: into the event stream, or into the body; false when it failed the response. */
  readonly #take = (n: number): boolean => {
    const msg = this.msg;
    if (this.evented) {
      const fed = this.eventSource.feed(msg.view(), 0, n);
      msg.shift(n);
      if (!fed) this.#fail(new HTTPException(this.eventSource.detail));
      return fed;
    }
    this.#received += n;
    if (this.#received > this.limits.maxBody) {
      this.#fail(new HTTPException(`response body is over the limit ${this.limits.maxBody}`));
      return false;
    }
    this.#accrual.push(msg.view(), 0, n);
    msg.shift(n);
    return true;
  };

  constructor({ msg, method = "GET", dictable = false, events, limits }: RespondentOptions = {}) {
    this.msg = msg ?? new ByteBuffer();
    this.method = method.toUpperCase();
    this.dictable = dictable;
    const given = Object.entries(limits ?? {}).filter(([, value]) => value !== undefined);
    this.limits = Object.freeze({ ...ResponseLimitDefaults, ...Object.fromEntries(given) });
    this.eventSource = new EventSource({ events, dictable, maxLine: this.limits.maxEventLine });
    this.stepper = new Stepper(respondentTable);
  }

  /** A byte of this response has arrived. */
  get started(): boolean {
    return this.stepper.hasTag("started");
  }

  /** The final response's head is parsed, through its body and at its end. */
  get headed(): boolean {
    return this.stepper.hasTag("headed");
  }

  /** The body is whole. */
  get bodied(): boolean {
    return this.stepper.hasTag("bodied");
  }

  /** The parse is over: the response is whole, or it errored. */
  get ended(): boolean {
    return this.stepper.hasTag("ended");
  }

  /** The response broke RFC 9112 or a limit, or the connection ended too soon; `error` says how. */
  get errored(): boolean {
    return this.stepper.hasTag("errored");
  }

  /** The connection may carry the next request after this response; never after an error. */
  get persisted(): boolean {
    return this.#persisted && !this.errored;
  }

  /** Events dispatched from event-stream bodies, oldest first. */
  get events(): ServerSentEvent[] {
    return this.eventSource.events;
  }

  /** Last event id of the event stream (hio's leid), null until one was sent. */
  get leid(): string | null {
    return this.eventSource.leid;
  }

  /** Reconnection time in milliseconds: the stream's last retry field, else Respondent.Retry. */
  get retry(): number {
    return this.eventSource.retry ?? Respondent.Retry;
  }

  /** hio's code: the status. */
  get code(): number {
    return this.status;
  }

  /** Readies for the next response on the same `msg` (hio's reinit); events' leid/retry stay. */
  reinit({ method, dictable }: { method?: string; dictable?: boolean } = {}): void {
    if (method !== undefined) this.method = method.toUpperCase();
    if (dictable !== undefined) this.dictable = this.eventSource.dictable = dictable;
    if (this.stepper.state !== IDLE) this.stepper.step(RESET);
    this.version = null;
    this.status = this.interims = 0;
    this.reason = "";
    this.headers = new Hict();
    this.body = EMPTY;
    this.length = null;
    this.chunked = this.jsoned = this.evented = this.redirectant = false;
    this.encoding = "ISO-8859-1";
    this.parms = new Map();
    this.trails = new Hict();
    this.data = null;
    this.closed = this.#persisted = this.#reset = false;
    this.error = null;
    this.#remaining = this.#received = 0;
    this.#line.reset();
    this.#accrual.clear();
  }

  /** The connection is closed: a close-delimited body (or event stream) ends at the next parse. */
  close({ reset = false }: { reset?: boolean } = {}): void {
    this.closed = true;
    this.#reset = reset;
  }

  /**
   * Fails the response under way with `error` (as when its connection could not be made);
   * nothing once it has ended.
   */
  fail(error: HTTPException): void {
    if (!this.ended) this.#fail(error);
  }

  /**
   * Advances over what `msg` holds and consumes what it used; true once the response has ended
   * (or errored), then it stays put until `reinit()`.
   */
  parse(): boolean {
    for (;;) {
      const state = this.stepper.state;
      let progressed: boolean;
      if (state === IDLE || state === LINE) progressed = this.#parseLine();
      else if (state === HEADERS) progressed = this.#parseHeaders();
      else if (state === LENGTH) progressed = this.#parseLength();
      else if (state === SIZE) progressed = this.#parseSize();
      else if (state === DATA) progressed = this.#parseData();
      else if (state === TRAILERS) progressed = this.#parseTrailers();
      else if (state === CLOSE) progressed = this.#parseClose();
      else return true;
      if (!progressed) return false;
    }
  }

  /** hio's dictify: the body as JSON into `data` when jsoned or dictable (null if not JSON). */
  dictify(): unknown {
    this.data = this.jsoned || this.dictable ? jsonOf(this.body) : null;
    return this.data;
  }

  /** More bytes are needed: false, or a PrematureClosure once the connection is closed. */
  #more(what: string): boolean {
    return this.closed ? this.#fail(new PrematureClosure(`connection closed while parsing ${what}`)) : false;
  }

  #parseLine(): boolean {
    const line = this.#line;
    const buf = this.msg.view();
    if (buf.length === 0) return this.#more(this.interims > 0 ? "the status line after an interim response" : "the status line");
    if (this.stepper.state === IDLE) this.stepper.step(LINE_STARTED);
    const result = line.scan(buf, this.limits.maxLine);
    if (result === MORE) return this.#more("the status line");
    if (result !== DONE) return this.#fail(line.error!);
    this.version = [1, line.minor === 0 ? 0 : 1];
    this.status = line.status;
    this.reason = line.reason;
    this.msg.shift(line.next);
    line.reset();
    this.#fields.reset(0, true);
    this.stepper.step(LINE_PARSED);
    return true;
  }

  #parseHeaders(): boolean {
    const fields = this.#fields;
    const status = this.status;
    // 100 Continue and other interim responses are skipped: the final response follows.
    const interim = status < 200 && status !== 101;
    const result = fields.read(this.msg, this.limits.maxHeaderBytes, this.limits.maxHeaders, interim ? null : this.headers);
    if (result === MORE) return this.#more("the header section");
    if (result !== DONE) return this.#fail(new HTTPException(`bad response header section: ${fields.detail}`));
    if (interim) {
      this.interims += 1;
      this.stepper.step(HEAD_INTERIM);
      return true;
    }
    const framing = this.#framing;
    const http11 = this.version![1] === 1;
    const fault = framing.response(fields, status, this.method, http11, this.limits.maxBody, !http11 && this.headers.has("keep-alive"));
    this.#persisted = framing.persisted;
    this.jsoned = framing.jsoned;
    this.evented = framing.evented;
    if (framing.charset !== null) this.encoding = framing.charset;
    this.redirectant = REDIRECTS.has(status);
    if (fault !== 0) {
      this.stepper.step(HEAD_LENGTH); // the head is whole; its length is refused
      return this.#fail(new HTTPException(framing.detail));
    }
    if (framing.body === Delimit.None) {
      this.length = framing.length; // a Content-Length of 0, else none
      this.stepper.step(HEAD_EMPTY);
      return this.#end();
    }
    if (this.evented) this.eventSource.reset();
    if (framing.body === Delimit.Chunked) {
      this.chunked = true;
      this.#chunks.reset();
      this.stepper.step(HEAD_CHUNKED);
    } else if (framing.body === Delimit.Length) {
      this.length = this.#remaining = framing.length;
      this.stepper.step(HEAD_LENGTH);
    } else {
      this.stepper.step(HEAD_CLOSE);
    }
    return true;
  }

  #parseLength(): boolean {
    const msg = this.msg;
    if (msg.length === 0) return this.#more("the body");
    if (this.evented) {
      const n = Math.min(msg.length, this.#remaining);
      if (!this.#take(n)) return true;
      this.#remaining -= n;
      if (this.#remaining > 0) return this.#more("the body");
    } else {
      const body = this.#accrual.gather(msg, this.length ?? 0);
      if (body === null) return this.#more("the body");
      this.body = body;
    }
    this.stepper.step(BODY_PARSED);
    return this.#end();
  }

  #parseSize(): boolean {
    const chunks = this.#chunks;
    const result = chunks.line(this.msg, this.limits.maxChunkLine, this.parms);
    if (result === MORE) return this.#more("a chunk size");
    if (result !== DONE) return this.#fail(new HTTPException(`bad chunk: ${chunks.detail}`));
    if (chunks.size === 0) {
      this.#fields.reset(0, false);
      this.stepper.step(CHUNK_LAST);
      return true;
    }
    if (!this.evented && this.#received + chunks.size > this.limits.maxBody) {
      return this.#fail(new HTTPException(`chunked body is over the limit ${this.limits.maxBody}`));
    }
    this.stepper.step(CHUNK_SIZED);
    return true;
  }

  #parseData(): boolean {
    const chunks = this.#chunks;
    const result = chunks.data(this.msg, Infinity, this.#take);
    if (result === REFUSED) return true; // failed by #take
    if (result === MORE) return this.#more("chunk data");
    if (result !== DONE) return this.#fail(new HTTPException(`bad chunk: ${chunks.detail}`));
    this.stepper.step(CHUNK_PARSED);
    return true;
  }

  #parseTrailers(): boolean {
    const fields = this.#fields;
    const result = fields.read(this.msg, this.limits.maxHeaderBytes, this.limits.maxHeaders, this.trails);
    if (result === MORE) return this.#more("the trailer section");
    if (result !== DONE) return this.#fail(new HTTPException(`bad trailer section: ${fields.detail}`));
    this.stepper.step(TRAILERS_PARSED);
    return this.#end();
  }

  #parseClose(): boolean {
    const n = this.msg.length;
    if (n > 0 && !this.#take(n)) return true;
    if (!this.closed) return false;
    if (this.#reset) return this.#fail(new PrematureClosure("connection reset inside a close-delimited body"));
    this.stepper.step(CLOSED);
    return this.#end();
  }

  /** The response is whole (the machine is at ended): the body taken, JSON parsed, the event stream ended. */
  #end(): boolean {
    if (this.#accrual.size > 0) this.body = this.#accrual.take();
    this.length = this.body.length;
    if (this.evented) this.eventSource.close();
    this.dictify();
    return true;
  }

  /** Records the error and steps to errored; true, as the parse has gone as far as it can. */
  #fail(error: HTTPException): boolean {
    this.error = error;
    this.stepper.step(ERROR);
    this.#accrual.clear();
    if (this.evented) this.eventSource.close();
    return true;
  }
}
