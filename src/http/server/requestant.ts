/**
 * hio's Requestant: parses the HTTP/1.1 requests arriving on one connection's receive buffer
 * (rxbs), one at a time, strictly by RFC 9112. Bytes in, request out; no sockets.
 *
 * `parse()` goes as far as the buffered bytes allow, resumes at any byte boundary, and consumes
 * exactly the bytes of its request, leaving the next pipelined one in place; `reinit()` starts
 * the next. The phase is `requestantMachine`'s, stepped through its table; hio's flags (`headed`,
 * `ended`, `errored`) are read from it. A broken request ends in `errored` with an HTTPError
 * whose status the connection should answer before closing: 400 malformed, 413 body too large,
 * 414 request line too long, 431 header section too large, 501 transfer coding not implemented,
 * 505 version not HTTP/1.x.
 *
 * A body may be streamed instead of buffered (`streamAbove`): then `parse()` stops at the head,
 * and later parses hand the body to `feed` as its reader makes room, leaving the rest in rxbs.
 */
import { ByteBuffer } from "../../base/buffering.ts";
import { MachineTable, Stepper } from "../../base/machining.ts";
import { requestantMachine } from "../../../machines/requestant.ts";
import type { RequestantEventType } from "../../../machines/requestant.ts";
import { Accrual, ChunkedReader, REFUSED } from "../wire/chunking.ts";
import { BodyFeed } from "./feeding.ts";
import { Hict } from "../wire/hicting.ts";
import { Delimit, Framing } from "../wire/framing.ts";
import { HTTPError, jsonOf, latin1 } from "../wire/httping.ts";
import { DONE, FieldScanner, MORE, RequestLineScanner } from "../wire/scanning.ts";
import { Qargs, splitTarget } from "../wire/targeting.ts";

/** Size limits of one request; each breach has its own status. */
export interface RequestLimits {
  /** Request line bytes, CRLF excluded (414). */
  maxLine: number;
  /**
   * Whole header section bytes, final empty line included (431); also for trailers. This is
   * the limit that matters: any number of fields fit in it, up to `maxHeaders`.
   */
  maxHeaderBytes: number;
  /** Header field lines (431); also for trailers. At least node:http's 2,000 by default. */
  maxHeaders: number;
  /** Body bytes, declared or dechunked (413). */
  maxBody: number;
  /** Chunk-size line bytes with extensions, CRLF excluded (400); 4096 when not given. */
  maxChunkLine?: number;
}

export const RequestLimitDefaults: Readonly<Required<RequestLimits>> = Object.freeze({
  maxLine: 8192,
  maxHeaderBytes: 65536,
  maxHeaders: 2000,
  maxBody: 16 * 1024 * 1024,
  maxChunkLine: 4096,
});

export interface RequestantOptions {
  /** The connection's receive buffer (a fresh one when omitted). */
  msg?: ByteBuffer;
  /** Parse every body as JSON in `dictify()`, not only application/json ones. */
  dictable?: boolean;
  limits?: Partial<RequestLimits> | undefined;
  /**
   * Streams (through `feed`) bodies whose Content-Length is over this many bytes, and chunked
   * bodies; Infinity (the default) buffers every body whole.
   */
  streamAbove?: number | undefined;
  /** A streamed body's reader waits for bytes (or let go): parse again soon. */
  onDemand?: (() => void) | null | undefined;
}

/** The requestant machine as a table, built once at load. */
export const requestantTable = new MachineTable<RequestantEventType>(requestantMachine);

const LINE = requestantTable.indexOf("line");
const HEADERS = requestantTable.indexOf("headers");
const LENGTH_AWAITED = requestantTable.indexOf("body.length_awaited");
const SIZE_AWAITED = requestantTable.indexOf("body.size_awaited");
const LENGTH = requestantTable.indexOf("body.length");
const SIZE = requestantTable.indexOf("body.size");
const DATA = requestantTable.indexOf("body.data");
const TRAILERS = requestantTable.indexOf("body.trailers");
/** 1 for the states that parse bytes (all but ended and errored). */
const PARSING = new Uint8Array(requestantTable.states.length);
for (const state of [LINE, HEADERS, LENGTH_AWAITED, SIZE_AWAITED, LENGTH, SIZE, DATA, TRAILERS]) PARSING[state] = 1;

