/**
 * OutgoingResponse (`http.Response`) against undici's Response made from the same body and
 * init: what an app can see of each must be the same, whatever it does and in whatever order.
 * Then the global: installed by a server's first connection only, restored exactly, and
 * `instanceof Response` holding both ways, for subclasses and for Responses fetch() returns.
 */
import { execFile } from "node:child_process";
import { inspect } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteBuffer } from "../../src/base/buffering.ts";
import { http } from "../../src/index.ts";
import { NativeResponse, heldParts, installResponse, outgoingParts, responseInstalled, restoreResponse } from "../../src/http/server/outgoing.ts";

const Outgoing = http.Response;
const ORIGINAL = Object.getOwnPropertyDescriptor(globalThis, "Response");

/** What an app can see of a value: Responses by their getters, bodies by content. */
function seen(value: unknown): unknown {
  if (value instanceof NativeResponse) {
    return {
      status: value.status, statusText: value.statusText, ok: value.ok, type: value.type, url: value.url, redirected: value.redirected,
      headers: [...value.headers], cookies: value.headers.getSetCookie(), bodyUsed: value.bodyUsed, body: value.body === null ? null : "stream",
      tag: Object.prototype.toString.call(value),
    };
  }
  if (value instanceof Headers) return [...value];
  if (value instanceof ArrayBuffer || value instanceof Uint8Array) return [[...new Uint8Array(value)], value.constructor.name];
  if (value instanceof Blob) return { size: value.size, type: value.type };
  if (value instanceof ReadableStream) return { stream: true, locked: value.locked };
  if (value instanceof FormData) return [...value];
  return value;
}

async function observe(act: () => unknown): Promise<unknown> {
  try {
    return { value: seen(await act()) };
  } catch (error) {
    return { threw: (error as Error).constructor.name, message: (error as Error).message };
  }
}

/** Bodies and inits, made afresh for each side (a stream can be given once). */
const BODIES: Record<string, () => unknown> = {
  text: () => "Hello World!",
  empty: () => "",
  unicode: () => "h\u00e9llo \u{1f600}",
  "lone surrogate": () => "a\ud800b",
  bom: () => "\ufeff{\"a\":1}",
  json: () => "{\"a\":[1,2]}",
  form: () => "a=1&b=%C3%A9",
  bytes: () => new Uint8Array([104, 105]),
  buffer: () => Buffer.from("buffered"),
  view: () => new Uint8Array([0, 104, 105, 0]).subarray(1, 3),
  "data view": () => new DataView(new Uint8Array([111, 107]).buffer),
  "array buffer": () => new Uint8Array([97, 98]).buffer,
  "empty bytes": () => new Uint8Array(0),
  null: () => null,
  undefined: () => undefined,
  stream: () => new ReadableStream({ start: (c) => { c.enqueue(new TextEncoder().encode("streamed")); c.close(); } }),
  blob: () => new Blob(["blob"], { type: "text/x-blob" }),
  "url search params": () => new URLSearchParams("q=1&r=\u00e9"),
  number: () => 42,
};
const INITS: Record<string, () => unknown> = {
  none: () => undefined,
  null: () => null,
  empty: () => ({}),
  status: () => ({ status: 201 }),
  "status text": () => ({ status: 299, statusText: "Fine\tthanks" }),
  "status as text": () => ({ status: "202" }),
  "status fraction": () => ({ status: 200.5 }),
  "status low": () => ({ status: 199 }),
  "status high": () => ({ status: 600 }),
  "no content": () => ({ status: 204 }),
  "reset content": () => ({ status: 205 }),
  "not modified": () => ({ status: 304 }),
  "bad status text": () => ({ statusText: "no\nway" }),
  "wide status text": () => ({ statusText: "\u0100" }),
  record: () => ({ headers: { "Content-Type": "text/html", "X-Many": "1", "x-many": "2" } }),
  pairs: () => ({ headers: [["Set-Cookie", "a=1"], ["set-cookie", "b=2"], ["X-Obs", "caf\u00e9"]] }),
  headers: () => ({ headers: new Headers({ "x-from": "headers", "content-type": "application/json" }) }),
  padded: () => ({ headers: { "x-pad": " \tpadded\t " } }),
  "inner tab": () => ({ headers: { "x-tab": "a\tb" } }),
  control: () => ({ headers: { "x-ctl": "a\u0001b" } }),
  "bad name": () => ({ headers: { "bad name": "x" } }),
  "crlf value": () => ({ headers: { "x-crlf": "a\r\nInjected: 1" } }),
  "wide value": () => ({ headers: { "x-wide": "\u0100" } }),
  "number value": () => ({ headers: { "content-length": 5 } }),
  "symbol key": () => ({ headers: { [Symbol("s")]: "x", a: "1" } }),
  map: () => ({ headers: new Map([["x-map", "1"]]) }),
  "odd pair": () => ({ headers: [["x-odd"]] }),
  "inherited record": () => ({ headers: Object.create({ inherited: "1" }) as Record<string, string> }),
  "a response": () => new NativeResponse("init", { status: 203, statusText: "Hmm", headers: { "x-init": "1" } }),
  "a number": () => 5,
};

