import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Tymist, http } from "../../src/index.ts";
import { incomingLazy, incomingRequest, plainHref } from "../../src/http/server/incoming.ts";
import type { IncomingParts } from "../../src/http/server/incoming.ts";
import { drive, parseResponses, rawRequest, responses } from "../helpers.ts";

function parts(overrides: Partial<IncomingParts> = {}): IncomingParts & { made: AbortController[] } {
  const made: AbortController[] = [];
  return {
    href: "http://example.test:8080/a/b?c=d",
    method: "GET",
    fields: [["Host", "example.test:8080"], ["Accept", "text/html"], ["X-Many", "1"], ["X-Many", "2"]],
    signal: () => {
      const controller = new AbortController();
      made.push(controller);
      return controller.signal;
    },
    exchange: 1,
    made,
    ...overrides,
  };
}

describe("plainHref", () => {
  it("takes the common plain URLs as they are", () => {
    expect(plainHref("http", "127.0.0.1:8080", "/")).toBe("http://127.0.0.1:8080/");
    expect(plainHref("https", "example.com", "/static/app.js?v=1&x=a:b")).toBe("https://example.com/static/app.js?v=1&x=a:b");
    expect(plainHref("http", "api.example-1.test:3000", "/a/.hidden/b..c/")).toBe("http://api.example-1.test:3000/a/.hidden/b..c/");
  });

  it("leaves to URL what URL would rewrite", () => {
    for (const [host, target] of [
      ["Example.com", "/"], ["127.1", "/"], ["127.0.0.01", "/"], ["h:80", "/"], ["h:080", "/"], ["h:70000", "/"],
      ["xn--nxasmq6b", "/"], ["h", "/a/../b"], ["h", "/a/."], ["h", "/%2e%2e/x"], ["h", "/a b"], ["h", "/q?a='1'"],
      ["h", "/a#f"], ["[::1]:8080", "/"], ["1.2.3.4.5", "/"], ["h.0x10", "/"],
    ]) {
      expect(plainHref("http", host!, target!), `${host} ${target}`).toBeNull();
    }
  });

  it("only ever answers what new URL(...).href answers (property)", () => {
    const chars = (alphabet: string, max: number): fc.Arbitrary<string> =>
      fc.array(fc.constantFrom(...alphabet), { maxLength: max }).map((a) => a.join(""));
    const host = fc.tuple(
      fc.oneof(chars("abcXYZ019-.x", 14), fc.ipV4(), fc.ipV4Extended(), fc.domain()),
      fc.option(fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), chars("0123456789", 6)), { nil: undefined }),
    ).map(([name, port]) => (port === undefined ? name : `${name}:${port}`));
    const target = chars("/abc.%2eE?#&=:@'~!$()*+,;_- \\\"<>{}`|^[]", 24).map((t) => `/${t}`);
    let taken = 0;
    fc.assert(fc.property(fc.constantFrom("http", "https"), host, target, (scheme, h, t) => {
      const plain = plainHref(scheme, h, t);
      if (plain === null) return;
      taken++;
      expect(new URL(plain).href).toBe(plain);
    }), { seed: 11, numRuns: 20000 });
    expect(taken).toBeGreaterThan(1000); // the fast path was exercised, not only refused
  });
});

