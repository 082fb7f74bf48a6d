import { mkdtempSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync,
  truncateSync, utimesSync, writeFileSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StaticSink } from "../../src/http/server/static.ts";
import type { StaticSinkOptions } from "../../src/http/server/static.ts";

const fixtures = fileURLToPath(new URL("./fixtures/static", import.meta.url));
const fixture = (name: string): Buffer => readFileSync(path.join(fixtures, name));
const BigSize = 2 * 1024 * 1024;

/** A StaticSink that keeps every handle it opens, so tests can see that each was closed. */
class TrackingSink extends StaticSink {
  readonly handles: FileHandle[] = [];

  protected override async openFile(filePath: string): Promise<FileHandle> {
    const handle = await super.openFile(filePath);
    this.handles.push(handle);
    return handle;
  }

  get openCount(): number {
    return this.handles.filter((handle) => handle.fd !== -1).length;
  }
}

/** A StaticSink whose disk fails with EIO on open. */
class TroubledSink extends StaticSink {
  protected override async openFile(): Promise<FileHandle> {
    throw Object.assign(new Error("i/o error"), { code: "EIO" });
  }
}

function get(sink: StaticSink, target: string, init: RequestInit = {}): Promise<Response> {
  return sink.fetch(new Request(`http://127.0.0.1${target}`, init));
}

async function bytesOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

/** Deterministic non-repeating-looking bytes, so an offset mistake cannot go unseen. */
function pattern(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  let x = 0x2545f491;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

// tmp layout, all siblings in one mkdtemp: root (served), outside (secret), root-evil (prefix trap)
let tmp = "";
let root = "";
let big: Buffer = Buffer.alloc(0);

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "hio-static-"));
  root = path.join(tmp, "root");
  const outside = path.join(tmp, "outside");
  const evil = path.join(tmp, "root-evil");
  for (const dir of [root, outside, evil, path.join(root, "indexed"), path.join(root, "inner")]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(path.join(outside, "secret.txt"), "outside secret\n");
  writeFileSync(path.join(evil, "secret.txt"), "sibling secret\n");
  writeFileSync(path.join(root, "inside.txt"), "inside the root\n");
  writeFileSync(path.join(root, "space name.txt"), "spaced\n");
  writeFileSync(path.join(root, "empty.txt"), "");
  writeFileSync(path.join(root, "inner", "page.txt"), "inner page\n");
  symlinkSync("inside.txt", path.join(root, "link-in.txt"));
  symlinkSync(path.join(outside, "secret.txt"), path.join(root, "link-out.txt"));
  symlinkSync(outside, path.join(root, "dir-out"));
  symlinkSync(path.join(outside, "secret.txt"), path.join(root, "indexed", "index.html"));
  symlinkSync(path.join("..", "root-evil", "secret.txt"), path.join(root, "evil.txt"));
  symlinkSync("loop", path.join(root, "loop"));
  symlinkSync(root, path.join(tmp, "root-link"));
  big = pattern(BigSize);
  writeFileSync(path.join(root, "big.bin"), big);
});

afterAll(() => {
  if (tmp !== "") rmSync(tmp, { recursive: true, force: true });
});

