/**
 * A testing kit for programs in simulated tyme: `request()` answers a fetch Request through the
 * wire (a real http.Server on a MemoryNetwork, no sockets), `runUntil()` runs doers until a
 * condition or a limit, `Peer` is a client that misbehaves on purpose, and `Trace` records what
 * happened when, comparable by hash. `replay()` runs a recorded session (a server's `record`
 * option) again in simulated tyme and says whether the server answers it byte for byte the same.
 */
export { request, requestRaw, WireFault } from "./requesting.ts";
export type { Fetcher, Target, RequestOptions, TestRequestInit, TestResponse, Wire } from "./requesting.ts";
export { readResponse } from "./reading.ts";
export type { Framing, ReadOptions, ReadResponse, ResponseHead } from "./reading.ts";
export { runUntil } from "./running.ts";
export type { Run, RunOptions } from "./running.ts";
export { Peer } from "./peering.ts";
export type { Piece, PeerEvent, PeerOptions, PeerWhat } from "./peering.ts";
export { Trace, wireText } from "./tracing.ts";
export type { Detail, TraceEntry, TraceOptions } from "./tracing.ts";
export { replay, formatReport, printable } from "./replaying.ts";
export type { ReplayOptions, ReplayReport, ReplayDifference, ReplaySettings } from "./replaying.ts";