const event = (type: RequestantEventType): number => requestantTable.eventIndex(type);
const LINE_PARSED = event("line.parsed");
const HEAD_EMPTY = event("head.parsed.empty");
const HEAD_LENGTH = event("head.parsed.length");
const HEAD_CHUNKED = event("head.parsed.chunked");
const BODY_BEGUN = event("body.begun");
const BODY_PARSED = event("body.parsed");
const CHUNK_SIZED = event("chunk.sized");
const CHUNK_PARSED = event("chunk.parsed");
const CHUNK_LAST = event("chunk.last");
const TRAILERS_PARSED = event("trailers.parsed");
const ERROR = event("error");
const RESET = event("reset");

const EMPTY = new Uint8Array(0);

/**
 * One connection's request parser (hio's Requestant): `parse()` after each receive, read the
 * request once `ended`, answer `error` once `errored`, `reinit()` before the next request.
 * @example
 * const requestant = new Requestant({ msg: remoter.rxbs });
 * if (requestant.parse() && requestant.ended) respond(requestant.method, requestant.path, requestant.body);
 */
export class Requestant {
  readonly msg: ByteBuffer;
  dictable: boolean;
  readonly limits: Readonly<Required<RequestLimits>>;
  /** The request's phase: `requestantMachine` stepped by table. */
  readonly stepper: Stepper<(typeof requestantTable.events)[number]>; // not the machines/ alias: keeps xstate out of the .d.ts

  method = "";
  /** The request-target exactly as received. */
  url = "";
  /** Percent-decoded path of the target (split from the query first). */
  path = "";
  /** Query as received, without "?". */
  query = "";
  fragment = "";
  scheme = "";
  hostname = "";
  port: number | null = null;
  /** "HTTP/1.1" (any HTTP/1.x above 0) or "HTTP/1.0". */
  version = "";
  /** [1, 1] or [1, 0]; [1, 1] until a request line has been parsed. */
  versionInfo: [number, number] = [1, 1];
  /** Every field line in order, names as received, values without surrounding OWS. */
  headers = new Hict();
  /** The body, dechunked (its own ArrayBuffer, so it is a fetch BodyInit as it is). */
  body: Uint8Array<ArrayBuffer> = EMPTY;
  chunked = false;
  /** Content-Length once headed (null while a chunked body is read), the body's size once ended. */
  length: number | null = null;
  /** Chunk extensions of every chunk, name → value (null without one). */
  parms = new Map<string, string | null>();
  /** Trailer fields of a chunked body. */
  trails = new Hict();
  /** Content-Type says application/json. */
  jsoned = false;
  /** Content-Type's charset, else hio's default. */
  encoding = "ISO-8859-1";
  /** The body as JSON after `dictify()`, else null. */
  data: unknown = null;
  error: HTTPError | null = null;
  /** The streamed body, from the head on (null when the body is buffered into `body`). */
  feed: BodyFeed | null = null;
  readonly streamAbove: number;