describe("StaticSink serving the fixture folder", () => {
  const sink = new TrackingSink({ root: fixtures });

  it("serves index.html for the base with and without a trailing slash", async () => {
    for (const target of ["/static", "/static/", "/static/?x=1"]) {
      const response = await get(sink, target);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(response.headers.get("content-length")).toBe(String(fixture("index.html").length));
      expect(await bytesOf(response)).toEqual(fixture("index.html"));
    }
  });

  it("maps paths under the base onto files with Content-Type from their names", async () => {
    const table: [string, string, string][] = [
      ["/static/style.css", "style.css", "text/css; charset=utf-8"],
      ["/static/data.json", "data.json", "application/json; charset=utf-8"],
      ["/static/blob.bin", "blob.bin", "application/octet-stream"],
      ["/static/notes.hiounknown", "notes.hiounknown", "application/octet-stream"],
      ["/static/html", "html", "application/octet-stream"],
      ["/static/nested/noindex/readme.txt", "nested/noindex/readme.txt", "text/plain; charset=utf-8"],
    ];
    for (const [target, name, type] of table) {
      const response = await get(sink, target);
      expect(response.status, target).toBe(200);
      expect(response.headers.get("content-type"), target).toBe(type);
      expect(await bytesOf(response), target).toEqual(fixture(name));
    }
  });

  it("serves a directory's index.html and 404s a directory without one", async () => {
    for (const target of ["/static/nested", "/static/nested/"]) {
      const response = await get(sink, target);
      expect(response.status).toBe(200);
      expect(await bytesOf(response)).toEqual(fixture("nested/index.html"));
    }
    expect((await get(sink, "/static/nested/noindex/")).status).toBe(404);
    expect((await get(sink, "/static/nested/noindex")).status).toBe(404);
    const noIndex = new StaticSink({ root: fixtures, index: null });
    expect((await get(noIndex, "/static/")).status).toBe(404);
    expect((await get(noIndex, "/static/style.css")).status).toBe(200);
  });

  it("answers 404 text for missing files, paths outside the base and a file with a slash", async () => {
    for (const target of ["/static/missing.css", "/static/nested/missing.html", "/other",
      "/", "/staticky/index.html", "/index.html", "/static/style.css/", "/static/style.css/x"]) {
      const response = await get(sink, target);
      expect(response.status, target).toBe(404);
      expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await response.text()).toBe("404 Not Found\n");
    }
  });

  it("refuses methods other than GET and HEAD with 405 and Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]) {
      const response = await get(sink, "/static/style.css", { method });
      expect(response.status, method).toBe(405);
      expect(response.headers.get("allow")).toBe("GET, HEAD");
    }
    expect((await get(sink, "/elsewhere", { method: "POST" })).status).toBe(404);
  });

  it("answers HEAD with GET's headers and no body", async () => {
    for (const target of ["/static/data.json", "/static/", "/static/missing"]) {
      const byGet = await get(sink, target);
      const byHead = await get(sink, target, { method: "HEAD" });
      expect(byHead.status).toBe(byGet.status);
      expect([...byHead.headers]).toEqual([...byGet.headers]);
      expect(byHead.body).toBeNull();
      await byGet.arrayBuffer();
    }
  });

  it("mounts under another base, at the top, and as a bound fetch", async () => {
    const assets = new StaticSink({ root: fixtures, base: "/assets/" });
    expect(await bytesOf(await get(assets, "/assets/style.css"))).toEqual(fixture("style.css"));
    expect((await get(assets, "/static/style.css")).status).toBe(404);
    const top = new StaticSink({ root: fixtures, base: "/" });
    expect(await bytesOf(await get(top, "/"))).toEqual(fixture("index.html"));
    expect(await bytesOf(await get(top, "/data.json"))).toEqual(fixture("data.json"));
    const app = sink.fetch;
    expect((await app(new Request("http://127.0.0.1/static/blob.bin"))).status).toBe(200);
  });

  it("serves inside a Hono app through c.req.raw", async () => {
    const app = new Hono();
    app.get("/static/*", (c) => sink.fetch(c.req.raw));
    app.get("/hello", (c) => c.text("hi"));
    const css = await app.request("http://127.0.0.1/static/style.css");
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(await bytesOf(css)).toEqual(fixture("style.css"));
    expect(await (await app.request("http://127.0.0.1/hello")).text()).toBe("hi");
  });

  it("closes every file handle it opened", async () => {
    expect(sink.handles.length).toBeGreaterThan(10);
    expect(sink.openCount).toBe(0);
  });
});

