/**
 * The status line of a response (RFC 9112 §4): `HTTP-version SP status-code SP [reason] CRLF`,
 * scanned as bytes arrive. Garbage is refused as soon as its first bytes are not `HTTP/`, so a
 * peer that is not speaking HTTP fails at once instead of after a whole line.
 */
import { BadStatusLine, CR, LF, LineTooLong, UnknownProtocol, latin1 } from "./httping.ts";
import type { HTTPException } from "./httping.ts";
import { DONE, MORE } from "./scanning.ts";

const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"
/** scan() answer when the line is refused (see `error`). */
export const FAILED = -1;

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39;

/**
 * Scans one status line at the front of a buffer that is not consumed while scanning; resumes
 * where it stopped. `scan()` answers MORE, DONE (fields set, `next` just past the LF) or FAILED
 * with an HTTPException in `error`: BadStatusLine, LineTooLong or UnknownProtocol (not HTTP/1.x).
 * A missing SP before an empty reason is tolerated; a bare LF is not.
 */
export class StatusLineScanner {
  minor = 0;
  status = 0;
  reason = "";
  next = 0;
  error: HTTPException | null = null;
  #scan = 0; // offset up to which no LF was found

  reset(): void {
    this.minor = this.status = this.next = this.#scan = 0;
    this.reason = "";
    this.error = null;
  }

  scan(buf: Uint8Array, maxLine: number): number {
    const n = Math.min(buf.length, HTTP_SLASH.length);
    for (let i = 0; i < n; i++) if (buf[i] !== HTTP_SLASH[i]) return this.#bad(buf);
    const lf = buf.indexOf(LF, this.#scan);
    if (lf < 0) {
      this.#scan = buf.length;
      return buf.length > maxLine + 1 ? this.#fail(new LineTooLong("the status line", maxLine)) : MORE;
    }
    const end = lf - 1; // the CR
    if (end > maxLine) return this.#fail(new LineTooLong("the status line", maxLine));
    if (buf[end] !== CR || end < 12 || !isDigit(buf[5]) || buf[6] !== 0x2e || !isDigit(buf[7])
        || buf[8] !== 0x20 || !isDigit(buf[9]) || !isDigit(buf[10]) || !isDigit(buf[11])
        || (end > 12 && buf[12] !== 0x20)) {
      return this.#bad(buf);
    }
    for (let p = 13; p < end; p++) {
      const b = buf[p] as number;
      if ((b < 0x20 && b !== 0x09) || b === 0x7f) return this.#bad(buf);
    }
    if (buf[5] !== 0x31) return this.#fail(new UnknownProtocol(latin1(buf, 0, 8)));
    const status = (buf[9]! - 0x30) * 100 + (buf[10]! - 0x30) * 10 + (buf[11]! - 0x30);
    if (status < 100) return this.#bad(buf);
    this.minor = buf[7]! - 0x30;
    this.status = status;
    this.reason = end > 13 ? latin1(buf, 13, end).trim() : "";
    this.next = lf + 1;
    return DONE;
  }

  #bad(buf: Uint8Array): number {
    let end = 0;
    while (end < buf.length && end < 80 && buf[end] !== CR && buf[end] !== LF) end++;
    return this.#fail(new BadStatusLine(latin1(buf, 0, end)));
  }

  #fail(error: HTTPException): number {
    this.error = error;
    return FAILED;
  }
}
