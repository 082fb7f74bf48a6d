/**
 * The request-parsing conformance corpus (from llhttp's tests, in ../shared/conformance beside the
 * repo) fed straight to a Requestant: the same Host insertion the runner does, each case whole,
 * split in two at every byte offset, and one byte at a time; every split must give the same
 * outcome, and that outcome must pass the runner's rules.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ByteBuffer } from "../../src/base/buffering.ts";
import { Requestant } from "../../src/http/server/requestant.ts";

interface Message {
  method: string;
  target: string;
  version?: string;
  headers?: Array<[string, string]>;
  body?: string;
}

interface Expectation {
  expect: "accept" | "reject";
  messages: Message[];
  tail?: string;
  closeAfter?: boolean;
}

interface Case extends Expectation {
  id: string;
  raw: string;
  encoding?: "latin1";
  insertHost?: Array<{ at: number; value: string; message: number }>;
  alt?: Expectation;
}

interface Outcome {
  messages: Array<{ method: string; target: string; version: string; headers: Array<[string, string]>; body: string }>;
  end: "error" | "close" | "wait"; // a 4xx/5xx, a close after a non-persistent request, or waiting
  status: number | null;
}

const corpusUrl = new URL("../../../shared/conformance/requests.json", import.meta.url);
const present = existsSync(corpusUrl);
const cases: Case[] = present ? (JSON.parse(readFileSync(corpusUrl, "utf8")) as Case[]) : [];

/** The bytes and expectations the runner (run.mjs buildCase) would use. */
function build(c: Case): { bytes: Buffer; exps: Expectation[] } {
  let bytes = Buffer.from(c.raw, c.encoding === "latin1" ? "latin1" : "utf8");
  const copy = (e: Expectation): Expectation => ({
    ...e,
    messages: (e.messages ?? []).map((m) => ({ ...m, headers: m.headers?.slice() })) as Message[],
  });
  const exps = [copy(c), ...(c.alt ? [copy(c.alt)] : [])];
  for (const h of [...(c.insertHost ?? [])].sort((a, b) => b.at - a.at)) {
    const line = Buffer.from(`Host: ${h.value}\r\n`, "latin1");
    bytes = Buffer.concat([bytes.subarray(0, h.at), line, bytes.subarray(h.at)]);
    for (const e of exps) e.messages[h.message]?.headers?.unshift(["Host", h.value]);
  }
  return { bytes, exps };
}

/** Feeds `bytes` in pieces ending at `cuts` and parses as a server would, request after request. */
function simulate(bytes: Uint8Array, cuts: number[]): Outcome {
  const msg = new ByteBuffer(64);
  const requestant = new Requestant({ msg });
  const messages: Outcome["messages"] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    msg.push(bytes.subarray(from, cut));
    from = cut;
    while (requestant.parse()) {
      if (requestant.errored) return { messages, end: "error", status: requestant.error?.status ?? null };
      messages.push({
        method: requestant.method,
        target: requestant.url,
        version: requestant.version,
        headers: [...requestant.headers.items()],
        body: Buffer.from(requestant.body).toString("utf8"),
      });
      if (!requestant.persisted) return { messages, end: "close", status: null };
      requestant.reinit();
    }
  }
  return { messages, end: "wait", status: null };
}

/**
 * As `simulate`, with every body streamed (`streamAbove: 0`): a reader takes each body from its
 * feed as the server's app would, and the parse goes on only as it reads.
 */
async function simulateStreamed(bytes: Uint8Array, cuts: number[]): Promise<Outcome> {
  const msg = new ByteBuffer(64);
  const requestant = new Requestant({ msg, streamAbove: 0 });
  const messages: Outcome["messages"] = [];
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  let reading: Promise<Uint8Array> | null = null;
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    msg.push(bytes.subarray(from, cut));
    from = cut;
    while (requestant.parse()) {
      if (requestant.errored) {
        await reading?.catch(() => {});
        return { messages, end: "error", status: requestant.error?.status ?? null };
      }
      const feed = requestant.feed;
      if (requestant.streaming) {
        if (reading !== null) break; // its reader has room: more bytes are needed
        reading = new Response(feed!.stream).arrayBuffer().then((body) => new Uint8Array(body));
        await turn(); // the reader asks: the feed takes bytes from now on
        continue;
      }
      const body = feed === null ? requestant.body : await (reading ?? new Response(feed.stream).arrayBuffer().then((b) => new Uint8Array(b)));
      reading = null;
      messages.push({
        method: requestant.method,
        target: requestant.url,
        version: requestant.version,
        headers: [...requestant.headers.items()],
        body: Buffer.from(body).toString("utf8"),
      });
      if (!requestant.persisted) return { messages, end: "close", status: null };
      requestant.reinit();
    }
  }
  return { messages, end: "wait", status: null };
}

