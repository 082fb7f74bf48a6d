/**
 * The life of one response parse on a client connection (hio's Respondent): waiting for its
 * first byte, the status line, the header section (an interim 1xx response goes back to the
 * status line), then the body by length, by chunks (size line, data, trailers) or until the
 * connection closes, then ended; or errored. A `reset` from anywhere readies the next response.
 *
 * The Respondent does the bytes and sends what happened; this machine decides the phase. No
 * guards, no delays, no event data: `MachineTable` tabulates it exactly once at load. Tags carry
 * hio's flags: `started` (a byte of the response has come), `headed` (the final head parsed),
 * `bodied` (the body is whole), `ended` (the parse is over, whole or errored), `errored`.
 */
import { setup } from "xstate";

export type RespondentEvent =
  | { type: "line.started" } // the first byte of the status line arrived
  | { type: "line.parsed" } // status line complete and valid
  | { type: "head.interim" } // an interim (1xx) response's header section: a final response follows
  | { type: "head.parsed.empty" } // header section complete, no body (HEAD, 1xx, 204, 304, length 0)
  | { type: "head.parsed.length" } // header section complete, body by Content-Length
  | { type: "head.parsed.chunked" } // header section complete, chunked body
  | { type: "head.parsed.close" } // header section complete, body until the connection closes
  | { type: "body.parsed" } // Content-Length bytes read
  | { type: "chunk.sized" } // a chunk-size line with a size above zero
  | { type: "chunk.parsed" } // that chunk's data and its CRLF
  | { type: "chunk.last" } // the zero-size last-chunk line
  | { type: "trailers.parsed" } // trailer section and the final empty line
  | { type: "closed" } // the connection closed (not reset) after a close-delimited body
  | { type: "error" } // the bytes break RFC 9112 or a limit, or the connection ended too soon
  | { type: "reset" }; // ready for the next response

export type RespondentEventType = RespondentEvent["type"];
export type RespondentTag = "started" | "headed" | "bodied" | "ended" | "errored";

export const respondentMachine = setup({
  types: {
    events: {} as RespondentEvent,
    tags: {} as RespondentTag,
  },
}).createMachine({
  id: "respondent",
  initial: "idle",
  states: {
    idle: {
      on: { "line.started": "line", error: "errored.unanswered" },
    },
    line: {
      tags: ["started"],
      on: { "line.parsed": "headers", error: "errored.head" },
    },
    headers: {
      tags: ["started"],
      on: {
        "head.interim": "line",
        "head.parsed.empty": "ended",
        "head.parsed.length": "body.length",
        "head.parsed.chunked": "body.size",
        "head.parsed.close": "body.close",
        error: "errored.head",
      },
    },
    body: {
      tags: ["started", "headed"],
      initial: "length",
      on: { error: "errored.body" },
      states: {
        length: { on: { "body.parsed": "#respondent.ended" } },
        size: { on: { "chunk.sized": "data", "chunk.last": "trailers" } },
        data: { on: { "chunk.parsed": "size" } },
        trailers: { on: { "trailers.parsed": "#respondent.ended" } },
        close: { on: { closed: "#respondent.ended" } },
      },
    },
    ended: { tags: ["started", "headed", "bodied", "ended"] },
    errored: {
      tags: ["ended", "errored"],
      initial: "unanswered",
      states: {
        unanswered: {}, // before any byte: the connection was refused, or closed at once
        head: { tags: ["started"] },
        body: { tags: ["started", "headed"] },
      },
    },
  },
  on: { reset: ".idle" },
});
