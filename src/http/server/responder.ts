/**
 * Responder: turns one fetch `Response` into HTTP/1.1 bytes in a connection's send buffer,
 * a little per tick. The head goes out once the framing is known; the body is pulled from the
 * Response's stream only while the send buffer is below its high-water mark (back pressure).
 */
import type { ByteBuffer } from "../../base/buffering.ts";
import { MachineTable, Stepper } from "../../base/machining.ts";
import { responderMachine } from "../../../machines/responder.ts";
import type { ResponderEvent } from "../../../machines/responder.ts";
import { cancelBody, describe, keepBody, wholeBody } from "./bodying.ts";
import { NativeResponse, offerResponse, outgoingParts } from "./outgoing.ts";
import { CustomReply, CustomResponder, errorMessage, writeReply } from "./replying.ts";
import { httpDate1123, statusReason } from "../wire/httping.ts";

export const responderTable = new MachineTable<ResponderEvent["type"]>(responderMachine);
const DISPATCHED = responderTable.eventIndex("request.dispatched");
const SETTLES = responderTable.eventIndex("app.settled");
const WRITTEN = responderTable.eventIndex("reply.written");
const WHOLE_TAKEN = responderTable.eventIndex("response.whole");
const STREAM_TAKEN = responderTable.eventIndex("response.streamed");
const READ = responderTable.eventIndex("body.read");
const PIECE = responderTable.eventIndex("body.piece");
const END = responderTable.eventIndex("body.end");
const BROKE = responderTable.eventIndex("body.error");
const HEAD_SENT = responderTable.eventIndex("head.sent");
const BODY_ENDED = responderTable.eventIndex("body.ended");
const FAILED = responderTable.eventIndex("failed");
const CUTOFF = responderTable.eventIndex("cutoff");
const RESET = responderTable.eventIndex("reset");
const PENDING = responderTable.indexOf("pending");
const SETTLED = responderTable.indexOf("settled");

/** Per state: 1 heading, 2 streaming, 0 neither; and the body source's phase under them. */
const HEADING = 1;
const STREAMING = 2;
const HELD = 1;
const READING = 2;
const WHOLE = 3;
const BROKEN = 4;
const PHASE = new Uint8Array(responderTable.states.map((s) => (s.startsWith("heading.") ? HEADING : s.startsWith("streaming.") ? STREAMING : 0)));
const SOURCE = new Uint8Array(responderTable.states.map((s) => {
  const leaf = s.split(".")[1];
  return leaf === "held" ? HELD : leaf === "reading" ? READING : leaf === "whole" ? WHOLE : leaf === "failed" ? BROKEN : 0;
}));

const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = new Uint8Array([48, 13, 10, 13, 10]); // "0\r\n\r\n"

export interface ResponderOptions {
  /** The connection's send buffer. */
  txbs: ByteBuffer;
  /** Value of the `Server` header added when the app gives none. */
  name?: string;
  /** Send-buffer size in bytes above which no more body is pulled from the app. */
  highWater?: number | undefined;
  /** Called when the app's result or a body piece arrives (between ticks): service me. */
  notify?: (() => void) | null;
}

/** What the request asked of the response's framing. */
export interface Exchange {
  method: string;
  /** True for HTTP/1.1 requests: chunked framing is allowed. */
  chunkable: boolean;
  /** True when the request lets the connection persist after this response. */
  persisted: boolean;
}

/**
 * What a Steward's `respond()` may give the Responder (or a promise of it): a fetch Response,
 * hio's CustomResponder (its current parts are sent) or a CustomReply, or the bytes of a whole
 * message (CustomResponder's `build()`).
 */
export type Answer = Response | CustomResponder | CustomReply | Uint8Array;

type Settled = { response: unknown } | { error: unknown };