describe("StaticSink path safety", () => {
  let sink: TrackingSink;
  beforeAll(() => {
    sink = new TrackingSink({ root });
  });

  it("serves plain and percent-encoded names inside the root", async () => {
    expect(await (await get(sink, "/static/inside.txt")).text()).toBe("inside the root\n");
    expect(await (await get(sink, "/static/space%20name.txt")).text()).toBe("spaced\n");
    expect(await (await get(sink, "/static/%69nside.txt")).text()).toBe("inside the root\n");
  });

  it("refuses traversal, encoded separators and absolute paths given as URLs", async () => {
    const secret = path.join(tmp, "outside", "secret.txt");
    const targets = [
      "/static/%2e%2e/outside/secret.txt",
      "/static/%2E./outside/secret.txt",
      "/static/inner/%2e%2e/%2e%2e/outside/secret.txt",
      "/static/..%2foutside%2fsecret.txt",
      "/static/%2e%2e%2foutside%2fsecret.txt",
      "/static/%2E%2E%2Foutside%2Fsecret.txt",
      "/static/..%5coutside%5csecret.txt",
      "/static/inner%2fpage.txt",
      "/static/inner%5cpage.txt",
      "/static/..\\outside\\secret.txt",
      `/static/${secret}`,
      `/static//${secret}`,
      "/static//etc/passwd",
    ];
    for (const target of targets) {
      const response = await get(sink, target);
      expect(response.status, target).toBe(404);
      expect(await response.text(), target).not.toContain("secret");
    }
  });

  it("answers 400 for NUL and malformed percent-encoding", async () => {
    for (const target of ["/static/inside.txt%00", "/static/%00/x", "/static/%zz",
      "/static/%e0%a4%a", "/static/%ff.txt", "/static/inside%2"]) {
      const response = await get(sink, target);
      expect(response.status, target).toBe(400);
      expect(await response.text()).toBe("400 Bad Request\n");
    }
  });

  it("resolves raw targets that no URL parser has normalized", async () => {
    const secret = path.join(tmp, "outside", "secret.txt");
    const refused: [string, number][] = [
      ["/static/../outside/secret.txt", 404],
      ["/static/inner/../../outside/secret.txt", 404],
      ["/static/./inside.txt", 404],
      ["/static/inner/./page.txt", 404],
      ["/static/%2e%2e/outside/secret.txt", 404],
      ["/static/%2E./outside/secret.txt", 404],
      ["/static/.%2E/outside/secret.txt", 404],
      ["/static/..\\outside\\secret.txt", 404],
      ["/static/inner\\page.txt", 404],
      [`/static/${secret}`, 404],
      [`/static/${secret.replace(/^\//, "")}`, 404],
      ["/static//etc/passwd", 404],
      ["/static/inner//page.txt", 404],
      ["/static/..", 404],
      ["/static/../", 404],
      ["/static/a%3F/../../outside/secret.txt", 404],
      ["/static/inside.txt%00.html", 400],
      ["/static/%c0%ae%c0%ae/outside/secret.txt", 400],
      ["/static/%", 400],
      ["/staticinside.txt", 404],
    ];
    for (const [target, status] of refused) {
      const resolution = await sink.resolve(target);
      expect(resolution.status, target).toBe(status);
      expect(resolution.path, target).toBeUndefined();
    }
    expect(await sink.resolve("/static/inner/page.txt?a=../../x#f")).toEqual({
      status: 200, path: realpathSync(path.join(root, "inner", "page.txt")),
    });
    expect(await sink.resolve("/static/")).toEqual({ status: 404 });
  });

  it("follows symlinks that stay inside the root and refuses those that leave it", async () => {
    const inside = await get(sink, "/static/link-in.txt");
    expect(inside.status).toBe(200);
    expect(await inside.text()).toBe("inside the root\n");
    for (const target of ["/static/link-out.txt", "/static/dir-out/secret.txt", "/static/dir-out/",
      "/static/indexed/", "/static/indexed", "/static/evil.txt", "/static/loop"]) {
      const response = await get(sink, target);
      expect(response.status, target).toBe(404);
      expect(await response.text(), target).not.toContain("secret");
    }
  });

  it("serves a root that is itself a symlink", async () => {
    const linked = new StaticSink({ root: path.join(tmp, "root-link") });
    expect(await (await get(linked, "/static/inside.txt")).text()).toBe("inside the root\n");
    expect((await get(linked, "/static/link-out.txt")).status).toBe(404);
  });

  it("refuses a root that is missing or not a directory, saying which path and what to do", () => {
    const missing = path.join(tmp, "missing");
    expect(() => new StaticSink({ root: missing }))
      .toThrow(`StaticSink root "${missing}" does not exist: create it, or give root the directory to serve`);
    const file = path.join(tmp, "root", "inside.txt");
    expect(() => new StaticSink({ root: file }))
      .toThrow(`StaticSink root "${file}" is not a directory: give root the directory that holds the files to serve`);
    expect(() => new StaticSink({ root: "surely-not-here" }))
      .toThrow(new RegExp(`^StaticSink root "surely-not-here" \\(${path.resolve("surely-not-here").replace(/[.\\/]/g, "\\$&")}, from the working directory .*\\) does not exist`));
    expect(() => new StaticSink({ root: "" })).toThrow(TypeError);
  });

  it("refuses options that cannot work: a base without /, an index that is a path, sizes out of range", () => {
    expect(() => new StaticSink({ root, base: "static" })).toThrow('StaticSink base must be a URL path starting with "/" (such as "/static"), not "static"');
    expect(() => new StaticSink({ root, index: "../x.html" })).toThrow(/index must be a file name/);
    expect(() => new StaticSink({ root, chunkSize: 0 })).toThrow(new RangeError("StaticSink chunkSize must be an integer of at least 1, not 0"));
    expect(() => new StaticSink({ root, wholeLimit: NaN })).toThrow(RangeError);
  });

  it("answers 404 while a root removed after construction is gone, then serves it once it is back", async () => {
    const later = path.join(tmp, "later");
    mkdirSync(later);
    const sinkLater = new StaticSink({ root: later });
    rmSync(later, { recursive: true });
    expect((await get(sinkLater, "/static/a.txt")).status).toBe(404);
    mkdirSync(later);
    writeFileSync(path.join(later, "a.txt"), "arrived\n");
    expect(await (await get(sinkLater, "/static/a.txt")).text()).toBe("arrived\n");
  });

  it("closes every file handle it opened", () => {
    expect(sink.handles.length).toBeGreaterThan(0);
    expect(sink.openCount).toBe(0);
  });
});

