/**
 * testing.readResponse: the kit's strict reader of one response off the wire. A table of named
 * raw responses; each whole one reads as more at every shorter prefix, and as a fault, saying
 * where, when the connection closed there.
 */
import { describe, expect, it } from "vitest";
import { testing } from "../../src/index.ts";

const bytes = (text: string): Uint8Array => Buffer.from(text, "latin1");
const text = (body: Uint8Array): string => Buffer.from(body).toString("latin1");

const WHOLE: Array<[name: string, raw: string, framing: testing.Framing, body: string, options?: testing.ReadOptions]> = [
  ["Content-Length", "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello", "length", "hello"],
  ["chunked with an extension and a trailer", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n1\r\n!\r\n0\r\nx-sum: 6\r\n\r\n", "chunked", "hello!"],
  ["an empty reason", "HTTP/1.1 200 \r\ncontent-length: 0\r\n\r\n", "length", ""],
  ["204", "HTTP/1.1 204 No Content\r\n\r\n", "none", ""],
  ["HEAD's declared length", "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n", "none", "", { head: true }],
  ["100 Continue first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok", "length", "ok"],
  ["ended by the close", "HTTP/1.0 200 OK\r\n\r\nuntil the end", "close", "until the end", { closed: "fin" }],
];

const FAULTS: Array<[name: string, raw: string, fault: string | RegExp, options?: testing.ReadOptions]> = [
  ["a bare LF", "HTTP/1.1 200 OK\ncontent-length: 0\r\n\r\n", "a line ends in a bare LF"],
  ["not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", 'not a status line: "SSH-2.0-OpenSSH"'],
  ["obs-fold", "HTTP/1.1 200 OK\r\nx: a\r\n b\r\n\r\n", /^an obsolete line folding/],
  ["a space before the colon", "HTTP/1.1 200 OK\r\nx : a\r\n\r\n", /^a malformed field line/],
  ["both framings", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n", "both Transfer-Encoding and Content-Length"],
  ["lengths that differ", "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello", /^a bad Content-Length/],
  ["a bad chunk size", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", /^a bad chunk size line/],
  ["chunk data overrunning its size", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", "chunk data not followed by CRLF"],
  ["a short body", "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello", "the connection was closed after 5 of 10 body bytes", { closed: "fin" }],
  ["no last chunk", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n", "the connection was closed before the last chunk", { closed: "fin" }],
  ["a reset inside a close-delimited body", "HTTP/1.0 200 OK\r\n\r\npart", "the connection was reset inside a body delimited by the close", { closed: "reset" }],
  ["nothing at all", "", "the connection was reset before a response", { closed: "reset" }],
];

describe("testing.readResponse", () => {
  it.each(WHOLE)("reads a whole response: %s", (_name, raw, framing, body, options = {}) => {
    const read = testing.readResponse(bytes(raw), options);
    expect([read.state, read.fault, read.framing, text(read.body), read.used]).toEqual(["whole", null, framing, body, raw.length]);
    if (options.closed !== undefined) return; // ended by the close: no shorter prefix is whole
    for (let at = 0; at < raw.length; at++) {
      expect(testing.readResponse(bytes(raw.slice(0, at)), options).state, `at ${at}`).toBe("more");
    }
  });

  it.each(FAULTS)("names the fault: %s", (_name, raw, fault, options = {}) => {
    const read = testing.readResponse(bytes(raw), options);
    expect(read.state).toBe("fault");
    expect(read.fault).toMatch(fault);
  });

  it("keeps field names as received, the interim responses and trailers, and leaves what follows", () => {
    const raw = bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Case: Kept\r\ntransfer-encoding: chunked\r\n\r\n0\r\nX-Trail: 1\r\n\r\nEXTRA");
    const read = testing.readResponse(raw);
    expect(read.interims.map(({ status }) => status)).toEqual([100]);
    expect(read.head?.headers).toEqual([["X-Case", "Kept"], ["transfer-encoding", "chunked"]]);
    expect(read.trailers).toEqual([["X-Trail", "1"]]);
    expect(text(raw.subarray(read.used))).toBe("EXTRA");
  });

  it("gives the body so far while a response is under way", () => {
    const read = testing.readResponse(bytes("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nwo"));
    expect([read.state, text(read.body)]).toEqual(["more", "hellowo"]);
  });
});
