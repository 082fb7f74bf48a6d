/**
 * StaticSink: hio's static file app (`StaticSink`) as a fetch handler that serves one
 * directory under a base path, safely (RFC 9110 §17.3) and with validators and ranges.
 */
import { constants as fsConstants, statSync } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import type { BigIntStats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import path from "node:path";
import mime from "mime-types";
import { positiveInt, nonNegativeInt } from "../../base/options.ts";

export interface StaticSinkOptions {
  /**
   * Directory served, which must exist when the sink is made (relative: from the working
   * directory); its real path (symlinks resolved) bounds everything served.
   */
  root: string;
  /** URL path prefix the sink owns; `${base}` and `${base}/` serve the root's index. */
  base?: string;
  /** File served for a directory; null: directories are 404. */
  index?: string | null;
  /** Bodies up to this many bytes are read whole; larger ones are streamed. */
  wholeLimit?: number;
  /** Bytes per read while streaming. */
  chunkSize?: number;
}

/** Outcome of mapping a request path onto the root: a real file path or an error status. */
export type StaticResolution =
  | { status: 200; path: string }
  | { status: 400 | 403 | 404 | 500; path?: undefined };

/** A byte range [start, end] inclusive, or the reason a Range field is not used. */
type RangePick = { start: number; end: number } | "whole" | "unsatisfiable";

const Reasons: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  412: "Precondition Failed",
  416: "Range Not Satisfiable",
  500: "Internal Server Error",
};

// fs errors that only mean "nothing servable here"
const MissingCodes = new Set(["ENOENT", "ENOTDIR", "ENAMETOOLONG", "ELOOP", "EINVAL"]);
const DeniedCodes = new Set(["EACCES", "EPERM"]);
const EntityTag = /(?:W\/)?"[^"]*"/g;
const NoFollow = fsConstants.O_NOFOLLOW ?? 0;

/**
 * Serves the regular files under `root` for GET and HEAD on paths under `base`.
 * A caller can rely on: nothing outside the root's real path is ever served (dot segments,
 * encoded separators, NUL, empty segments and symlinks out are refused), `fetch` never
 * throws or rejects (unexpected fs errors become 500), every file handle it opens is closed,
 * and bodies above `wholeLimit` bytes are streamed with Content-Length set.
 *
 * @example
 * const sink = new StaticSink({ root: "public", base: "/static" });
 * app.get("/static/*", (c) => sink.fetch(c.req.raw));  // Hono; or serve sink.fetch alone
 */
export class StaticSink {
  static readonly WholeLimit = 64 * 1024;
  static readonly ChunkSize = 64 * 1024;

  readonly root: string;
  readonly base: string;
  readonly index: string | null;
  readonly wholeLimit: number;
  readonly chunkSize: number;
  #rootReal: Promise<string> | null = null;

  constructor({
    root,
    base = "/static",
    index = "index.html",
    wholeLimit = StaticSink.WholeLimit,
    chunkSize = StaticSink.ChunkSize,
  }: StaticSinkOptions) {
    if (typeof root !== "string" || root === "") {
      throw new TypeError(`StaticSink root must be the path of the directory to serve, not ${root === "" ? '""' : String(root)}`);
    }
    this.root = path.resolve(root);
    checkRoot(root, this.root);
    if (typeof base !== "string" || (base !== "" && !base.startsWith("/"))) {
      throw new TypeError(`StaticSink base must be a URL path starting with "/" (such as "/static"), not ${JSON.stringify(base)}`);
    }
    this.base = base.endsWith("/") ? base.slice(0, -1) : base;  // "/" mounts at the top
    if (index !== null && (typeof index !== "string" || index === "" || /[/\\\0]/.test(index) || index === "." || index === "..")) {
      throw new TypeError(`StaticSink index must be a file name (such as "index.html") or null, not ${JSON.stringify(index)}`);
    }
    this.index = index;
    this.wholeLimit = nonNegativeInt("StaticSink wholeLimit", wholeLimit);
    this.chunkSize = positiveInt("StaticSink chunkSize", chunkSize);
  }

