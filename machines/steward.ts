/**
 * The life of one connection: wait for a request, receive it, have it answered (by the app, or
 * refused by the server with an error status), and either loop for the next request (keep-alive)
 * or close: send what is queued, half-close, linger for the peer's close. The Steward class
 * services the bytes once per tick and sends what happened; this machine decides the phase.
 *
 * Once per service, after the bytes of the tick are handled, the Steward sends `tick` with the
 * facts of the tick, again while it moves (closing and lingering may follow in the same tick).
 * Every deadline is a guarded transition on `tick`: the Steward computes the deadline that
 * applies in the current phase (headers or request from a request's first byte, idle between
 * requests, send while output waits on the peer, linger after our FIN) and tells `expired`.
 *
 * Facts (booleans a tick, or `answered`, carries; the guards read nothing else):
 * - `starved`: the bytes in hand hold no whole request (what is left waits for more).
 * - `peerEnded`: the peer's FIN came (it sends nothing more; it may still read).
 * - `sending`: output waits for the socket (the send buffer is not drained).
 * - `expired`: the deadline of the current phase has passed.
 * - `draining`: the server stops gracefully: take no new request.
 * - `persists`: the answer just ended lets the connection carry another request.
 */
import { and, not, setup } from "xstate";

export interface StewardFacts {
  starved?: boolean;
  peerEnded?: boolean;
  sending?: boolean;
  expired?: boolean;
  draining?: boolean;
  persists?: boolean;
}

export type StewardEvent = (
  | { type: "request.begun" } // the first byte of a request is in hand
  | { type: "continue.sent" } // 100 Continue went out: the client may send the body
  | { type: "request.parsed" } // a whole request (or a streamed one's head): the app is called
  | { type: "request.failed" } // the request broke RFC 9112 or a limit: the server answers the error
  | { type: "answered" } // the Responder ended or aborted its answer (fact: persists)
  | { type: "tick" } // the facts of the tick
  | { type: "cutoff" } // the peer reset the connection, the server closed it, or the exchange broke after its head
) & StewardFacts;

export type StewardEventType = StewardEvent["type"];
export type StewardTag = "busy";

const fact = (name: keyof StewardFacts) => ({ event }: { event: StewardEvent }): boolean => event[name] === true;

export const stewardMachine = setup({
  types: {
    events: {} as StewardEvent,
    tags: {} as StewardTag,
  },
  // One guard per fact, in the order of the table's fact bits.
  guards: {
    starved: fact("starved"),
    peerEnded: fact("peerEnded"),
    sending: fact("sending"),
    expired: fact("expired"),
    draining: fact("draining"),
    persists: fact("persists"),
  },
}).createMachine({
  id: "steward",
  initial: "waiting",
  states: {
    // Between requests: the idle deadline runs (the send deadline while output waits).
    waiting: {
      on: {
        "request.begun": "receiving",
        // Not starved: more pipelined requests are in hand than one tick takes; they go first.
        tick: [
          { guard: and(["peerEnded", "starved"]), target: "closing" },
          { guard: and(["draining", "starved"]), target: "closing" },
          { guard: "expired", target: "closed" },
        ],
      },
    },
    // A request is arriving: the headers deadline runs from its first byte until its head is
    // whole, then the request deadline until its end. At the deadline it is answered 408.
    receiving: {
      initial: "plain",
      states: {
        plain: { on: { "continue.sent": "continued" } },
        continued: {}, // 100 Continue went out for this request
      },
      on: {
        "request.parsed": "answering",
        "request.failed": "refusing",
        tick: [
          { guard: and(["peerEnded", "starved"]), target: "closing" }, // a request cut short by the FIN
          { guard: and(["expired", "sending"]), target: "closed" }, // a peer that reads nothing: no 408 can go out
          { guard: "expired", target: "refusing" },
        ],
      },
    },
    // The app answers through the Responder. No deadline while it works for a peer still there;
    // the send deadline while output waits; idle after the peer's FIN. A streamed request body
    // is still being received (the request deadline bounds it) and may ask for 100 Continue.
    answering: {
      tags: ["busy"],
      initial: "plain",
      states: {
        plain: { on: { "continue.sent": "continued" } },
        continued: {},
      },
      on: {
        answered: [{ guard: "persists", target: "waiting" }, { target: "closing" }],
        "request.failed": "refusing", // a streamed body failed before the answer's head: its error is the answer
        tick: { guard: "expired", target: "closed" },
      },
    },
    // The server answers the request's error (400, 408, 413, 431, 501, 505...) through the
    // Responder, with `Connection: close`.
    refusing: {
      tags: ["busy"],
      on: {
        answered: "closing",
        tick: { guard: "expired", target: "closed" },
      },
    },
    // No further request: everything queued goes out, then our FIN (or a close when the peer
    // closed first). The send deadline runs while output waits.
    closing: {
      on: {
        tick: [
          { guard: and([not("sending"), "peerEnded"]), target: "closed" },
          { guard: not("sending"), target: "lingering" },
          { guard: "expired", target: "closed" },
        ],
      },
    },
    // Our FIN is sent; the peer's last bytes are read and dropped until it closes too, so an
    // early close does not reset the connection and erase our last reply (RFC 9112 §9.6).
    lingering: {
      on: {
        tick: [
          { guard: "peerEnded", target: "closed" },
          { guard: "expired", target: "closed" },
        ],
      },
    },
    closed: { type: "final" },
  },
  on: { cutoff: ".closed" },
});