/** The runner's text comparison: exact, or the latin1 reading of the UTF-8 bytes sent. */
const sameText = (got: string, want: string) => got === want || got === Buffer.from(want, "utf8").toString("latin1");

/** Why an outcome fails one expectation under the runner's rules (field names compared exactly: they must be as received), or null. */
function judge(e: Expectation, o: Outcome): string | null {
  const n = e.messages.length;
  for (let i = 0; i < Math.min(n, o.messages.length); i++) {
    const got = o.messages[i]!;
    const want = e.messages[i]!;
    if (got.method !== want.method) return `#${i + 1} method ${got.method} != ${want.method}`;
    if (!sameText(got.target, want.target)) return `#${i + 1} target ${got.target} != ${want.target}`;
    if (want.version !== undefined && got.version !== want.version) return `#${i + 1} version ${got.version}`;
    if (want.headers) {
      const fmt = (hs: Array<[string, string]>) => JSON.stringify(hs);
      if (got.headers.length !== want.headers.length) return `#${i + 1} headers ${fmt(got.headers)} != ${fmt(want.headers)}`;
      for (let k = 0; k < want.headers.length; k++) {
        const [gn, gv] = got.headers[k]!;
        const [wn, wv] = want.headers[k]!;
        if (gn !== wn || !sameText(gv, wv.replace(/^[ \t]+|[ \t]+$/g, ""))) return `#${i + 1} header ${gn}: ${gv} != ${wn}: ${wv}`;
      }
    }
    if (want.body !== undefined && !sameText(got.body, want.body)) return `#${i + 1} body ${JSON.stringify(got.body)}`;
  }
  if (o.messages.length > n) return `${o.messages.length} requests accepted, ${n} expected`;
  if (e.expect === "accept") {
    if (o.messages.length < n) return `${o.messages.length}/${n} requests, then ${o.end} ${o.status ?? ""}`;
    if (o.end === "error" && e.tail !== "any") return `an error response (${o.status}) after the last request`;
    if (e.closeAfter && o.end !== "close") return "connection kept open after the last request";
    return null;
  }
  return o.end === "wait" ? "still waiting for bytes instead of rejecting" : null;
}

function verdict(c: Case, o: Outcome): string | null {
  const reasons = build(c).exps.map((e) => judge(e, o));
  return reasons.includes(null) ? null : reasons.join("; alt: ");
}

const title = present ? "conformance corpus" : "conformance corpus (skipped: ../shared/conformance/requests.json not found)";

describe.skipIf(!present)(title, () => {
  it.each(cases.map((c) => [c.id, c] as const))("%s", (_id, c) => {
    const { bytes } = build(c);
    const whole = simulate(bytes, []);
    expect(verdict(c, whole)).toBeNull();
    expect(simulate(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))).toEqual(whole);
    if (bytes.length <= 600) {
      for (let cut = 1; cut < bytes.length; cut++) expect(simulate(bytes, [cut]), `split at ${cut}`).toEqual(whole);
    }
  });

  it.each(cases.map((c) => [c.id, c] as const))("%s with its bodies streamed, whole and a byte at a time", async (_id, c) => {
    const { bytes } = build(c);
    const whole = simulate(bytes, []);
    expect(await simulateStreamed(bytes, [])).toEqual(whole);
    expect(await simulateStreamed(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))).toEqual(whole);
  });

  it("judges as the runner does: waiting on a reject case, an extra or a wrong request fail", () => {
    const get = { method: "GET", target: "/", version: "HTTP/1.1", headers: [["Host", "a"]] as Array<[string, string]>, body: "" };
    const accept: Expectation = { expect: "accept", messages: [{ ...get }] };
    const reject: Expectation = { expect: "reject", messages: [] };
    expect(judge(accept, { messages: [get], end: "wait", status: null })).toBeNull();
    expect(judge(accept, { messages: [get], end: "error", status: 400 })).toMatch(/error response/);
    expect(judge({ ...accept, tail: "any" }, { messages: [get], end: "error", status: 400 })).toBeNull();
    expect(judge(accept, { messages: [{ ...get, body: "x" }], end: "wait", status: null })).toMatch(/body/);
    expect(judge(accept, { messages: [{ ...get, headers: [["host", "a"]] }], end: "wait", status: null })).toMatch(/header/);
    expect(judge(reject, { messages: [], end: "error", status: 400 })).toBeNull();
    expect(judge(reject, { messages: [], end: "wait", status: null })).toMatch(/waiting/);
    expect(judge(reject, { messages: [get], end: "close", status: null })).toMatch(/accepted/);
  });
});
