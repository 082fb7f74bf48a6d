/**
 * What the Responder needs to know of a fetch Response's body: its bytes when it was given
 * whole, and how to stop a body nobody will send.
 */
import { Readable } from "node:stream";

/** undici keeps a Response's body source (string or bytes) under its `state` symbol. */
const stateKey = Object.getOwnPropertySymbols(new Response("")).find((key) => key.description === "state");

type BodyState = { stream?: ReadableStream; source?: unknown; length?: number | null };
const bodyState = (response: Response): BodyState | null | undefined =>
  stateKey === undefined ? undefined : (response as unknown as Record<symbol, { body?: BodyState | null }>)[stateKey]?.body;

/** undici sizes a string body in UTF-8 bytes (checked once here), so its length is taken as it is. */
const sizedInUtf8 = bodyState(new Response("\u00e9\u{1f600}"))?.length === 6;

/**
 * A body given whole (a string, bytes or JSON) when the Response's body stream is untouched: the
 * string itself (sized in UTF-8 bytes) or the bytes; null for streams and anything else, which
 * are read through the stream.
 */
export function wholeBody(response: Response): { text: string; length: number } | Uint8Array | null {
  const body = bodyState(response);
  if (body === null || body === undefined) return null;
  // What Response.bodyUsed answers, asked of the stream directly (undici's getter costs more).
  const stream = body.stream;
  if (stream === undefined || stream.locked || Readable.isDisturbed(stream as unknown as NodeJS.ReadableStream)) return null;
  const source = body.source;
  const length = body.length;
  if (typeof source === "string") return sizedInUtf8 && typeof length === "number" ? { text: source, length } : null;
  if (source instanceof Uint8Array) return source.length === length ? source : null;
  if (source instanceof ArrayBuffer) return source.byteLength === length ? new Uint8Array(source) : null;
  return null;
}

/** Cancels the body of a Response nobody will send, so what feeds it stops. */
export function cancelBody(response: unknown): void {
  if (!(response instanceof Response)) return;
  const body = response.body;
  if (body !== null && !body.locked) void body.cancel().catch(() => {});
}

/** How a value that is not a Response reads in an error message. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  return typeof value === "string" ? "a string" : `${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}`;
}
