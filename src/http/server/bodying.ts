/**
 * What the Responder needs to know of a fetch Response's body: its bytes when it was given
 * whole, and how to stop a body nobody will send.
 */
import { Readable } from "node:stream";
import { NativeResponse, heldParts, outgoingParts } from "./outgoing.ts";

/** undici 6 (Node 20) keeps a Response's body source (string or bytes) under its `state` symbol; undici 7 keeps it private. */
const stateKey = Object.getOwnPropertySymbols(new NativeResponse("")).find((key) => key.description === "state");

type BodyState = { stream?: ReadableStream; source?: unknown; length?: number | null };
const bodyState = (response: Response): BodyState | null | undefined =>
  stateKey === undefined ? undefined : (response as unknown as Record<symbol, { body?: BodyState | null }>)[stateKey]?.body;

/** undici sizes a string body in UTF-8 bytes (checked once here), so its length is taken as it is. */
const sizedInUtf8 = bodyState(new NativeResponse("\u00e9\u{1f600}"))?.length === 6;

/** True where undici shows a native Response's body source (Node 20); elsewhere its body is read through its stream. */
export const nativeSourceShown: boolean = stateKey !== undefined && sizedInUtf8;

/**
 * A body given whole (a string, bytes or JSON) and not read yet: the string itself (sized in
 * UTF-8 bytes, lone surrogates as the three bytes of U+FFFD they are sent as) or the bytes; null
 * for no body, streams and anything else, which are read through the stream. An OutgoingResponse
 * answers from its parts; a native one from undici's body source where undici shows it (Node 20),
 * without touching its stream, or from what `keepBody` kept of it; so a Response returned twice
 * is sent twice.
 */
export function wholeBody(response: Response): { text: string; length: number } | Uint8Array | null {
  const parts = outgoingParts(response);
  if (parts !== null) {
    const body = parts.body;
    if (parts.used || body === null) return null;
    return typeof body === "string" ? { text: body, length: Buffer.byteLength(body, "utf8") } : body;
  }
  const body = bodyState(response);
  if (body === null || body === undefined) return sent.get(response) ?? null;
  // What Response.bodyUsed answers, asked of the stream directly (undici's getter costs more).
  const stream = body.stream;
  if (stream === undefined || stream.locked || Readable.isDisturbed(stream as unknown as NodeJS.ReadableStream)) return sent.get(response) ?? null;
  const source = body.source;
  const length = body.length;
  if (typeof source === "string") return sizedInUtf8 && typeof length === "number" ? { text: source, length } : null;
  if (source instanceof Uint8Array) return source.length === length ? source : null;
  if (source instanceof ArrayBuffer) return source.byteLength === length ? new Uint8Array(source) : null;
  return null;
}

/** Bodies read whole through their stream and sent, by the native Response they came from. */
const sent = new WeakMap<Response, Uint8Array>();

/**
 * Keeps the body of a native Response read whole through its stream (one piece, ended before
 * the head went out), so the same Response returned again is sent again, as one whose source
 * undici shows is: wholeBody answers it from then on.
 */
export function keepBody(response: Response, bytes: Uint8Array): void {
  sent.set(response, bytes);
}

/** Cancels the body of a Response nobody will send, so what feeds it stops. */
export function cancelBody(response: unknown): void {
  if (!(response instanceof NativeResponse) || heldParts(response) !== null) return; // parts held: nothing feeds them
  const body = response.body;
  if (body !== null && !body.locked) void body.cancel().catch(() => {});
}

/** How a value that is not a Response reads in an error message. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  return typeof value === "string" ? "a string" : `${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}`;
}