  #line = new RequestLineScanner();
  #fields = new FieldScanner();
  #chunks = new ChunkedReader();
  #framing = new Framing();
  #accrual = new Accrual();
  #qargs: Qargs | null = null;
  #remaining = 0; // body bytes of the Content-Length still to read
  #persisted = false;
  #expects = false; // HTTP/1.1 with Expect: 100-continue
  readonly #onDemand: (() => void) | null;
  /** Takes chunk data `msg[0, n)`: into the feed or the accrual. */
  readonly #takeChunk = (n: number): boolean => {
    const feed = this.feed;
    if (feed === null) {
      this.#accrual.push(this.msg.view(), 0, n);
      this.msg.shift(n);
    } else {
      feed.push(this.msg.take(n) as Uint8Array<ArrayBuffer>);
    }
    return true;
  };

  constructor({ msg, dictable = false, limits, streamAbove = Infinity, onDemand = null }: RequestantOptions = {}) {
    this.msg = msg ?? new ByteBuffer();
    this.dictable = dictable;
    const given = Object.entries(limits ?? {}).filter(([, value]) => value !== undefined);
    this.limits = Object.freeze({ ...RequestLimitDefaults, ...Object.fromEntries(given) });
    this.stepper = new Stepper(requestantTable);
    this.streamAbove = streamAbove;
    this.#onDemand = onDemand;
  }

  /** The head (request line and header section) parsed, through the body and at its end. */
  get headed(): boolean {
    return this.stepper.hasTag("headed");
  }

  /** A whole request parsed. */
  get ended(): boolean {
    return this.stepper.hasTag("ended");
  }

  /** The head is parsed and the body is being streamed through `feed`, not yet at its end. */
  get streaming(): boolean {
    return this.feed !== null && PARSING[this.stepper.state] === 1;
  }

  /** The bytes broke RFC 9112 or a limit; `error` says how. */
  get errored(): boolean {
    return this.stepper.hasTag("errored");
  }

  /**
   * The connection may carry another request after this one (P7): HTTP/1.1 unless `Connection`
   * lists `close`, HTTP/1.0 only when it lists `keep-alive`; never after an error.
   */
  get persisted(): boolean {
    return this.#persisted && !this.errored;
  }

  /** An HTTP/1.1 request that asked `Expect: 100-continue` and has sent no body byte yet. */
  get expectContinue(): boolean {
    const state = this.stepper.state;
    return this.#expects && (state === LENGTH_AWAITED || state === SIZE_AWAITED);
  }

  /** The query's arguments, split on "&" only, every value kept (H18). */
  get qargs(): Qargs {
    return (this.#qargs ??= new Qargs(this.query));
  }

  /**
   * Advances the parse over what `msg` holds and consumes what it used; true once the request
   * has ended or errored (then it stays put until `reinit()`), or once the head of a streamed
   * request is parsed: then each later parse moves what body `feed` has room for.
   */
  parse(): boolean {
    for (;;) {
      const state = this.stepper.state;
      // Every parsing phase needs a byte to progress: an idle connection costs one check a tick.
      if (this.msg.length === 0 && PARSING[state] === 1) return this.feed !== null;
      let progressed: boolean;
      if (state === LINE) progressed = this.#parseLine();
      else if (state === HEADERS) progressed = this.#parseHeaders();
      else if (state === LENGTH_AWAITED || state === SIZE_AWAITED) progressed = this.stepper.step(BODY_BEGUN);
      else if (state === LENGTH) progressed = this.#parseLength();
      else if (state === SIZE) progressed = this.#parseSize();
      else if (state === DATA) progressed = this.#parseData();
      else if (state === TRAILERS) progressed = this.#parseTrailers();
      else return true;
      if (!progressed) return this.feed !== null;
    }
  }

  /** A streamed body cannot go on (the peer left, the deadline passed): its reader gets `error`. */
  halt(error: HTTPError): void {
    if (!this.streaming) return;
    this.error = error;
    this.stepper.step(ERROR);
    this.feed?.error(error);
  }

  /** Resets for the next request on the same `msg` (hio's reinit). */
  reinit(): void {
    this.stepper.step(RESET);
    this.method = this.url = this.path = this.query = this.fragment = this.version = "";
    this.scheme = this.hostname = "";
    this.port = null;
    this.versionInfo = [1, 1];
    this.headers = new Hict();
    this.body = EMPTY;
    this.chunked = false;
    this.length = null;
    this.parms = new Map();
    this.trails = new Hict();
    this.jsoned = false;
    this.encoding = "ISO-8859-1";
    this.data = null;
    this.error = null;
    this.#line.reset();
    this.#qargs = null;
    this.#remaining = 0;
    this.#persisted = this.#expects = false;
    this.#accrual.clear();
    this.feed?.error(new HTTPError({ status: 400, detail: "the request is over" })); // only if still open
    this.feed = null;
  }

  /**
   * hio's dictify (P6): when `jsoned` or `dictable`, parses the body as UTF-8 JSON into `data`
   * (null when it is not JSON); returns `data`.
   */
  dictify(): unknown {
    this.data = this.jsoned || this.dictable ? jsonOf(this.body) : null;
    return this.data;
  }

  #parseLine(): boolean {
    const line = this.#line;
    const buf = this.msg.view();
    const result = line.scan(buf, this.limits.maxLine);
    if (result === MORE) return false;
    if (result !== DONE) return this.#fail(result, line.detail);
    const text = latin1(buf, line.start, line.targetEnd); // decoded once; only ASCII got this far
    this.method = text.slice(0, line.methodEnd - line.start);
    this.url = text.slice(line.targetStart - line.start);
    this.versionInfo = [1, line.minor === 0 ? 0 : 1];
    this.version = line.minor === 0 ? "HTTP/1.0" : "HTTP/1.1";
    this.msg.shift(line.next);
    const parts = splitTarget(this.url, this.method);
    if (parts === null) return this.#fail(400, "request-target has none of the four forms");
    this.path = parts.path;
    this.query = parts.query;
    this.fragment = parts.fragment;
    this.scheme = parts.scheme;
    this.hostname = parts.hostname;
    this.port = parts.port;
    this.#fields.reset(0, true);
    this.stepper.step(LINE_PARSED);
    return true;
  }

  #parseHeaders(): boolean {
    const fields = this.#fields;
    const { maxHeaderBytes, maxHeaders, maxBody } = this.limits;
    const result = fields.read(this.msg, maxHeaderBytes, maxHeaders, this.headers);
    if (result === MORE) return false;
    if (result !== DONE) return this.#fail(result, fields.detail);

    const framing = this.#framing;
    const status = framing.request(fields, this.versionInfo[1] === 1, maxBody);
    this.#persisted = framing.persisted;
    this.#expects = framing.expects;
    this.jsoned = framing.jsoned;
    if (framing.charset !== null) this.encoding = framing.charset;
    if (status !== 0) return this.#fail(status, framing.detail);
    if (framing.body === Delimit.Chunked) {
      this.chunked = true;
      if (this.streamAbove < Infinity) this.#stream();
      this.#chunks.reset();
      this.stepper.step(HEAD_CHUNKED);
      return true;
    }
    this.length = framing.length;
    if (framing.body === Delimit.None) {
      this.stepper.step(HEAD_EMPTY);
      return true;
    }
    this.#remaining = framing.length;
    if (framing.length > this.streamAbove) this.#stream();
    this.stepper.step(HEAD_LENGTH);
    return true;
  }

  #stream(): void {
    this.feed = new BodyFeed({ onDemand: this.#onDemand });
  }

  #parseLength(): boolean {
    const msg = this.msg;
    const available = msg.length;
    if (available === 0) return false;
    const feed = this.feed;
    if (feed !== null) {
      const n = Math.min(available, this.#remaining, feed.room);
      if (n === 0) return false;
      feed.push(msg.take(n) as Uint8Array<ArrayBuffer>);
      this.#remaining -= n;
      if (this.#remaining > 0) return false;
      feed.close();
      this.stepper.step(BODY_PARSED);
      return true;
    }
    const body = this.#accrual.gather(msg, this.length ?? 0);
    if (body === null) return false;
    this.body = body;
    this.#remaining = 0;
    this.length = body.length;
    this.stepper.step(BODY_PARSED);
    return true;
  }

  #parseSize(): boolean {
    const chunks = this.#chunks;
    const msg = this.msg;
    const result = chunks.line(msg, this.limits.maxChunkLine, this.parms);
    if (result === MORE) return false;
    if (result !== DONE) return this.#fail(result, chunks.detail);
    // Chunk extensions are capped per line (maxChunkLine) and, over the whole body, by the
    // header section's limit (RFC 9112 §7.1.1: a server ought to limit their total length).
    const { maxHeaderBytes, maxBody } = this.limits;
    if (chunks.extensionBytes > maxHeaderBytes) return this.#fail(400, `chunk extensions total over the limit ${maxHeaderBytes}`);
    if (chunks.size === 0) {
      this.#fields.reset(0, false);
      this.stepper.step(CHUNK_LAST);
      return true;
    }
    if ((this.feed === null ? this.#accrual.size : this.feed.fed) + chunks.size > maxBody) return this.#fail(413, `chunked body is over the limit ${maxBody}`);
    this.stepper.step(CHUNK_SIZED);
    return true;
  }

  #parseData(): boolean {
    const chunks = this.#chunks;
    const result = chunks.data(this.msg, this.feed === null ? Infinity : this.feed.room, this.#takeChunk);
    if (result === MORE || result === REFUSED) return false;
    if (result !== DONE) return this.#fail(result, chunks.detail);
    this.stepper.step(CHUNK_PARSED);
    return true;
  }

  #parseTrailers(): boolean {
    const fields = this.#fields;
    const result = fields.read(this.msg, this.limits.maxHeaderBytes, this.limits.maxHeaders, this.trails);
    if (result === MORE) return false;
    if (result !== DONE) return this.#fail(result, fields.detail);
    if (this.feed === null) {
      this.body = this.#accrual.take();
      this.length = this.body.length;
    } else {
      this.length = this.feed.fed;
      this.feed.close();
    }
    this.stepper.step(TRAILERS_PARSED);
    return true;
  }

  /** Records the error and steps to errored; true, as the parse has gone as far as it can. */
  #fail(status: number, detail: string): boolean {
    this.error = new HTTPError({ status, detail });
    this.stepper.step(ERROR);
    this.feed?.error(this.error);
    return true;
  }
}
