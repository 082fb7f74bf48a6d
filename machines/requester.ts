/**
 * The client's side of its connection, one request at a time (hio's Client with its Requester):
 * no connection, a connection with no request out, or a request out whose response has not
 * ended (hio's `waited`). The response ends and the connection is kept, or it ends and the
 * connection is closed after it; a request cut off before its answer is put back and sent
 * again on a new connection (`requeued`); `dropped` closes the connection for any other cause
 * (the client closed, the server went away between responses, bytes nobody asked for).
 *
 * The Client does the bytes and sends what happened; this machine decides the phase. No
 * guards, no delays, no event data: `MachineTable` tabulates it exactly once at load. The tag
 * `waited` is hio's flag of the same name.
 */
import { setup } from "xstate";

export type RequesterEvent =
  | { type: "opened" } // a new connection is under way
  | { type: "request.sent" } // a request's bytes are queued on the connection
  | { type: "response.ended" } // its response ended and the connection persists
  | { type: "response.last" } // its response ended (or failed) and the connection is closed after it
  | { type: "requeued" } // cut off before its response: the request goes back to be sent again
  | { type: "dropped" }; // the connection is closed for another cause

export type RequesterEventType = RequesterEvent["type"];
export type RequesterTag = "waited";

export const requesterMachine = setup({
  types: {
    events: {} as RequesterEvent,
    tags: {} as RequesterTag,
  },
}).createMachine({
  id: "requester",
  initial: "closed",
  states: {
    closed: { on: { opened: "idle" } },
    idle: {
      on: { "request.sent": "waiting", dropped: "closed" },
    },
    waiting: {
      tags: ["waited"],
      on: { "response.ended": "idle", "response.last": "closed", requeued: "closed", dropped: "closed" },
    },
  },
});