  /** Answers one request; bound, so `app = sink.fetch` works. Never rejects. */
  readonly fetch = async (request: Request): Promise<Response> => {
    const head = request.method === "HEAD";
    try {
      const target = targetOf(request.url);
      if (this.#rest(target) === null) return failure(404, head);
      if (request.method !== "GET" && !head) {
        return failure(405, head, { Allow: "GET, HEAD" });
      }
      const resolution = await this.resolve(target);
      if (resolution.path === undefined) return failure(resolution.status, head);
      return await this.#serve(resolution.path, request, head);
    } catch {
      return failure(500, head);
    }
  };

  /**
   * Maps a raw request target (path, optional query) onto a regular file inside the root.
   * The path is split on `/` before each segment is percent-decoded once, so `%2f` never
   * splits; malformed encoding and NUL → 400; anything unservable or outside the root → 404.
   */
  async resolve(target: string): Promise<StaticResolution> {
    const rest = this.#rest(target);
    if (rest === null) return { status: 404 };
    const segments = rest === "" ? [] : rest.split("/");
    const wantsDir = rest === "" || rest.endsWith("/");
    if (wantsDir && segments.length > 0) segments.pop();
    for (let i = 0; i < segments.length; i++) {
      const encoded = segments[i]!;
      let name: string;
      try {
        name = decodeURIComponent(encoded);
      } catch {
        return { status: 400 };
      }
      if (name.includes("\0")) return { status: 400 };
      // empty segments are how `${base}//etc/passwd` smuggles an absolute path
      if (name === "" || name === "." || name === "..") return { status: 404 };
      if (name.includes("/") || name.includes("\\")) return { status: 404 };
      segments[i] = name;
    }

    try {
      const rootReal = await this.#realRoot();
      let real = await realpath(path.join(rootReal, ...segments));
      if (!inside(rootReal, real)) return { status: 404 };
      let stats = await stat(real);
      if (stats.isDirectory()) {
        if (this.index === null) return { status: 404 };
        real = await realpath(path.join(real, this.index));
        if (!inside(rootReal, real)) return { status: 404 };
        stats = await stat(real);
      } else if (wantsDir) {
        return { status: 404 };
      }
      return stats.isFile() ? { status: 200, path: real } : { status: 404 };
    } catch (error) {
      return { status: statusOf(error) };
    }
  }

  /** The still-encoded path after `${base}/` ("" for the base itself); null: not under base. */
  #rest(target: string): string | null {
    const cut = target.search(/[?#]/);
    const raw = cut < 0 ? target : target.slice(0, cut);
    if (raw === this.base || raw === `${this.base}/`) return "";
    if (raw.startsWith(`${this.base}/`)) return raw.slice(this.base.length + 1);
    return null;
  }

  /** Opens a resolved file for reading; never follows a final symlink. */
  protected openFile(filePath: string): Promise<FileHandle> {
    return open(filePath, fsConstants.O_RDONLY | NoFollow);
  }

  #realRoot(): Promise<string> {
    if (this.#rootReal === null) {
      const pending = realpath(this.root);
      this.#rootReal = pending;
      pending.catch(() => {
        if (this.#rootReal === pending) this.#rootReal = null;  // retry once root exists
      });
    }
    return this.#rootReal;
  }

  async #serve(filePath: string, request: Request, head: boolean): Promise<Response> {
    let handle: FileHandle | null = null;
    try {
      handle = await this.openFile(filePath);
    } catch (error) {
      return failure(statusOf(error), head);
    }
    try {
      const stats = await handle.stat({ bigint: true });
      if (!stats.isFile()) return failure(404, head);
      const size = Number(stats.size);
      // Never a Last-Modified later than the response's Date (RFC 9110 §8.8.2.1).
      const mtimeMs = Math.min(Number(stats.mtimeMs), Date.now());
      const validators = {
        ETag: entityTag(stats),
        "Last-Modified": new Date(mtimeMs).toUTCString(),
      };
      if (preconditionFailed(request.headers, validators.ETag, mtimeMs)) return failure(412, head);
      if (notModified(request.headers, validators.ETag, mtimeMs)) {
        return new Response(null, { status: 304, headers: validators });
      }

      const headers: Record<string, string> = {
        "Content-Type": contentTypeOf(filePath),
        "Accept-Ranges": "bytes",
        ...validators,
      };
      let pick: RangePick = "whole";
      const range = request.headers.get("range");
      // Range is defined for GET only (RFC 9110 §14.2): HEAD answers as a whole GET would.
      if (range !== null && !head && ifRangeHolds(request.headers.get("if-range"), validators, mtimeMs)) {
        pick = pickRange(range, size);
      }
      if (pick === "unsatisfiable") {
        return failure(416, head, { "Content-Range": `bytes */${size}` });
      }
      const { start, end } = pick === "whole" ? { start: 0, end: size - 1 } : pick;
      const length = end - start + 1;
      const status = pick === "whole" ? 200 : 206;
      headers["Content-Length"] = String(length);
      if (status === 206) headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
      if (head) return new Response(null, { status, headers });

      if (length > this.wholeLimit) {
        const body = streamSlice(handle, start, length, this.chunkSize);
        handle = null;  // the stream owns it now and closes it on end, error or cancel
        return new Response(body, { status, headers });
      }
      const bytes = await readSlice(handle, start, length);
      return new Response(bytes, { status, headers });
    } finally {
      if (handle !== null) await handle.close().catch(() => undefined);
    }
  }
}

/**
 * A sink whose root is missing would answer 404 to everything with nothing said: the root must
 * be a directory when the sink is made. Throws an Error saying which path and what to do.
 */
function checkRoot(given: string, resolved: string): void {
  const where = given === resolved ? `"${resolved}"` : `"${given}" (${resolved}, from the working directory ${process.cwd()})`;
  let stats;
  try {
    stats = statSync(resolved);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new Error(`StaticSink root ${where} does not exist: create it, or give root the directory to serve`);
    }
    throw new Error(`StaticSink root ${where} cannot be read (${code ?? (error as Error).message}): check its permissions`);
  }
  if (!stats.isDirectory()) {
    throw new Error(`StaticSink root ${where} is not a directory: give root the directory that holds the files to serve`);
  }
}

