/**
 * An IncomingRequest with a body against a real Request made from the same parts: any sequence
 * of what an app may do with a request gives the same results (values, or the same error).
 */
import fc from "fast-check";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { Tymist, http } from "../../src/index.ts";
import { IncomingMethods, incomingRequest, realized } from "../../src/http/server/incoming.ts";
import { drive, parseResponses, rawRequest, responses } from "../helpers.ts";

type Op = "text" | "json" | "arrayBuffer" | "bytes" | "blob" | "formData" | "bodyUsed" | "body" | "clone" | "copy" | "headers" | "fetch";
const OPS: Op[] = ["text", "json", "arrayBuffer", "bytes", "blob", "formData", "bodyUsed", "body", "clone", "copy", "headers", "fetch"];

/** What one operation observably gives: a value made comparable, or the error's kind and message. */
async function observe(request: Request, op: Op): Promise<unknown> {
  try {
    switch (op) {
      case "text": return await request.text();
      case "json": return await request.json();
      case "arrayBuffer": return [...new Uint8Array(await request.arrayBuffer())];
      case "bytes": return [...(await (request as unknown as { bytes(): Promise<Uint8Array> }).bytes())];
      case "blob": { const blob = await request.blob(); return [blob.type, await blob.text()]; }
      case "formData": return [...(await request.formData()).entries()].map(([k, v]) => [k, String(v)]);
      case "bodyUsed": return request.bodyUsed;
      case "body": {
        const body = request.body;
        if (body === null) return null;
        return [body.locked, request.bodyUsed];
      }
      case "clone": { const copy = request.clone(); return [copy.method, copy.url, await copy.text(), request.bodyUsed]; }
      case "copy": { const copy = new Request(request); return [copy.method, await copy.text(), request.bodyUsed]; }
      case "headers": return [...request.headers];
      case "fetch": // refused before any connection: a used body, else the aborted signal
        await fetch(request, { signal: AbortSignal.abort(new Error("stop")) });
        return "fetched";
    }
  } catch (error) {
    return { error: (error as Error).constructor.name, message: (error as Error).message };
  }
}

const never = (): AbortSignal => new AbortController().signal;

function pair(method: string, body: Uint8Array<ArrayBuffer> | null, fields: Array<[string, string]>): [Request, Request] {
  const href = "http://h.test/p?q=1";
  const init: RequestInit = { method, headers: fields };
  if (body !== null) init.body = body.slice();
  const real = new Request(href, init);
  const lazy = incomingRequest({ href, method, fields, body: body === null ? null : body.slice(), signal: never, exchange: 1 });
  return [real, lazy];
}

describe("IncomingRequest with a body", () => {
  it("gives what a real Request gives for any sequence of body reads, copies and clones", async () => {
    const text = fc.oneof(fc.constant('{"a":[1,2,"x"]}'), fc.constant("a=1&b=two"), fc.constant("\uFEFFbom"), fc.constant(""), fc.string({ maxLength: 20 }));
    const type = fc.constantFrom("application/json", "application/x-www-form-urlencoded", "text/plain; charset=utf-8", null);
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...IncomingMethods), text, type, fc.array(fc.constantFrom(...OPS), { minLength: 1, maxLength: 5 }),
      async (method, content, contentType, ops) => {
        const bodyless = method === "GET" || method === "HEAD" || content === "";
        const body = bodyless ? null : new Uint8Array(Buffer.from(content, "utf8"));
        const fields: Array<[string, string]> = [["host", "h.test"], ["x-two", "1"], ["x-two", "2"]];
        if (contentType !== null) fields.push(["content-type", contentType]);
        const [real, lazy] = pair(method, body, fields);
        for (const op of ops) expect(await observe(lazy, op), `${method} ${JSON.stringify(content)} ${ops.join(",")}`).toEqual(await observe(real, op));
      },
    ), { seed: 5, numRuns: 400 });
  });

  it("reads a JSON body without making the real Request, and refuses a second read as a used body does", async () => {
    const lazy = incomingRequest({ href: "http://h.test/", method: "POST", fields: [], body: new Uint8Array(Buffer.from('{"a":1}')), signal: never, exchange: 1 });
    expect(realized(lazy)).toBe(false);
    expect(await lazy.json()).toEqual({ a: 1 });
    expect(realized(lazy)).toBe(false); // still not built
    expect(lazy.bodyUsed).toBe(true);
    await expect(lazy.text()).rejects.toThrow(TypeError);
    await expect(lazy.json()).rejects.toThrow(/unusable/);
  });

  it("hands the same bytes out as fresh copies each time (a copy the app changes changes nothing)", async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const first = incomingRequest({ href: "http://h.test/", method: "PUT", fields: [], body: bytes, signal: never, exchange: 1 });
    const taken = new Uint8Array(await first.arrayBuffer());
    taken[0] = 9;
    expect([...bytes]).toEqual([1, 2, 3]);
  });

  it("serves POST, PUT, PATCH and DELETE bodies to a fetch app through the real server", async () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    const app = async (request: Request): Promise<Response> => {
      const data = (await request.json()) as { n: number };
      return Response.json({ method: request.method, n: data.n + 1, used: request.bodyUsed });
    };
    const server = http.openServer({ app, host: "127.0.0.1", port: 0, tymth: tymist.tymen(), tymeout: 0 });
    try {
      const step = (): void => { server.service(); tymist.tick(); };
      const methods = ["POST", "PUT", "PATCH", "DELETE"];
      const raw = methods.map((m, n) => `${m} /j HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"n":${n}}`).join("");
      const reply = await drive(step, rawRequest(server.ha[1], raw, { until: responses(4) }));
      expect(parseResponses(reply.bytes).map((r) => JSON.parse(r.body.toString()))).toEqual(
        methods.map((method, n) => ({ method, n: n + 1, used: true })),
      );
    } finally {
      server.close();
    }
  });

  it("serves a Hono app's c.req.json(), c.req.parseBody() and c.req.text() bodies unchanged", async () => {
    const app = new Hono();
    app.post("/json", async (c) => c.json({ got: await c.req.json() }));
    app.post("/form", async (c) => c.json({ got: await c.req.parseBody() }));
    app.put("/text", async (c) => c.text(`${(await c.req.text()).toUpperCase()} ${c.req.header("x-n")}`));
    const tymist = new Tymist({ tock: 1 / 32 });
    const server = http.openServer({ app: app.fetch, host: "127.0.0.1", port: 0, tymth: tymist.tymen(), tymeout: 0 });
    try {
      const step = (): void => { server.service(); tymist.tick(); };
      const ask = (method: string, path: string, type: string, body: string): string =>
        `${method} ${path} HTTP/1.1\r\nHost: h\r\nX-N: 7\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const raw = Buffer.from(ask("POST", "/json", "application/json", '{"a":[1,"é"]}')
        + ask("POST", "/form", "application/x-www-form-urlencoded", "x=1&y=two+words")
        + ask("PUT", "/text", "text/plain", "shout"), "utf8"); // (a string is sent as latin1)
      const reply = await drive(step, rawRequest(server.ha[1], raw, { until: responses(3) }));
      expect(parseResponses(reply.bytes).map((r) => r.body.toString())).toEqual([
        '{"got":{"a":[1,"é"]}}',
        '{"got":{"x":"1","y":"two words"}}',
        "SHOUT 7",
      ]);
    } finally {
      server.close();
    }
  });
});