describe("StaticSink validators", () => {
  let sink: TrackingSink;
  beforeAll(() => {
    sink = new TrackingSink({ root: fixtures });
  });

  it("sends a strong ETag and Last-Modified from the file's size and mtime", async () => {
    const response = await get(sink, "/static/style.css");
    const stats = statSync(path.join(fixtures, "style.css"));
    expect(response.headers.get("etag")).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(response.headers.get("last-modified")).toBe(stats.mtime.toUTCString());
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    const other = await get(sink, "/static/data.json");
    expect(other.headers.get("etag")).not.toBe(response.headers.get("etag"));
  });

  it("answers 304 with no body when If-None-Match matches", async () => {
    const first = await get(sink, "/static/style.css");
    const etag = first.headers.get("etag")!;
    const matching = [etag, `W/${etag}`, `"nope", ${etag}`, "*", ` ${etag} `];
    for (const value of matching) {
      for (const method of ["GET", "HEAD"]) {
        const response = await get(sink, "/static/style.css", {
          method, headers: { "If-None-Match": value },
        });
        expect(response.status, value).toBe(304);
        expect(response.body).toBeNull();
        expect(response.headers.get("etag")).toBe(etag);
        expect(response.headers.get("last-modified")).toBe(first.headers.get("last-modified"));
      }
    }
    const stale = await get(sink, "/static/style.css", { headers: { "If-None-Match": '"nope"' } });
    expect(stale.status).toBe(200);
    expect(await bytesOf(stale)).toEqual(fixture("style.css"));
  });

  it("answers 304 when If-Modified-Since is not before Last-Modified", async () => {
    const lastModified = (await get(sink, "/static/data.json")).headers.get("last-modified")!;
    const at = Date.parse(lastModified);
    const since = (ms: number) => ({ headers: { "If-Modified-Since": new Date(ms).toUTCString() } });
    expect((await get(sink, "/static/data.json", since(at))).status).toBe(304);
    expect((await get(sink, "/static/data.json", since(at + 60_000))).status).toBe(304);
    expect((await get(sink, "/static/data.json", since(at - 60_000))).status).toBe(200);
    const garbage = { headers: { "If-Modified-Since": "not a date" } };
    expect((await get(sink, "/static/data.json", garbage)).status).toBe(200);
    // If-None-Match wins: a mismatching tag sends the file whatever the date says
    const both = { headers: { "If-None-Match": '"nope"', "If-Modified-Since": lastModified } };
    expect((await get(sink, "/static/data.json", both)).status).toBe(200);
  });

  it("changes the ETag when the file's mtime changes", async () => {
    const file = path.join(root, "inside.txt");
    const tmpSink = new StaticSink({ root });
    const before = (await get(tmpSink, "/static/inside.txt")).headers.get("etag")!;
    utimesSync(file, new Date(2001, 0, 1), new Date(2001, 0, 1));
    const after = await get(tmpSink, "/static/inside.txt", { headers: { "If-None-Match": before } });
    expect(after.status).toBe(200);
    expect(after.headers.get("etag")).not.toBe(before);
    expect(after.headers.get("last-modified")).toBe(new Date(2001, 0, 1).toUTCString());
  });

  it("closes every file handle it opened", () => {
    expect(sink.openCount).toBe(0);
  });
});