/** The request target (path and query) of an absolute URL, as its bytes stand. */
function targetOf(url: string): string {
  const scheme = url.indexOf("://");
  const slash = url.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  return slash < 0 ? "/" : url.slice(slash);
}

function inside(rootReal: string, real: string): boolean {
  if (real === rootReal) return true;
  const prefix = rootReal.endsWith(path.sep) ? rootReal : rootReal + path.sep;
  return real.startsWith(prefix);
}

function statusOf(error: unknown): 403 | 404 | 500 {
  const code = (error as NodeJS.ErrnoException | null)?.code ?? "";
  if (MissingCodes.has(code)) return 404;
  if (DeniedCodes.has(code)) return 403;
  return 500;
}

function failure(status: number, head: boolean, extra: Record<string, string> = {}): Response {
  const text = `${status} ${Reasons[status] ?? "Error"}\n`;
  const headers = {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(text)),
    ...extra,
  };
  return new Response(head ? null : text, { status, headers });
}

function contentTypeOf(filePath: string): string {
  const name = path.basename(filePath);
  // a bare name like "html" would be taken for an extension by mime-types
  if (path.extname(name) === "") return "application/octet-stream";
  return mime.contentType(name) || "application/octet-stream";
}

/** Strong tag from size and mtime in nanoseconds: changes whenever either does. */
function entityTag(stats: BigIntStats): string {
  return `"${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}"`;
}

function opaque(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}

/** A field value without leading and trailing OWS: SP and HTAB only (RFC 9110 §5.6.3). */
function trimOWS(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, "");
}

