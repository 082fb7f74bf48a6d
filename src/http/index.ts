/**
 * hio's core.http: HTTP/1.1 parsing and serving, serviced once per tick, hosting fetch apps.
 */
export { Hict } from "./hicting.ts";
export type { HictInit } from "./hicting.ts";
export {
  HTTPException,
  InvalidURL,
  UnknownProtocol,
  BadStatusLine,
  BadRequestLine,
  BadMethod,
  LineTooLong,
  PrematureClosure,
  HTTPError,
  StatusDescriptions,
  statusReason,
  httpDate1123,
} from "./httping.ts";
export type { HTTPErrorOptions } from "./httping.ts";
export { Requestant, RequestLimitDefaults, requestantTable } from "./parsing.ts";
export type { RequestLimits, RequestantOptions } from "./parsing.ts";
export { BodyFeed } from "./feeding.ts";
export type { BodyFeedOptions, FeedState } from "./feeding.ts";
export { Qargs } from "./targeting.ts";
export { Responder, responderTable } from "./responding.ts";
export type { ResponderOptions, Exchange, Answer } from "./responding.ts";
export { OutgoingResponse as Response, NativeResponse, installResponse, restoreResponse, responseInstalled } from "./outgoing.ts";
export { CustomResponder, CustomReply, buildMessage } from "./replying.ts";
export type { MessageParts, ReplyParts } from "./replying.ts";
export { Steward, AppSteward, stewardTable, toRequest, DeadlineDefaults, deadlinesOf } from "./stewarding.ts";
export type { FetchApp, HttpEnv, StewardOptions, Deadlines } from "./stewarding.ts";
export { BareServer, Server, ServerDoer, openServer } from "./serving.ts";
export { ProxyTrust, forwardedAddress } from "./proxying.ts";
export type { TrustProxy } from "./proxying.ts";
export type { BareServerOptions, ServerOptions, ServerDoerOptions } from "./serving.ts";
export type { ConnectionMachine, ConnectionState, Inspected, Inspection, InspectionListener } from "./inspecting.ts";
export { serveCluster, ClusterPrimary, ClusterWorker } from "./clustering.ts";
export type { ClusterOptions, ClusterWorkerInfo } from "./clustering.ts";
export { StaticSink } from "./static.ts";
export type { StaticSinkOptions, StaticResolution } from "./static.ts";
export { Client, ClientDoer, requesterTable } from "./clienting.ts";
export type { ClientOptions, ClientRequest, ClientResponse, ClientDoerOptions } from "./clienting.ts";
export { Requester, normalizeHostPort, updateQargsQuery } from "./requesting.ts";
export type { RequesterOptions, RequestParts, RequestBody, QargsInit, FargsInit } from "./requesting.ts";
export { Respondent, ResponseLimitDefaults, respondentTable } from "./respondent.ts";
export type { RespondentOptions, ResponseLimits } from "./respondent.ts";
export { EventSource } from "./eventing.ts";
export type { ServerSentEvent, EventSourceOptions } from "./eventing.ts";