describe("StaticSink ranges", () => {
  let sink: TrackingSink;
  const blob = fixture("blob.bin");
  const size = blob.length;
  beforeAll(() => {
    sink = new TrackingSink({ root: fixtures });
  });
  const ranged = (range: string, extra: Record<string, string> = {}, method = "GET") =>
    get(sink, "/static/blob.bin", { method, headers: { Range: range, ...extra } });

  it("answers a single range with 206, Content-Range and the bytes", async () => {
    const table: [string, number, number][] = [
      ["bytes=0-9", 0, 9],
      ["bytes=10-", 10, size - 1],
      ["bytes=-5", size - 5, size - 1],
      ["bytes=200-100000", 200, size - 1],
      ["bytes=-100000", 0, size - 1],
      ["BYTES = 3 - 3", 3, 3],
      ["bytes=7-7,", 7, 7],
    ];
    for (const [range, start, end] of table) {
      const response = await ranged(range);
      expect(response.status, range).toBe(206);
      expect(response.headers.get("content-range"), range).toBe(`bytes ${start}-${end}/${size}`);
      expect(response.headers.get("content-length"), range).toBe(String(end - start + 1));
      expect(response.headers.get("content-type")).toBe("application/octet-stream");
      expect(await bytesOf(response), range).toEqual(blob.subarray(start, end + 1));
    }
  });

  it("answers 416 with bytes */size for an unsatisfiable range", async () => {
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, "bytes=-0", `bytes=${size}-${size}`]) {
      const response = await ranged(range);
      expect(response.status, range).toBe(416);
      expect(response.headers.get("content-range")).toBe(`bytes */${size}`);
      await response.arrayBuffer();
    }
    const empty = await get(new StaticSink({ root }), "/static/empty.txt", {
      headers: { Range: "bytes=-1" },
    });
    expect(empty.status).toBe(416);
    expect(empty.headers.get("content-range")).toBe("bytes */0");
  });

  it("sends the whole file for multiple, invalid or foreign-unit ranges", async () => {
    for (const range of ["bytes=0-1,3-4", "bytes=0-1, -2", "bytes=5-2", "bytes=x-3",
      "items=0-1", "bytes=", "bytes=-"]) {
      const response = await ranged(range);
      expect(response.status, range).toBe(200);
      expect(response.headers.get("content-range")).toBeNull();
      expect(await bytesOf(response), range).toEqual(blob);
    }
  });

  it("answers HEAD with a range as a whole GET, since Range is defined for GET only (RFC 9110 §14.2)", async () => {
    const response = await ranged("bytes=1-2", {}, "HEAD");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-range")).toBeNull();
    expect(response.headers.get("content-length")).toBe(String(size));
    expect(response.body).toBeNull();
  });

  it("honours Range only while If-Range matches the current validators", async () => {
    const whole = await get(sink, "/static/blob.bin");
    const etag = whole.headers.get("etag")!;
    const lastModified = whole.headers.get("last-modified")!;
    expect((await ranged("bytes=0-0", { "If-Range": etag })).status).toBe(206);
    expect((await ranged("bytes=0-0", { "If-Range": lastModified })).status).toBe(206);
    expect((await ranged("bytes=0-0", { "If-Range": '"stale"' })).status).toBe(200);
    expect((await ranged("bytes=0-0", { "If-Range": `W/${etag}` })).status).toBe(200);
    const older = new Date(Date.parse(lastModified) - 1000).toUTCString();
    expect((await ranged("bytes=0-0", { "If-Range": older })).status).toBe(200);
  });

  it("closes every file handle it opened", () => {
    expect(sink.openCount).toBe(0);
  });
});

