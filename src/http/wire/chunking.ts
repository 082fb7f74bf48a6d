/**
 * The chunked transfer coding (RFC 9112 §7.1), for both sides: a scanner for chunk-size lines
 * with their extensions, the extension parser for hio's `parms`, the reader that takes a chunked
 * body off a receive buffer a chunk at a time (the server's Requestant and the client's
 * Respondent both read theirs with it), and the growing byte sink a body is gathered into. Like
 * the head scanners, they check each byte once, remember where they stopped, and answer MORE
 * (0), DONE (1) or 400 with a reason in `detail`.
 */
import type { ByteBuffer } from "../../base/buffering.ts";
import { CR, CharClass, FVCHAR, HexValue, LF, QDTEXT, TCHAR, WS, latin1 } from "./httping.ts";
import { DONE, MORE } from "./scanning.ts";

const SEMI = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_SIZE = Math.floor(Number.MAX_SAFE_INTEGER / 16);

// Phases of a chunk-size line: `1*HEXDIG *( BWS ";" BWS name [ BWS "=" BWS value ] ) CRLF`.
const Chunk = {
  Size0: 0, Size: 1, SizeBWS: 2, NameBWS: 3, Name: 4, AfterName: 5, ValueBWS: 6, Token: 7,
  Quoted: 8, Escape: 9, AfterValue: 10, LF: 11,
} as const;

/**
 * Scans one chunk-size line (hio's parseChunk head): the size in hex, then extensions with token
 * or quoted-string values. Refuses whitespace not before ";" or "=", a ";" without a name, bare CR
 * or LF, and sizes past 2^53.
 */
export class ChunkScanner {
  start = 0;
  size = 0;
  extStart = -1; // offset of the first ";", -1 without extensions
  lineEnd = 0; // offset of the CR
  next = 0; // offset just past the LF
  detail = "";
  #phase: number = Chunk.Size0;
  #pos = 0;

  reset(start = 0): void {
    this.start = this.#pos = start;
    this.size = this.lineEnd = this.next = 0;
    this.extStart = -1;
    this.detail = "";
    this.#phase = Chunk.Size0;
  }

  scan(buf: Uint8Array, maxLine: number): number {
    const end = Math.min(buf.length, this.start + maxLine + 2); // the line and its CRLF
    let p = this.#pos;
    let phase: number = this.#phase;
    try {
      for (; p < end; p++) {
        const b = buf[p] as number;
        const c = CharClass[b] as number;
        switch (phase) {
          case Chunk.Size0:
          case Chunk.Size: {
            const digit = HexValue[b] as number;
            if (digit >= 0) {
              if (this.size > MAX_SIZE) return this.#fail("chunk size overflow");
              this.size = this.size * 16 + digit;
              phase = Chunk.Size;
            } else if (phase === Chunk.Size0) return this.#fail("chunk size must start with a hex digit");
            else if (b === SEMI) phase = this.#semicolon(p);
            else if (c & WS) phase = Chunk.SizeBWS;
            else if (b === CR) phase = this.#cr(p);
            else return this.#fail("invalid byte after the chunk size");
            break;
          }
          case Chunk.SizeBWS:
            if (b === SEMI) phase = this.#semicolon(p);
            else if (!(c & WS)) return this.#fail("whitespace after the chunk size without an extension");
            break;
          case Chunk.NameBWS:
            if (c & TCHAR) phase = Chunk.Name;
            else if (!(c & WS)) return this.#fail("chunk extension without a name");
            break;
          case Chunk.Name:
            if (c & TCHAR) break;
            if (b === EQUALS) phase = Chunk.ValueBWS;
            else if (b === SEMI) phase = Chunk.NameBWS;
            else if (b === CR) phase = this.#cr(p);
            else if (c & WS) phase = Chunk.AfterName;
            else return this.#fail("invalid byte in a chunk extension name");
            break;
          case Chunk.AfterName:
            if (b === EQUALS) phase = Chunk.ValueBWS;
            else if (b === SEMI) phase = Chunk.NameBWS;
            else if (!(c & WS)) return this.#fail("invalid byte after a chunk extension name");
            break;
          case Chunk.ValueBWS:
            if (b === DQUOTE) phase = Chunk.Quoted;
            else if (c & TCHAR) phase = Chunk.Token;
            else if (!(c & WS)) return this.#fail("chunk extension without a value after =");
            break;
          case Chunk.Token:
            if (c & TCHAR) break;
            if (b === SEMI) phase = Chunk.NameBWS;
            else if (b === CR) phase = this.#cr(p);
            else if (c & WS) phase = Chunk.AfterValue;
            else return this.#fail("invalid byte in a chunk extension value");
            break;
          case Chunk.Quoted:
            if (b === DQUOTE) phase = Chunk.AfterValue;
            else if (b === BACKSLASH) phase = Chunk.Escape;
            else if (!(c & QDTEXT)) return this.#fail("invalid byte in a quoted chunk extension value");
            break;
          case Chunk.Escape:
            if (!(c & (FVCHAR | WS))) return this.#fail("invalid quoted-pair in a chunk extension value");
            phase = Chunk.Quoted;
            break;
          case Chunk.AfterValue:
            // Right after a quoted value CRLF may follow; after whitespace only ";" may.
            if (b === SEMI) phase = Chunk.NameBWS;
            else if (b === CR && buf[p - 1] === DQUOTE) phase = this.#cr(p);
            else if (!(c & WS)) return this.#fail("invalid byte after a chunk extension value");
            break;
          case Chunk.LF:
            if (b !== LF) return this.#fail("CR not followed by LF after the chunk size");
            p += 1;
            this.next = p;
            return DONE;
        }
      }
      if (p - this.start > maxLine + 1) return this.#fail("chunk-size line too long");
      return MORE;
    } finally {
      this.#pos = p;
      this.#phase = phase;
    }
  }

