/**
 * The life of one connection: wait for a request, respond to it, pour the response out, and
 * either loop for the next request (keep-alive) or close once the send buffer drains. The
 * Steward class services the bytes once per tick and sends what happened.
 */
import { setup } from "xstate";

export type StewardEvent =
  | { type: "request.parsed" } // a whole request is parsed; the responder is dispatched
  | { type: "request.failed" } // the request was malformed: an error response, then close
  | { type: "response.headed" } // the response head is in the send buffer
  | { type: "response.ended" } // the response ended and the connection persists
  | { type: "response.last" } // the response ended and the connection must close
  | { type: "peer.ended" } // the peer's FIN: no further request can come
  | { type: "drain" } // the server is draining: no further request is taken
  | { type: "drained" } // everything queued has been handed to the socket: half-close, linger
  | { type: "lingered" } // the peer did not close within the linger time
  | { type: "tymeout" } // idle for longer than the connection's tymeout
  | { type: "cutoff" }; // the peer closed or reset the connection

export type StewardTag = "waited" | "busy" | "closing";

export const stewardMachine = setup({
  types: {
    events: {} as StewardEvent,
    tags: {} as StewardTag,
  },
}).createMachine({
  id: "steward",
  initial: "waiting",
  states: {
    waiting: {
      tags: ["waited"],
      on: { "request.parsed": "responding", "request.failed": "responding", "peer.ended": "closing", drain: "closing" },
    },
    responding: {
      tags: ["busy"],
      on: { "response.headed": "pouring", "response.last": "closing" },
    },
    pouring: {
      tags: ["busy"],
      on: { "response.ended": "waiting", "response.last": "closing" },
    },
    closing: { tags: ["closing"], on: { drained: "lingering" } },
    // Our FIN is sent; the peer's last bytes are read and dropped until it closes too, so an
    // early close does not reset the connection and erase our last reply (RFC 9112 §9.6).
    lingering: { tags: ["closing"], on: { lingered: "closed" } },
    closed: { type: "final" },
  },
  on: { cutoff: ".closed", tymeout: ".closed" },
});
