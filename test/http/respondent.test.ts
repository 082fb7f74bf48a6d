import { describe, expect, it } from "vitest";
import { ByteBuffer } from "../../src/base/buffering.ts";
import { EventSource } from "../../src/http/client/eventing.ts";
import type { ServerSentEvent } from "../../src/http/client/eventing.ts";
import { HTTPException } from "../../src/http/wire/httping.ts";
import { Respondent } from "../../src/http/client/respondent.ts";
import type { ResponseLimits } from "../../src/http/client/respondent.ts";

interface Feed {
  method?: string;
  /** The connection closes after the bytes. */
  closed?: boolean;
  /** It is reset, not closed. */
  reset?: boolean;
  dictable?: boolean;
  limits?: Partial<ResponseLimits>;
}

/** What a parse came to, in comparable form. */
function outcome(r: Respondent, msg: ByteBuffer) {
  return {
    ended: r.ended,
    errored: r.errored,
    error: r.error ? r.error.name : null,
    status: r.status,
    reason: r.reason,
    version: r.version,
    headers: r.headers.toJSON(),
    body: Buffer.from(r.body).toString("latin1"),
    length: r.length,
    chunked: r.chunked,
    persisted: r.persisted,
    evented: r.evented,
    interims: r.interims,
    data: r.data,
    trails: r.trails.toJSON(),
    parms: [...r.parms],
    events: r.events.map((e) => ({ ...e })),
    leftover: msg.length,
  };
}

/** Feeds `pieces` one by one (parse after each), then the close if asked. */
function parse(pieces: string[], { method = "GET", closed = false, reset = false, dictable = false, limits }: Feed = {}) {
  const msg = new ByteBuffer(16);
  const r = new Respondent({ msg, method, dictable, limits });
  for (const piece of pieces) {
    msg.push(Buffer.from(piece, "latin1"));
    r.parse();
  }
  if (closed) {
    r.close({ reset });
    r.parse();
  }
  return outcome(r, msg);
}

/** The same raw response fed whole, split at every offset, and byte by byte. */
function everySplit(raw: string, feed: Feed = {}) {
  const whole = parse([raw], feed);
  for (let at = 0; at <= raw.length; at++) {
    expect(parse([raw.slice(0, at), raw.slice(at)], feed), `split at ${at}`).toEqual(whole);
  }
  expect(parse([...raw], feed), "byte by byte").toEqual(whole);
  return whole;
}

const ok = "HTTP/1.1 200 OK\r\n";

/** Each piece as one chunk of a chunked body (latin1, so sizes are byte counts). */
const chunked = (...pieces: string[]): string => pieces.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join("");

