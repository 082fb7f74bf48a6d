/**
 * What an http Client is made with and keeps: its options, hio's request and response dicts,
 * and the pure rules it applies to them (the errored response for a request that never got
 * one, and where a redirect leads).
 */
import type { Tymth } from "../../base/tyming.ts";
import type { Address, Client as TcpClient, ClientTlsOptions, MemoryNetwork, WireLog } from "../../tcp/index.ts";
import type { Recorder, RecorderOptions } from "../../tcp/recording.ts";
import type { ServerSentEvent } from "./eventing.ts";
import { Hict } from "../wire/hicting.ts";
import { defaultPort } from "./requester.ts";
import type { FargsInit, RequestBody, RequestParts } from "./requester.ts";
import type { ResponseLimits } from "./respondent.ts";

/**
 * One queued request, hio's request dict. Keys besides the parts (e.g. `reply`) are kept, not
 * sent, so a response can be matched to its purpose. `host`, `port`, `scheme` are filled in
 * when it is answered.
 */
export interface ClientRequest {
  method: string;
  path: string;
  qargs: Record<string, string>;
  fragment: string;
  headers: Hict;
  body: RequestBody;
  data: unknown;
  fargs: FargsInit | null;
  host?: string;
  port?: number;
  scheme?: string;
  [extra: string]: unknown;
}

/**
 * One finished exchange, hio's response dict. `errored` with `error` (status 0 when no status
 * line arrived) when the response was malformed or the connection failed; `redirects` lists
 * the redirect responses followed on the way, when any.
 */
export interface ClientResponse {
  /** [1, 1] or [1, 0]; null when no status line arrived. */
  version: [number, number] | null;
  status: number;
  reason: string;
  headers: Hict;
  body: Uint8Array;
  /** The body as JSON when the response was JSON (or the client dictable), else null. */
  data: unknown;
  request: ClientRequest;
  errored: boolean;
  error: string | null;
  redirects?: ClientResponse[];
}

/** TLS (tcp.ClientTls): client key and certificate, CA to verify the server, checks. */
type TlsParts = Pick<ClientTlsOptions, "keypath" | "certpath" | "cafilepath" | "certify" | "hostify" | "certedhost" | "context">;

export interface ClientOptions extends RequestParts, TlsParts {
  /** A tcp.Client (or ClientTls) to use instead of making one; its address wins. */
  connector?: TcpClient | null;
  /** Server host name or address (may carry ":port"); default 127.0.0.1. */
  hostname?: string;
  port?: number;
  /** Server address as a pair; wins over hostname and port. */
  ha?: Address;
  /** "http" or "https"; default https when TLS files are given, else from `path`, else http. */
  scheme?: string;
  tymth?: Tymth | null;
  /** Tyme between a failed or cut-off connection and the next attempt. */
  tymeout?: number;
  /** Resend a request whose connection failed before any response byte; resubscribe event streams. */
  reconnectable?: boolean;
  /** Connect over this in-memory network instead of real sockets. */
  network?: MemoryNetwork | null;
  bufsize?: number;
  wl?: WireLog | null;
  /**
   * Records each connection's events to a file, as a server's `record` does: Recorder options
   * (closed by `closeRecorder()`) or a Recorder of your own. Ignored with a `connector`.
   */
  record?: Recorder | RecorderOptions | undefined;
  name?: string;
  /** Parse every response body as JSON into `data`, not only application/json ones. */
  dictable?: boolean;
  /** Follow redirects to the same scheme, host and port (hio's redirectable); default true. */
  redirectable?: boolean;
  /** Leave a default port out of Host. */
  portOptional?: boolean;
  limits?: Partial<ResponseLimits>;
  /** Shared queues, as hio's deques. */
  requests?: ClientRequest[];
  responses?: ClientResponse[];
  events?: ServerSentEvent[];
}

/** Where a client is connected: the origin a redirect must stay on to be followed. */
export interface Origin {
  scheme: string;
  hostname: string;
  port: number;
}

/** The errored response for a request that never got one (e.g. it could not be built). */
export function failed(request: ClientRequest, error: unknown): ClientResponse {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return {
    version: null, status: 0, reason: "", headers: new Hict(), body: new Uint8Array(0), data: null,
    request, errored: true, error: message,
  };
}

/**
 * The request a redirect response leads to, or null when it has no usable Location or leaves
 * `origin`. 303 turns any method but HEAD into GET, 301 and 302 turn POST into GET (what
 * user agents do, RFC 9110 §15.4); a GET drops the body. 307 and 308 keep method and body.
 */
export function redirection(response: ClientResponse, origin: Origin): ClientRequest | null {
  const location = response.headers.get("location");
  if (location === undefined) return null;
  const request = response.request;
  const host = origin.hostname.includes(":") ? `[${origin.hostname}]` : origin.hostname;
  const base = `${origin.scheme}://${host}:${origin.port}${request.path.startsWith("/") ? request.path : "/"}`;
  let url: URL;
  try {
    url = new URL(location, base);
  } catch {
    return null;
  }
  const port = url.port === "" ? defaultPort(url.protocol.slice(0, -1)) : Number(url.port);
  const sameHost = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase() === origin.hostname.toLowerCase();
  if (url.protocol !== `${origin.scheme}:` || !sameHost || port !== origin.port) return null;
  const status = response.status;
  const toGet = (status === 303 && request.method !== "HEAD")
    || ((status === 301 || status === 302) && request.method === "POST");
  const { host: _host, port: _port, scheme: _scheme, ...rest } = request;
  const next: ClientRequest = {
    ...rest,
    method: toGet ? "GET" : request.method,
    path: url.pathname + url.search,
    qargs: {},
    fragment: url.hash.slice(1),
  };
  if (toGet) {
    const headers = new Hict(request.headers);
    for (const name of ["content-length", "content-type", "content-encoding", "content-language",
      "content-location", "transfer-encoding", "digest", "last-modified"]) headers.delete(name);
    next.headers = headers;
    next.body = new Uint8Array(0);
    next.data = null;
    next.fargs = null;
  }
  return next;
}
