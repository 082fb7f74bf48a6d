/**
 * The life of one response on a connection: the app is called, its result settles, the head
 * goes out once the framing is known, the body streams, and the response ends or is aborted.
 * Every answer goes through here: the app's, and the server's own error answers (a request
 * that broke a rule or a limit, a deadline's 408, an app that failed). The Responder class does
 * the bytes and sends what happened; this machine decides the phase.
 *
 * While a Response's head and body are written, the body's source has a phase of its own, a
 * substate of `heading` and `streaming` alike:
 * - `held`: no read in flight; more may come (reads wait while the send buffer is full);
 * - `reading`: a read of the body stream is in flight (its result arrives between ticks);
 * - `whole`: every body piece is in hand (given whole, none, or the stream ended);
 * - `failed`: the body stream failed (its error is answered, or aborts the response).
 */
import { setup } from "xstate";

export type ResponderEvent =
  | { type: "request.dispatched" } // the app (or the server's error answer) was asked for a response
  | { type: "app.settled" } // its result (or its failure) is in hand
  | { type: "reply.written" } // a whole answer was written at once: a CustomReply, a message's bytes, an error
  | { type: "response.whole" } // a Response taken whose body is in hand whole (or it has none)
  | { type: "response.streamed" } // a Response taken whose body is a stream to read
  | { type: "body.read" } // a read of the body stream began
  | { type: "body.piece" } // a read gave a body piece
  | { type: "body.end" } // the body stream ended
  | { type: "body.error" } // the body stream failed, or gave something other than bytes
  | { type: "head.sent" } // status line and header fields are in the send buffer
  | { type: "body.ended" } // the body's last byte (and the chunked trailer) is in the send buffer
  | { type: "failed" } // after the head: the body failed, or ended short of its Content-Length
  | { type: "cutoff" } // the peer went away, or the exchange was given up
  | { type: "reset" }; // ready for the next request on the connection

export type ResponderEventType = ResponderEvent["type"];
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
    // The app works on its answer. A promise that settles between ticks is kept, and stepped
    // as `app.settled` at the connection's next service (an answer returned at once, in the tick).
    pending: {
      tags: ["busy"],
      on: { "app.settled": "settled", cutoff: "aborted" },
    },
    // Its result is in hand, taken in the same service.
    settled: {
      tags: ["busy"],
      on: {
        "reply.written": "ended",
        "response.whole": "heading.whole",
        "response.streamed": "heading.held",
        cutoff: "aborted",
      },
    },
    // A Response is taken; its head waits until the framing is known: a declared length, an
    // event stream, the body whole, or a second piece. The head keeps the body's phase.
    heading: {
      tags: ["busy"],
      initial: "held",
      states: {
        held: { on: { "body.read": "reading", "head.sent": "#responder.streaming.held" } },
        reading: {
          on: { "body.piece": "held", "body.end": "whole", "body.error": "failed", "head.sent": "#responder.streaming.reading" },
        },
        whole: { on: { "head.sent": "#responder.streaming.whole" } },
        failed: { on: { "reply.written": "#responder.ended" } }, // failed before the head: the error is the answer
      },
      on: { cutoff: "aborted" },
    },
    // The head is out; body pieces go out while the send buffer has room, framed as the head said.
    streaming: {
      tags: ["busy", "headed"],
      initial: "held",
      states: {
        // The declared Content-Length may be reached before the stream ends: the rest is cut off.
        held: { on: { "body.read": "reading", "body.ended": "#responder.ended" } },
        reading: { on: { "body.piece": "held", "body.end": "whole", "body.error": "failed", "body.ended": "#responder.ended" } },
        // The rest of the body is in hand: it ends, or falls short of its Content-Length.
        whole: { on: { "body.ended": "#responder.ended", failed: "#responder.aborted" } },
        failed: { on: { failed: "#responder.aborted" } }, // its pieces out first
      },
      on: { cutoff: "aborted" },
    },
    ended: { tags: ["headed", "ended"], on: { reset: "idle" } },
    aborted: { tags: ["aborted"], on: { reset: "idle" } },
  },
});
