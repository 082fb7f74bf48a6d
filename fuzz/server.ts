/**
 * Mutation fuzzing of the HTTP server, over the in-memory network in simulated tyme and over
 * real loopback sockets. Valid requests are mutated (bytes flipped, dropped, repeated, cut,
 * whitespace and obs-text put in, tokens spliced in), sent whole or in pieces, with or without a
 * half-close, and every connection is checked:
 *
 * - crash: service() threw, the process saw an uncaught error, or onError was told of one
 *   (the app here never fails);
 * - hang: the server neither answered nor closed within a bound after the last byte was sent;
 * - invalid: what came back is not whole, well-formed HTTP/1.1 responses, or a status the
 *   request does not justify: the RFC 9112 reference (fuzz/reference.ts) says which request each
 *   response answers and whether it is 200 (with the app's body naming the method, target and
 *   body length the reference parsed), or which error;
 * - leak: the server still holds connections after all of them closed.
 *
 *   npm run fuzz                                  # 1,000,000 in memory, 20,000 over sockets
 *   npm run fuzz -- --count 20000                 # the CI size
 *   npm run fuzz -- --seed 42 --index 1234 --show # one input again, with what came back
 *
 * Options: --count N (in-memory inputs), --sockets N (real-socket inputs; default count/50,
 * at most 20,000), --seed S, --only memory|sockets, --index I (only input I), --show, --stream
 * (bodies streamed to the app, which reads them from the feed: the server's `stream: true`).
 */
import net from "node:net";
import { Tymist, http, tcp } from "../src/index.ts";
import type { FetchApp } from "../src/index.ts";
import { reference } from "./reference.ts";
import type { Limits, Outcome } from "./reference.ts";

// ---- Options ----

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

