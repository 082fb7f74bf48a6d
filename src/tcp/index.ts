/**
 * hio's core.tcp: nonblocking TCP (and TLS) servers and clients serviced once per tick,
 * plus an in-memory network for deterministic runs in simulated tyme.
 */
export { Server, openServer, listenError } from "./serving.ts";
export type { ServerOptions } from "./serving.ts";
export { Remoter } from "./remoting.ts";
export type { RemoterOptions } from "./remoting.ts";
export { Link } from "./linking.ts";
export type { LinkOptions } from "./linking.ts";
export { Client, openClient } from "./clienting.ts";
export type { ClientOptions } from "./clienting.ts";
export { ServerTls, ClientTls } from "./tls.ts";
export type { ServerTlsOptions, ClientTlsOptions, Certify } from "./tls.ts";
export { MemoryNetwork } from "./memory.ts";
export type { MemoryNetworkOptions } from "./memory.ts";
export { WireLog, formatWire } from "./wiring.ts";
export { Recorder, Track, RecordError, RecordMagic, RecordVersion, readRecord, readSession, sessionFiles } from "./recording.ts";
export type { RecorderOptions, RecordHeader, RecordEvent, Recording } from "./recording.ts";
export type { WireLogOptions, WireEntry } from "./wiring.ts";
export { ServerDoer, EchoServerDoer, ClientDoer } from "./doing.ts";
export type { ServerDoerOptions, ClientDoerOptions } from "./doing.ts";
export { keyOf } from "./conduit.ts";
export type { Address, Conduit, ConduitStatus, Listener } from "./conduit.ts";