describe("Respondent: a table of raw responses, whole and split at every byte", () => {
  const table: Array<[string, string, Feed, Partial<ReturnType<typeof outcome>>]> = [
    ["Content-Length body", `${ok}Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello`, {},
      { ended: true, status: 200, reason: "OK", version: [1, 1], body: "hello", length: 5, persisted: true,
        headers: [["Content-Type", "text/plain"], ["Content-Length", "5"]] }],
    ["chunked body with extensions and trailers",
      `${ok}Transfer-Encoding: chunked\r\n\r\n5;a=1\r\nhello\r\n6;b="x y"\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n`, {},
      { ended: true, body: "hello world", length: 11, chunked: true, persisted: true,
        trails: [["X-Sum", "11"]], parms: [["a", "1"], ["b", "x y"]] }],
    ["close-delimited body", `${ok}Content-Type: text/plain\r\n\r\nuntil the end`, { closed: true },
      { ended: true, body: "until the end", length: 13, persisted: false }],
    ["HEAD response: Content-Length but no body", `${ok}Content-Length: 10\r\n\r\n`, { method: "HEAD" },
      { ended: true, body: "", length: 0, persisted: true }],
    ["204 has no body", "HTTP/1.1 204 No Content\r\nX: 1\r\n\r\n", {}, { ended: true, status: 204, body: "" }],
    ["304 has no body even with Content-Length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", {},
      { ended: true, status: 304, body: "", persisted: true }],
    ["100 Continue and 103 Early Hints skipped",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      + `${ok}Content-Length: 2\r\n\r\nhi`, {},
      { ended: true, status: 200, interims: 2, body: "hi", headers: [["Content-Length", "2"]] }],
    ["HTTP/1.0 is close-delimited and not persisted", "HTTP/1.0 200 OK\r\n\r\nold", { closed: true },
      { ended: true, version: [1, 0], body: "old", persisted: false }],
    ["HTTP/1.0 with keep-alive and a length persists",
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", {},
      { ended: true, version: [1, 0], persisted: true }],
    ["Connection: close ends persistence", `${ok}Connection: close\r\nContent-Length: 2\r\n\r\nok`, {},
      { ended: true, persisted: false }],
    ["JSON body parsed into data", `${ok}Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{"a":[1,2,3]}`, {},
      { ended: true, data: { a: [1, 2, 3] } }],
    ["dictable parses any body", `${ok}Content-Length: 4\r\n\r\ntrue`, { dictable: true }, { data: true }],
    ["empty reason, with and without its SP", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", {},
      { ended: true, status: 404, reason: "" }],
    ["reason with spaces", "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n", {},
      { ended: true, status: 418, reason: "I'm a teapot" }],
    ["chunked wins over Content-Length, not persisted", `${ok}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n`, {},
      { ended: true, body: "ab", persisted: false }],
    ["chunked and a no-break space is no chunked: read to the close",
      `${ok}Transfer-Encoding: chunked\xa0\r\n\r\n2\r\nab\r\n0\r\n\r\n`, { closed: true },
      { ended: true, chunked: false, body: "2\r\nab\r\n0\r\n\r\n", persisted: false }],
    ["chunked between SP and HTAB is chunked", `${ok}Transfer-Encoding: \t chunked \t\r\n\r\n2\r\nab\r\n0\r\n\r\n`, {},
      { ended: true, chunked: true, body: "ab", persisted: true }],
    ["pipelined bytes after the response stay in msg", `${ok}Content-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n`, {},
      { ended: true, body: "x", leftover: 17 }],
    ["event stream, chunked: events parsed, body not kept",
      `${ok}Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n`
      + chunked("\xef\xbb\xbf: hi\r\nid: 7\r\nretry: 2500\r\ndata: a\r", "\n\r\nevent: tock\rdata: b\rdata:c\r\r")
      + chunked("data: x\n\n") + "0\r\n\r\n", {},
      { ended: true, evented: true, body: "", events: [
        { id: "7", name: "", data: "a", retry: 2500 },
        { id: "7", name: "tock", data: "b\nc", retry: 2500 },
        { id: "7", name: "", data: "x", retry: 2500 },
      ] }],
    ["event stream until close drops an unfinished event",
      `${ok}Content-Type: text/event-stream\r\n\r\ndata: one\n\ndata: two`, { closed: true },
      { ended: true, events: [{ id: "", name: "", data: "one", retry: null }] }],
  ];

  for (const [name, raw, feed, expected] of table) {
    it(`parses ${name}`, () => {
      const whole = everySplit(raw, feed);
      expect(whole.errored).toBe(false);
      expect(whole).toMatchObject(expected);
    });
  }

  const bad: Array<[string, string, Feed, string, RegExp]> = [
    ["garbage", "<html>hello</html>\r\n\r\n", {}, "BadStatusLine", /<html>/],
    ["HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", {}, "UnknownProtocol", /HTTP\/2\.0/],
    ["a bare LF after the status line", "HTTP/1.1 200 OK\n\n", {}, "BadStatusLine", /200/],
    ["a two-digit status", "HTTP/1.1 20 OK\r\n\r\n", {}, "BadStatusLine", /20 OK/],
    ["whitespace before a colon", `${ok}Content-Length : 1\r\n\r\nx`, {}, "HTTPException", /colon/],
    ["differing Content-Lengths", `${ok}Content-Length: 1\r\nContent-Length: 2\r\n\r\nxy`, {}, "HTTPException", /differing/],
    ["a chunk size that is not hex", `${ok}Transfer-Encoding: chunked\r\n\r\nzz\r\n`, {}, "HTTPException", /hex/],
    ["chunk data not ended by CRLF", `${ok}Transfer-Encoding: chunked\r\n\r\n1\r\nab\r\n`, {}, "HTTPException", /CRLF/],
    ["a close inside a Content-Length body", `${ok}Content-Length: 10\r\n\r\nhalf`, { closed: true }, "PrematureClosure", /body/],
    ["a close inside the head", `${ok}Content-Le`, { closed: true }, "PrematureClosure", /header/],
    ["a close before any byte", "", { closed: true }, "PrematureClosure", /status line/],
    ["a status line over the limit", `HTTP/1.1 200 ${"x".repeat(100)}\r\n\r\n`, { limits: { maxLine: 64 } }, "LineTooLong", /64/],
    ["a body over the limit", `${ok}Content-Length: 100\r\n\r\n`, { limits: { maxBody: 10 } }, "HTTPException", /limit/],
    ["a chunked body over the limit", `${ok}Transfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n`,
      { limits: { maxBody: 10 } }, "HTTPException", /limit/],
    ["a reset inside a close-delimited body", `${ok}\r\npart`, { closed: true, reset: true }, "PrematureClosure", /reset/],
  ];

  for (const [name, raw, feed, error, message] of bad) {
    it(`fails clearly on ${name}`, () => {
      const whole = everySplit(raw, feed);
      expect(whole).toMatchObject({ ended: true, errored: true, error, persisted: false });
      const r = new Respondent({ msg: new ByteBuffer(), limits: feed.limits });
      r.msg.push(Buffer.from(raw, "latin1"));
      if (feed.closed) r.close({ reset: feed.reset === true });
      expect(r.parse()).toBe(true);
      expect(r.error?.message).toMatch(message);
    });
  }

  it("fails a body that breaks a limit as it arrives, at once, whatever the split (what is left in msg may differ)", () => {
    const cases: Array<[string, Partial<ResponseLimits>, RegExp]> = [
      [`${ok}\r\n${"x".repeat(20)}`, { maxBody: 10 }, /over the limit 10/],
      [`${ok}Content-Type: text/event-stream\r\nContent-Length: 60\r\n\r\ndata: ${"x".repeat(40)}`, { maxEventLine: 16 }, /16/],
      [`${ok}Transfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n20\r\ndata: ${"x".repeat(26)}\r\n`, { maxEventLine: 16 }, /16/],
    ];
    for (const [raw, limits, message] of cases) {
      for (let at = 0; at <= raw.length; at++) {
        const r = new Respondent({ limits });
        const results = [raw.slice(0, at), raw.slice(at)].map((piece) => {
          r.msg.push(Buffer.from(piece, "latin1"));
          return r.parse();
        });
        expect([results.at(-1), r.stepper.value, r.persisted], `split at ${at}`).toEqual([true, "errored.body", false]);
        expect(r.error?.message).toMatch(message);
      }
    }
  });

  it("refuses garbage at its first bytes, before any line end", () => {
    const r = new Respondent();
    r.msg.push("<ht");
    expect(r.parse()).toBe(true);
    expect(r.error?.name).toBe("BadStatusLine");
  });

  it("steps its machine: started at the first byte, headed with the final head, bodied and ended at the end", () => {
    const r = new Respondent();
    const seen: string[] = [];
    r.stepper.observer = (event, from, to) => seen.push(`${r.stepper.table.events[event]} ${r.stepper.table.states[from]}→${r.stepper.table.states[to]}`);
    const flags = () => [r.started, r.headed, r.bodied, r.ended, r.errored];
    expect(flags()).toEqual([false, false, false, false, false]);
    r.msg.push("HTTP/1.1 100 Continue\r\n\r\nHT");
    expect(r.parse()).toBe(false);
    expect([r.stepper.value, r.interims, ...flags()]).toEqual(["line", 1, true, false, false, false, false]);
    r.msg.push(`TP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nh`);
    expect(r.parse()).toBe(false);
    expect([r.stepper.value, ...flags()]).toEqual(["body.length", true, true, false, false, false]);
    r.msg.push("i");
    expect(r.parse()).toBe(true);
    expect([r.stepper.value, ...flags()]).toEqual(["ended", true, true, true, true, false]);
    r.reinit();
    expect([r.stepper.value, ...flags()]).toEqual(["idle", false, false, false, false, false]);
    expect(seen).toEqual([
      "line.started idle→line", "line.parsed line→headers", "head.interim headers→line", "line.parsed line→headers",
      "head.parsed.length headers→body.length", "body.parsed body.length→ended", "reset ended→idle",
    ]);
  });

  it("fails a response under way with fail(), and not one that has ended", () => {
    const r = new Respondent();
    r.fail(new HTTPException("connection refused"));
    expect([r.stepper.value, r.ended, r.errored, r.started, r.persisted, r.error?.message]).toEqual(["errored.unanswered", true, true, false, false, "connection refused"]);
    r.reinit();
    r.msg.push(`${ok}Content-Length: 0\r\n\r\n`);
    expect(r.parse()).toBe(true);
    r.fail(new HTTPException("too late"));
    expect([r.stepper.value, r.errored, r.error]).toEqual(["ended", false, null]);
  });

  it("waits, without error, for a response that is only partly in", () => {
    const r = new Respondent();
    r.msg.push(`${ok}Content-Length: 5\r\n\r\nhel`);
    expect(r.parse()).toBe(false);
    expect(r).toMatchObject({ headed: true, ended: false, errored: false, status: 200 });
  });

  it("parses two responses on one buffer with reinit between, the second for a HEAD", () => {
    const msg = new ByteBuffer();
    msg.push(`${ok}Content-Length: 3\r\n\r\none${ok}Content-Length: 3\r\n\r\n`);
    const r = new Respondent({ msg });
    expect(r.parse()).toBe(true);
    expect(Buffer.from(r.body).toString()).toBe("one");
    r.reinit({ method: "HEAD" });
    expect(r.parse()).toBe(true);
    expect(r).toMatchObject({ status: 200, ended: true, errored: false, length: 0 });
    expect(msg.length).toBe(0);
  });

  it("keeps the last event id and retry from one event stream to the next", () => {
    const events: ServerSentEvent[] = [];
    const msg = new ByteBuffer();
    const r = new Respondent({ msg, events });
    msg.push(`${ok}Content-Type: text/event-stream\r\n\r\nid: 4\nretry: 50\ndata: x\n\n`);
    r.parse();
    expect(r.leid).toBe("4");
    expect(r.retry).toBe(50);
    r.close();
    r.parse();
    r.reinit();
    msg.push(`${ok}Content-Type: text/event-stream\r\n\r\ndata: y\n\n`);
    r.parse();
    expect(events).toEqual([
      { id: "4", name: "", data: "x", retry: 50 },
      { id: "4", name: "", data: "y", retry: 50 },
    ]);
  });

  it("defaults the retry to Respondent.Retry milliseconds", () => {
    expect(new Respondent().retry).toBe(Respondent.Retry);
  });
});

