/**
 * Test helpers for real-socket tests: drive a server tick by tick while a client works, and read
 * raw HTTP/1.1 responses back. Every loop is bounded and fails with a message when it runs out.
 */
import net from "node:net";

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The least wall-clock time `drive` gives its work, however many ticks that takes. */
const DriveMs = 2000;

/**
 * Runs `step` (a doist.recur or server.service) between event-loop turns until `work` settles;
 * throws `no result after N ticks` when it does not.
 */
export async function drive<T>(step: () => void, work: Promise<T>, maxTicks = 20_000): Promise<T> {
  let settled = false;
  work.then(
    () => (settled = true),
    () => (settled = true),
  );
  // Bounded by ticks and by time: an idle server's tick costs almost nothing now, so ticks alone
  // can run out before a timer in the app (say 30 ms) fires.
  const started = performance.now();
  let tick = 0;
  for (; !settled && (tick < maxTicks || performance.now() - started < DriveMs); tick++) {
    step();
    await turn();
  }
  if (!settled) throw new Error(`no result after ${tick} ticks`);
  return work;
}

/** Runs `step` for a number of ticks, letting the event loop turn between them. */
export async function spin(step: () => void, ticks: number): Promise<void> {
  for (let tick = 0; tick < ticks; tick++) {
    step();
    await turn();
  }
}

export interface RawReply {
  /** Every byte the server sent. */
  bytes: Buffer;
  /** True when the server closed (or reset) the connection. */
  closed: boolean;
}

export interface RawOptions {
  /** Write the request in pieces of this many bytes, one piece per event-loop turn. */
  split?: number;
  /** Resolve as soon as this says the bytes so far are enough. */
  until?: (bytes: Buffer) => boolean;
  /** Half-close (FIN) after the request is written. */
  end?: boolean;
}

/** Sends raw bytes on a fresh connection; resolves when `until` is satisfied or the server closes. */
export function rawRequest(port: number, request: string | Buffer, { split, until, end = false }: RawOptions = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed });
    };
    socket.on("data", (data) => {
      chunks.push(data);
      if (until?.(Buffer.concat(chunks))) finish(false);
    });
    socket.on("close", () => finish(true));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNRESET" || error.code === "EPIPE") finish(true);
      else if (!done) {
        done = true;
        reject(error);
      }
    });
    socket.on("connect", async () => {
      const bytes = typeof request === "string" ? Buffer.from(request, "latin1") : request;
      if (split === undefined) socket.write(bytes);
      else {
        for (let at = 0; at < bytes.length && !done; at += split) {
          socket.write(bytes.subarray(at, at + split));
          await turn();
        }
      }
      if (end && !done) socket.end();
    });
  });
}

export interface ParsedResponse {
  status: number;
  reason: string;
  /** Field lines in order, names as sent. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** How the body was framed. */
  framing: "length" | "chunked" | "close" | "none";
  get(name: string): string | undefined;
}

/**
 * Parses the responses in `bytes`: as many complete ones as there are. HEAD responses and
 * 1xx/204/304 have no body; `heads` lists which request methods were HEAD, in order.
 */
export function parseResponses(bytes: Buffer, { closed = false, heads = [] as boolean[] } = {}): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let at = 0;
  let index = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf("\r\n\r\n", at, "latin1");
    if (end < 0) break;
    const lines = bytes.subarray(at, end).toString("latin1").split("\r\n");
    const [version, code, ...reason] = (lines[0] ?? "").split(" ");
    if (!version?.startsWith("HTTP/")) throw new Error(`not a status line: ${lines[0]}`);
    const status = Number(code);
    const headers = lines.slice(1).map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon), line.slice(colon + 1).trim()] as [string, string];
    });
    const get = (name: string): string | undefined => headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
    let cursor = end + 4;
    let body: Buffer = Buffer.alloc(0);
    let framing: ParsedResponse["framing"] = "none";
    const interim = status >= 100 && status < 200;
    const bodyless = interim || status === 204 || status === 304 || (heads[index] ?? false);
    if (bodyless) {
      framing = "none";
    } else if ((get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) {
      framing = "chunked";
      const pieces: Buffer[] = [];
      for (;;) {
        const lineEnd = bytes.indexOf("\r\n", cursor, "latin1");
        if (lineEnd < 0) return out;
        const size = parseInt(bytes.subarray(cursor, lineEnd).toString("latin1"), 16);
        cursor = lineEnd + 2;
        if (size === 0) {
          const trailerEnd = bytes.indexOf("\r\n", cursor, "latin1");
          if (trailerEnd < 0) return out;
          cursor = trailerEnd + 2;
          break;
        }
        if (cursor + size + 2 > bytes.length) return out;
        pieces.push(bytes.subarray(cursor, cursor + size));
        cursor += size + 2;
      }
      body = Buffer.concat(pieces);
    } else if (get("content-length") !== undefined) {
      framing = "length";
      const length = Number(get("content-length"));
      if (cursor + length > bytes.length) return out;
      body = bytes.subarray(cursor, cursor + length);
      cursor += length;
    } else {
      if (!closed) return out;
      framing = "close";
      body = bytes.subarray(cursor);
      cursor = bytes.length;
    }
    out.push({ status, reason: reason.join(" "), headers, body, framing, get });
    if (!interim) index += 1;
    at = cursor;
  }
  return out;
}

/** An `until` for rawRequest: satisfied once `n` final (non-1xx) responses have arrived whole. */
export function responses(n: number, heads: boolean[] = []): (bytes: Buffer) => boolean {
  return (bytes) => parseResponses(bytes, { heads }).filter((r) => r.status >= 200).length >= n;
}
