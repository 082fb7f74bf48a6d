/**
 * Helpers for the interop and streaming tests: a served fetch app on 127.0.0.1 port 0 stepped
 * by a Tymist, child processes (curl, python3) run asynchronously while the server ticks, a
 * keep-alive raw connection, and patterned payloads checked without holding them whole.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import net from "node:net";
import { Tymist, http } from "../../src/index.ts";
import type { FetchApp, HttpEnv } from "../../src/index.ts";
import { parseResponses } from "../helpers.ts";
import type { ParsedResponse } from "../helpers.ts";

/** Servers opened by `serveApp`; `closeServed()` (in an afterEach) closes them all. */
const served: http.BareServer[] = [];

export interface Served {
  server: http.BareServer;
  port: number;
  /** One server tick: service, then tyme moves on by a tock. */
  step: () => void;
  tymist: Tymist;
  /** Absolute URL of `path` on this server. */
  url: (path: string) => string;
}

/**
 * Opens a Server for `app` (a BareServer without one) on 127.0.0.1, port 0. Ticks run as fast
 * as the event loop turns, so tyme here says nothing of wall-clock time: the idle tymeout and the
 * headers, request and send deadlines are off (0) unless `options` sets them, lest a client's own
 * pauses look like hours of idleness.
 */
export function serveApp(app?: http.FetchApp, options: Partial<http.ServerOptions> = {}): Served {
  const tymist = new Tymist({ tock: 1 / 64 });
  const deadlines = { headers: 0, request: 0, send: 0, ...options.deadlines };
  const base = { host: "127.0.0.1", port: 0, tymth: tymist.tymen(), tymeout: 0, ...options, deadlines };
  const server = app ? http.openServer({ app, ...base }) : http.openServer(base);
  served.push(server);
  const step = (): void => {
    server.service();
    tymist.tick();
  };
  const port = server.ha[1];
  return { server, port, step, tymist, url: (path) => `http://127.0.0.1:${port}${path}` };
}

/** Closes every server `serveApp` opened. */
export function closeServed(): void {
  for (const server of served.splice(0)) server.close();
}

/** True when `command --version` runs (checked once, before any server is up). */
export function installed(command: string): boolean {
  const probe = spawnSync(command, ["--version"], { stdio: "ignore", timeout: 10_000 });
  return probe.error === undefined && probe.status === 0;
}

/**
 * Runs `step` between event-loop turns until `work` settles, for at most `seconds` of wall-clock
 * time (for clients in other processes, whose start-up is counted in milliseconds, not ticks).
 */
export async function driveFor<T>(step: () => void, work: Promise<T>, seconds = 15): Promise<T> {
  let settled = false;
  work.then(
    () => (settled = true),
    () => (settled = true),
  );
  const deadline = performance.now() + seconds * 1000;
  while (!settled && performance.now() < deadline) {
    step();
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (!settled) throw new Error(`no result after ${seconds} s`);
  return work;
}

export interface Ran {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command without blocking the event loop; `input` goes to its stdin. */
export function runCommand(command: string, args: string[], { input }: { input?: Uint8Array | string | undefined } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (data: Buffer) => out.push(data));
    child.stderr.on("data", (data: Buffer) => err.push(data));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    child.stdin.on("error", () => {}); // a command that exits early closes its stdin
    child.stdin.end(input ?? "");
  });
}

/**
 * One client connection that sends requests one at a time and waits for each response whole
 * (keep-alive); `heads` tells which requests were HEAD, in order.
 */
export class KeepAlive {
  readonly socket: net.Socket;
  readonly connected: Promise<void>;
  #bytes: Buffer = Buffer.alloc(0);
  #heads: boolean[] = [];
  #taken = 0;
  #closed = false;
  #wake: (() => void) | null = null;

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.connected = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on("data", (data: Buffer) => {
      this.#bytes = Buffer.concat([this.#bytes, data]);
      this.#wake?.();
    });
    this.socket.on("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
    this.socket.on("error", () => {});
  }

