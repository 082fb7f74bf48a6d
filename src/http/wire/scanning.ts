/**
 * Byte scanners for a request head (RFC 9112 §3, §5): the request line and a field section
 * (the header section, or a chunked body's trailer section). They validate each byte once as it
 * arrives and remember where they stopped, so a head split at any byte boundary scans in linear
 * time and a bad byte is refused at once, before the line or section ends.
 *
 * Offsets are from the front of the caller's buffer, which must not be consumed while a scan is
 * under way. `scan()` answers MORE (0), DONE (1) or the HTTP status to answer (400, 414, 431, 505)
 * with a reason in `detail`. Nothing is allocated per byte.
 */
import { COLON, CR, CharClass, DIGIT, FVCHAR, LF, SP, TARGET, TCHAR, WS, latin1 } from "./httping.ts";
import type { ByteBuffer } from "../../base/buffering.ts";
import type { Hict } from "./hicting.ts";

export const MORE = 0;
export const DONE = 1;

const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"

// Request-line phases.
const Line = { Start: 0, LeadLF: 1, Method: 2, Target0: 3, Target: 4, Version: 5, LF: 6 } as const;

/** Scans `method SP request-target SP HTTP-version CRLF`, ignoring one empty line before it. */
export class RequestLineScanner {
  start = 0; // offset of the method
  methodEnd = 0;
  targetStart = 0;
  targetEnd = 0;
  lineEnd = 0; // offset of the CR
  next = 0; // offset just past the LF
  major = 0;
  minor = 0;
  detail = "";
  #phase: number = Line.Start;
  #pos = 0;
  #versionStart = 0;
  #skipped = false; // the one empty line allowed before the request line (RFC 9112 §2.2)

  reset(): void {
    this.start = this.methodEnd = this.targetStart = this.targetEnd = this.lineEnd = this.next = 0;
    this.major = this.minor = 0;
    this.detail = "";
    this.#phase = Line.Start;
    this.#pos = this.#versionStart = 0;
    this.#skipped = false;
  }

  scan(buf: Uint8Array, maxLine: number): number {
    const end = buf.length;
    let p = this.#pos;
    let phase: number = this.#phase;
    try {
      while (p < end) {
        switch (phase) {
          case Line.Start: {
            const b = buf[p] as number;
            if (b === CR && !this.#skipped) {
              phase = Line.LeadLF;
              p += 1;
            } else if (CharClass[b]! & TCHAR) {
              this.start = p;
              phase = Line.Method;
              p += 1;
            } else {
              return this.#fail(400, b === LF ? "bare LF before the request line" : "request line must start with a method token");
            }
            break;
          }
          case Line.LeadLF:
            if (buf[p] !== LF) return this.#fail(400, "bare CR before the request line");
            this.#skipped = true;
            phase = Line.Start;
            p += 1;
            break;
          case Line.Method: {
            const stop = Math.min(end, this.start + maxLine + 1); // no further than just past the limit
            while (p < stop && CharClass[buf[p]!]! & TCHAR) p++;
            if (p - this.start > maxLine) return this.#fail(414, "request line too long");
            if (p === end) break;
            if (buf[p] !== SP) return this.#fail(400, "method must be a token followed by one SP");
            this.methodEnd = p;
            phase = Line.Target0;
            p += 1;
            break;
          }
          case Line.Target0:
            if (!(CharClass[buf[p]!]! & TARGET)) return this.#fail(400, "request-target must follow exactly one SP");
            this.targetStart = p;
            phase = Line.Target;
            p += 1;
            break;
          case Line.Target: {
            const stop = Math.min(end, this.start + maxLine + 1);
            while (p < stop && CharClass[buf[p]!]! & TARGET) p++;
            if (p - this.start > maxLine) return this.#fail(414, "request line too long");
            if (p === end) break;
            if (buf[p] !== SP) return this.#fail(400, "request-target holds whitespace, a control or a non-ASCII byte");
            this.targetEnd = p;
            this.#versionStart = p + 1;
            phase = Line.Version;
            p += 1;
            break;
          }
          case Line.Version: {
            const i = p - this.#versionStart;
            const b = buf[p] as number;
            if (i < 5) {
              if (b !== HTTP_SLASH[i]) return this.#fail(400, "version must be HTTP/x.y");
            } else if (i === 5 || i === 7) {
              if (!(CharClass[b]! & DIGIT)) return this.#fail(400, "version must be HTTP/x.y");
              if (i === 5) this.major = b - 0x30;
              else {
                this.minor = b - 0x30;
                if (this.major !== 1) return this.#fail(505, `HTTP/${this.major}.${this.minor} is not supported`);
              }
            } else if (i === 6) {
              if (b !== 0x2e) return this.#fail(400, "version must be HTTP/x.y");
            } else {
              if (b !== CR) return this.#fail(400, b === LF ? "bare LF after the request line" : "request line must end with CRLF after the version");
              this.lineEnd = p;
              if (p - this.start > maxLine) return this.#fail(414, "request line too long");
              phase = Line.LF;
            }
            p += 1;
            break;
          }
          case Line.LF:
            if (buf[p] !== LF) return this.#fail(400, "CR not followed by LF after the request line");
            p += 1;
            this.next = p;
            return DONE;
        }
      }
      return MORE;
    } finally {
      this.#pos = p;
      this.#phase = phase;
    }
  }