/** What an answer settles as: a CustomResponder as the reply of its current parts (or the error that refused them). */
function settledOf(response: unknown): Settled {
  if (!(response instanceof CustomResponder)) return { response };
  try {
    return { response: response.reply() };
  } catch (error) {
    return { error };
  }
}

const CLOSE = /(^|,)\s*close\s*(,|$)/i;

/**
 * Writes one response at a time into `txbs`. `start()` takes the app's result (`fail()` an error
 * to answer), `service()` is called once per tick, `abort()` when the peer is gone. Its phase,
 * and the phase of the body's source, are its machine's state (machines/responder.ts); what
 * remains here is data: the result in hand, the body pieces, the framing the head chose.
 */
export class Responder {
  readonly txbs: ByteBuffer;
  readonly name: string;
  readonly highWater: number;
  readonly stepper = new Stepper(responderTable);

  /** The response being written, once the app's result is in hand. */
  response: Response | null = null;
  status = 0;
  /**
   * Whether the head lets the connection persist after this response: set when the head is
   * written, only then. A response that aborts (its body failed or fell short) closes it anyway.
   */
  persisted = false;
  /** Body bytes sent so far. */
  sent = 0;
  /** Error from the app or its body stream, if any. */
  error: unknown = null;

  #exchange: Exchange = { method: "GET", chunkable: true, persisted: true };
  #result: Settled | null = null; // the app's result, from app.settled until it is taken
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #chunks: Array<Uint8Array | string> = []; // body pieces in hand; a body given whole as a string stays one until the head
  #buffered = 0;
  #failure: unknown = null; // why the body source failed (state *.failed)
  #framing: "length" | "chunked" | "close" | "none" = "none"; // chosen with the head
  #length = 0; // declared Content-Length when framing is "length"
  #wholeLength = -1; // size of a body given whole, -1 when it is a stream
  #generation = 0; // ignores app results that settle after a reset
  #fields: readonly string[] | null = null; // an OutgoingResponse's fields, when its Headers were never made

  readonly #notify: (() => void) | null;

  constructor({ txbs, name = "hio-ts", highWater = 65536, notify = null }: ResponderOptions) {
    this.txbs = txbs;
    this.name = name;
    this.highWater = highWater;
    this.#notify = notify;
    offerResponse(); // a server is about to answer: the global Response becomes the cheap one, unless declined
  }

  /**
   * True when its next service would make progress without waiting for the app or its body:
   * a result to take, or body pieces (or the body's end) to pour, or more of the body to read,
   * while the send buffer has room. (The socket taking txbs is what makes room: no event says
   * so, the Steward asks this after each send.)
   */
  get ready(): boolean {
    const state = this.stepper.state;
    if (state === SETTLED) return true;
    if (state === PENDING) return this.#result !== null; // settled since the last tick
    const phase = PHASE[state];
    if (phase === 0) return false;
    const source = SOURCE[state];
    if (source === BROKEN) return true;
    if (phase === HEADING) return source === WHOLE || this.#chunks.length > 0;
    if (this.txbs.length >= this.highWater) return false;
    // something to pour, or room to read more of the body now that txbs went to the socket
    return source === WHOLE || this.#chunks.length > 0 || (source === HELD && this.#roomToRead);
  }