  /** True once the server closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends `raw` and resolves with the next final response; rejects if the server closes first. */
  async request(raw: string | Buffer, { head = false } = {}): Promise<ParsedResponse> {
    await this.connected;
    this.#heads.push(head);
    this.socket.write(raw);
    for (;;) {
      const finals = parseResponses(this.#bytes, { heads: this.#heads }).filter((r) => r.status >= 200);
      if (finals.length > this.#taken) return finals[this.#taken++]!;
      if (this.#closed) throw new Error("the server closed the connection before answering");
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const PERIOD = 251;
const REFERENCE = (() => {
  const bytes = Buffer.alloc(PERIOD + (1 << 20));
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % PERIOD;
  return bytes;
})();

/** `n` bytes of the pattern `byte i = (offset + i) mod 251`, as a view of a shared reference. */
export function patternAt(offset: number, n: number): Uint8Array {
  if (n > REFERENCE.length - PERIOD) throw new RangeError(`pattern pieces are at most ${REFERENCE.length - PERIOD} bytes`);
  const at = offset % PERIOD;
  return REFERENCE.subarray(at, at + n);
}

/** A fresh copy of `n` pattern bytes from offset 0. */
export function pattern(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 1 << 20) out.set(patternAt(at, Math.min(1 << 20, n - at)), at);
  return out;
}

/** True when `bytes` are the pattern from `offset` on (no copy, no per-byte loop in JS). */
export function matchesPattern(bytes: Uint8Array, offset: number): boolean {
  for (let at = 0; at < bytes.length; at += 1 << 20) {
    const piece = bytes.subarray(at, Math.min(bytes.length, at + (1 << 20)));
    if (Buffer.compare(piece, patternAt(offset + at, piece.length)) !== 0) return false;
  }
  return true;
}

let big: Uint8Array<ArrayBuffer> | null = null;
const BIG = (): Uint8Array<ArrayBuffer> => (big ??= pattern(1 << 20));

/** What `recordingApp` saw of one request. */
export interface Seen {
  method: string;
  path: string;
  version: string;
  remotePort: number;
  te: string | null;
}

/**
 * An app that records each request and answers by path: /hello (12 bytes of text), /big (1 MiB
 * of pattern), /stream (three parts a turn apart), /echo (JSON: method, query, type, length,
 * sha256 and parsed JSON of the body), anything else 404.
 */
export function recordingApp(): { app: FetchApp; seen: Seen[] } {
  const seen: Seen[] = [];
  const app: FetchApp = async (request: Request, env: HttpEnv) => {
    const url = new URL(request.url);
    seen.push({
      method: request.method,
      path: url.pathname,
      version: env.requestant.version,
      remotePort: env.remotePort,
      te: request.headers.get("transfer-encoding"),
    });
    switch (url.pathname) {
      case "/hello":
        return new Response("Hello World!", { headers: { "content-type": "text/plain" } });
      case "/big":
        return new Response(BIG(), { headers: { "content-type": "application/octet-stream" } });
      case "/stream": {
        const parts = ["one;", "two;", "three;"];
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              await new Promise((resolve) => setImmediate(resolve)); // a turn per part
              const part = parts.shift();
              if (part === undefined) controller.close();
              else controller.enqueue(new TextEncoder().encode(part));
            },
          }),
        );
      }
      case "/echo": {
        const body = new Uint8Array(await request.arrayBuffer());
        const type = request.headers.get("content-type") ?? "";
        return Response.json({
          method: request.method,
          query: Object.fromEntries(url.searchParams),
          type,
          length: body.length,
          sha256: createHash("sha256").update(body).digest("hex"),
          json: type.startsWith("application/json") ? JSON.parse(Buffer.from(body).toString()) : null,
        });
      }
      default:
        return new Response("nothing here", { status: 404 });
    }
  };
  return { app, seen };
}