describe("incomingRequest", () => {
  it("is lazy on the Node this runs on (Node 20's undici 6 and Node 24's undici 7 alike)", () => {
    expect(incomingLazy()).toBe(true);
  });

  it("leaves Request and fetch alone on import: they are wrapped when the first request is made", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "hio-incoming-"));
    try {
      const file = path.join(dir, "import.mts");
      writeFileSync(file, `
        const fetch0 = globalThis.fetch, Request0 = globalThis.Request;
        const { incomingRequest } = await import(${JSON.stringify(new URL("../../src/index.ts", import.meta.url).href)}).then(() =>
          import(${JSON.stringify(new URL("../../src/http/server/incoming.ts", import.meta.url).href)}));
        const untouched = globalThis.fetch === fetch0 && globalThis.Request === Request0;
        incomingRequest({ href: "http://h.test/x", method: "GET", fields: [], body: null, signal: () => AbortSignal.abort(), exchange: 1 });
        console.log(JSON.stringify([untouched, globalThis.fetch === fetch0, globalThis.Request === Request0]));
      `);
      const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, ["--import", "tsx", file], { cwd: fileURLToPath(new URL("../..", import.meta.url)), timeout: 30_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout))));
      expect(JSON.parse(out)).toEqual([true, false, false]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("builds each request in full, its signal still made on first read, where the global fetch cannot be wrapped", async () => {
    // A fresh process: the module wraps the globals once, on the first request it makes.
    const dir = mkdtempSync(path.join(os.tmpdir(), "hio-incoming-"));
    try {
      const file = path.join(dir, "frozen.mts");
      writeFileSync(file, `
        const fetch0 = globalThis.fetch, Request0 = globalThis.Request;
        Object.defineProperty(globalThis, "fetch", { value: fetch0, writable: false, configurable: false });
        const { incomingLazy, incomingRequest } = await import(${JSON.stringify(new URL("../../src/http/server/incoming.ts", import.meta.url).href)});
        let made = 0;
        const r = incomingRequest({ href: "http://h.test/x", method: "post", fields: [["x-a", "1"]], body: new Uint8Array([104, 105]),
          signal: () => (made++, AbortSignal.abort("gone")), exchange: 1 });
        const before = made;
        console.log(JSON.stringify([incomingLazy(), r instanceof Request, r.method, r.url, r.headers.get("x-a"), before, r.signal.reason,
          made, await r.text(), globalThis.fetch === fetch0, globalThis.Request === Request0, Request.prototype.constructor === Request0]));
      `);
      const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, ["--import", "tsx", file], { cwd: fileURLToPath(new URL("../..", import.meta.url)), timeout: 30_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout))));
      expect(JSON.parse(out)).toEqual([false, true, "POST", "http://h.test/x", "1", 0, "gone", 1, "hi", true, true, true]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers method, url and headers as a Request would", () => {
    const p = parts();
    const request = incomingRequest(p);
    const real = new Request(p.href, { method: "GET", headers: [...p.fields] as Array<[string, string]> });
    expect(request).toBeInstanceOf(Request);
    expect(Object.prototype.toString.call(request)).toBe("[object Request]");
    expect(request.method).toBe("GET");
    expect(request.url).toBe(real.url);
    expect([...request.headers]).toEqual([...real.headers]);
    expect(request.headers.get("x-many")).toBe("1, 2");
    expect(request.headers).toBe(request.headers); // one Headers object
    expect(request.body).toBeNull();
    expect(request.bodyUsed).toBe(false);
    for (const key of ["cache", "credentials", "destination", "integrity", "keepalive", "mode", "redirect", "referrer", "referrerPolicy"] as const) {
      expect(request[key], key).toEqual(real[key]);
    }
  });

  it("reads its (empty) body, clones, and is copied by new Request() with its fields", async () => {
    const request = incomingRequest(parts({ method: "HEAD" }));
    const clone = request.clone();
    expect(clone).toBeInstanceOf(Request);
    expect(clone.method).toBe("HEAD");
    expect(clone.headers.get("accept")).toBe("text/html");
    const copy = new Request(request, { headers: { "x-added": "yes" } });
    expect(copy.url).toBe("http://example.test:8080/a/b?c=d");
    expect(copy.headers.get("x-added")).toBe("yes");
    const forwarded = new Request(request);
    expect(forwarded.headers.get("x-many")).toBe("1, 2");
    expect(await request.text()).toBe("");
    expect(request.bodyUsed).toBe(false); // a null body is never used
    expect(await incomingRequest(parts()).arrayBuffer()).toEqual(new ArrayBuffer(0));
    expect(inspect(request)).toMatch(/Request/);
  });

  it("makes its signal once, on first read, and copies and clones follow it", () => {
    const p = parts();
    const request = incomingRequest(p);
    expect(p.made).toHaveLength(0); // nothing made for an app that never asks
    const signal = request.signal;
    expect(request.signal).toBe(signal);
    const copy = new Request(request);
    const clone = request.clone();
    expect(p.made).toHaveLength(1);
    p.made[0]!.abort(new Error("client left"));
    expect(signal.aborted).toBe(true);
    expect(copy.signal.aborted).toBe(true);
    expect(clone.signal.aborted).toBe(true);
  });

  it("keeps headers the app changed when it is later copied", () => {
    const request = incomingRequest(parts());
    request.headers.set("x-set", "by app");
    expect(new Request(request).headers.get("x-set")).toBe("by app");
  });
});

describe("Server hands bodyless GETs to apps as IncomingRequests", () => {
  const servers: http.BareServer[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  function open(app: http.FetchApp): { port: number; step: () => void } {
    const tymist = new Tymist({ tock: 1 / 32 });
    // The raw client half-closes when done: a silent response then ends by the idle tymeout.
    const server = http.openServer({ app, host: "127.0.0.1", port: 0, tymth: tymist.tymen(), tymeout: 0.5 });
    servers.push(server);
    return { port: server.ha[1], step: () => { server.service(); tymist.tick(); } };
  }

  it("lets an app forward the request, its copy aborting when the client goes away", async () => {
    const seen: string[] = [];
    const { port, step } = open((request) => {
      const forwarded = new Request(request);
      forwarded.headers.set("x-forwarded", "1");
      seen.push(`${forwarded.method} ${forwarded.url} ${forwarded.headers.get("x-forwarded")} ${forwarded.headers.get("x-many")}`);
      if (new URL(request.url).pathname === "/hang") {
        forwarded.signal.addEventListener("abort", () => seen.push("forwarded aborted"));
        return new Response(new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) }), {
          headers: { "content-type": "text/event-stream" },
        });
      }
      return new Response(forwarded.url);
    });
    const raw = "GET /one HTTP/1.1\r\nHost: h.test\r\nX-Many: 1\r\nX-Many: 2\r\n\r\n";
    const reply = await drive(step, rawRequest(port, raw, { until: responses(1) }));
    expect(parseResponses(reply.bytes)[0]!.body.toString()).toBe("http://h.test/one");
    await drive(step, rawRequest(port, "GET /hang HTTP/1.1\r\nHost: h.test\r\n\r\n", { until: (bytes) => bytes.includes("\r\n\r\n") }));
    for (let i = 0; i < 100 && !seen.includes("forwarded aborted"); i++) {
      step();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(seen).toEqual(["GET http://h.test/one 1 1, 2", "GET http://h.test/hang 1 null", "forwarded aborted"]);
  });

  it("answers 400 to a target whose URL carries credentials, as a Request refuses it", async () => {
    const { port, step } = open((request) => new Response(request.url));
    const reply = await drive(step, rawRequest(port, "GET http://user:pw@h.test/ HTTP/1.1\r\nHost: h.test\r\n\r\n", { until: responses(1) }));
    expect(parseResponses(reply.bytes)[0]!.status).toBe(400);
  });
});