  /** The scanned line's extensions added to `into` (name → value, null without one). */
  extensions(buf: Uint8Array, into: Map<string, string | null>): void {
    if (this.extStart >= 0) parseExtensions(latin1(buf, this.extStart, this.lineEnd), into);
  }

  #semicolon(p: number): number {
    if (this.extStart < 0) this.extStart = p;
    return Chunk.NameBWS;
  }

  #cr(p: number): number {
    this.lineEnd = p;
    return Chunk.LF;
  }

  #fail(detail: string): number {
    this.detail = detail;
    return 400;
  }
}

/** What ChunkedReader.data answers when `take` refused the bytes (the caller knows why). */
export const REFUSED = 2;

/**
 * Reads a chunked body off the front of a receive buffer, one piece per call, resuming at any
 * byte boundary: `line()` a chunk-size line, then `data()` that chunk's bytes and its CRLF,
 * again until the last chunk (size 0); the trailer section after it is a field section
 * (FieldScanner). What the bytes mean for the parser's machine (chunk.sized, chunk.parsed,
 * chunk.last) and where the data goes are the caller's.
 */
export class ChunkedReader {
  /** Size of the chunk whose line was read last: 0 for the last chunk. */
  size = 0;
  /** Data bytes of that chunk still to come. */
  remaining = 0;
  /** Chunk-extension bytes of this body so far (RFC 9112 §7.1.1: a recipient ought to limit them). */
  extensionBytes = 0;
  detail = "";
  readonly #scanner = new ChunkScanner();
  #crlf = 0; // bytes of the CRLF after the data seen

  /** Readies for a new body. */
  reset(): void {
    this.#scanner.reset(0);
    this.size = this.remaining = this.extensionBytes = this.#crlf = 0;
    this.detail = "";
  }

  /**
   * The chunk-size line at the front of `msg`: MORE; DONE with the line consumed, `size` and
   * `remaining` set and its extensions added to `parms`; or 400 with `detail`.
   */
  line(msg: ByteBuffer, maxLine: number, parms: Map<string, string | null>): number {
    const scanner = this.#scanner;
    const buf = msg.view();
    const result = scanner.scan(buf, maxLine);
    if (result !== DONE) {
      if (result !== MORE) this.detail = scanner.detail;
      return result;
    }
    if (scanner.extStart >= 0) this.extensionBytes += scanner.lineEnd - scanner.extStart;
    scanner.extensions(buf, parms);
    msg.shift(scanner.next);
    this.size = this.remaining = scanner.size;
    this.#crlf = 0;
    scanner.reset(0);
    return DONE;
  }