function make(Made: typeof Response, body: string, init: string): Response {
  return new Made(BODIES[body]!() as BodyInit, INITS[init]!() as ResponseInit);
}

const READS = ["text", "json", "arrayBuffer", "bytes", "blob", "formData"] as const;
type Op = (r: Response) => unknown;
const OPS: Record<string, Op> = {
  seen: (r) => r,
  ...Object.fromEntries(READS.map((m) => [`read ${m}`, (r: Response) => (r as unknown as Record<string, () => unknown>)[m]!()])),
  body: (r) => r.body,
  "body read": async (r) => (r.body === null ? null : [...new Uint8Array(await new NativeResponse(r.body).arrayBuffer())]),
  clone: async (r) => { const c = r.clone(); return [seen(c), await c.text()]; },
  "set header": (r) => r.headers.set("x-set", "1"),
  "append cookie": (r) => r.headers.append("set-cookie", "c=3"),
  "delete type": (r) => r.headers.delete("content-type"),
  "bad header": (r) => r.headers.set("bad name", "v"),
  "as init": (r) => new NativeResponse("again", r),
  "wrapped": async (r) => { const w = new NativeResponse(r.body, r); return [seen(w), await w.text()]; },
  // A Headers object given as init is shown as it iterates (sorted, lowercase), not in its own
  // order and spelling, the one difference the module's doc names: the line is compared sorted.
  inspect: (r) => inspect(r, { depth: 4 }).replace(/ReadableStream \{[^}]*\}/, "ReadableStream")
    .replace(/Headers \{([^}]*)\}/, (_, list: string) => `Headers {${list.split(",").map((s) => s.trim()).sort().join(",")}}`),
  json: (r) => JSON.stringify(r),
  keys: (r) => [Object.keys(r), r instanceof NativeResponse, r.constructor.name, Object.prototype.toString.call(r)],
  "for in": (r) => { const names: string[] = []; for (const name in r) names.push(name); return names; },
  "headers identity": (r) => r.headers === r.headers,
};

