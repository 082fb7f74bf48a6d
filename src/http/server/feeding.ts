/**
 * BodyFeed: a streamed request body, fed by the Requestant from the connection's rxbs as the app
 * reads it. Bytes in (from the parse, inside a tick), a ReadableStream out (to the app).
 *
 * The feed takes bytes only after the app has asked for some (a read on an empty stream) and
 * then at most `budget` unread bytes: until the app reads, the Requestant leaves the body in
 * rxbs, rxbs fills to the high-water mark and the socket is paused. A read on the empty stream
 * calls `onDemand` (mark the connection ready) so that the parse resumes in the next tick.
 */

/** Where a feed is: taking bytes, ended whole, failed (the reason is the stream's error), or cancelled by the app. */
export type FeedState = "open" | "closed" | "errored" | "cancelled";

export interface BodyFeedOptions {
  /** Called, outside any tick, when the app waits on an empty stream (or cancels it). */
  onDemand?: (() => void) | null;
  /** Most unread bytes the feed holds (default BodyFeed.Budget). */
  budget?: number;
}

/** One request's body as a byte stream with a bounded buffer. */
export class BodyFeed {
  /** Default most unread bytes held: one receive's worth, so a tick's arrival fits. */
  static Budget = 262144;

  readonly stream: ReadableStream<Uint8Array<ArrayBuffer>>;
  readonly budget: number;
  /** Body bytes handed to the stream so far. */
  fed = 0;
  #controller!: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>;
  #state: FeedState = "open";
  #demanded = false;
  #onDemand: (() => void) | null;

  constructor({ onDemand = null, budget = BodyFeed.Budget }: BodyFeedOptions = {}) {
    this.budget = Math.max(1, budget);
    this.#onDemand = onDemand;
    // highWaterMark 0: pull runs only when a read waits on an empty queue (the app reads), never
    // at construction; the size counts bytes, so desiredSize is minus the unread bytes.
    this.stream = new ReadableStream<Uint8Array<ArrayBuffer>>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => {
          this.#demanded = true;
          this.#onDemand?.();
        },
        cancel: () => {
          if (this.#state !== "open") return;
          this.#state = "cancelled";
          this.#onDemand?.();
        },
      },
      { highWaterMark: 0, size: (chunk) => chunk.byteLength },
    );
  }

  get state(): FeedState {
    return this.#state;
  }

  /** True once the app has asked for body bytes (a read, `text()` and the like). */
  get demanded(): boolean {
    return this.#demanded;
  }

  /** True while more body may come: neither ended, failed nor cancelled. */
  get open(): boolean {
    return this.#state === "open";
  }

  /** Bytes handed to the stream and not yet read by the app. */
  get unread(): number {
    return this.#state === "open" ? Math.max(0, -(this.#controller.desiredSize ?? 0)) : 0;
  }

  /** Bytes the feed takes now: none before the app's first read, then up to the budget unread. */
  get room(): number {
    if (this.#state === "cancelled") return Infinity; // the app let go: the rest is dropped
    if (this.#state !== "open" || !this.#demanded) return 0;
    return Math.max(0, this.budget + (this.#controller.desiredSize ?? 0));
  }

  /** Hands body bytes (owned by the stream from now on) to the app; dropped once cancelled. */
  push(bytes: Uint8Array<ArrayBuffer>): void {
    this.fed += bytes.length;
    if (this.#state === "open" && bytes.length > 0) this.#controller.enqueue(bytes);
  }

  /** The body ended: the app reads to its end, then done. */
  close(): void {
    if (this.#state !== "open") return;
    this.#state = "closed";
    this.#controller.close();
  }

  /** The body failed (over the limit, broken, cut off, too late): the app's next read rejects with `reason`. */
  error(reason: unknown): void {
    if (this.#state !== "open") return;
    this.#state = "errored";
    this.#controller.error(reason);
  }
}

/** Reads a stream to its end into one array (the stream's error rejects it). */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  if (chunks.length === 1 && chunks[0]!.byteOffset === 0 && chunks[0]!.byteLength === chunks[0]!.buffer.byteLength) {
    return chunks[0] as Uint8Array<ArrayBuffer>;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