describe("EventSource", () => {
  it("dispatches on the blank line only, whatever the line ends and splits", () => {
    const text = "data: 1\r\n\r\ndata: 2\r\rdata: 3\n\n:comment\nevent: e\nid\ndata\n\n";
    const expected = [
      { id: "", name: "", data: "1", retry: null },
      { id: "", name: "", data: "2", retry: null },
      { id: "", name: "", data: "3", retry: null },
      { id: "", name: "e", data: "", retry: null },
    ];
    for (let at = 0; at <= text.length; at++) {
      const source = new EventSource();
      source.feed(Buffer.from(text.slice(0, at)));
      source.feed(Buffer.from(text.slice(at)));
      expect(source.events, `split at ${at}`).toEqual(expected);
    }
  });

  it("decodes UTF-8 split across feeds and parses JSON data when dictable", () => {
    const bytes = Buffer.from('data: {"word":"héllo ✓"}\n\n');
    const source = new EventSource({ dictable: true });
    for (const byte of bytes) source.feed(Uint8Array.of(byte));
    expect(source.events).toEqual([{ id: "", name: "", data: '{"word":"héllo ✓"}', retry: null, json: { word: "héllo ✓" } }]);
  });

  it("ignores an id with NUL and a retry that is not all digits", () => {
    const source = new EventSource();
    source.feed(Buffer.from("id: a\0b\nretry: 10s\ndata: x\n\n"));
    expect(source.leid).toBeNull();
    expect(source.retry).toBeNull();
    expect(source.events).toHaveLength(1);
  });

  it("fails a stream whose line grows past maxLine", () => {
    const source = new EventSource({ maxLine: 16 });
    expect(source.feed(Buffer.from("data: " + "x".repeat(20)))).toBe(false);
    expect(source.detail).toMatch(/16/);
  });
});
