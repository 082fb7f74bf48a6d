/**
 * request(): a fetch Request answered by an app through the wire, in simulated tyme, with no
 * sockets: its bytes go over a MemoryNetwork to a real http.Server (the parser, the steward, the
 * responder), and the Response is made from the bytes the server wrote. So what calling
 * `app.fetch()` directly cannot show (a Content-Length that lies, a body cut short, a chunked
 * upload the parser mishandles) shows here.
 */
import type { DoerLike } from "../base/deeding.ts";
import { BareServer, Server, ServerDoer } from "../http/server/serving.ts";
import type { ServerOptions } from "../http/server/serving.ts";
import type { FetchApp, HttpEnv } from "../http/server/app.ts";
import { MemoryNetwork } from "../tcp/memory.ts";
import type { MemoryNetworkOptions } from "../tcp/memory.ts";
import { Peer } from "./peering.ts";
import type { Piece } from "./peering.ts";
import { readResponse } from "./reading.ts";
import type { Framing, ReadResponse, ResponseHead } from "./reading.ts";
import { runUntil } from "./running.ts";
import type { Trace } from "./tracing.ts";

/** An object with a fetch method (a Hono app, for one). */
export interface Fetcher {
  fetch(request: Request, env: HttpEnv): Response | PromiseLike<Response>;
}

/**
 * What answers: a fetch app, an object with a fetch method, or the options of an http.Server
 * (with an app; without one, a BareServer that echoes). Its network, host, port and ha are
 * the kit's own; an `onError` not given collects errors in `wire.errors`, quietly.
 */
export type Target = FetchApp | Fetcher | ServerOptions;

/** What the kit adds to a RequestInit. */
export interface RequestOptions {
  /** Tyme of the first tick; default 0. */
  tyme?: number;
  /** Tyme per tick; default 1/32. */
  tock?: number;
  /** Tyme the exchange may take from its start; default 10. */
  limit?: number;
  /** The in-memory network's latency, chunk, gap and window; default: no latency, writes whole. */
  network?: MemoryNetworkOptions;
  /** Doers run beside the server and the client (after them, each tick): feeders of streams. */
  doers?: Iterable<DoerLike>;
  /** The client's events go here (see Peer), and the trace is wound to the run's clock. */
  trace?: Trace;
}

export type TestRequestInit = RequestInit & RequestOptions;

/** What went over the wire, and when. */
export interface Wire {
  /** Tyme the client dialed. */
  start: number;
  /** Tyme of the tick the exchange finished: the response whole, a fault, or the limit. */
  tyme: number;
  /** Every byte the client wrote. */
  tx: Buffer;
  /** Every byte that arrived from the server. */
  rx: Buffer;
  /** The client's writes, with tymes. */
  sent: Piece[];
  /** The arrivals, with tymes. */
  received: Piece[];
  /** How the server's end had closed by then: "fin", "reset", or null (still open). */
  closed: "fin" | "reset" | null;
  /** The response head as received (names in their case, in order), once read. */
  head: ResponseHead | null;
  interims: ResponseHead[];
  framing: Framing | null;
  /** Content-Length as the server declared it, else null. */
  declared: number | null;
  trailers: Array<[name: string, value: string]>;
  /** Bytes after the response: the server wrote more than it framed. */
  extra: Buffer;
  /** The response ended whole (false: a fault, or the limit came first). */
  complete: boolean;
  /** Why there is no whole response, in words: a framing fault, a close, the limit. */
  fault: string | null;
  /** A fetch Response made from the bytes: null when there is no head, or the bytes are faulty. */
  response: Response | null;
  /** What the server's onError was told (when the kit's own collects them). */
  errors: unknown[];
}

/** A Response from `request()`, with the wire it came over. */
export type TestResponse = Response & { readonly wire: Wire };

