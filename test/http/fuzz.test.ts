/**
 * Server-level fuzzing over real loopback sockets: fast-check makes random bytes, streams of
 * HTTP-ish tokens and mutated valid requests (flipped, dropped, inserted or repeated bytes, cut
 * short), written whole or in pieces, then waited on, half-closed or reset. For every one the
 * server must never throw out of service(), must end the connection (by answering and closing,
 * or by its deadlines) having sent only whole, well-formed responses (nothing after one that
 * says `Connection: close`; an error reply of the parser always says it), must forget the
 * connection, and must still answer a fresh well-formed request on a new connection.
 */
import fc from "fast-check";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FetchApp } from "../../src/index.ts";
import { drive, rawRequest, responses } from "../helpers.ts";
import { closeServed, serveApp } from "./clients.ts";
import type { Served } from "./clients.ts";

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Answers by path; `x-method` tells the checker which responses are to HEAD (no content). */
const app: FetchApp = async (request, env) => {
  const method = env.requestant.method;
  const headers = { "x-method": method };
  const path = new URL(request.url).pathname;
  const length = (await request.arrayBuffer()).byteLength;
  if (path.startsWith("/stream")) {
    const parts = ["one;", "two;", "three;"];
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await turn();
        const part = parts.shift();
        if (part === undefined) controller.close();
        else controller.enqueue(encode(part));
      },
    });
    return new Response(body, { headers });
  }
  if (path.startsWith("/none")) return new Response(null, { status: 204, headers });
  return new Response(`${method} ${path} ${length}`, { headers });
};

const BASES = [
  "GET /a?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
  "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
  "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n",
  "HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n",
  "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  "PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
  "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /stream HTTP/1.1\r\nHost: x\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: x\r\n\r\n" +
    "GET /none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n",
  "GET http://x/abs HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
];

const TOKENS = [
  "GET ", "HEAD ", "POST ", "/", "/stream", "/none", " HTTP/1.1", " HTTP/1.0", " HTTP/2.0", "\r\n", "\r\n\r\n", "\n", "\r",
  "Host: x\r\n", "Content-Length: 5\r\n", "Content-Length: -1\r\n", "Content-Length: 99999999999999999999\r\n",
  "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip, chunked\r\n", "Connection: close\r\n",
  "Connection: keep-alive\r\n", "Expect: 100-continue\r\n", "0\r\n\r\n", "5\r\nhello\r\n", "fffffffffffffffff\r\n",
  " ", "\t", ":", "\x00", "\xff", "hello", " folded\r\n",
];

type Mutation =
  | { kind: "flip"; at: number; byte: number }
  | { kind: "delete"; at: number; n: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "token"; at: number; token: string }
  | { kind: "repeat"; at: number; n: number }
  | { kind: "cut"; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("token" as const), at: fc.nat(), token: fc.constantFrom(...TOKENS) }),
  fc.record({ kind: fc.constant("repeat" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
);

function mutate(base: string, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(base, "latin1");
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
    const head = bytes.subarray(0, at);
    const tail = bytes.subarray(at);
    if (m.kind === "flip") {
      if (at < bytes.length) bytes[at] = m.byte;
    } else if (m.kind === "delete") bytes = Buffer.concat([head, tail.subarray(m.n)]);
    else if (m.kind === "insert") bytes = Buffer.concat([head, m.bytes, tail]);
    else if (m.kind === "token") bytes = Buffer.concat([head, Buffer.from(m.token, "latin1"), tail]);
    else if (m.kind === "repeat") bytes = Buffer.concat([head, tail.subarray(0, m.n), tail]);
    else bytes = Buffer.from(head);
  }
  return bytes;
}

const input: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...TOKENS), { maxLength: 30 }).map((tokens) => Buffer.from(tokens.join(""), "latin1")) },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...BASES), { minLength: 1, maxLength: 4 }).map((bases) => Buffer.from(bases.join(""), "latin1")) },
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...BASES), fc.array(mutation, { maxLength: 3 })).map(([base, ms]) => mutate(base, ms)) },
);

const scenario = fc.record({
  bytes: input,
  split: fc.option(fc.integer({ min: 1, max: 48 }), { nil: undefined }),
  finish: fc.constantFrom("wait" as const, "end" as const, "reset" as const),
});

