/**
 * Review of the lazily built Request (IncomingRequest), plainHref, and whole string bodies
 * (pushText, wholeBody): each is compared with what undici or URL does with the same input.
 */
import nodeHttp from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import fc from "fast-check";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { ByteBuffer } from "../../src/base/buffering.ts";
import { Tymist, http } from "../../src/index.ts";
import { nativeSourceShown, wholeBody } from "../../src/http/server/bodying.ts";
import { NativeResponse } from "../../src/http/server/outgoing.ts";
import { incomingRequest, plainHref, realized } from "../../src/http/server/incoming.ts";
import { drive, parseResponses, rawRequest, responses } from "../helpers.ts";

const HREF = "http://h.test:8080/a/b?c=d&e";
const FIELDS: Array<[string, string]> = [
  ["Host", "h.test:8080"], ["Accept", "text/html"], ["X-Many", "1"], ["X-Many", "2"],
  ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"], ["X-Obs", "caf\u00e9"],
];

/** An IncomingRequest and a real Request from the same parts, with signals aborted together. */
function pair(method: "GET" | "HEAD" = "GET", href = HREF, fields = FIELDS) {
  const exchange = new AbortController();
  const twin = new AbortController();
  let made = 0;
  const incoming = incomingRequest({ href, method, fields, signal: () => (made++, exchange.signal), exchange: 1 });
  const real = new Request(href, { method, headers: fields, signal: twin.signal });
  return {
    incoming, real, made: () => made,
    abort: (reason: unknown) => { exchange.abort(reason); twin.abort(reason); },
  };
}

/** What an app can see of a value, with requests, headers and bodies by content. */
function seen(value: unknown): unknown {
  if (value instanceof Request) {
    return { method: value.method, url: value.url, headers: [...value.headers], cookies: value.headers.getSetCookie(),
      aborted: value.signal.aborted, reason: value.signal.reason, body: value.body === null ? null : "stream", mode: value.mode, cache: value.cache,
      redirect: value.redirect, referrer: value.referrer, credentials: value.credentials, tag: Object.prototype.toString.call(value) };
  }
  if (value instanceof Headers) return [...value];
  if (value instanceof AbortSignal) return { aborted: value.aborted, reason: value.reason };
  if (value instanceof ArrayBuffer || value instanceof Uint8Array) return [new Uint8Array(value).length, value.constructor.name];
  if (value instanceof Blob) return { size: value.size, type: value.type };
  return value;
}

async function observe(act: () => unknown): Promise<unknown> {
  try {
    return { value: seen(await act()) };
  } catch (error) {
    return { threw: (error as Error).constructor.name, message: (error as Error).message };
  }
}

const GETTERS = ["method", "url", "headers", "signal", "body", "bodyUsed", "cache", "credentials", "destination", "integrity",
  "keepalive", "mode", "redirect", "referrer", "referrerPolicy", "duplex", "isHistoryNavigation", "isReloadNavigation"] as const;
const READS = ["text", "json", "arrayBuffer", "blob", "formData", "bytes"] as const;
const INITS: RequestInit[] = [
  {}, { method: "POST" }, { method: "post", body: "x" }, { body: "x" }, { headers: { "x-added": "1" } }, { method: "HEAD" },
  { signal: null }, { mode: "navigate" }, { cache: "only-if-cached" }, { referrer: "http://h.test:8080/r" }, { referrer: "http://else.test/" },
  { redirect: "manual", integrity: "sha256-x" }, { method: "CONNECT" }, { method: "bad method" }, { keepalive: true },
  { signal: undefined } as unknown as RequestInit, { signal: AbortSignal.abort("given") },
];

/** An init whose members are getters on its prototype, as a class instance's are. */
class GetterInit {
  get method(): string { return "POST"; }
  get body(): string { return "from a getter"; }
  get headers(): HeadersInit { return { "x-getter": "1" }; }
}