describe("OutgoingResponse against undici's Response from the same body and init", () => {
  it("is made, or refused, alike for every body and init", async () => {
    for (const body of Object.keys(BODIES)) {
      for (const init of Object.keys(INITS)) {
        expect(await observe(() => make(Outgoing, body, init)), `${body} / ${init}`).toEqual(await observe(() => make(NativeResponse, body, init)));
      }
    }
  });

  it("answers every getter, read, copy and header change alike, once and twice", async () => {
    for (const body of Object.keys(BODIES)) {
      for (const init of ["none", "status text", "record", "pairs", "headers"]) {
        for (const [name, op] of Object.entries(OPS)) {
          const light = make(Outgoing, body, init);
          const real = make(NativeResponse, body, init);
          expect(await observe(() => op(light)), `${body} / ${init}: ${name}`).toEqual(await observe(() => op(real)));
          expect(await observe(() => op(light)), `${body} / ${init}: ${name} twice`).toEqual(await observe(() => op(real)));
          expect(await observe(() => light), `${body} / ${init}: after ${name}`).toEqual(await observe(() => real));
        }
      }
    }
  });

  it("agrees over random sequences of reads, copies and header changes (property)", async () => {
    const names = Object.keys(OPS);
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...Object.keys(BODIES)),
      fc.constantFrom("none", "status", "record", "pairs", "headers", "padded"),
      fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 8 }),
      async (body, init, ops) => {
        const light = make(Outgoing, body, init);
        const real = make(NativeResponse, body, init);
        const held = light.headers;
        for (const name of ops) expect(await observe(() => OPS[name]!(light)), name).toEqual(await observe(() => OPS[name]!(real)));
        expect(await observe(() => light)).toEqual(await observe(() => real));
        expect(light.headers).toBe(held); // one Headers object throughout, as a Response has
      },
    ), { numRuns: 300, seed: 7 });
  });

  it("makes Response.json() alike, and refuses what JSON cannot say alike", async () => {
    const cases: Array<[unknown, unknown]> = [
      [{ a: 1 }, undefined], [[1, "two"], { status: 201 }], ["text", { headers: { "content-type": "application/vnd.x+json" } }],
      [null, { headers: [["x-a", "1"]] }], [undefined, undefined], [() => 1, undefined], [1n, undefined], [{ a: 1 }, { status: 204 }],
      [{ a: 1 }, { status: 700 }], [{ toJSON: () => "custom" }, undefined],
    ];
    for (const [data, init] of cases) {
      const light = await observe(async () => { const r = Outgoing.json(data, init as ResponseInit); return [seen(r), await r.text()]; });
      const real = await observe(async () => { const r = NativeResponse.json(data, init as ResponseInit); return [seen(r), await r.text()]; });
      expect(light, String(data)).toEqual(real);
    }
  });

  it("reads each member of an init once, in this undici's order", () => {
    const orders: string[][] = [];
    for (const Made of [Outgoing, NativeResponse]) {
      const reads: string[] = [];
      const init = {
        get headers() { reads.push("headers"); return { "x-a": "1" }; },
        get status() { reads.push("status"); return 201; },
        get statusText() { reads.push("statusText"); return "Made"; },
      };
      new Made("x", init);
      orders.push(reads);
    }
    expect(orders[0]).toEqual(orders[1]);
    expect([...orders[0]!].sort()).toEqual(["headers", "status", "statusText"]);
  });

  it("holds its parts until something needs the real Response, and is realized by body streams, blob() and formData()", async () => {
    const hello = new Outgoing("hi", { headers: { "x-a": "1" } });
    void hello.status; void hello.headers; void hello.ok; await hello.clone().text(); await hello.text();
    expect(heldParts(hello)).not.toBeNull();
    for (const realize of [(r: Response) => r.body, (r: Response) => r.blob(), (r: Response) => r.formData().catch(() => null)]) {
      const response = new Outgoing("x=1", { headers: { "content-type": "application/x-www-form-urlencoded" } });
      await realize(response);
      expect(heldParts(response)).toBeNull();
    }
    expect(new Outgoing(null).body).toBeNull(); // no body: nothing to realize
  });

  it("sends its parts only when its class reads them as given: a subclass overriding a getter is read through it", () => {
    class Plain extends Outgoing {}
    class Statused extends Outgoing {
      override get status(): number { return 299; }
    }
    expect(outgoingParts(new Outgoing("x"))).not.toBeNull();
    expect(outgoingParts(new Plain("x"))).not.toBeNull();
    expect(outgoingParts(new Statused("x"))).toBeNull();
    expect(outgoingParts(new NativeResponse("x"))).toBeNull();
  });
});