/** Reads `bytes` as the responses of a connection, throwing on anything not whole and well-formed. */
function checkResponses(bytes: Buffer, closed: boolean): number {
  const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
  let at = 0;
  let finals = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf("\r\n\r\n", at, "latin1");
    if (end < 0) throw new Error(`an unfinished head at byte ${at}: ${JSON.stringify(bytes.subarray(at, at + 80).toString("latin1"))}`);
    const [line = "", ...fields] = bytes.subarray(at, end).toString("latin1").split("\r\n");
    const status = /^HTTP\/1\.1 ([1-5]\d\d) [\t\x20-\x7e\x80-\xff]*$/.exec(line);
    if (status === null) throw new Error(`not a status line: ${JSON.stringify(line)}`);
    const code = Number(status[1]);
    const headers = new Map<string, string>();
    for (const field of fields) {
      const colon = field.indexOf(":");
      const name = field.slice(0, colon).toLowerCase();
      if (colon <= 0 || !TOKEN.test(name) || /[\x00-\x08\x0a-\x1f\x7f]/.test(field)) throw new Error(`bad field line ${JSON.stringify(field)}`);
      headers.set(name, field.slice(colon + 1).trim());
    }
    let cursor = end + 4;
    if (code < 200) {
      if (code !== 100) throw new Error(`interim ${code}`);
      at = cursor;
      continue;
    }
    finals += 1;
    if (!headers.has("date") || !headers.has("server")) throw new Error(`${code} without Date or Server`);
    const closing = /(^|,)\s*close\s*(,|$)/i.test(headers.get("connection") ?? "");
    // A parser's error reply must close (the framing is lost). The one error reply that may keep
    // the connection is AppSteward's 400 for a Host or method that make no Request: the framing was sound
    // (review.test.ts has the bug that such a Host is not refused by the parser).
    const detail = bytes.subarray(end + 4, end + 4 + 200).toString("latin1");
    if (!headers.has("x-method") && !closing && !(code === 400 && detail.includes("do not make a Request"))) {
      throw new Error(`an error reply (${code}) that does not close`);
    }
    const bodyless = code === 204 || code === 304 || headers.get("x-method") === "HEAD";
    if (bodyless) {
      if (headers.has("transfer-encoding")) throw new Error("a bodyless response with Transfer-Encoding");
    } else if (headers.has("transfer-encoding")) {
      if (headers.get("transfer-encoding") !== "chunked" || headers.has("content-length")) throw new Error("bad chunked framing");
      for (;;) {
        const lineEnd = bytes.indexOf("\r\n", cursor, "latin1");
        const size = lineEnd < 0 ? "" : bytes.subarray(cursor, lineEnd).toString("latin1");
        if (!/^[0-9a-f]+$/.test(size)) throw new Error(`bad or missing chunk size ${JSON.stringify(size)}`);
        const n = parseInt(size, 16);
        cursor = lineEnd + 2 + n;
        if (cursor + 2 > bytes.length || bytes.subarray(cursor, cursor + 2).toString("latin1") !== "\r\n") throw new Error("chunk cut short");
        cursor += 2;
        if (n === 0) break;
      }
    } else if (headers.has("content-length")) {
      const length = headers.get("content-length")!;
      if (!/^\d+$/.test(length)) throw new Error(`bad Content-Length ${length}`);
      // A closing error reply to HEAD rightly has no content: the checker does not know the method.
      const headOnly = !headers.has("x-method") && closing && cursor === bytes.length;
      if (!headOnly) cursor += Number(length);
      if (cursor > bytes.length) throw new Error(`body cut short: ${bytes.length - end - 4} of ${length}`);
    } else {
      if (!closing || !closed) throw new Error("a body of unknown length on a connection not closed");
      cursor = bytes.length;
    }
    if (closing && cursor !== bytes.length) throw new Error("bytes after a Connection: close response");
    at = cursor;
  }
  return finals;
}

/** Writes `bytes` on a fresh connection, then waits, half-closes or resets; resolves once closed. */
function exchange(port: number, bytes: Buffer, split: number | undefined, finish: "wait" | "end" | "reset"): Promise<{ bytes: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let reset = false;
    socket.on("data", (data: Buffer) => chunks.push(data));
    socket.on("error", () => {});
    socket.on("close", () => resolve({ bytes: Buffer.concat(chunks), closed: !reset }));
    socket.on("connect", async () => {
      const size = split ?? Math.max(1, bytes.length);
      for (let at = 0; at < bytes.length && !socket.destroyed; at += size) {
        socket.write(bytes.subarray(at, at + size));
        if (split !== undefined) await turn();
      }
      if (socket.destroyed) return;
      if (finish === "end") socket.end();
      else if (finish === "reset") {
        for (let i = 0; i < 3; i++) await turn();
        reset = true;
        socket.resetAndDestroy();
      }
    });
  });
}

describe("fuzzing the server over loopback", () => {
  let served: Served;
  const thrown: unknown[] = [];
  let step = (): void => {};

  beforeAll(() => {
    // Tyme runs 1/64 per tick: an idle connection is closed 16 ticks after its last traffic, and a
    // request still incomplete 16 ticks after its first byte is answered 408 and closed.
    served = serveApp(app, { tymeout: 0.25, deadlines: { headers: 0.25, request: 0.25 }, onError: () => {} });
    step = () => {
      try {
        served.step();
      } catch (error) {
        thrown.push(error);
      }
    };
  });
  afterAll(closeServed);

  it("never throws, answers well-formed or closes, forgets every connection, and serves the next one", async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ bytes, split, finish }) => {
        runs += 1;
        const { port, server } = served;
        const reply = await drive(step, exchange(port, bytes, split, finish), 3000);
        expect(thrown).toEqual([]);
        if (finish !== "reset") checkResponses(reply.bytes, reply.closed);
        const fresh = await drive(step, rawRequest(port, "GET /fresh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", { until: responses(1) }));
        expect(fresh.bytes.toString("latin1")).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\nGET \/fresh 0$/);
        await drive(step, (async () => {
          while (server.stewards.size > 0 || server.servant.ixes.size > 0) await turn();
        })(), 3000);
        expect(thrown).toEqual([]);
      }),
      { seed: 42, numRuns: 100 },
    );
    expect(runs).toBe(100);
  });

  it("knows a well-formed reply from a broken one (the checker itself)", () => {
    const ok = "HTTP/1.1 200 OK\r\ndate: d\r\nserver: s\r\nx-method: GET\r\ncontent-length: 2\r\n\r\nhi";
    expect(checkResponses(Buffer.from("HTTP/1.1 100 Continue\r\n\r\n" + ok + ok, "latin1"), false)).toBe(2);
    expect(() => checkResponses(Buffer.from(ok.slice(0, -1), "latin1"), true)).toThrow(/cut short/);
    expect(() => checkResponses(Buffer.from(ok.replace("x-method: GET", "connection: close") + "x", "latin1"), true)).toThrow(/after a Connection: close/);
    expect(() => checkResponses(Buffer.from(ok.replace("x-method: GET\r\n", ""), "latin1"), true)).toThrow(/does not close/);
  });
});