/** request() found no usable response on the wire; `wire` says what there was. */
export class WireFault extends Error {
  override name = "WireFault";
  readonly wire: Wire;
  constructor(wire: Wire) {
    super(wire.fault ?? "no response");
    this.wire = wire;
  }
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const CONTENTFUL = new Set(["POST", "PUT", "PATCH"]);

function serverOf(target: Target, network: MemoryNetwork, port: number, errors: unknown[]): BareServer {
  const quiet = (error: unknown): void => void errors.push(error);
  const base = { network, ha: ["127.0.0.1", port] as const, onError: quiet };
  if (typeof target === "function") return new Server({ ...base, app: target });
  if ("fetch" in target && typeof target.fetch === "function") {
    const fetcher = target as Fetcher;
    return new Server({ ...base, app: (request, env) => fetcher.fetch(request, env) });
  }
  const options = target as ServerOptions;
  const made = { ...options, ...base, onError: options.onError ?? quiet };
  return made.app !== undefined ? new Server(made) : new BareServer(made);
}

/** The request's head on the wire, and how its body goes: whole, streamed chunked, or raw. */
function headOf(request: Request, streamed: boolean, length: number | null): { head: string; chunked: boolean } {
  const url = new URL(request.url);
  const headers = request.headers;
  const coding = headers.get("transfer-encoding");
  let head = `${request.method} ${url.pathname}${url.search} HTTP/1.1\r\n`;
  if (!headers.has("host")) head += `host: ${url.host}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  let chunked = coding !== null && /(^|,)\s*chunked\s*$/i.test(coding);
  if (coding === null && !headers.has("content-length")) {
    if (streamed) {
      head += "transfer-encoding: chunked\r\n";
      chunked = true;
    } else if (length !== null && (length > 0 || CONTENTFUL.has(request.method))) {
      head += `content-length: ${length}\r\n`;
    } else if (length === null && CONTENTFUL.has(request.method)) {
      head += "content-length: 0\r\n";
    }
  }
  return { head: head + "\r\n", chunked };
}

/** Writes a streamed body into the peer as it comes, chunked or raw; the last chunk at its end. */
async function pump(reader: ReadableStreamDefaultReader<Uint8Array>, peer: Peer, chunked: boolean): Promise<void> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (value.length === 0) continue;
    peer.write(chunked ? Buffer.concat([Buffer.from(`${value.length.toString(16)}\r\n`), value, Buffer.from("\r\n")]) : value);
  }
  if (chunked) peer.write("0\r\n\r\n");
}

function responseOf(read: ReadResponse, method: string): Response | string {
  const head = read.head!;
  try {
    const headers = new Headers();
    for (const [name, value] of head.headers) headers.append(name, value);
    const empty = method === "HEAD" || NULL_BODY.has(head.status);
    return new Response(empty ? null : read.body, { status: head.status, statusText: head.reason, headers });
  } catch (error) {
    return `the response cannot be a fetch Response: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * Sends `input` (with `init`) to `target` over the wire in simulated tyme and resolves with
 * what went over it, response or not: a server's fault is `wire.fault`, never a rejection.
 * The request is written as a client would: Host from the URL (unless given), the fields of the
 * Request, a body read whole with Content-Length, or a ReadableStream body sent chunked as it
 * comes. Fields given for framing (Content-Length, Transfer-Encoding) are sent as given.
 */
export async function requestRaw(target: Target, input: string | URL | Request, init: TestRequestInit = {}): Promise<Wire> {
  const { tyme = 0, tock = 1 / 32, limit = 10, network: networkOptions = {}, doers = [], trace, ...fetchInit } = init;
  const streamed = fetchInit.body instanceof ReadableStream;
  const requestInit = (streamed ? { ...fetchInit, duplex: "half" } : fetchInit) as RequestInit;
  const request = typeof input === "string" ? new Request(new URL(input, "http://localhost/"), requestInit) : new Request(input, requestInit);
  const method = request.method;
  const whole = streamed || request.body === null ? null : new Uint8Array(await request.arrayBuffer());
  const { head, chunked } = headOf(request, streamed, whole?.length ?? null);

  const url = new URL(request.url);
  const port = Number(url.port) || 80;
  const network = new MemoryNetwork(networkOptions);
  const errors: unknown[] = [];
  const server = serverOf(target, network, port, errors);
  const peer = new Peer({ network, ha: ["127.0.0.1", port], name: "client", send: head, trace: trace ?? null });
  let pumpError: unknown = null;
  const reader = streamed ? request.body!.getReader() : null;
  if (reader !== null) {
    pump(reader, peer, chunked).catch((error: unknown) => {
      pumpError = error;
      peer.reset();
    });
  } else if (whole !== null && whole.length > 0) {
    peer.write(chunked ? Buffer.concat([Buffer.from(`${whole.length.toString(16)}\r\n`), whole, Buffer.from("\r\n0\r\n\r\n")]) : whole);
  }

  const closedOf = (): "fin" | "reset" | null => {
    const last = peer.events[peer.events.length - 1]?.[1];
    return last === "closed" ? "fin" : last === "cut" || last === "reset" ? "reset" : null;
  };
  let read: ReadResponse = readResponse(new Uint8Array(0), { head: method === "HEAD" });
  let seen = "";
  const until = (): boolean => {
    if (request.signal.aborted) return true;
    const closed = closedOf();
    const now = `${peer.arrivals.length} ${closed}`;
    if (now !== seen) {
      seen = now; // read again only when something arrived or the connection ended
      read = readResponse(peer.received, { head: method === "HEAD", closed });
    }
    return read.state !== "more" || peer.closed;
  };
  const run = await runUntil([new ServerDoer({ server }), peer, ...doers], {
    until, limit, tock, tyme, ...(trace === undefined ? {} : { trace }),
  });
  if (reader !== null) void reader.cancel().catch(() => {}); // a body still going when the exchange ended
  request.signal.throwIfAborted();

  const rx = Buffer.from(peer.received);
  const wire: Wire = {
    start: tyme,
    tyme: run.tyme,
    tx: Buffer.concat(peer.writes.map(({ bytes }) => bytes)),
    rx,
    sent: peer.writes,
    received: peer.arrivals,
    closed: closedOf(),
    head: read.head,
    interims: read.interims,
    framing: read.framing,
    declared: read.declared,
    trailers: read.trailers,
    extra: read.state === "whole" ? rx.subarray(read.used) : Buffer.alloc(0),
    complete: read.state === "whole",
    fault: read.fault,
    response: null,
    errors,
  };
  if (pumpError !== null) {
    wire.fault = `the request body stream failed: ${pumpError instanceof Error ? pumpError.message : String(pumpError)}`;
  } else if (read.head === null && wire.fault === null) {
    wire.fault = `no response by tyme ${run.tyme} (limit ${limit})`;
  }
  if (read.head !== null && read.state !== "fault" && pumpError === null) {
    const made = responseOf(read, method);
    if (typeof made === "string") wire.fault = made;
    else wire.response = Object.defineProperty(made, "wire", { value: wire });
  }
  return wire;
}

/**
 * Sends `input` to `target` over the wire in simulated tyme, like `fetch` against a server:
 * resolves with a Response made from the bytes the server wrote (with `wire` on it), and
 * rejects with a WireFault where fetch would fail (a body cut short by the close, bytes that are
 * not HTTP, no response by the limit). A response still going at the limit (an event stream)
 * resolves with the body so far: `response.wire.complete` is false then.
 * @example
 * const response = await request(app, "/hello", { method: "POST", body: JSON.stringify({ a: 1 }) });
 * await response.json();
 */
export async function request(target: Target, input: string | URL | Request, init: TestRequestInit = {}): Promise<TestResponse> {
  const wire = await requestRaw(target, input, init);
  if (wire.response === null) throw new WireFault(wire);
  return wire.response as TestResponse;
}