  /**
   * The current chunk's data at the front of `msg`, as much as has come and `room` allows,
   * handed to `take(n)` (which consumes `msg[0, n)`), then the CRLF after it: MORE; DONE once
   * the chunk is whole; REFUSED when `take` said no; or 400 with `detail`.
   */
  data(msg: ByteBuffer, room: number, take: (n: number) => boolean): number {
    if (this.remaining > 0) {
      const n = Math.min(msg.length, this.remaining, room);
      if (n === 0) return MORE;
      if (!take(n)) return REFUSED;
      this.remaining -= n;
      if (this.remaining > 0) return MORE;
    }
    while (this.#crlf < 2) {
      const b = msg.at(0);
      if (b === undefined) return MORE;
      if (b !== (this.#crlf === 0 ? CR : LF)) {
        this.detail = "chunk data not followed by CRLF";
        return 400;
      }
      msg.shift(1);
      this.#crlf += 1;
    }
    return DONE;
  }
}

/**
 * Parses chunk extensions already checked by ChunkScanner (`;name=value;name="quoted"`) into
 * `into`; a quoted value is unescaped, a later name replaces an earlier one.
 */
export function parseExtensions(text: string, into: Map<string, string | null>): void {
  const n = text.length;
  let i = skipWS(text, 0);
  while (i < n && text.charCodeAt(i) === SEMI) {
    i = skipWS(text, i + 1);
    let end = tokenEnd(text, i);
    const name = text.slice(i, end);
    if (!name) return;
    i = skipWS(text, end);
    let value: string | null = null;
    if (text.charCodeAt(i) === EQUALS) {
      i = skipWS(text, i + 1);
      if (text.charCodeAt(i) === DQUOTE) {
        let out = "";
        for (i += 1; i < n && text.charCodeAt(i) !== DQUOTE; i++) {
          if (text.charCodeAt(i) === BACKSLASH) i += 1;
          out += text[i] ?? "";
        }
        value = out;
        i += 1;
      } else {
        end = tokenEnd(text, i);
        value = text.slice(i, end);
        i = end;
      }
      i = skipWS(text, i);
    }
    into.set(name, value);
  }
}

function skipWS(text: string, i: number): number {
  while (i < text.length && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  return i;
}

function tokenEnd(text: string, i: number): number {
  while (i < text.length && text.charCodeAt(i) < 256 && CharClass[text.charCodeAt(i)]! & TCHAR) i++;
  return i;
}

const EMPTY = new Uint8Array(0);

/**
 * A body being gathered piece by piece. With the total known (`hint`, a Content-Length) it fills
 * one buffer of exactly that size and hands it over without a copy; otherwise (chunks) it fills a
 * scratch buffer kept from body to body, grown by doubling, and hands over an exact copy.
 */
export class Accrual {
  static readonly ScratchKeep = 64 * 1024; // a larger scratch buffer is dropped after use

  #buf: Uint8Array<ArrayBuffer> = EMPTY;
  #size = 0;
  #exact = false; // #buf was sized for this body alone

  get size(): number {
    return this.#size;
  }

  /** Appends `bytes[start, end)`; `hint` is the body's whole size when known. */
  push(bytes: Uint8Array, start: number, end: number, hint = 0): void {
    const n = end - start;
    if (n <= 0) return;
    const need = this.#size + n;
    if (need > this.#buf.length) {
      // Grow with what arrived (doubling), never past the announced size: a Content-Length
      // alone must not make the server reserve memory the peer never sends.
      let size = Math.max(need, this.#buf.length * 2, 256);
      if (hint >= need) size = Math.min(size, hint);
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(0, this.#size));
      this.#buf = grown;
      this.#exact = size === hint;
    }
    this.#buf.set(bytes.subarray(start, end), this.#size);
    this.#size = need;
  }

  /**
   * Gathers a body of `length` bytes in all from the front of `msg`, consuming what has come of
   * it: the whole body once its last byte is in (one copy straight out of `msg` when it came
   * at once), else null.
   */
  gather(msg: ByteBuffer, length: number): Uint8Array<ArrayBuffer> | null {
    const need = length - this.#size;
    if (this.#size === 0 && msg.length >= need) return msg.take(need) as Uint8Array<ArrayBuffer>;
    const n = Math.min(msg.length, need);
    this.push(msg.view(), 0, n, length);
    msg.shift(n);
    return n === need ? this.take() : null;
  }

  /** Drops what was gathered (an abandoned body). */
  clear(): void {
    if (this.#exact || this.#buf.length > Accrual.ScratchKeep) this.#buf = EMPTY;
    this.#size = 0;
    this.#exact = false;
  }

  /** The gathered bytes, exactly `size` long, and a fresh start. */
  take(): Uint8Array<ArrayBuffer> {
    let out: Uint8Array<ArrayBuffer>;
    if (this.#exact && this.#size === this.#buf.length) {
      out = this.#buf;
      this.#buf = EMPTY;
    } else {
      out = this.#size === 0 ? EMPTY : this.#buf.slice(0, this.#size);
      if (this.#exact || this.#buf.length > Accrual.ScratchKeep) this.#buf = EMPTY;
    }
    this.#size = 0;
    this.#exact = false;
    return out;
  }
}