  /** Room to read more of the body: a reader, and the pieces held plus txbs under the high-water mark. */
  get #roomToRead(): boolean {
    return this.#reader !== null && this.#buffered + this.txbs.length < this.highWater;
  }

  get busy(): boolean {
    return this.stepper.hasTag("busy");
  }
  get headed(): boolean {
    return this.stepper.hasTag("headed");
  }
  get ended(): boolean {
    return this.stepper.hasTag("ended");
  }
  get aborted(): boolean {
    return this.stepper.hasTag("aborted");
  }

  /**
   * Takes the app's result for a parsed request: an Answer (a Response, a CustomReply, a whole
   * message's bytes), or a promise (any thenable) of one. Anything else, or a thenable that
   * throws, is answered 500 and never throws here.
   */
  start(result: unknown, exchange: Exchange): void {
    this.#exchange = exchange;
    this.stepper.step(DISPATCHED);
    if (result instanceof NativeResponse || result instanceof CustomReply || result instanceof Uint8Array || result instanceof CustomResponder) {
      this.#settle(settledOf(result));
      return;
    }
    const generation = this.#generation;
    try {
      const then = result !== null && (typeof result === "object" || typeof result === "function") ? (result as { then?: unknown }).then : undefined;
      if (typeof then !== "function") {
        this.#settle({ error: new TypeError(`the app returned ${describe(result)}, not a Response or a promise of one`) });
        return;
      }
      then.call(
        result,
        (response: unknown) => this.#arrive(generation, settledOf(response)),
        (error: unknown) => this.#arrive(generation, { error }),
      );
    } catch (error) {
      this.#arrive(generation, { error });
    }
  }

  /**
   * Answers an error instead of an app's result: one the app threw, or the server's own (a
   * request that broke a rule or a limit, a deadline): HTTPError's status, else 500.
   */
  fail(error: unknown, exchange: Exchange): void {
    this.#exchange = exchange;
    this.stepper.step(DISPATCHED);
    this.#settle({ error });
  }

  #settle(settled: Settled): void {
    this.#result = settled;
    this.stepper.step(SETTLES);
  }

  /**
   * An app's promise settled, between ticks: the result is kept and the machine steps
   * `app.settled` at the connection's next service, so every change of state happens inside a
   * tick. One that comes too late (aborted, or a second one) has its body cancelled.
   */
  #arrive(generation: number, settled: Settled): void {
    if (generation === this.#generation && this.stepper.state === PENDING && this.#result === null) {
      this.#result = settled;
      this.#notify?.();
    } else if ("response" in settled) {
      cancelBody(settled.response);
    }
  }

  /** One tick: take a settled result, send the head when framing is known, pour the body. */
  service(): void {
    if (this.stepper.state === PENDING && this.#result !== null) this.stepper.step(SETTLES);
    if (this.stepper.state === SETTLED) this.#accept(this.#result as Settled);
    if (PHASE[this.stepper.state] === HEADING) this.#head();
    if (PHASE[this.stepper.state] === STREAMING) this.#pour();
  }

  /** The peer went away (or the exchange is given up): cancel the body stream, stop writing. */
  abort(): void {
    if (!this.busy) return;
    const untaken = this.stepper.state === SETTLED || this.stepper.state === PENDING ? this.#result : null;
    this.stepper.step(CUTOFF);
    this.#cancel();
    // A Response that arrived but was not taken yet: whatever feeds its body must stop too.
    if (untaken !== null && "response" in untaken) cancelBody(untaken.response);
    this.#result = null;
  }

  /** Ready for the next response on the same connection (from ended or aborted). */
  reset(): void {
    this.#cancel();
    this.stepper.step(RESET);
    this.#generation += 1;
    this.response = null;
    this.status = 0;
    this.persisted = false;
    this.sent = 0;
    this.error = null;
    this.#result = null;
    this.#chunks.length = 0;
    this.#buffered = 0;
    this.#failure = null;
    this.#framing = "none";
    this.#length = 0;
    this.#wholeLength = -1;
    this.#fields = null;
  }

  #accept(settled: Settled): void {
    this.#result = null;
    if ("response" in settled && settled.response instanceof CustomReply) {
      this.#writeReply(settled.response);
      return;
    }
    if ("response" in settled && settled.response instanceof Uint8Array) {
      this.#writeMessage(settled.response);
      return;
    }
    if ("error" in settled || !(settled.response instanceof NativeResponse)) {
      const error = "error" in settled ? settled.error : new TypeError("the app returned something that is not a Response");
      this.#writeError(error);
      return;
    }
    const response = settled.response;
    // A body given whole (a string or bytes) is taken as it is: the reply can then go out in
    // this same tick, framed by Content-Length, without a read through the body's stream.
    const whole = wholeBody(response);
    if (whole === null && (response.bodyUsed || response.body?.locked === true)) {
      this.#writeError(new TypeError("the app's Response body was already used or locked: return a fresh Response"));
      return;
    }
    this.response = response;
    const parts = outgoingParts(response);
    if (parts !== null) {
      // Sent from its parts: status and fields as given, no Headers object made.
      this.status = parts.status;
      if (parts.headers === null) this.#fields = parts.fields;
    } else {
      this.status = response.status;
    }
    if (whole !== null) {
      this.#wholeLength = whole.length;
      if (this.#bodyAllowed() && whole.length > 0) {
        this.#chunks.push(whole instanceof Uint8Array ? whole : whole.text); // a string is encoded straight into txbs after the head
        this.#buffered = whole.length;
      }
      this.stepper.step(WHOLE_TAKEN);
      return;
    }
    const body = response.body;
    if (body !== null && this.#bodyAllowed()) {
      try {
        this.#reader = body.getReader();
      } catch (error) {
        this.response = null;
        this.#writeError(error);
        return;
      }
      this.stepper.step(STREAM_TAKEN);
      this.#pull();
    } else {
      if (body !== null) void body.cancel().catch(() => {});
      this.stepper.step(WHOLE_TAKEN);
    }
  }

  /** HEAD, 1xx, 204 and 304 carry no content (RFC 9112 §6.3). */
  #bodyAllowed(): boolean {
    const status = this.status;
    return !(this.#exchange.method === "HEAD" || status < 200 || status === 204 || status === 304);
  }

  #head(): void {
    const response = this.response as Response;
    const fields = this.#fields;
    const headers = fields === null ? response.headers : null;
    const declared = headers !== null ? headers.get("content-length") : fieldOf(fields!, "content-length");
    const event = ((headers !== null ? headers.get("content-type") : fieldOf(fields!, "content-type")) ?? "").startsWith("text/event-stream");
    const source = SOURCE[this.stepper.state];
    if ((source === HELD || source === READING) && this.#chunks.length === 0 && declared === null && !event) {
      return; // wait for the first body piece (or the end) to choose the framing
    }
    if (source === BROKEN) {
      // The body failed before anything went out: the error becomes the response.
      const error = this.#failure;
      this.#cancel();
      this.#chunks = [];
      this.#buffered = 0;
      this.#failure = null;
      this.#writeError(error);
      return;
    }
    let persisted = this.#exchange.persisted && !CLOSE.test((headers !== null ? headers.get("connection") : fieldOf(fields!, "connection")) ?? "");
    let framing: "length" | "chunked" | "close" | "none";
    let length = 0;
    if (!this.#bodyAllowed()) {
      framing = "none";
    } else if (declared !== null && /^\d+$/.test(declared)) {
      framing = "length";
      length = Number(declared);
    } else if (source === WHOLE) {
      framing = "length";
      length = this.#buffered;
    } else if (this.#exchange.chunkable) {
      framing = "chunked";
    } else {
      framing = "close";
      persisted = false;
    }
    this.#framing = framing;
    this.#length = length;
    this.persisted = persisted;
    if (this.#wholeLength < 0 && source === WHOLE && this.#chunks.length === 1) {
      // A native body read whole through its stream (where undici keeps its source private): kept,
      // so the same Response returned again goes out whole too.
      keepBody(response, this.#chunks[0] as Uint8Array);
    }

    let head = `HTTP/1.1 ${this.status} ${response.statusText || statusReason(this.status)}\r\n`;
    let hasServer = false;
    let hasDate = false;
    if (headers !== null) {
      for (const [name, value] of headers) {
        if (name === "content-length" || name === "transfer-encoding" || name === "connection") continue;
        if (name === "server") hasServer = true;
        else if (name === "date") hasDate = true;
        head += `${name}: ${value}\r\n`;
      }
    } else {
      const list = fields!;
      for (let i = 0; i < list.length; i += 3) {
        const name = list[i]!;
        if (name === "content-length" || name === "transfer-encoding" || name === "connection") continue;
        if (name === "server") hasServer = true;
        else if (name === "date") hasDate = true;
        head += `${name}: ${list[i + 1]!}\r\n`;
      }
    }
    if (!hasServer) head += `server: ${this.name}\r\n`;
    if (!hasDate) head += `date: ${httpDate1123()}\r\n`;
    const headLength = declared ?? (this.#wholeLength >= 0 ? String(this.#wholeLength) : null);
    if (framing === "length" || (framing === "none" && headLength !== null && this.#exchange.method === "HEAD")) {
      head += `content-length: ${framing === "length" ? length : headLength}\r\n`;
    } else if (framing === "none" && this.#exchange.method !== "HEAD" && this.status !== 204 && this.status !== 304 && this.status >= 200) {
      head += "content-length: 0\r\n";
    } else if (framing === "chunked") {
      head += "transfer-encoding: chunked\r\n";
    }
    if (!persisted) head += "connection: close\r\n";
    else if (!this.#exchange.chunkable) head += "connection: keep-alive\r\n";
    head += "\r\n";
    this.txbs.pushText(head, "latin1");
    const text = this.#chunks[0];
    if (typeof text === "string") {
      if (framing === "length" && length === this.#buffered) {
        this.#chunks.shift();
        this.sent = this.txbs.pushText(text, "utf8", length); // short of length: closed as a short body
        this.#buffered = 0;
      } else {
        this.#chunks[0] = Buffer.from(text, "utf8"); // framed otherwise: poured as bytes
      }
    }
    this.stepper.step(HEAD_SENT);
  }

  /** Writes hio's CustomReply whole, with the exchange's connection fields; the body left out for HEAD. */
  #writeReply(reply: CustomReply): void {
    const { persisted, chunkable, method } = this.#exchange;
    let close = false;
    for (const [field, value] of reply.fields) if (field.toLowerCase() === "connection" && CLOSE.test(value)) close = true;
    this.status = reply.status;
    this.persisted = persisted && !close;
    writeReply(this.txbs, reply, { name: this.name, persisted: this.persisted, chunkable, head: method === "HEAD" });
    this.stepper.step(WRITTEN);
  }

  /**
   * Writes the bytes of a whole message (as CustomResponder's `build()` makes) as they are, only
   * the body left out for HEAD. Its status line gives the status; its Connection field, whether
   * the connection may persist.
   */
  #writeMessage(bytes: Uint8Array): void {
    const message = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = message.indexOf("\r\n\r\n");
    const line = /^HTTP\/1\.[01] ([1-9]\d\d) /.exec(message.toString("latin1", 0, Math.min(message.length, 16)));
    if (end === -1 || line === null) {
      this.#writeError(new TypeError("the app returned bytes that are not a whole HTTP/1.1 message"));
      return;
    }
    const head = message.toString("latin1", 0, end + 2);
    const connection = /\r\nconnection:[ \t]*([^\r]*)/i.exec(head);
    this.status = Number(line[1]);
    this.persisted = this.#exchange.persisted && !(connection !== null && CLOSE.test(connection[1]!));
    this.txbs.push(this.#exchange.method === "HEAD" ? message.subarray(0, end + 4) : message);
    this.stepper.step(WRITTEN);
  }

  /** Writes the response for an error whole (HTTPError: its own status; else 500). */
  #writeError(error: unknown): void {
    this.error = error;
    const { persisted, chunkable, method } = this.#exchange;
    const message = errorMessage(error, { name: this.name, persisted, chunkable, head: method === "HEAD" });
    this.status = message.status;
    this.persisted = message.persisted;
    this.txbs.push(message.bytes);
    this.stepper.step(WRITTEN);
  }

  #pour(): void {
    while (this.#chunks.length > 0 && this.txbs.length < this.highWater) {
      const chunk = this.#chunks.shift() as Uint8Array; // strings became bytes at the head
      this.#buffered -= chunk.length;
      this.#write(chunk);
    }
    const source = SOURCE[this.stepper.state];
    if (this.#chunks.length === 0 && source === BROKEN) {
      this.error = this.#failure;
      this.stepper.step(FAILED);
      this.#cancel();
      return;
    }
    if (this.#chunks.length === 0 && source === WHOLE) {
      if (this.#framing === "chunked") this.txbs.push(LAST_CHUNK);
      // Short of its Content-Length: the client cannot tell where it ends, so it aborts (RFC 9112 §8).
      this.stepper.step(this.#framing === "length" && this.sent < this.#length ? FAILED : BODY_ENDED);
      return;
    }
    if (this.#framing === "length" && this.sent >= this.#length) {
      // Declared length reached: what the app still has is cut off (never exceed Content-Length).
      this.#cancel();
      this.#chunks = [];
      this.stepper.step(BODY_ENDED);
      return;
    }
    this.#pull();
  }

  #write(chunk: Uint8Array): void {
    let piece = chunk;
    if (this.#framing === "length") {
      const room = this.#length - this.sent;
      if (room <= 0) return;
      if (piece.length > room) piece = piece.subarray(0, room);
    }
    if (piece.length === 0) return;
    if (this.#framing === "chunked") {
      this.txbs.push(piece.length.toString(16) + "\r\n");
      this.txbs.push(piece);
      this.txbs.push(CRLF);
    } else {
      this.txbs.push(piece);
    }
    this.sent += piece.length;
  }

  /** Starts a read of the body stream unless one is under way, it has ended, or the buffers are full. */
  #pull(): void {
    const state = this.stepper.state;
    const reader = this.#reader;
    if (SOURCE[state] !== HELD || reader === null) return;
    // Past the high-water mark, read no further; but before the head, read on until a second
    // piece or the end, so a body given whole (one large piece) still gets a Content-Length.
    const choosing = PHASE[state] === HEADING && this.#chunks.length < 2;
    if (!this.#roomToRead && !choosing) return;
    this.stepper.step(READ);
    // A read that settles after its reader was let go (cancelled, aborted, reset) is ignored.
    reader.read().then(
      (result) => {
        if (reader !== this.#reader) return;
        this.#notify?.();
        if (result.done) {
          this.#reader = null;
          this.stepper.step(END);
          return;
        }
        const value = result.value as unknown;
        const chunk = value instanceof Uint8Array ? value : typeof value === "string" ? Buffer.from(value) : null;
        if (chunk === null) {
          this.#failure = new TypeError("a response body stream must yield Uint8Array chunks");
          this.stepper.step(BROKE);
          return;
        }
        this.#chunks.push(chunk);
        this.#buffered += chunk.length;
        this.stepper.step(PIECE);
        this.#pull(); // read ahead so the end is often known by the next tick
      },
      (error: unknown) => {
        if (reader !== this.#reader) return;
        this.#failure = error ?? new Error("response body stream failed");
        this.stepper.step(BROKE);
        this.#notify?.();
      },
    );
  }

  #cancel(): void {
    const reader = this.#reader;
    this.#reader = null;
    if (reader !== null) void reader.cancel().catch(() => {});
  }
}

/** A field's value from an OutgoingResponse's fields, repeats joined as Headers.get joins them; null if absent. */
function fieldOf(fields: readonly string[], name: string): string | null {
  let value: string | null = null;
  for (let i = 0; i < fields.length; i += 3) {
    if (fields[i] === name) value = value === null ? fields[i + 1]! : `${value}, ${fields[i + 1]!}`;
  }
  return value;
}