  #fail(status: number, detail: string): number {
    this.detail = detail;
    return status;
  }
}

/** Field kinds the request parser acts on, recognised from the name bytes without decoding. */
export const Kind = {
  Other: 0, Host: 1, ContentLength: 2, TransferEncoding: 3, Connection: 4, Expect: 5, ContentType: 6,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

const KIND_NAMES: ReadonlyArray<readonly [number, readonly number[]]> = (
  [
    [Kind.Host, "host"],
    [Kind.ContentLength, "content-length"],
    [Kind.TransferEncoding, "transfer-encoding"],
    [Kind.Connection, "connection"],
    [Kind.Expect, "expect"],
    [Kind.ContentType, "content-type"],
  ] as const
).map(([kind, name]) => [kind, [...name].map((c) => c.charCodeAt(0))] as const);

function kindOf(buf: Uint8Array, start: number, end: number): number {
  const n = end - start;
  outer: for (const [kind, name] of KIND_NAMES) {
    if (name.length !== n) continue;
    // Names are token bytes here, so `| 0x20` lowercases letters and maps nothing else onto one.
    for (let i = 0; i < n; i++) if (((buf[start + i] as number) | 0x20) !== name[i]) continue outer;
    return kind;
  }
  return Kind.Other;
}

// Field-section phases.
const Field = { LineStart: 0, Name: 1, ValueOWS: 2, Value: 3, ValueLF: 4, EndLF: 5 } as const;

/**
 * Scans field lines up to the empty line: `token ":" OWS value OWS CRLF`. Refuses obs-fold,
 * whitespace before the colon, bare CR or LF, and controls in values; keeps each line's offsets
 * and kind. With `framing` on, Content-Length is checked line by line (1*DIGIT, no overflow,
 * repeats must agree) so a bad one is refused before the section ends.
 */
export class FieldScanner {
  start = 0;
  next = 0; // offset just past the empty line's LF
  count = 0;
  contentLength = -1; // the agreed Content-Length, -1 when none
  detail = "";
  framing = true;
  offsets = new Int32Array(4 * 16); // nameStart, nameEnd, valueStart, valueEnd per line
  kinds = new Uint8Array(16);
  #text = ""; // the section decoded once, by collect()
  #phase: number = Field.LineStart;
  #pos = 0;
  #nameStart = 0;
  #nameEnd = 0;
  #valueStart = 0;
  #valueEnd = 0;

  /** Starts a new section at `start` (Content-Length checks only when `framing`). */
  reset(start = 0, framing = true): void {
    this.start = this.#pos = start;
    this.next = this.count = 0;
    this.contentLength = -1;
    this.detail = this.#text = "";
    this.framing = framing;
    this.#phase = Field.LineStart;
  }

  /**
   * Scans on from where the last call stopped. A section of `maxBytes` bytes (its empty line
   * included) is whole; once that many are in without its end, the answer is 431, as it is
   * when a field line would be number `maxCount + 1`.
   */
  scan(buf: Uint8Array, maxBytes: number, maxCount: number): number {
    const end = Math.min(buf.length, this.start + maxBytes);
    let p = this.#pos;
    let phase: number = this.#phase;
    try {
      while (p < end) {
        switch (phase) {
          case Field.LineStart: {
            const b = buf[p] as number;
            if (CharClass[b]! & TCHAR) {
              if (this.count >= maxCount) return this.#fail(431, `more than ${maxCount} field lines`);
              this.#nameStart = p;
              phase = Field.Name;
            } else if (b === CR) {
              phase = Field.EndLF;
            } else {
              return this.#fail(400, b === SP || b === 0x09 ? "obs-fold or whitespace at the start of a field line"
                : b === COLON ? "empty field name" : b === LF ? "bare LF in the field section" : "invalid byte in a field name");
            }
            p += 1;
            break;
          }
          case Field.Name: {
            while (p < end && CharClass[buf[p]!]! & TCHAR) p++;
            if (p === end) break;
            const b = buf[p] as number;
            if (b !== COLON) return this.#fail(400, CharClass[b]! & WS ? "whitespace before the colon" : "invalid byte in a field name");
            this.#nameEnd = p;
            phase = Field.ValueOWS;
            p += 1;
            break;
          }
          case Field.ValueOWS: {
            while (p < end && CharClass[buf[p]!]! & WS) p++;
            if (p === end) break;
            const b = buf[p] as number;
            this.#valueStart = this.#valueEnd = p;
            if (b === CR) phase = Field.ValueLF;
            else if (CharClass[b]! & FVCHAR) {
              this.#valueEnd = p + 1;
              phase = Field.Value;
            } else return this.#fail(400, b === LF ? "bare LF in the field section" : "invalid byte in a field value");
            p += 1;
            break;
          }
          case Field.Value: {
            while (p < end && CharClass[buf[p]!]! & (FVCHAR | WS)) p++;
            let last = p; // trailing OWS is not part of the value
            while (CharClass[buf[last - 1]!]! & WS) last--;
            this.#valueEnd = last;
            if (p === end) break;
            if (buf[p] !== CR) return this.#fail(400, buf[p] === LF ? "bare LF in the field section" : "invalid byte in a field value");
            phase = Field.ValueLF;
            p += 1;
            break;
          }
          case Field.ValueLF: {
            if (buf[p] !== LF) return this.#fail(400, "CR not followed by LF in the field section");
            p += 1;
            const status = this.#record(buf);
            if (status !== MORE) return status;
            phase = Field.LineStart;
            break;
          }
          case Field.EndLF:
            if (buf[p] !== LF) return this.#fail(400, "CR not followed by LF at the end of the field section");
            p += 1;
            this.next = p;
            return DONE;
        }
      }
      if (p - this.start >= maxBytes) return this.#fail(431, `field section over the limit of ${maxBytes} bytes`);
      return MORE;
    } finally {
      this.#pos = p;
      this.#phase = phase;
    }
  }

  /**
   * Scans on over the section at the front of `msg`; once it is whole, adds its fields to
   * `into` (null: drops them) and consumes it. MORE, DONE, or the status of the fault (`detail`).
   */
  read(msg: ByteBuffer, maxBytes: number, maxCount: number, into: Hict | null): number {
    const buf = msg.view();
    const result = this.scan(buf, maxBytes, maxCount);
    if (result === DONE) {
      if (into !== null) this.collect(buf, into);
      msg.shift(this.next);
    }
    return result;
  }

  /** Decodes the scanned section once (latin1) and adds every field line to `into`, in order. */
  collect(buf: Uint8Array, into: Hict): void {
    this.#text = latin1(buf, this.start, this.next);
    for (let i = 0; i < this.count; i++) into.add(this.name(i), this.value(i));
  }

  /** Name of line `i` as received (after collect). */
  name(i: number): string {
    const o = this.offsets;
    return this.#text.slice(o[4 * i]! - this.start, o[4 * i + 1]! - this.start);
  }

  /** Value of line `i` without its leading and trailing OWS (after collect). */
  value(i: number): string {
    const o = this.offsets;
    return this.#text.slice(o[4 * i + 2]! - this.start, o[4 * i + 3]! - this.start);
  }

  #record(buf: Uint8Array): number {
    const i = this.count;
    if (4 * i + 4 > this.offsets.length) {
      const grown = new Int32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
      const kinds = new Uint8Array(this.kinds.length * 2);
      kinds.set(this.kinds);
      this.kinds = kinds;
    }
    const o = this.offsets;
    o[4 * i] = this.#nameStart;
    o[4 * i + 1] = this.#nameEnd;
    o[4 * i + 2] = this.#valueStart;
    o[4 * i + 3] = this.#valueEnd;
    const kind = kindOf(buf, this.#nameStart, this.#nameEnd);
    this.kinds[i] = kind;
    this.count = i + 1;
    if (kind === Kind.ContentLength && this.framing) return this.#contentLength(buf);
    return MORE;
  }

  #contentLength(buf: Uint8Array): number {
    const start = this.#valueStart;
    const end = this.#valueEnd;
    if (start === end) return this.#fail(400, "empty Content-Length");
    let length = 0;
    for (let p = start; p < end; p++) {
      const b = buf[p] as number;
      if (!(CharClass[b]! & DIGIT)) return this.#fail(400, "Content-Length must be 1*DIGIT");
      length = length * 10 + (b - 0x30);
      if (length > Number.MAX_SAFE_INTEGER) return this.#fail(400, "Content-Length overflow");
    }
    if (this.contentLength >= 0 && this.contentLength !== length) return this.#fail(400, "differing Content-Length fields");
    this.contentLength = length;
    return MORE;
  }

  #fail(status: number, detail: string): number {
    this.detail = detail;
    return status;
  }
}
