/**
 * The life of one response on a connection: the app is called, its Response arrives, the head
 * goes out, the body streams, and the response ends or is aborted. The Responder class does the
 * bytes and sends what happened; this machine decides the phase.
 */
import { setup } from "xstate";

export type ResponderEvent =
  | { type: "request.dispatched" } // the app (or respond()) was called for a parsed request
  | { type: "response.ready" } // its Response (or an error response) is in hand
  | { type: "head.sent" } // status line and header fields are in the send buffer
  | { type: "body.ended" } // the last body byte (and the chunked trailer) is in the send buffer
  | { type: "failed" } // the app or the body stream failed after the head went out
  | { type: "cutoff" } // the peer went away
  | { type: "reset" }; // ready for the next request on the connection

export type ResponderTag = "busy" | "headed" | "ended" | "aborted";

export const responderMachine = setup({
  types: {
    events: {} as ResponderEvent,
    tags: {} as ResponderTag,
  },
}).createMachine({
  id: "responder",
  initial: "idle",
  states: {
    idle: { on: { "request.dispatched": "pending" } },
    pending: {
      tags: ["busy"],
      on: { "response.ready": "heading", failed: "aborted", cutoff: "aborted" },
    },
    heading: {
      tags: ["busy"],
      on: { "head.sent": "streaming", cutoff: "aborted" },
    },
    streaming: {
      tags: ["busy", "headed"],
      on: { "body.ended": "ended", failed: "aborted", cutoff: "aborted" },
    },
    ended: { tags: ["headed", "ended"], on: { reset: "idle" } },
    aborted: { tags: ["aborted"], on: { reset: "idle" } },
  },
});
