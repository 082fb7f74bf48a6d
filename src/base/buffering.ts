/**
 * A growable byte queue: hio's bytearray buffers (rxbs, txbs) without a copy per consume.
 * Bytes are appended at the back and consumed from the front; the unread window is a
 * view into one backing array, compacted or grown only when an append needs room.
 */

const utf8 = new TextDecoder("utf-8");

export class ByteBuffer {
  #buf: Buffer;
  #head = 0; // index of the first unread byte
  #tail = 0; // index one past the last byte
  #lowWater = -1; // watch(): tell #low once length falls to this
  #low: (() => void) | null = null;

  constructor(capacity = 4096) {
    this.#buf = Buffer.alloc(Math.max(16, capacity));
  }

  /** Number of unread bytes. */
  get length(): number {
    return this.#tail - this.#head;
  }

  /** Unread bytes as a view (no copy); valid until the next push, shift or clear. */
  view(): Uint8Array {
    // A plain Uint8Array (not a Buffer, whose slice() would be a view too).
    const buf = this.#buf;
    return new Uint8Array(buf.buffer, buf.byteOffset + this.#head, this.#tail - this.#head);
  }

  /** Byte at offset `i` from the front (undefined past the end). */
  at(i: number): number | undefined {
    const j = this.#head + i;
    return j < this.#tail && i >= 0 ? this.#buf[j] : undefined;
  }

  /** Appends bytes (a string is UTF-8 encoded). */
  push(data: Uint8Array | string): void {
    if (typeof data === "string") {
      this.pushText(data);
      return;
    }
    const n = data.length;
    if (n === 0) return;
    this.#reserve(n);
    this.#buf.set(data, this.#tail);
    this.#tail += n;
  }

  /**
   * Appends a string encoded straight into the buffer (no intermediate bytes): UTF-8, or latin1
   * (one byte per char, as HTTP heads are written). `bytes` is its encoded size when known (at
   * most that many are written). Returns the number of bytes appended.
   */
  pushText(text: string, encoding: "utf8" | "latin1" = "utf8", bytes?: number): number {
    const n = bytes ?? (encoding === "latin1" ? text.length : Buffer.byteLength(text, "utf8"));
    if (n === 0) return 0;
    this.#reserve(n);
    const written = this.#buf.write(text, this.#tail, n, encoding);
    this.#tail += written;
    return written;
  }

  /** Drops `n` bytes (default all) from the front. */
  shift(n = this.length): void {
    this.#head += Math.min(Math.max(0, n), this.length);
    if (this.#head === this.#tail) this.#head = this.#tail = 0;
    if (this.#low !== null && this.#tail - this.#head <= this.#lowWater) this.#fall();
  }

  /**
   * Calls `low` once, the first time a consumer brings the length down to `level` or below (a
   * reader held back by this buffer's fill can then go on); null stops watching.
   */
  watch(level: number, low: (() => void) | null): void {
    this.#lowWater = level;
    this.#low = low;
  }

  #fall(): void {
    const low = this.#low;
    this.#low = null;
    this.#lowWater = -1;
    low?.();
  }

  /** Removes and returns up to `n` bytes from the front as a fresh copy. */
  take(n = this.length): Uint8Array {
    const m = Math.min(Math.max(0, n), this.length);
    const out = new Uint8Array(this.#buf.subarray(this.#head, this.#head + m)); // a copy (Buffer#slice is a view)
    this.shift(m);
    return out;
  }

  /** Drops everything. */
  clear(): void {
    this.#head = this.#tail = 0;
    if (this.#low !== null) this.#fall();
  }

  /** Offset from the front of the first `byte` at or after `from`, or -1. */
  indexOf(byte: number, from = 0): number {
    const j = this.#buf.indexOf(byte, this.#head + Math.max(0, from));
    return j === -1 || j >= this.#tail ? -1 : j - this.#head;
  }

  /** Unread bytes decoded as text (latin1 keeps one char per byte). */
  toString(encoding: "utf-8" | "latin1" = "utf-8"): string {
    // Buffer's latin1 keeps one char per byte; TextDecoder("latin1") is windows-1252 (WHATWG),
    // which Node 24 follows: 0x80-0x9F would become other characters there.
    if (encoding === "latin1") return this.#buf.toString("latin1", this.#head, this.#tail);
    return utf8.decode(this.view());
  }

  #reserve(n: number): void {
    const size = this.#buf.length;
    if (this.#tail + n <= size) return;
    const live = this.length;
    if (live + n <= size && this.#head >= size >>> 1) {
      // Enough room once the consumed front is reclaimed: slide the live bytes down.
      this.#buf.copyWithin(0, this.#head, this.#tail);
    } else {
      let grown = size * 2;
      while (grown < live + n) grown *= 2;
      const buf = Buffer.alloc(grown);
      buf.set(this.#buf.subarray(this.#head, this.#tail));
      this.#buf = buf;
    }
    this.#head = 0;
    this.#tail = live;
  }
}
