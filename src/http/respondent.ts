/**
 * hio's Respondent: parses the HTTP/1.x responses arriving on a client connection's receive
 * buffer (rxbs), one at a time, as far as the bytes allow, resuming at any byte boundary.
 * Bytes in, response out; no sockets. A text/event-stream body is parsed into events as it
 * arrives (hio's EventSource) while the response stays open.
 */
import { ByteBuffer } from "../base/buffering.ts";
import { Accrual, ChunkScanner } from "./chunking.ts";
import { EventSource } from "./eventing.ts";
import type { ServerSentEvent } from "./eventing.ts";
import { Hict } from "./hicting.ts";
import { CLOSE, CR, HTTPException, KEEP_ALIVE, LF, PrematureClosure, connectionOptions, jsonOf } from "./httping.ts";
import { transferCodings } from "./framing.ts";
import { DONE, FieldScanner, Kind, MORE } from "./scanning.ts";
import { StatusLineScanner } from "./statusing.ts";

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

const Phase = { Line: 0, Headers: 1, Length: 2, Size: 3, Data: 4, Trailers: 5, Close: 6, Ended: 7 } as const;
const REDIRECTS = new Set([300, 301, 302, 303, 307, 308]);
const CHARSET = /;[ \t]*charset[ \t]*=[ \t]*"?([^";, \t]+)/;
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
  /** The connection may carry the next request after this response. */
  persisted = false;
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
  /** A byte of this response has arrived. */
  started = false;
  headed = false;
  bodied = false;
  ended = false;
  /** The connection was closed (no more bytes will come). */
  closed = false;
  errored = false;
  error: HTTPException | null = null;

  #phase: number = Phase.Line;
  #line = new StatusLineScanner();
  #fields = new FieldScanner();
  #chunk = new ChunkScanner();
  #accrual = new Accrual();
  #remaining = 0; // body bytes still to read: of the Content-Length or of the current chunk
  #crlf = 0; // bytes of the CRLF after chunk data seen
  #received = 0; // body bytes received (for maxBody)
  #reset = false; // the connection was reset, not closed: a close-delimited body is incomplete

  constructor({ msg, method = "GET", dictable = false, events, limits }: RespondentOptions = {}) {
    this.msg = msg ?? new ByteBuffer();
    this.method = method.toUpperCase();
    this.dictable = dictable;
    const given = Object.entries(limits ?? {}).filter(([, value]) => value !== undefined);
    this.limits = Object.freeze({ ...ResponseLimitDefaults, ...Object.fromEntries(given) });
    this.eventSource = new EventSource({ events, dictable, maxLine: this.limits.maxEventLine });
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
    this.version = null;
    this.status = this.interims = 0;
    this.reason = "";
    this.headers = new Hict();
    this.body = EMPTY;
    this.length = null;
    this.chunked = this.jsoned = this.evented = this.persisted = this.redirectant = false;
    this.encoding = "ISO-8859-1";
    this.parms = new Map();
    this.trails = new Hict();
    this.data = null;
    this.started = this.headed = this.bodied = this.ended = this.closed = this.errored = false;
    this.error = null;
    this.#phase = Phase.Line;
    this.#remaining = this.#crlf = this.#received = 0;
    this.#reset = false;
    this.#line.reset();
    this.#accrual.clear();
  }

  /** The connection is closed: a close-delimited body (or event stream) ends at the next parse. */
  close({ reset = false }: { reset?: boolean } = {}): void {
    this.closed = true;
    this.#reset = reset;
  }

  /**
   * Advances over what `msg` holds and consumes what it used; true once the response has ended
   * (or errored), then it stays put until `reinit()`.
   */
  parse(): boolean {
    for (;;) {
      let progressed: boolean;
      switch (this.#phase) {
        case Phase.Line: progressed = this.#parseLine(); break;
        case Phase.Headers: progressed = this.#parseHeaders(); break;
        case Phase.Length: progressed = this.#parseLength(); break;
        case Phase.Size: progressed = this.#parseSize(); break;
        case Phase.Data: progressed = this.#parseData(); break;
        case Phase.Trailers: progressed = this.#parseTrailers(); break;
        case Phase.Close: progressed = this.#parseClose(); break;
        default: return true;
      }
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
    this.started = true;
    const result = line.scan(buf, this.limits.maxLine);
    if (result === MORE) return this.#more("the status line");
    if (result !== DONE) return this.#fail(line.error!);
    this.version = [1, line.minor === 0 ? 0 : 1];
    this.status = line.status;
    this.reason = line.reason;
    this.msg.shift(line.next);
    line.reset();
    this.#fields.reset(0, true);
    this.#phase = Phase.Headers;
    return true;
  }

  #parseHeaders(): boolean {
    const fields = this.#fields;
    const buf = this.msg.view();
    const result = fields.scan(buf, this.limits.maxHeaderBytes, this.limits.maxHeaders);
    if (result === MORE) return this.#more("the header section");
    if (result !== DONE) return this.#fail(new HTTPException(`bad response header section: ${fields.detail}`));
    const status = this.status;
    if (status < 200 && status !== 101) {
      // 100 Continue and other interim responses: skipped, the final response follows.
      this.msg.shift(fields.next);
      this.interims += 1;
      this.#phase = Phase.Line;
      return true;
    }
    fields.collect(buf, this.headers);
    this.msg.shift(fields.next);
    this.headed = true;
    return this.#frame(fields);
  }

  /** Reads the header section's meaning for framing, persistence and content (RFC 9112 §6.3, §9.3). */
  #frame(fields: FieldScanner): boolean {
    let codings: string[] | null = null;
    let close = false;
    let keepAlive = false;
    let type = "";
    for (let i = 0; i < fields.count; i++) {
      switch (fields.kinds[i]) {
        case Kind.TransferEncoding:
          codings ??= [];
          // A malformed value (say chunked and a no-break space) is no coding: not chunked.
          if (!transferCodings(fields.value(i), codings)) codings.push("");
          break;
        case Kind.Connection: {
          const bits = connectionOptions(fields.value(i));
          if (bits & CLOSE) close = true;
          if (bits & KEEP_ALIVE) keepAlive = true;
          break;
        }
        case Kind.ContentType:
          type = fields.value(i).toLowerCase();
          break;
      }
    }
    const status = this.status;
    this.jsoned = type.includes("application/json");
    this.evented = type.includes("text/event-stream");
    this.encoding = CHARSET.exec(type)?.[1] ?? this.encoding;
    this.redirectant = REDIRECTS.has(status);
    const http11 = this.version![1] === 1;
    this.persisted = !close && (http11 || keepAlive || this.headers.has("keep-alive")) && status !== 101;

    if (this.method === "HEAD" || status < 200 || status === 204 || status === 304) return this.#end();
    if (this.evented) this.eventSource.reset();
    if (codings !== null) {
      if (!http11) this.persisted = false; // RFC 9112 §6.1: faulty framing, close after
      const last = codings.length - 1;
      if (last >= 0 && codings[last] === "chunked" && codings.indexOf("chunked") === last) {
        // A Content-Length beside Transfer-Encoding is ignored, but the connection is not trusted after.
        if (fields.contentLength >= 0) this.persisted = false;
        this.chunked = true;
        this.#chunk.reset(0);
        this.#phase = Phase.Size;
        return true;
      }
      this.persisted = false; // not chunked last: the body runs to the close (RFC 9112 §6.3)
      this.#phase = Phase.Close;
      return true;
    }
    if (fields.contentLength >= 0) {
      const length = fields.contentLength;
      if (length > this.limits.maxBody && !this.evented) {
        return this.#fail(new HTTPException(`Content-Length ${length} is over the limit ${this.limits.maxBody}`));
      }
      this.length = length;
      if (length === 0) return this.#end();
      this.#remaining = length;
      this.#phase = Phase.Length;
      return true;
    }
    this.persisted = false;
    this.#phase = Phase.Close;
    return true;
  }

  /** Takes body bytes `msg[0, n)`: into the event stream, or into the body. */
  #take(n: number, hint = 0): boolean {
    const msg = this.msg;
    if (this.evented) {
      const fed = this.eventSource.feed(msg.view(), 0, n);
      msg.shift(n);
      return fed || this.#fail(new HTTPException(this.eventSource.detail));
    }
    this.#received += n;
    if (this.#received > this.limits.maxBody) {
      return this.#fail(new HTTPException(`response body is over the limit ${this.limits.maxBody}`));
    }
    this.#accrual.push(msg.view(), 0, n, hint);
    msg.shift(n);
    return true;
  }

  #parseLength(): boolean {
    const msg = this.msg;
    const available = msg.length;
    if (available === 0) return this.#more("the body");
    if (!this.evented && this.#accrual.size === 0 && available >= this.#remaining) {
      // The common case, the whole body is here: one copy.
      this.body = msg.take(this.#remaining);
      this.#remaining = 0;
      return this.#end();
    }
    const n = Math.min(available, this.#remaining);
    if (!this.#take(n, this.length ?? 0)) return true;
    this.#remaining -= n;
    if (this.#remaining > 0) return this.#more("the body");
    return this.#end();
  }

  #parseSize(): boolean {
    const chunk = this.#chunk;
    const buf = this.msg.view();
    const result = chunk.scan(buf, this.limits.maxChunkLine);
    if (result === MORE) return this.#more("a chunk size");
    if (result !== DONE) return this.#fail(new HTTPException(`bad chunk: ${chunk.detail}`));
    chunk.extensions(buf, this.parms);
    this.msg.shift(chunk.next);
    const size = chunk.size;
    chunk.reset(0);
    if (size === 0) {
      this.#fields.reset(0, false);
      this.#phase = Phase.Trailers;
      return true;
    }
    if (!this.evented && this.#received + size > this.limits.maxBody) {
      return this.#fail(new HTTPException(`chunked body is over the limit ${this.limits.maxBody}`));
    }
    this.#remaining = size;
    this.#crlf = 0;
    this.#phase = Phase.Data;
    return true;
  }

  #parseData(): boolean {
    const msg = this.msg;
    if (this.#remaining > 0) {
      const n = Math.min(msg.length, this.#remaining);
      if (n === 0) return this.#more("chunk data");
      if (!this.#take(n)) return true;
      this.#remaining -= n;
      if (this.#remaining > 0) return this.#more("chunk data");
    }
    while (this.#crlf < 2) {
      const b = msg.at(0);
      if (b === undefined) return this.#more("chunk data");
      if (b !== (this.#crlf === 0 ? CR : LF)) return this.#fail(new HTTPException("bad chunk: data not followed by CRLF"));
      msg.shift(1);
      this.#crlf += 1;
    }
    this.#phase = Phase.Size;
    return true;
  }

  #parseTrailers(): boolean {
    const fields = this.#fields;
    const buf = this.msg.view();
    const result = fields.scan(buf, this.limits.maxHeaderBytes, this.limits.maxHeaders);
    if (result === MORE) return this.#more("the trailer section");
    if (result !== DONE) return this.#fail(new HTTPException(`bad trailer section: ${fields.detail}`));
    fields.collect(buf, this.trails);
    this.msg.shift(fields.next);
    return this.#end();
  }

  #parseClose(): boolean {
    const n = this.msg.length;
    if (n > 0 && !this.#take(n)) return true;
    if (!this.closed) return false;
    return this.#reset ? this.#fail(new PrematureClosure("connection reset inside a close-delimited body")) : this.#end();
  }

  /** The response is whole: the body taken, JSON parsed, the event stream ended. */
  #end(): boolean {
    if (this.#accrual.size > 0) this.body = this.#accrual.take();
    this.length = this.body.length;
    if (this.evented) this.eventSource.close();
    this.bodied = this.ended = true;
    this.#phase = Phase.Ended;
    this.dictify();
    return true;
  }

  /** Records the error and ends; true, as the parse has gone as far as it can. */
  #fail(error: HTTPException): boolean {
    this.error = error;
    this.errored = this.ended = true;
    this.persisted = false;
    this.#accrual.clear();
    if (this.evented) this.eventSource.close();
    this.#phase = Phase.Ended;
    return true;
  }
}