describe("the global Response", () => {
  it("is installed by a server's first connection, never on import, and put back exactly as it was", () => {
    expect(responseInstalled()).toBe(false); // importing hio-ts changed nothing
    expect(globalThis.Response).toBe(NativeResponse);
    new http.Responder({ txbs: new ByteBuffer() }); // what each connection's Steward makes
    expect(responseInstalled()).toBe(true);
    expect(globalThis.Response).toBe(Outgoing);
    const installed = Object.getOwnPropertyDescriptor(globalThis, "Response")!;
    expect({ ...installed, value: null }).toEqual({ ...ORIGINAL, value: null }); // writable, configurable, not enumerable, as before
    restoreResponse();
    expect(Object.getOwnPropertyDescriptor(globalThis, "Response")).toEqual(ORIGINAL);
    new http.Responder({ txbs: new ByteBuffer() });
    expect(responseInstalled()).toBe(false); // declined: servers leave it alone from now on
    expect(installResponse()).toBe(true);
    expect(globalThis.Response).toBe(Outgoing);
    restoreResponse();
  });

  it("is declined from the start by HIO_RESPONSE=native", async () => {
    const responding = new URL("../../src/http/server/responder.ts", import.meta.url).href;
    const outgoing = new URL("../../src/http/server/outgoing.ts", import.meta.url).href;
    const script = `const { Responder } = await import(${JSON.stringify(responding)});
      const { responseInstalled } = await import(${JSON.stringify(outgoing)});
      new Responder({ txbs: null }); console.log(responseInstalled(), globalThis.Response.name);`;
    const run = (env: Record<string, string>): Promise<string> => new Promise((resolve, reject) =>
      execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, ...env }, timeout: 30_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout.trim()))));
    expect(await run({ HIO_RESPONSE: "native" })).toBe("false Response");
    expect(await run({ HIO_RESPONSE: "" })).toBe("true Response");
  });

  it("replaces only the runtime's own class: another library's global is left alone", () => {
    class Theirs extends NativeResponse {}
    globalThis.Response = Theirs;
    try {
      expect(installResponse()).toBe(false);
      expect(globalThis.Response).toBe(Theirs);
      restoreResponse();
      expect(globalThis.Response).toBe(Theirs);
    } finally {
      Object.defineProperty(globalThis, "Response", ORIGINAL!);
    }
  });

  it("claims native Responses and is claimed by the native class: instanceof holds both ways, for subclasses too", async () => {
    class Early extends NativeResponse {} // as NextResponse: extends the class found at load
    installResponse();
    try {
      class Late extends Response {} // extends the global in place now
      const fetched = await fetch("data:text/plain,fetched");
      const late = new Late("late");
      expect([new Response("x"), late, Response.json(1), fetched, new Early("e"), Response.error(), Response.redirect("http://h.test/")]
        .map((r) => [r instanceof Response, r instanceof NativeResponse])).toEqual(Array(7).fill([true, true]));
      expect([late instanceof Late, new Response("x") instanceof Late, fetched instanceof Late, new Early("e") instanceof Late]).toEqual([true, false, false, false]);
      expect([new Response("x") instanceof Early, new Early("e") instanceof Early]).toEqual([false, true]);
      expect(await late.text()).toBe("late");
      expect(outgoingParts(late)).not.toBeNull();
      expect(new Response("").constructor).toBe(Response);
      expect(Object.prototype.toString.call(new Response(""))).toBe("[object Response]");
      expect(Response.redirect("http://h.test/a", 307).headers.get("location")).toBe("http://h.test/a");
      expect(Response.error().type).toBe("error");
    } finally {
      restoreResponse();
    }
  });

  it("is taken where Node takes a Response or its body: WebAssembly streaming, fetch bodies, Request bodies", async () => {
    const wasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]); // an empty module
    const module = await WebAssembly.compileStreaming(new Outgoing(wasm, { headers: { "content-type": "application/wasm" } }));
    expect(module).toBeInstanceOf(WebAssembly.Module);
    for (const Made of [Outgoing, NativeResponse]) {
      const streamed = new Request("http://h.test/", { method: "POST", body: new Made("sent on").body, duplex: "half" } as RequestInit);
      expect(await streamed.text()).toBe("sent on");
      const whole = new Request("http://h.test/", { method: "POST", body: await new Made("bytes").arrayBuffer() });
      expect(await whole.text()).toBe("bytes");
      // A Response is not a body: undici turns it into text, for either class alike.
      expect(await new Request("http://h.test/", { method: "POST", body: new Made("x") as unknown as BodyInit }).text()).toBe("[object Response]");
    }
  });
});
