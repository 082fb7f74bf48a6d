/**
 * A growable byte queue: hio's bytearray buffers (rxbs, txbs) without a copy per consume.
 * Bytes are appended at the back and consumed from the front; the unread window is a
 * view into one backing array, compacted or grown only when an append needs room.
 */

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

export class ByteBuffer {
  #buf: Uint8Array;
  #head = 0; // index of the first unread byte
  #tail = 0; // index one past the last byte

  constructor(capacity = 4096) {
    this.#buf = new Uint8Array(Math.max(16, capacity));
  }

  /** Number of unread bytes. */
  get length(): number {
    return this.#tail - this.#head;
  }

  /** Unread bytes as a view (no copy); valid until the next push, shift or clear. */
  view(): Uint8Array {
    return this.#buf.subarray(this.#head, this.#tail);
  }

  /** Byte at offset `i` from the front (undefined past the end). */
  at(i: number): number | undefined {
    const j = this.#head + i;
    return j < this.#tail && i >= 0 ? this.#buf[j] : undefined;
  }

  /** Appends bytes (a string is UTF-8 encoded). */
  push(data: Uint8Array | string): void {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    const n = bytes.length;
    if (n === 0) return;
    this.#reserve(n);
    this.#buf.set(bytes, this.#tail);
    this.#tail += n;
  }

  /** Drops `n` bytes (default all) from the front. */
  shift(n = this.length): void {
    this.#head += Math.min(Math.max(0, n), this.length);
    if (this.#head === this.#tail) this.#head = this.#tail = 0;
  }

  /** Removes and returns up to `n` bytes from the front as a fresh copy. */
  take(n = this.length): Uint8Array {
    const m = Math.min(Math.max(0, n), this.length);
    const out = this.#buf.slice(this.#head, this.#head + m);
    this.shift(m);
    return out;
  }

  /** Drops everything. */
  clear(): void {
    this.#head = this.#tail = 0;
  }

  /** Offset from the front of the first `byte` at or after `from`, or -1. */
  indexOf(byte: number, from = 0): number {
    const j = this.#buf.indexOf(byte, this.#head + Math.max(0, from));
    return j === -1 || j >= this.#tail ? -1 : j - this.#head;
  }

  /** Unread bytes decoded as text (latin1 keeps one char per byte). */
  toString(encoding: "utf-8" | "latin1" = "utf-8"): string {
    return (encoding === "latin1" ? latin1 : utf8).decode(this.view());
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
      const buf = new Uint8Array(grown);
      buf.set(this.#buf.subarray(this.#head, this.#tail));
      this.#buf = buf;
    }
    this.#head = 0;
    this.#tail = live;
  }
}