type Op = (r: Request) => unknown;
const OPS: Record<string, Op> = {
  ...Object.fromEntries(GETTERS.map((g) => [`get ${g}`, (r: Request) => r[g as keyof Request]])),
  ...Object.fromEntries(READS.map((m) => [`read ${m}`, (r: Request) => (r as unknown as Record<string, () => unknown>)[m]!()])),
  ...Object.fromEntries(INITS.map((init, i) => [`copy ${i}`, (r: Request) => new Request(r, init)])),
  clone: async (r) => { const c = r.clone(); return [seen(c), await c.text(), await r.text()]; },
  "as init": (r) => new Request("http://else.test/x", r),
  "signal any": (r) => AbortSignal.any([r.signal]),
  inspect: (r) => inspect(r, { depth: 4 }),
  json: (r) => JSON.stringify(r),
  "Response.json": (r) => Response.json(r).text(),
  structuredClone: (r) => structuredClone(r),
  keys: (r) => [Object.keys(r), r instanceof Request, (r as unknown as Record<symbol, unknown>)[Symbol.toStringTag], Object.prototype.toString.call(r)],
  "headers identity": (r) => r.headers === r.headers,
  "fetch aborted": (r) => fetch(r, { signal: AbortSignal.abort(new Error("stop")) }), // unwrapped, then refused offline
  "constructor copy": (r) => new (r.constructor as typeof Request)(r),
  "copy getter init": async (r) => { const copy = new Request(r, new GetterInit()); return [seen(copy), await copy.text()]; },
  "copy Request init": (r) => new Request(r, new Request("http://h.test:8080/other", { method: "PUT", headers: { "x-init": "1" } })),
  "copy bad init": (r) => new Request(r, 5 as unknown as RequestInit),
  "copy then clone": (r) => new Request(r).clone(),
};
const MUTATIONS: Record<string, Op> = {
  set: (r) => r.headers.set("X-New", "n"), append: (r) => r.headers.append("x-many", "3"),
  delete: (r) => r.headers.delete("set-cookie"), "content-type": (r) => r.headers.set("content-type", "application/x-www-form-urlencoded"),
  bad: (r) => r.headers.set("bad name", "v"),
};