describe("StaticSink large files", () => {
  let sink: TrackingSink;
  beforeAll(() => {
    sink = new TrackingSink({ root });
  });

  it("streams a 2 MiB file in chunks with Content-Length and the right bytes", async () => {
    const response = await get(sink, "/static/big.bin");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe(String(BigSize));
    const reader = response.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (let turn = 0; turn < BigSize; turn++) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      if (turn === 0) expect(sink.openCount).toBe(1);  // still reading, not read whole
    }
    expect(chunks.length).toBeGreaterThan(1);
    expect(Math.max(...chunks.map((chunk) => chunk.length))).toBeLessThanOrEqual(StaticSink.ChunkSize);
    expect(Buffer.concat(chunks).equals(big)).toBe(true);
    expect(sink.openCount).toBe(0);
  });

  it("streams a large range with the right bytes", async () => {
    const [start, end] = [1_000_003, 1_999_999];
    const response = await get(sink, "/static/big.bin", { headers: { Range: `bytes=${start}-${end}` } });
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe(`bytes ${start}-${end}/${BigSize}`);
    expect((await bytesOf(response)).equals(big.subarray(start, end + 1))).toBe(true);
    expect(sink.openCount).toBe(0);
  });

  it("closes the file when the reader cancels mid-stream", async () => {
    const response = await get(sink, "/static/big.bin");
    const reader = response.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    expect(sink.openCount).toBe(1);
    await reader.cancel();
    expect(sink.openCount).toBe(0);
  });

  it("errors the stream, not the bytes, when the file shrinks mid-stream", async () => {
    const file = path.join(root, "shrinking.bin");
    writeFileSync(file, big);
    const response = await get(sink, "/static/shrinking.bin");
    const reader = response.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    truncateSync(file, 0);
    await expect(reader.read()).rejects.toThrow(/shrank/);
    expect(sink.openCount).toBe(0);
  });

  it("honours a smaller wholeLimit and chunkSize", async () => {
    const options: StaticSinkOptions = { root: fixtures, wholeLimit: 16, chunkSize: 100 };
    const small = new TrackingSink(options);
    const response = await get(small, "/static/blob.bin");
    const reader = response.body!.getReader();
    const sizes: number[] = [];
    for (let turn = 0; turn < 10; turn++) {
      const { done, value } = await reader.read();
      if (done) break;
      sizes.push(value.length);
    }
    expect(sizes).toEqual([100, 100, 56]);
    expect(small.openCount).toBe(0);
  });
});

describe("StaticSink errors", () => {
  it("answers 500 text when the disk fails, without throwing", async () => {
    const sink = new TroubledSink({ root: fixtures });
    for (const method of ["GET", "HEAD"]) {
      const response = await get(sink, "/static/style.css", { method });
      expect(response.status).toBe(500);
      expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      if (method === "GET") expect(await response.text()).toBe("500 Internal Server Error\n");
    }
    // missing files are still 404: resolution happens before any open
    expect((await get(sink, "/static/missing.css")).status).toBe(404);
  });
});