function count(name: string, fallback: number): number {
  const text = option(name);
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text)) {
    console.error(`--${name} must be a whole number, not ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return Number(text);
}

const memoryCount = count("count", 1_000_000);
const socketCount = count("sockets", Math.min(20_000, Math.ceil(memoryCount / 50)));
const seed = count("seed", Math.floor(Math.random() * 2 ** 31));
const only = option("only");
const index = option("index") === undefined ? null : count("index", 0);
const show = process.argv.includes("--show");
const stream = process.argv.includes("--stream");

// ---- Inputs: valid requests, mutated by a seeded generator ----

/** mulberry32: a small seeded generator, one per input so any input can be made again alone. */
function generator(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const H = "Host: x\r\n";
const BASES = [
  `GET /a?x=1 HTTP/1.1\r\n${H}\r\n`,
  `GET / HTTP/1.1\r\n${H}User-Agent: fuzz/1.0\r\nAccept: */*\r\nAccept-Language: en;q=0.5, fr\r\nCookie: a=b; c=d\r\n\r\n`,
  `POST /echo HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello`,
  `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n6 ; q="a b"\r\n world\r\n0\r\nT: v\r\n\r\n`,
  `PUT /t HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
  `HEAD /h HTTP/1.1\r\n${H}\r\n`,
  "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  "GET /old HTTP/1.0\r\n\r\n",
  `PUT /e HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc`,
  `GET /1 HTTP/1.1\r\n${H}\r\nHEAD /2 HTTP/1.1\r\n${H}\r\nPOST /3 HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nhi` +
    `GET /4 HTTP/1.1\r\n${H}Connection: close\r\n\r\nGET /never HTTP/1.1\r\n${H}\r\n`,
  `\r\nGET /lead HTTP/1.1\r\n${H}\r\n`,
  `GET http://x/abs HTTP/1.1\r\n${H}\r\nOPTIONS * HTTP/1.1\r\n${H}\r\n`,
  `GET /obs HTTP/1.1\r\n${H}X-Obs: caf\xe9 \xa0na\xefve\r\nConnection: keep-alive, Upgrade\r\n\r\n`,
  `DELETE /d HTTP/1.1\r\nhost: h.example:8080\r\nContent-Length: 0\r\n\r\n`,
];

const TOKENS = [
  " ", "\t", "\x0b", "\x0c", "\xa0", "\x85", "\xff", "\x80", "\r", "\n", "\r\n", "\r\n\r\n", "\x00", "\x7f", ":", ",", ";",
  "=", '"', "\\", "/", "?", "#", "%", "%00", "%zz", "0", "1", "9", "a", "f", "-1", "99999999999999999999",
  "GET ", "HEAD ", "POST ", "CONNECT ", " HTTP/1.1", " HTTP/1.0", " HTTP/2.0", " HTTP/1.12", "http://x/",
  "Host: x\r\n", "Host: \r\n", "Content-Length: 5\r\n", "Content-Length: 0\r\n", "Content-Length: 1, 1\r\n",
  "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked\xa0\r\n", "Transfer-Encoding: identity\r\n",
  "Connection: close\r\n", "Connection: keep-alive\r\n", "Expect: 100-continue\r\n", " folded\r\n",
  "0\r\n\r\n", "5\r\nhello\r\n", "ffffffffffffffffff\r\n", ";ext=1", ';q="x"',
];

const pick = <T>(rng: () => number, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const int = (rng: () => number, low: number, high: number): number => low + Math.floor(rng() * (high - low + 1));
const latin1 = (text: string): Buffer => Buffer.from(text, "latin1");

/** One mutation of `bytes`. */
function mutateOnce(rng: () => number, bytes: Buffer): Buffer {
  const at = int(rng, 0, bytes.length);
  const head = bytes.subarray(0, at);
  const tail = bytes.subarray(at);
  switch (int(rng, 0, 8)) {
    case 0: { // set a byte
      const copy = Buffer.from(bytes);
      if (at < copy.length) copy[at] = int(rng, 0, 255);
      return copy;
    }
    case 1: // drop a few bytes
      return Buffer.concat([head, tail.subarray(int(rng, 1, 8))]);
    case 2: // put random bytes in
      return Buffer.concat([head, Buffer.from(Array.from({ length: int(rng, 1, 6) }, () => int(rng, 0, 255))), tail]);
    case 3:
    case 4: // put a token in
      return Buffer.concat([head, latin1(pick(rng, TOKENS)), tail]);
    case 5: // repeat what follows
      return Buffer.concat([head, ...Array.from({ length: int(rng, 1, 4) }, () => tail.subarray(0, int(rng, 1, 40))), tail]);
    case 6: // cut short
      return Buffer.from(head);
    case 7: { // change a letter's case
      const copy = Buffer.from(bytes);
      if (at < copy.length && /[A-Za-z]/.test(String.fromCharCode(copy[at]!))) copy[at]! ^= 0x20;
      return copy;
    }
    default: // splice with another request
      return Buffer.concat([head, latin1(pick(rng, BASES)).subarray(int(rng, 0, 40))]);
  }
}

interface Input {
  bytes: Buffer;
  /** Written in these pieces, one per tick. */
  pieces: Buffer[];
  /** Half-close (FIN) once everything is written. */
  half: boolean;
}

/** Input `i` of the run with `seed`: the same on every run. */
function makeInput(seed: number, i: number): Input {
  const rng = generator((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  let bytes = latin1(pick(rng, BASES));
  if (rng() < 0.2) bytes = Buffer.concat([bytes, latin1(pick(rng, BASES))]);
  const mutations = rng() < 0.05 ? 0 : int(rng, 1, 4);
  for (let m = 0; m < mutations; m++) bytes = mutateOnce(rng, bytes);
  const pieces: Buffer[] = [];
  if (rng() < 0.6 || bytes.length === 0) pieces.push(bytes);
  else {
    for (let at = 0; at < bytes.length;) {
      const n = int(rng, 1, Math.max(1, Math.min(64, bytes.length - at)));
      pieces.push(bytes.subarray(at, at + n));
      at += n;
    }
  }
  return { bytes, pieces, half: rng() < 0.3 };
}

// ---- The app and what each response must be ----

/** Answers every request 200 with what the parser made of it. */
const app: FetchApp = (_request, env) => {
  const r = env.requestant;
  const answer = (length: number) => new Response(`${r.method} ${r.url} ${length}`, { headers: { "content-type": "text/plain" } });
  // A buffered body is answered at once: the in-memory run turns no event loop between ticks.
  if (r.feed === null) return answer(r.body.length);
  return new Response(r.feed.stream).arrayBuffer().then((body) => answer(body.byteLength));
};

const LIMITS: Limits = { ...http.RequestLimitDefaults };

/** The requests a connection carries, in order, by the reference, until one ends the connection. */
function expectations(raw: string): Outcome[] {
  const out: Outcome[] = [];
  let rest = raw;
  for (;;) {
    if (rest === "") return [...out, { kind: "more" }];
    const outcome = reference(rest, LIMITS);
    out.push(outcome);
    if (outcome.kind !== "ended" || !outcome.persisted) return out;
    rest = outcome.left;
  }
}

interface Response {
  status: number;
  fields: Map<string, string>;
  body: string;
  next: number;
}

const STATUS_LINE = /^HTTP\/1\.1 ([1-5][0-9]{2}) [\t\x20-\x7e\x80-\xff]*$/;
const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\t\x20-\x7e\x80-\xff]*?)[ \t]*$/;

/** Reads one whole response at `at`: null when nothing is there, a string saying what is wrong. */
function readResponse(got: string, at: number, head: boolean): Response | string | null {
  if (at >= got.length) return null;
  const end = got.indexOf("\r\n\r\n", at);
  if (end < 0) return `an unfinished head: ${JSON.stringify(got.slice(at, at + 80))}`;
  const [line = "", ...lines] = got.slice(at, end).split("\r\n");
  const status = STATUS_LINE.exec(line);
  if (status === null) return `not a status line: ${JSON.stringify(line)}`;
  const code = Number(status[1]);
  const fields = new Map<string, string>();
  for (const text of lines) {
    const field = FIELD.exec(text);
    if (field === null) return `not a field line: ${JSON.stringify(text)}`;
    const name = field[1]!.toLowerCase();
    if (fields.has(name) && (name === "content-length" || name === "transfer-encoding" || name === "date")) return `two ${name} fields`;
    fields.set(name, field[2]!);
  }
  if (code >= 200 && (!fields.has("date") || !fields.has("server"))) return `${code} without Date or Server`;
  let next = end + 4;
  const length = fields.get("content-length");
  const coding = fields.get("transfer-encoding");
  if (length !== undefined && coding !== undefined) return "both Content-Length and Transfer-Encoding";
  if (length !== undefined && !/^[0-9]+$/.test(length)) return `Content-Length ${JSON.stringify(length)}`;
  if (code < 200 || code === 204 || code === 304 || head) return { status: code, fields, body: "", next };
  if (coding !== undefined) {
    if (coding.toLowerCase() !== "chunked") return `Transfer-Encoding ${JSON.stringify(coding)}`;
    let body = "";
    for (;;) {
      const lineEnd = got.indexOf("\r\n", next);
      if (lineEnd < 0 || !/^[0-9a-fA-F]+$/.test(got.slice(next, lineEnd))) return "a broken chunked body";
      const size = parseInt(got.slice(next, lineEnd), 16);
      next = lineEnd + 2;
      if (size === 0) break;
      if (got.length < next + size + 2 || got.slice(next + size, next + size + 2) !== "\r\n") return "a chunk cut short";
      body += got.slice(next, next + size);
      next += size + 2;
    }
    if (got.slice(next, next + 2) !== "\r\n") return "a chunked body without its end";
    return { status: code, fields, body, next: next + 2 };
  }
  if (length !== undefined) {
    if (got.length < next + Number(length)) return "a body shorter than its Content-Length";
    return { status: code, fields, body: got.slice(next, next + Number(length)), next: next + Number(length) };
  }
  return { status: code, fields, body: got.slice(next), next: got.length }; // ends at the close
}

const closing = (response: Response): boolean => /(^|,)[ \t]*close[ \t]*(,|$)/i.test(response.fields.get("connection") ?? "");
const URL_REFUSED = "do not make a Request"; // AppSteward's 400 for a target or Host no URL can be made of
const ANY_STATUS = new Set([200, 400, 408, 413, 414, 431, 501, 505]);

/**
 * Checks what came back on a connection against what its bytes justify: "" when right, else
 * why not. `got` is every byte the server sent before it closed.
 */
function check(input: Input, got: string): string {
  const raw = input.bytes.toString("latin1");
  const continues = /100-continue/i.test(raw);
  let at = 0;
  const take = (head: boolean): Response | string | null => {
    for (;;) {
      const response = readResponse(got, at, head);
      if (response === null || typeof response === "string") return response;
      at = response.next;
      if (response.status >= 200) return response;
      if (response.status !== 100 || !continues) return `an interim ${response.status}`;
    }
  };
  for (const expected of expectations(raw)) {
    if (expected.kind === "unknown") {
      // The reference does not model this request: any final status the server may give, then
      // nothing more is checked (its method, and so its framing, is not known for sure).
      const response = take(expected.method === "HEAD");
      if (typeof response === "string") return response;
      if (response !== null && !ANY_STATUS.has(response.status)) return `status ${response.status} for a request the reference does not model (${expected.why})`;
      return "";
    }
    const head = expected.method === "HEAD";
    const response = take(head);
    if (typeof response === "string") return response;
    if (expected.kind === "more") {
      // The rest is not a whole request: the server waits for more, refuses what it saw, or
      // gives up on it at a deadline (408).
      if (response === null) return "";
      if (![400, 408, 505].includes(response.status)) return `status ${response.status} for an unfinished request`;
      if (!closing(response)) return `${response.status} without Connection: close`;
      return at < got.length ? "bytes after a closing response" : "";
    }
    if (response === null) return `no response where the reference says ${expected.kind === "ended" ? "200" : expected.status}`;
    if (expected.kind === "error") {
      if (response.status !== expected.status) return `status ${response.status} where the reference says ${expected.status}`;
      if (!closing(response)) return `${response.status} without Connection: close`;
      return at < got.length ? "bytes after a closing response" : "";
    }
    if (response.status === 400 && (response.body.includes(URL_REFUSED) || head)) {
      // Sound framing, but no URL can be made: the connection may go on (a reply to HEAD
      // does not say why; its 400 is taken for this one).
    } else if (response.status !== 200) {
      return `status ${response.status} where the reference says 200 for ${expected.method} ${expected.target}`;
    } else {
      const body = `${expected.method} ${expected.target} ${expected.body.length}`;
      const seen = expected.method === "HEAD" ? response.fields.get("content-length") : response.body;
      const wanted = expected.method === "HEAD" ? String(Buffer.byteLength(body)) : body;
      if (seen !== wanted) return `the app saw ${JSON.stringify(response.body)} where the reference parsed ${JSON.stringify(body)}`;
    }
    if (closing(response)) return at < got.length ? "bytes after a closing response" : "";
  }
  return at < got.length ? `a response nothing asked for: ${JSON.stringify(got.slice(at, at + 80))}` : "";
}

// ---- Tallies ----

interface Tally {
  inputs: number;
  answered: number; // at least one 2xx
  refused: number; // a 4xx or 5xx first
  silent: number; // closed without a response
  crashes: number;
  hangs: number;
  invalid: number;
  leaks: number;
  seconds: number;
}

const failures: string[] = [];
let uncaught = 0;

function note(tally: Tally, kind: "crashes" | "hangs" | "invalid" | "leaks", what: string): void {
  tally[kind] += 1;
  if (failures.length < 20) failures.push(`${kind}: ${what}`);
}

function settle(tally: Tally, i: number, input: Input, got: string): void {
  const status = /^HTTP\/1\.1 (?:100 [^\r]*\r\n\r\nHTTP\/1\.1 )?([0-9]{3})/.exec(got)?.[1];
  if (status === undefined) tally.silent += 1;
  else if (status.startsWith("2")) tally.answered += 1;
  else tally.refused += 1;
  const wrong = check(input, got);
  if (wrong !== "") note(tally, "invalid", `input ${i}: ${wrong}\n    sent ${JSON.stringify(input.bytes.toString("latin1"))}`);
  if (show) console.log(`input ${i}: sent ${JSON.stringify(input.bytes.toString("latin1"))} in ${input.pieces.length} piece(s)${input.half ? ", then FIN" : ""}\n  got ${JSON.stringify(got)}\n  ${wrong || "ok"}`);
}

const blank = (): Tally => ({ inputs: 0, answered: 0, refused: 0, silent: 0, crashes: 0, hangs: 0, invalid: 0, leaks: 0, seconds: 0 });
const indices = (n: number): number[] => (index !== null ? [index] : Array.from({ length: n }, (_, i) => i));

// ---- In memory, simulated tyme ----

const TOCK = 1 / 32;
/** The server's deadlines, short, so a request that never ends is closed on soon. */
const MEMORY_DEADLINES = { headers: 0.5, request: 1, idle: 0.25, send: 1, linger: 0.25 };
const MEMORY_BOUND = 4; // tyme after the last byte sent within which the server must close
const PARALLEL = 64;
const PER_SERVER = 8192; // connections per network (its ports are never reused)

interface MemoryConnection {
  i: number;
  input: Input;
  client: tcp.Client;
  sent: number;
  shut: boolean;
  last: number;
}

async function runMemory(n: number): Promise<Tally> {
  const tally = blank();
  const started = performance.now();
  const tymist = new Tymist({ tock: TOCK });
  const queue = indices(n);
  let next = 0;
  while (next < queue.length) {
    const network = new tcp.MemoryNetwork({ latency: TOCK });
    const onError = (error: unknown): void => note(tally, "crashes", `onError: ${String(error)}`);
    let server = http.openServer({ app, network, host: "127.0.0.1", port: 80, tymth: tymist.tymen(), deadlines: MEMORY_DEADLINES, onError, stream });
    const service = (): void => {
      try {
        server.service();
      } catch (error) {
        note(tally, "crashes", `service() threw ${(error as Error)?.stack ?? String(error)}`);
        server.close();
        server = http.openServer({ app, network, host: "127.0.0.1", port: 80, tymth: tymist.tymen(), deadlines: MEMORY_DEADLINES, onError, stream });
      }
    };
    const stop = Math.min(queue.length, next + PER_SERVER);
    const active: MemoryConnection[] = [];
    while (next < stop || active.length > 0) {
      while (active.length < PARALLEL && next < stop) {
        const i = queue[next++]!;
        const client = new tcp.Client({ network, ha: [server.eha[0], server.eha[1]], tymth: tymist.tymen() });
        client.open();
        active.push({ i, input: makeInput(seed, i), client, sent: 0, shut: false, last: tymist.tyme });
      }
      service();
      for (let k = active.length - 1; k >= 0; k--) {
        const c = active[k]!;
        const { client, input } = c;
        if (client.connected && c.sent < input.pieces.length) {
          client.tx(input.pieces[c.sent++]!);
          c.last = tymist.tyme;
        } else if (client.connected && c.sent === input.pieces.length && input.half && !c.shut) {
          client.shutdownSend();
          c.shut = true;
        }
        client.service();
        const done = client.cutoff;
        if (done || tymist.tyme - c.last > MEMORY_BOUND) {
          const got = client.rxbs.toString("latin1");
          if (!done) note(tally, "hangs", `input ${c.i}: no close ${MEMORY_BOUND} tyme after the last byte; got ${JSON.stringify(got.slice(0, 120))}\n    sent ${JSON.stringify(input.bytes.toString("latin1"))}`);
          else settle(tally, c.i, input, got);
          client.close();
          active.splice(k, 1);
          tally.inputs += 1;
        }
      }
      tymist.tick();
      // A streamed body reaches the app through promises: let them settle between ticks.
      if (stream) await turn();
    }
    // Every connection is closed: the server must let go of them all.
    for (let tick = 0; tick < MEMORY_BOUND / TOCK && (server.stewards.size > 0 || server.servant.ixes.size > 0); tick++) {
      service();
      tymist.tick();
      if (stream) await turn();
    }
    if (server.stewards.size > 0 || server.servant.ixes.size > 0) {
      note(tally, "leaks", `${server.stewards.size} stewards and ${server.servant.ixes.size} connections left after all closed`);
    }
    server.close();
  }
  tally.seconds = (performance.now() - started) / 1000;
  return tally;
}

// ---- Over real sockets ----

/** In tyme, and ticks run as fast as the event loop turns: a tyme is 32 turns. */
const SOCKET_DEADLINES = { headers: 2, request: 4, idle: 1, send: 4, linger: 1 };
const SOCKET_BOUND_TICKS = 2000;
const SOCKET_BOUND_MS = 10_000;
const SOCKET_PARALLEL = 32;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface SocketConnection {
  i: number;
  input: Input;
  socket: net.Socket;
  chunks: Buffer[];
  connected: boolean;
  closed: boolean;
  sent: number;
  lastTick: number;
  lastMs: number;
}

async function runSockets(n: number): Promise<Tally> {
  const tally = blank();
  const started = performance.now();
  const tymist = new Tymist({ tock: TOCK });
  const onError = (error: unknown): void => note(tally, "crashes", `onError: ${String(error)}`);
  const open = () => http.openServer({ app, host: "127.0.0.1", port: 0, tymth: tymist.tymen(), deadlines: SOCKET_DEADLINES, onError, stream });
  let server = open();
  const queue = indices(n);
  let next = 0;
  let ticks = 0;
  const active: SocketConnection[] = [];
  while (next < queue.length || active.length > 0) {
    while (active.length < SOCKET_PARALLEL && next < queue.length) {
      const i = queue[next++]!;
      const socket = net.connect(server.ha[1], "127.0.0.1");
      const c: SocketConnection = { i, input: makeInput(seed, i), socket, chunks: [], connected: false, closed: false, sent: 0, lastTick: ticks, lastMs: performance.now() };
      socket.on("connect", () => (c.connected = true));
      socket.on("data", (data) => c.chunks.push(data));
      socket.on("end", () => (c.closed = true));
      socket.on("close", () => (c.closed = true));
      socket.on("error", () => (c.closed = true)); // a reset after the server's answer and close
      active.push(c);
    }
    try {
      server.service();
    } catch (error) {
      note(tally, "crashes", `service() threw ${(error as Error)?.stack ?? String(error)}`);
      server.close();
      server = open();
    }
    tymist.tick();
    ticks += 1;
    await turn();
    for (let k = active.length - 1; k >= 0; k--) {
      const c = active[k]!;
      if (c.connected && !c.closed && c.sent < c.input.pieces.length) {
        c.socket.write(c.input.pieces[c.sent++]!);
        if (c.sent === c.input.pieces.length && c.input.half) c.socket.end();
        c.lastTick = ticks;
        c.lastMs = performance.now();
      }
      const late = ticks - c.lastTick > SOCKET_BOUND_TICKS && performance.now() - c.lastMs > SOCKET_BOUND_MS;
      if (c.closed || late) {
        const got = Buffer.concat(c.chunks).toString("latin1");
        if (!c.closed) note(tally, "hangs", `input ${c.i}: no close ${SOCKET_BOUND_TICKS} ticks after the last byte; got ${JSON.stringify(got.slice(0, 120))}`);
        else settle(tally, c.i, c.input, got);
        c.socket.destroy();
        active.splice(k, 1);
        tally.inputs += 1;
      }
    }
  }
  for (let tick = 0; tick < SOCKET_BOUND_TICKS && (server.stewards.size > 0 || server.servant.ixes.size > 0); tick++) {
    server.service();
    tymist.tick();
    await turn();
  }
  if (server.stewards.size > 0 || server.servant.ixes.size > 0) {
    note(tally, "leaks", `${server.stewards.size} stewards and ${server.servant.ixes.size} connections left after all closed`);
  }
  server.close();
  tally.seconds = (performance.now() - started) / 1000;
  return tally;
}

// ---- Run ----

process.on("uncaughtException", (error) => {
  uncaught += 1;
  if (failures.length < 20) failures.push(`crashes: uncaught ${error.stack ?? String(error)}`);
});
process.on("unhandledRejection", (error) => {
  uncaught += 1;
  if (failures.length < 20) failures.push(`crashes: unhandled rejection ${String(error)}`);
});

function line(name: string, t: Tally): string {
  const pct = (x: number) => `${((100 * x) / Math.max(1, t.inputs)).toFixed(1)}%`;
  return `${name}: ${t.inputs} inputs in ${t.seconds.toFixed(1)} s (${Math.round(t.inputs / Math.max(t.seconds, 1e-9))}/s): ` +
    `answered 2xx ${pct(t.answered)}, refused 4xx/5xx ${pct(t.refused)}, closed without a response ${pct(t.silent)}; ` +
    `${t.crashes} crashes, ${t.hangs} hangs, ${t.invalid} invalid, ${t.leaks} leaks`;
}

const tallies: Array<[string, Tally]> = [];
if (only !== "sockets" && memoryCount > 0) {
  const t = await runMemory(memoryCount);
  tallies.push(["memory", t]);
  console.log(line("memory (simulated tyme)", t));
}
if (only !== "memory" && socketCount > 0) {
  const t = await runSockets(socketCount);
  tallies.push(["sockets", t]);
  console.log(line("sockets (127.0.0.1)", t));
}
for (const failure of failures) console.log(`  ${failure}`);
const sum = (key: keyof Tally): number => tallies.reduce((total, [, t]) => total + t[key], 0);
const crashes = sum("crashes") + uncaught;
const bad = crashes + sum("hangs") + sum("invalid") + sum("leaks");
console.log(`fuzz: seed ${seed}, ${tallies.map(([name, t]) => `${t.inputs} ${name}`).join(" + ")} inputs: ` +
  `${crashes} crashes, ${sum("hangs")} hangs, ${sum("invalid")} invalid responses, ${sum("leaks")} leaks` +

  (bad > 0 ? ` (again: npm run fuzz -- --seed ${seed} --index I --show)` : ""));
process.exit(bad > 0 ? 1 : 0);