/** RFC 9110 §13.2.2 steps 1-2: If-Match (strong comparison), else If-Unmodified-Since. */
function preconditionFailed(headers: Headers, etag: string, mtimeMs: number): boolean {
  const match = headers.get("if-match");
  if (match !== null) {
    if (trimOWS(match) === "*") return false;
    return !(match.match(EntityTag) ?? []).some((tag) => tag === etag); // W/ tags never match
  }
  const since = headers.get("if-unmodified-since");
  if (since === null) return false;
  const sinceMs = Date.parse(since);
  return !Number.isNaN(sinceMs) && Math.floor(mtimeMs / 1000) * 1000 > sinceMs;
}

/** RFC 9110 §13.1.2–3 for GET/HEAD: If-None-Match (weak compare) wins over If-Modified-Since. */
function notModified(headers: Headers, etag: string, mtimeMs: number): boolean {
  const noneMatch = headers.get("if-none-match");
  if (noneMatch !== null) {
    if (trimOWS(noneMatch) === "*") return true;
    const tags = noneMatch.match(EntityTag) ?? [];
    return tags.some((tag) => opaque(tag) === etag);
  }
  const since = headers.get("if-modified-since");
  if (since === null) return false;
  const sinceMs = Date.parse(since);
  return !Number.isNaN(sinceMs) && Math.floor(mtimeMs / 1000) * 1000 <= sinceMs;
}

/** RFC 9110 §13.1.5: a strong tag equal to ours, or a date equal to Last-Modified. */
function ifRangeHolds(
  ifRange: string | null,
  validators: { ETag: string; "Last-Modified": string },
  mtimeMs: number,
): boolean {
  if (ifRange === null) return true;
  const value = trimOWS(ifRange);
  if (value.startsWith('"')) return value === validators.ETag;
  if (value.startsWith("W/")) return false;
  const dateMs = Date.parse(value);
  return !Number.isNaN(dateMs) && dateMs === Math.floor(mtimeMs / 1000) * 1000;
}

/**
 * RFC 9110 §14.1.2: one `first-last`, `first-` or `-suffix` range of a file of `size` bytes.
 * Invalid syntax and multiple ranges are ignored ("whole"), as §14.2 allows.
 */
function pickRange(field: string, size: number): RangePick {
  const match = /^[ \t]*bytes[ \t]*=[ \t]*(.*)$/i.exec(field);
  if (match === null) return "whole";
  const specs = match[1]!.split(",").map(trimOWS).filter((spec) => spec !== "");
  if (specs.length !== 1) return "whole";
  const spec = /^([0-9]*)[ \t]*-[ \t]*([0-9]*)$/.exec(specs[0]!);
  if (spec === null) return "whole";
  const [, first = "", last = ""] = spec;
  if (first === "") {
    if (last === "") return "whole";
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return "whole";  // invalid spec: field ignored
  if (start >= size) return "unsatisfiable";
  return { start, end: last === "" ? size - 1 : Math.min(Number(last), size - 1) };
}

async function readSlice(handle: FileHandle, start: number, length: number): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(bytes, filled, length - filled, start + filled);
    if (bytesRead === 0) throw new Error("file shrank while being read");
    filled += bytesRead;
  }
  return bytes;
}

/** A pull stream over [start, start+length) that closes the handle when done, failed or cancelled. */
function streamSlice(
  handle: FileHandle,
  start: number,
  length: number,
  chunkSize: number,
): ReadableStream<Uint8Array> {
  let position = start;
  let remaining = length;
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    await handle.close().catch(() => undefined);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const chunk = new Uint8Array(Math.min(chunkSize, remaining));
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
          // a short body must fail, so the server closes rather than sends a lie
          if (bytesRead === 0) throw new Error("file shrank while being streamed");
          position += bytesRead;
          remaining -= bytesRead;
          controller.enqueue(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
          if (remaining === 0) {
            await release();
            controller.close();
          }
        } catch (error) {
          await release();
          try {
            controller.error(error);
          } catch {
            // already cancelled: nothing left to tell
          }
        }
      },
      cancel: release,
    },
    { highWaterMark: 0 },
  );
}
