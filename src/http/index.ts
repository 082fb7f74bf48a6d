/**
 * hio's core.http: HTTP/1.1 parsing and serving, serviced once per tick, hosting fetch apps.
 */
export { Hict } from "./wire/hicting.ts";
export type { HictInit } from "./wire/hicting.ts";
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
} from "./wire/httping.ts";
export type { HTTPErrorOptions } from "./wire/httping.ts";
export { Requestant, RequestLimitDefaults, requestantTable } from "./server/requestant.ts";
export type { RequestLimits, RequestantOptions } from "./server/requestant.ts";
export { BodyFeed } from "./server/feeding.ts";
export type { BodyFeedOptions, FeedState } from "./server/feeding.ts";
export { Qargs } from "./wire/targeting.ts";
export { Responder, responderTable } from "./server/responder.ts";
export type { ResponderOptions, Exchange, Answer } from "./server/responder.ts";
export { OutgoingResponse as Response, NativeResponse, installResponse, restoreResponse, responseInstalled } from "./server/outgoing.ts";
export { CustomResponder, CustomReply, buildMessage } from "./server/replying.ts";
export type { MessageParts, ReplyParts } from "./server/replying.ts";
export { Steward, stewardTable, DeadlineDefaults, deadlinesOf } from "./server/steward.ts";
export type { StewardOptions, Deadlines } from "./server/steward.ts";
export { AppSteward, toRequest } from "./server/app.ts";
export type { FetchApp, HttpEnv } from "./server/app.ts";
export { BareServer, Server, ServerDoer, openServer } from "./server/serving.ts";
export { ProxyTrust, forwardedAddress } from "./server/proxying.ts";
export type { TrustProxy } from "./server/proxying.ts";
export type { BareServerOptions, ServerOptions, ServerDoerOptions } from "./server/serving.ts";
export type { ConnectionMachine, ConnectionState, Inspected, Inspection, InspectionListener } from "./inspecting.ts";
export { serveCluster, ClusterPrimary, ClusterWorker } from "./server/clustering.ts";
export type { ClusterOptions, ClusterWorkerInfo } from "./server/clustering.ts";
export { StaticSink } from "./server/static.ts";
export type { StaticSinkOptions, StaticResolution } from "./server/static.ts";
export { Client, ClientDoer, requesterTable } from "./client/client.ts";
export type { ClientOptions, ClientRequest, ClientResponse, ClientDoerOptions } from "./client/client.ts";
export { Requester, normalizeHostPort, updateQargsQuery } from "./client/requester.ts";
export type { RequesterOptions, RequestParts, RequestBody, QargsInit, FargsInit } from "./client/requester.ts";
export { Respondent, ResponseLimitDefaults, respondentTable } from "./client/respondent.ts";
export type { RespondentOptions, ResponseLimits } from "./client/respondent.ts";
export { EventSource } from "./client/eventing.ts";
export type { ServerSentEvent, EventSourceOptions } from "./client/eventing.ts";
