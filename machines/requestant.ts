/**
 * The life of one request parse (hio's Requestant): awaiting the request line, then the header
 * section, then the body by length or by chunks (size line, data, trailers), then ended; or
 * errored. A `reset` from anywhere starts over for the next pipelined request on the connection.
 * Until its first byte arrives a body is `awaited` (`body.length_awaited`, `body.size_awaited`):
 * the phase in which a request that asked `Expect: 100-continue` is still owed a 100 Continue.
 *
 * The Requestant does the bytes and sends what happened; this machine decides the phase. It has
 * no guards, no delays and no event data, so `MachineTable` tabulates it exactly once at load.
 * Tags carry hio's flags: `headed` (the head parsed; kept through the body, at the end and after
 * a body error), `ended` (a whole request), `errored` (a framing or syntax error).
 */
import { setup } from "xstate";

export type RequestantEvent =
  | { type: "line.parsed" } // request line complete and valid
  | { type: "head.parsed.empty" } // header section complete, no body
  | { type: "head.parsed.length" } // header section complete, body by Content-Length
  | { type: "head.parsed.chunked" } // header section complete, chunked body
  | { type: "body.begun" } // the body's first byte arrived
  | { type: "body.parsed" } // Content-Length bytes read
  | { type: "chunk.sized" } // a chunk-size line with a size above zero
  | { type: "chunk.parsed" } // that chunk's data and its CRLF
  | { type: "chunk.last" } // the zero-size last-chunk line
  | { type: "trailers.parsed" } // trailer section and the final empty line
  | { type: "error" } // the bytes break RFC 9112 or a limit
  | { type: "reset" }; // start over for the next request

export type RequestantEventType = RequestantEvent["type"];
export type RequestantTag = "headed" | "ended" | "errored";

export const requestantMachine = setup({
  types: {
    events: {} as RequestantEvent,
    tags: {} as RequestantTag,
  },
}).createMachine({
  id: "requestant",
  initial: "line",
  states: {
    line: {
      on: { "line.parsed": "headers", error: "errored.head" },
    },
    headers: {
      on: {
        "head.parsed.empty": "ended",
        "head.parsed.length": "body.length_awaited",
        "head.parsed.chunked": "body.size_awaited",
        error: "errored.head",
      },
    },
    body: {
      tags: ["headed"],
      initial: "length",
      on: { error: "errored.body" },
      states: {
        length_awaited: { on: { "body.begun": "length" } },
        size_awaited: { on: { "body.begun": "size" } },
        length: { on: { "body.parsed": "#requestant.ended" } },
        size: { on: { "chunk.sized": "data", "chunk.last": "trailers" } },
        data: { on: { "chunk.parsed": "size" } },
        trailers: { on: { "trailers.parsed": "#requestant.ended" } },
      },
    },
    ended: { tags: ["headed", "ended"] },
    errored: {
      tags: ["errored"],
      initial: "head",
      states: {
        head: {},
        body: { tags: ["headed"] },
      },
    },
  },
  on: { reset: ".line" },
});
