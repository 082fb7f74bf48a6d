/**
 * Whole responses written at once: error replies and hio's CustomResponder messages, each a
 * status line, header fields (`Server` and `Date` added when absent) and a Content-Length body.
 */
import { HTTPError, httpDate1123, statusReason } from "./httping.ts";

export interface MessageParts {
  status: number;
  reason?: string;
  headers?: Iterable<readonly [string, string]>;
  body?: Uint8Array | string;
  /** `Server` header value when none is given. */
  name?: string;
  /** False adds `Connection: close`. */
  persisted?: boolean;
  /** False (an HTTP/1.0 request) adds `Connection: keep-alive` to a persisted reply. */
  chunkable?: boolean;
  /** A reply to HEAD: the head alone, its Content-Length the body's that GET would get. */
  head?: boolean;
}

/** Builds a whole response: head plus body, framed by Content-Length. */
export function buildMessage({
  status,
  reason,
  headers = [],
  body = "",
  name = "hio-ts",
  persisted = true,
  chunkable = true,
  head: headOnly = false,
}: MessageParts): Uint8Array {
  const content = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  let head = `HTTP/1.1 ${status} ${reason ?? statusReason(status)}\r\n`;
  let hasServer = false;
  let hasDate = false;
  for (const [field, value] of headers) {
    const lower = field.toLowerCase();
    if (lower === "content-length" || lower === "transfer-encoding" || lower === "connection") continue;
    if (lower === "server") hasServer = true;
    else if (lower === "date") hasDate = true;
    head += `${field}: ${value}\r\n`;
  }
  if (!hasServer) head += `Server: ${name}\r\n`;
  if (!hasDate) head += `Date: ${httpDate1123()}\r\n`;
  const bodyless = status < 200 || status === 204 || status === 304;
  if (!bodyless) head += `Content-Length: ${content.length}\r\n`;
  if (!persisted) head += "Connection: close\r\n";
  else if (!chunkable) head += "Connection: keep-alive\r\n";
  head += "\r\n";
  const headBytes = Buffer.from(head, "latin1");
  if (bodyless || headOnly || content.length === 0) return headBytes;
  return Buffer.concat([headBytes, content]);
}

/** The HTTPError a failure answers with: itself, or a 500 for anything else. */
export function asHTTPError(error: unknown): HTTPError {
  if (error instanceof HTTPError) return error;
  return new HTTPError({ status: 500, title: "Internal Server Error" });
}

/** The whole reply to an error: HTTPError's status, reason, headers and rendered body. */
export function errorMessage(
  error: unknown,
  { name, persisted, chunkable, head = false }: { name: string; persisted: boolean; chunkable: boolean; head?: boolean },
): { status: number; persisted: boolean; bytes: Uint8Array } {
  const failure = asHTTPError(error);
  const headers: Array<[string, string]> = [];
  let typed = false;
  for (const [field, value] of Object.entries(failure.headers ?? {})) {
    if (field.toLowerCase() === "content-type") typed = true;
    headers.push([field, String(value)]);
  }
  if (!typed) headers.push(["Content-Type", "text/plain; charset=utf-8"]);
  const bytes = buildMessage({
    status: failure.status,
    reason: failure.reason,
    headers,
    body: failure.render(),
    name,
    persisted,
    chunkable,
    head,
  });
  return { status: failure.status, persisted, bytes };
}

/**
 * hio's CustomResponder: builds a whole reply from a status, headers and a body or JSON `data`
 * (compact JSON, `application/json; charset=utf-8`). The bytes go straight into a send buffer.
 */
export class CustomResponder {
  readonly name: string;

  constructor({ name = "hio-ts" }: { name?: string } = {}) {
    this.name = name;
  }

  build({
    status = 200,
    headers = {},
    body,
    data,
    persisted = true,
    chunkable = true,
  }: {
    status?: number;
    headers?: Record<string, string> | Iterable<readonly [string, string]>;
    body?: Uint8Array | string;
    data?: unknown;
    persisted?: boolean;
    chunkable?: boolean;
  }): Uint8Array {
    const fields: Array<readonly [string, string]> = Symbol.iterator in headers
      ? [...(headers as Iterable<readonly [string, string]>)]
      : Object.entries(headers as Record<string, string>);
    let content = body ?? "";
    if (data !== undefined) {
      content = JSON.stringify(data);
      if (!fields.some(([field]) => field.toLowerCase() === "content-type")) {
        fields.push(["Content-Type", "application/json; charset=utf-8"]);
      }
    }
    return buildMessage({ status, headers: fields, body: content, name: this.name, persisted, chunkable });
  }
}