describe("IncomingRequest against a real Request from the same parts", () => {
  it("answers every getter, body read and copy alike, for GET and HEAD, before and after realization", async () => {
    for (const method of ["GET", "HEAD"] as const) {
      for (const realizeFirst of [false, true]) {
        for (const [name, op] of Object.entries(OPS)) {
          const { incoming, real } = pair(method);
          if (realizeFirst) { void incoming.cache; void real.cache; }
          expect(await observe(() => op(incoming)), `${method} ${name}`).toEqual(await observe(() => op(real)));
          expect(await observe(() => op(incoming)), `${method} ${name} twice`).toEqual(await observe(() => op(real)));
        }
      }
    }
  });

  it("agrees with it over random sequences of reads, copies, aborts and early header changes (property)", async () => {
    const names = Object.keys(OPS);
    await fc.assert(fc.asyncProperty(
      fc.array(fc.constantFrom(...Object.keys(MUTATIONS)), { maxLength: 3 }),
      fc.array(fc.oneof(fc.constantFrom(...names), fc.constant("abort")), { minLength: 1, maxLength: 8 }),
      fc.constantFrom("GET" as const, "HEAD" as const),
      async (mutations, ops, method) => {
        const { incoming, real, abort } = pair(method);
        const reason = new Error("client left");
        const held = incoming.headers;
        for (const name of mutations) expect(await observe(() => MUTATIONS[name]!(incoming))).toEqual(await observe(() => MUTATIONS[name]!(real)));
        for (const name of ops) {
          if (name === "abort") { abort(reason); continue; }
          expect(await observe(() => OPS[name]!(incoming)), name).toEqual(await observe(() => OPS[name]!(real)));
        }
        expect(incoming.headers).toBe(held); // one Headers object throughout, as a Request has
      },
    ), { numRuns: 150, seed: 5 });
  });

  it("makes the exchange's signal only when something needs it, and copies, clones and AbortSignal.any follow it", () => {
    const { incoming, made, abort } = pair();
    void incoming.headers; void incoming.url;
    expect(made()).toBe(0);
    const before = new Request(incoming);
    const any = AbortSignal.any([incoming.signal]);
    expect(made()).toBe(1);
    const clone = incoming.clone();
    const reason = new Error("gone");
    abort(reason);
    for (const signal of [incoming.signal, before.signal, any, clone.signal, new Request(incoming).signal, incoming.clone().signal]) {
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBe(reason);
    }
    expect(new Request(incoming, { signal: null }).signal.aborted).toBe(false); // as for a Request
    const late = pair();
    late.abort(reason); // aborted before anything was realized
    expect(late.incoming.clone().signal.reason).toBe(reason);
  });

  it("keeps the Headers object the app got across realization (identity)", () => {
    const { incoming } = pair();
    const early = incoming.headers;
    void incoming.cache;
    expect(incoming.headers).toBe(early);
    const other = pair().incoming;
    void other.cache;
    expect(other.headers).toBe(other.headers);
  });

  // BUG: after realization the Headers the app holds are a copy, not undici's: later changes are lost to
  // new Request(r), clone(), fetch(r) and blob().type. Fix: in #realize, mirror the held Headers onto real.headers.
  it("lets header changes made after realization reach copies, clones and body types", async () => {
    const { incoming, real } = pair();
    for (const r of [incoming, real]) {
      void r.headers; void r.cache; // the app read the headers, then something realized the request
      r.headers.set("x-late", "1");
      r.headers.set("content-type", "text/x-late");
    }
    expect([new Request(incoming).headers.get("x-late"), incoming.clone().headers.get("x-late"), (await incoming.blob()).type])
      .toEqual([new Request(real).headers.get("x-late"), real.clone().headers.get("x-late"), (await real.blob()).type]);
  });

  // BUG: IncomingRequest.prototype.constructor is IncomingRequest (new r.constructor(url) breaks);
  // fix: Object.defineProperty(IncomingRequest.prototype, "constructor", { value: Request, writable: true, configurable: true }).
  it("names Request as its constructor", () => {
    const { incoming, real } = pair();
    expect(incoming.constructor).toBe(real.constructor);
  });

  // BUG: the class's own getters and clone() are not enumerable and shadow Request.prototype's enumerable ones,
  // so for...in skips method, url, headers, signal, body, bodyUsed, clone; fix: redefine them enumerable.
  it("lists the same properties in for...in", () => {
    const { incoming, real } = pair();
    const names = (r: Request): string[] => { const out: string[] = []; for (const k in r) out.push(k); return out.sort(); };
    expect(names(incoming)).toEqual(names(real));
  });

  it("differs where it says it does: its own prototype, no own properties, and Request.prototype's members refuse it", () => {
    const { incoming } = pair();
    expect(Object.getPrototypeOf(incoming) === Request.prototype).toBe(false);
    expect(Object.getPrototypeOf(Object.getPrototypeOf(incoming)) === Request.prototype).toBe(true);
    expect(Reflect.ownKeys(incoming)).toEqual([]);
    expect(realized(incoming)).toBe(false);
    void incoming.cache;
    expect(realized(incoming)).toBe(true);
    expect(Reflect.ownKeys(incoming)).toEqual([]); // the real Request is held privately, never copied onto it
    // undici's own members take only its own objects: called directly, they throw (the module's known limit)
    expect(() => Request.prototype.clone.call(incoming)).toThrow(TypeError);
    expect(() => Reflect.get(Request.prototype, "url", incoming)).toThrow(TypeError);
  });

  it("answers or passes on every member Request.prototype has, so a member a later undici adds is the real one's", () => {
    const { incoming } = pair();
    const ours = Object.getPrototypeOf(incoming) as object;
    for (const key of Reflect.ownKeys(Request.prototype)) {
      const theirs = Object.getOwnPropertyDescriptor(Request.prototype, key)!;
      const kind = theirs.get !== undefined ? "accessor" : typeof theirs.value === "function" ? "method" : "data";
      if (key === "constructor" || kind === "data") expect(Object.hasOwn(ours, key), String(key)).toBe(false); // inherited as is
      else expect(Object.getOwnPropertyDescriptor(ours, key)?.enumerable, String(key)).toBe(theirs.enumerable);
    }
  });

  it("leaves the global Request as it was to every program that does not pass it an IncomingRequest", () => {
    const made = new Request(HREF);
    expect(Object.getPrototypeOf(made)).toBe(Request.prototype);
    expect(made.constructor).toBe(Request);
    expect(Request.prototype.constructor).toBe(Request);
    expect([Request.name, Request.length, typeof Request]).toEqual(["Request", 1, "function"]);
    expect(made.clone()).toBeInstanceOf(Request);
    expect(() => (Request as unknown as () => unknown)()).toThrow(TypeError); // a class, still
    expect(() => new (Request as unknown as new () => Request)()).toThrow(TypeError); // one argument required, as before
    expect([fetch.name, fetch.length]).toEqual(["fetch", 1]);
  });

  it("is taken by subclasses of Request and by new request.constructor(request)", () => {
    class Forwarded extends Request {
      get hop(): string { return this.headers.get("x-hop") ?? "none"; }
    }
    for (const realizeFirst of [false, true]) {
      const { incoming, real } = pair();
      if (realizeFirst) void incoming.cache;
      const ours = new Forwarded(incoming, { headers: [...incoming.headers, ["x-hop", "1"]] });
      const theirs = new Forwarded(real, { headers: [...real.headers, ["x-hop", "1"]] });
      expect([ours instanceof Forwarded, ours.hop, seen(ours)]).toEqual([true, "1", seen(theirs)]);
      const copy = new (incoming.constructor as typeof Request)(incoming);
      expect(seen(copy)).toEqual(seen(new (real.constructor as typeof Request)(real)));
    }
  });

  it("refuses a method a Request refuses, and normalizes the others as a Request does", () => {
    // (not "patch": undici warns about it once per process, noise in a green run)
    for (const method of ["get", "Post", "PATCH", "Patch2", "PROPFIND", "m-search", "CONNECT", "trace", "TRACK", "bad method", ""]) {
      const made = (): unknown => incomingRequest({ href: HREF, method, fields: FIELDS, signal: () => new AbortController().signal, exchange: 1 });
      const real = (): unknown => new Request(HREF, { method, headers: FIELDS });
      const view = (make: () => unknown) => { try { return seen(make()); } catch (error) { return { threw: (error as Error).constructor.name, message: (error as Error).message }; } };
      expect(view(made), method).toEqual(view(real));
    }
  });

  it("is fetched by fetch() as the real one is: method, target and every field arrive as sent", async () => {
    const arrived: unknown[] = [];
    const upstream = nodeHttp.createServer((req, res) => {
      arrived.push([req.method, req.url, req.rawHeaders]);
      res.end("ok");
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    try {
      const port = (upstream.address() as AddressInfo).port;
      const href = `http://127.0.0.1:${port}/p/q?x=1&y`;
      const fields: Array<[string, string]> = [["Host", `127.0.0.1:${port}`], ["X-Many", "1"], ["X-Many", "2"], ["X-Obs", "caf\u00e9"]];
      for (const method of ["GET", "HEAD"] as const) {
        for (const shape of ["request", "init", "copy"] as const) {
          const { incoming, real } = pair(method, href, fields);
          const send = (r: Request) => shape === "request" ? fetch(r) : shape === "init" ? fetch(href, r) : fetch(new Request(r, { headers: { "x-copy": "1" } }));
          const one = await send(incoming);
          const two = await send(real);
          expect([one.status, await one.text()]).toEqual([two.status, await two.text()]);
        }
      }
      expect(arrived).toHaveLength(12);
      for (let i = 0; i < arrived.length; i += 2) expect(arrived[i]).toEqual(arrived[i + 1]);
      const [method, target, raw] = arrived[0] as [string, string, string[]];
      const fieldsSent = Object.fromEntries(raw.flatMap((v, i) => (i % 2 === 0 ? [[v.toLowerCase(), raw[i + 1]]] : [])));
      expect([method, target, fieldsSent["x-many"], fieldsSent["x-obs"], fieldsSent.host]).toEqual(["GET", "/p/q?x=1&y", "1, 2", "caf\u00e9", `127.0.0.1:${port}`]);
      const { incoming, abort } = pair("GET", href, fields);
      abort(new DOMException("gone", "AbortError"));
      await expect(fetch(incoming)).rejects.toThrow("gone");
    } finally {
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});

describe("IncomingRequest with a body, fetched", () => {
  it("sends its body upstream as the real one does, by fetch(r), fetch(url, r) and fetch(new Request(r)), and refuses once read", async () => {
    const arrived: unknown[] = [];
    const upstream = nodeHttp.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        arrived.push([req.method, req.url, req.headers["content-type"], req.headers["x-many"], Buffer.concat(chunks).toString()]);
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    try {
      const href = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/up?x=1`;
      const fields: Array<[string, string]> = [["Content-Type", "application/json"], ["X-Many", "1"], ["X-Many", "2"]];
      const body = (): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from('{"a":"\u00e9"}'));
      const make = (kind: "lazy" | "real"): Request => kind === "lazy"
        ? incomingRequest({ href, method: "POST", fields, body: body(), signal: () => new AbortController().signal, exchange: 1 })
        : new Request(href, { method: "POST", headers: fields, body: body() });
      const sends: Array<(r: Request) => Promise<Response>> = [
        (r) => fetch(r), (r) => fetch(href, r), (r) => fetch(new Request(r, { headers: [...r.headers, ["x-copy", "1"]] })),
      ];
      for (const send of sends) {
        for (const kind of ["lazy", "real"] as const) {
          const answer = await send(make(kind));
          expect(await answer.text()).toBe("ok");
        }
      }
      expect(arrived).toHaveLength(6);
      for (let i = 0; i < arrived.length; i += 2) expect(arrived[i]).toEqual(arrived[i + 1]);
      expect(arrived[0]).toEqual(["POST", "/up?x=1", "application/json", "1, 2", '{"a":"\u00e9"}']);
      for (const kind of ["lazy", "real"] as const) {
        const read = make(kind);
        await read.json();
        expect(await observe(() => fetch(read)), kind).toEqual({ threw: "TypeError", message: "Cannot construct a Request with a Request object that has already been used." });
      }
    } finally {
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});

describe("plainHref", () => {
  it("refuses what URL would rewrite, and answers only what URL answers (adversarial hosts and targets)", () => {
    for (const [host, target] of [
      ["a.b.", "/"], ["a..b", "/"], ["0x7f.0.0.1", "/"], ["a.0x1f", "/"], ["a.09", "/"], ["255.255.255.256", "/"], ["h:", "/"],
      ["h:0", "/"], ["h:00080", "/"], ["h:65536", "/"], ["H", "/"], ["\u00e9.test", "/"], ["a.xn--b", "/"], ["h", "/a/./b"],
      ["h", "/.."], ["h", "/a/..?x"], ["h", "/%41"], ["h", "/a\\b"], ["h", "/a|b"], ["h", "/a^b"], ["h", "/a`"], ["h", "/?a'b"], ["h", "*"],
    ]) {
      expect(plainHref("http", host!, target!), `${host} ${target}`).toBeNull();
    }
    for (const [scheme, host, target] of [
      ["http", "a.b-c.d1", "/...?/../."], ["https", "0.0.0.0:80", "//x//y?"], ["http", "-a-.b", "/a/.b/..c"], ["https", "h:65535", "/@:;=$,"],
      ["http", `${"a".repeat(70)}.${"b".repeat(300)}`, `/${"x".repeat(100_000)}`], ["http", "1.2.3.a", "/"],
    ]) {
      const plain = plainHref(scheme!, host!, target!);
      expect(plain).not.toBeNull();
      expect(new URL(plain!).href).toBe(plain);
    }
    expect(plainHref("ftp", "h", "/")).toBeNull();
  });

  it("matches new URL().href whenever it answers, over grammar-shaped inputs (property)", () => {
    const text = (alphabet: string, min: number, max: number) => fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map((a) => a.join(""));
    const label = fc.oneof(text("az09-", 1, 6), fc.constantFrom("xn--a", "0x1f", "0", "00", "255", "256", "localhost", "X", "\u00df", "0x", "09"));
    const host = fc.tuple(fc.array(label, { minLength: 1, maxLength: 5 }), fc.constantFrom("", ".", ":80", ":443", ":8080", ":0", ":00080", ":65536", ":"))
      .map(([labels, port]) => labels.join(".") + port);
    const segment = fc.oneof(text("aZ09.-_~!$&()*+,;=:@", 0, 4), fc.constantFrom(".", "..", "...", "%2e", "%", "\\", "'", "`", "|", "{", "\u00e9"));
    const target = fc.tuple(fc.array(segment, { maxLength: 5 }), fc.option(text("aZ09.-_~!$&()*+,;=:@/?'%", 0, 8), { nil: undefined }))
      .map(([segments, query]) => `/${segments.join("/")}${query === undefined ? "" : `?${query}`}`);
    let taken = 0;
    fc.assert(fc.property(fc.constantFrom("http", "https"), host, target, (scheme, h, t) => {
      const plain = plainHref(scheme, h, t);
      if (plain !== null) {
        taken++;
        expect(new URL(plain).href).toBe(plain);
      }
    }), { numRuns: 30_000, seed: 7 });
    expect(taken).toBeGreaterThan(500);
  });
});

describe("whole string bodies: pushText and wholeBody", () => {
  const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)); // lone surrogates included
  const texts = fc.oneof(fc.string({ unit, maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 40 }), fc.constantFrom("", "\ud800", "a\udc00b", "\ud83d\ude00"));

  it("pushText writes the bytes undici would send, through slides and growth (property)", () => {
    fc.assert(fc.property(fc.array(fc.tuple(texts, fc.nat(60), fc.boolean()), { maxLength: 20 }), (steps) => {
      const buffer = new ByteBuffer(16);
      let expected = Buffer.alloc(0);
      for (const [text, drop, sized] of steps) {
        const bytes = new TextEncoder().encode(text); // what undici streams for a string body
        buffer.pushText(text, "utf8", sized ? Buffer.byteLength(text, "utf8") : undefined);
        expected = Buffer.concat([expected, bytes]);
        const latin = text.replace(/[^\u0000-\u00ff]/g, "?");
        buffer.pushText(latin, "latin1");
        expected = Buffer.concat([expected, Buffer.from(latin, "latin1")]);
        buffer.shift(drop);
        expected = expected.subarray(Math.min(drop, expected.length));
        expect(Buffer.from(buffer.view())).toEqual(expected);
      }
    }), { numRuns: 300, seed: 3 });
  });

  it("sizes a string body as undici streams it, lone surrogates as three bytes", async () => {
    await fc.assert(fc.asyncProperty(texts, async (text) => {
      const streamed = new Uint8Array(await new NativeResponse(text).arrayBuffer());
      // undici takes a string body as a USVString: lone surrogates are U+FFFD before pushText sees them
      if (nativeSourceShown) expect(wholeBody(new NativeResponse(text))).toEqual({ text: Buffer.from(text, "utf8").toString("utf8"), length: streamed.length });
      const whole = wholeBody(new http.Response(text)) as { text: string; length: number }; // as given: written as UTF-8 the same
      expect(whole.length).toBe(streamed.length);
      expect(Buffer.from(whole.text, "utf8").equals(streamed)).toBe(true);
    }), { numRuns: 200, seed: 4 });
    if (nativeSourceShown) {
      expect(wholeBody(new NativeResponse("\ud800"))).toEqual({ text: "\ufffd", length: 3 });
      const teed = new NativeResponse("tee");
      void teed.clone();
      expect(wholeBody(teed)).toEqual({ text: "tee", length: 3 }); // a clone leaves the original's source whole
      expect(wholeBody(new NativeResponse(new URLSearchParams("a=1&b=\u00e9")))).toEqual({ text: "a=1&b=%C3%A9", length: 12 });
    }
    const teed = new http.Response("tee");
    void teed.clone();
    expect(wholeBody(teed)).toEqual({ text: "tee", length: 3 });
    expect(wholeBody(new NativeResponse(new Blob(["x"])))).toBeNull();
    expect(() => new NativeResponse("x", { status: 204 })).toThrow(TypeError); // no string body can reach a 204 or 304
    expect(() => new http.Response("x", { status: 204 })).toThrow(TypeError);
  });
});

describe("end to end through the server", () => {
  const servers: http.BareServer[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  function open(app: http.FetchApp): { port: number; step: () => void } {
    const tymist = new Tymist({ tock: 1 / 32 });
    const server = http.openServer({ app, host: "127.0.0.1", port: 0, tymth: tymist.tymen(), tymeout: 0.5 });
    servers.push(server);
    return { port: server.ha[1], step: () => { server.service(); tymist.tick(); } };
  }

  const get = (path: string, extra = ""): string => `GET ${path} HTTP/1.1\r\nHost: h.test\r\nX-Many: 1\r\nX-Many: 2\r\n${extra}\r\n`;

  it("hands apps a request that every use sees as the Request built from the raw parse", async () => {
    const report = async (r: Request): Promise<unknown> => [
      r.method, r.url, [...r.headers], r.cache, r.mode, inspect(r).length, JSON.stringify(r), r.clone().url,
      await r.text(), await r.text(), (await r.arrayBuffer()).byteLength, (await r.blob()).size, await observe(() => r.json()),
      [...new Request(r, { headers: { "x-added": "1" } }).headers], await observe(() => new Request(r, { body: "x" })),
      AbortSignal.any([r.signal]).aborted, r instanceof Request,
    ];
    const { port, step } = open(async (request, env) => {
      const fields = [...env.requestant.headers] as Array<[string, string]>;
      const real = new Request(request.url, { method: request.method, headers: fields });
      return Response.json({ lazy: await report(request), eager: await report(real) });
    });
    const reply = await drive(step, rawRequest(port, get("/x/y?z=1") + get("/?q=%20&r", "X-Obs: caf\xe9\r\n"), { until: responses(2) }));
    const bodies = parseResponses(reply.bytes).map((r) => JSON.parse(r.body.toString()) as { lazy: unknown[]; eager: unknown[] });
    expect(bodies.map((b) => b.lazy[1])).toEqual(["http://h.test/x/y?z=1", "http://h.test/?q=%20&r"]);
    for (const body of bodies) expect(body.lazy).toEqual(body.eager);
  });

  it("aborts the signal, its copies and AbortSignal.any of it when the client leaves a realized request", async () => {
    const seen: string[] = [];
    const { port, step } = open(async (request) => {
      await request.text(); // realizes
      const copies = [request.signal, request.clone().signal, new Request(request).signal, AbortSignal.any([request.signal])];
      for (const [i, s] of copies.entries()) s.addEventListener("abort", () => seen.push(`aborted ${i}`));
      return new Response(new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) }), { headers: { "content-type": "text/event-stream" } });
    });
    await drive(step, rawRequest(port, get("/hang"), { until: (bytes) => bytes.includes("\r\n\r\n") }));
    for (let i = 0; i < 200 && seen.length < 4; i++) {
      step();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(seen.sort()).toEqual(["aborted 0", "aborted 1", "aborted 2", "aborted 3"]);
  });

  it("sends string bodies byte for byte as undici encodes them: multi-byte, lone surrogates, empty, large, pipelined, HEAD", async () => {
    const big = "\u00e9\ud83d\ude00x".repeat(40_000); // 280 KB, past the send buffer's capacity and high water
    const bodies: Record<string, string> = { "/emoji": "h\u00e9\ud83d\ude00!", "/lone": "a\ud800b\udc00", "/empty": "", "/big": big, "/json": JSON.stringify({ s: "\ud83d\ude00" }) };
    const { port, step } = open((request) => new Response(bodies[new URL(request.url).pathname]!));
    const paths = ["/emoji", "/lone", "/empty", "/json", "/emoji", "/big", "/lone"];
    const heads = paths.map((_, i) => i === 4);
    const raw = paths.map((p, i) => get(p).replace(/^GET/, heads[i] ? "HEAD" : "GET")).join("");
    const reply = await drive(step, rawRequest(port, raw, { until: responses(paths.length, heads) }));
    const got = parseResponses(reply.bytes, { heads });
    expect(got.map((r) => r.status)).toEqual(paths.map(() => 200));
    for (const [i, path] of paths.entries()) {
      const expected = Buffer.from(await new Response(bodies[path]!).arrayBuffer());
      expect(got[i]!.get("content-length"), path).toBe(String(expected.length));
      expect(got[i]!.framing, path).toBe(heads[i] ? "none" : "length");
      expect(got[i]!.body.equals(heads[i] ? Buffer.alloc(0) : expected), path).toBe(true);
    }
  });

  it("frames a string body by the Content-Length the app set: cut when shorter, connection closed when longer", async () => {
    const { port, step } = open((request) => {
      const declared = new URL(request.url).searchParams.get("cl")!;
      return new Response("\u00e9\ud83d\ude00", { headers: { "content-length": declared } }); // 6 bytes
    });
    const short = await drive(step, rawRequest(port, get("/?cl=3") + get("/?cl=6") + get("/?cl=abc"), { until: responses(3) }));
    const [cut, exact, ignored] = parseResponses(short.bytes);
    expect([cut!.get("content-length"), [...cut!.body]]).toEqual(["3", [0xc3, 0xa9, 0xf0]]);
    expect(exact!.body.toString()).toBe("\u00e9\ud83d\ude00");
    expect([ignored!.get("content-length"), ignored!.body.length]).toEqual(["6", 6]);
    const long = await drive(step, rawRequest(port, get("/?cl=10") + get("/?cl=6"), { end: true }));
    expect(long.closed).toBe(true);
    const split = long.bytes.indexOf("\r\n\r\n");
    expect(long.bytes.subarray(0, split).toString("latin1")).toContain("content-length: 10");
    expect(long.bytes.subarray(split + 4).toString("utf8")).toBe("\u00e9\ud83d\ude00"); // 6 of 10 bytes, then the close
  });

  it("gives lazy GETs and eager POSTs the URL new URL() makes of Host and target, and both a 400 where it throws", async () => {
    const { port, step } = open((request) => new Response(request.url));
    const hosts = ["H.Test:80", "[::1]:8080", "127.1", "h.test:", "%68.test", "h.test:99999", "a b"];
    const ask = (method: string, host: string) => `${method} /p/./q?x HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${method === "POST" ? 1 : 0}\r\n\r\n${method === "POST" ? "b" : ""}`;
    const raw = hosts.flatMap((host) => [ask("GET", host), ask("POST", host)]);
    for (let i = 0; i < raw.length; i += 2) {
      const reply = await drive(step, rawRequest(port, raw[i]! + raw[i + 1]!, { until: responses(2), end: true }));
      const got = parseResponses(reply.bytes, { closed: reply.closed }).map((r) => `${r.status} ${r.status === 200 ? r.body : ""}`);
      let expected: string;
      try { expected = `200 ${new URL(`http://${hosts[i / 2]}/p/./q?x`).href}`; } catch { expected = "400 "; }
      expect(got[0], hosts[i / 2]).toBe(expected);
      if (expected !== "400 ") expect(got[1], hosts[i / 2]).toBe(expected); // a 400 closes the connection
    }
  });

  it("sends the same whole-string Response to each request it is returned for", async () => {
    const cached = new Response("shared");
    const { port, step } = open(() => cached);
    const reply = await drive(step, rawRequest(port, get("/1") + get("/2"), { until: responses(2) }));
    expect(parseResponses(reply.bytes).map((r) => `${r.status} ${r.body}`)).toEqual(["200 shared", "200 shared"]);
  });

  it("serves a Hono app: routing, params, query, headers and forwarding c.req.raw, without realizing plain reads", async () => {
    const arrived: unknown[] = [];
    const upstream = nodeHttp.createServer((req, res) => { arrived.push([req.method, req.url, req.headers["x-many"], req.headers["x-hop"]]); res.end("up"); });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const up = (upstream.address() as AddressInfo).port;
    const seenRealized: boolean[] = [];
    const app = new Hono();
    app.get("/users/:id", (c) => {
      const body = c.json({ id: c.req.param("id"), q: c.req.query("q"), t: c.req.queries("t"), many: c.req.header("x-many"), path: c.req.path, method: c.req.method });
      seenRealized.push(realized(c.req.raw));
      return body;
    });
    app.get("/proxy/*", async (c) => {
      const forwarded = new Request(`http://127.0.0.1:${up}${c.req.path}`, c.req.raw);
      forwarded.headers.set("x-hop", "1");
      forwarded.headers.delete("host");
      const answer = await fetch(forwarded);
      return c.text(`${answer.status} ${await answer.text()}`);
    });
    try {
      const { port, step } = open((request) => app.fetch(request));
      const raw = get("/users/42?q=a%20b&t=1&t=2") + get("/users/7").replace("GET", "HEAD") + get("/proxy/p") + get("/nowhere");
      const heads = [false, true, false, false];
      const reply = await drive(step, rawRequest(port, raw, { until: responses(4, heads) }));
      const [user, head, proxied, missing] = parseResponses(reply.bytes, { heads });
      expect(JSON.parse(user!.body.toString())).toEqual({ id: "42", q: "a b", t: ["1", "2"], many: "1, 2", path: "/users/42", method: "GET" });
      expect([head!.status, head!.framing, head!.get("content-length")]).toEqual([200, "none", undefined]); // Hono answers HEAD with a null body
      expect(proxied!.body.toString()).toBe("200 up");
      expect(arrived).toEqual([["GET", "/proxy/p", "1, 2", "1"]]);
      expect(missing!.status).toBe(404);
      expect(seenRealized).toEqual([false, false]); // Hono's reads are answered from the parse
    } finally {
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});
