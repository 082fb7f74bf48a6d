/**
 * The demo behind `npm start`: a live inspector of the program serving it. One real-time Doist
 * runs a ServerDoer, a beat doer and a tick meter; the page (examples/public/, through
 * StaticSink) follows them over Server-Sent Events: the Doist's deed tree, every open
 * connection's Steward, Requestant and Responder states with their last transitions (from
 * `server.inspect()` and `server.connections()`), request counts and tick timing, and the three
 * machines drawn by Mermaid from the tables the server steps.
 *
 *   npm start                 # http://127.0.0.1:8080/
 *   PORT=0 npm start          # PORT=0 picks a free port
 *
 * Routes: `/static/` the page, `/inspect` the feed (one snapshot per beat, a quarter second of
 * tyme), `/machines.json` the diagrams' Mermaid text, `/slow?beats=N` an answer that waits two
 * beats and then streams one line per beat (N lines), `/echo` a JSON echo, `/vendor/mermaid/`
 * the mermaid package's browser bundle from node_modules.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Doer, Doist, http } from "../src/index.ts";
import { portFromEnv } from "./env.ts";

/** What a beat reaches: told every beat, and to stop when the program stops. */
interface Beating {
  beat(tyme: number): void;
  stop(): void;
}

/**
 * A doer that beats every quarter second of tyme: how doers feed an app. On a graceful stop
 * (SIGTERM, Ctrl-C) it stops every stream it feeds, so the server can end their responses and
 * close their connections instead of waiting out the Doist's grace.
 */
class Beat extends Doer {
  readonly listeners = new Set<Beating>();

  override recur(tyme: number): boolean {
    for (const listener of this.listeners) listener.beat(tyme);
    return false;
  }

  drain(): boolean {
    for (const listener of this.listeners) listener.stop();
    this.listeners.clear();
    return true;
  }
}

/** A doer that runs `action` on every tick that runs, yet never makes the Doist tick by itself. */
class Bracket extends Doer {
  readonly name: string;
  readonly #action: () => void;

  constructor(name: string, action: () => void) {
    super({ tock: 0 });
    this.name = name;
    this.#action = action;
  }

  override recur(): boolean {
    this.#action();
    return false;
  }

  /** No work of its own: a real-time Doist sleeps until something else is due. */
  due(): number {
    return Infinity;
  }
}

/**
 * Tick timing measured from inside the Doist: `first` runs first and `last` runs last in every
 * tick, so the time between them is how long that tick's doers took (the server's service and
 * the app's handlers it runs, the beat). The inspector's snapshot is built just after the pass and
 * timed on its own. What the Doist does between ticks (sleeping, letting the event
 * loop turn) is not counted. Two `performance.now()` calls per tick; the Doist itself is unchanged.
 */
class TickMeter {
  readonly first = new Bracket("tick.first", () => {
    this.#began = performance.now();
  });
  readonly last = new Bracket("tick.last", () => {
    const took = performance.now() - this.#began;
    this.#count += 1;
    this.#busy += took;
    if (took > this.#longest) this.#longest = took;
    if (took > this.longestEver) this.longestEver = took;
  });
  /** The longest tick since the start, in milliseconds. */
  longestEver = 0;
  #began = 0;
  #count = 0;
  #busy = 0;
  #longest = 0;
  #since = performance.now();

  /** The ticks since the last take (count, per second, longest and busy share of the wall time); starts over. */
  take(): { count: number; perSecond: number; longest: number; longestEver: number; busy: number } {
    const now = performance.now();
    const seconds = Math.max((now - this.#since) / 1000, 1e-3);
    const out = { count: this.#count, perSecond: this.#count / seconds, longest: this.#longest, longestEver: this.longestEver, busy: this.#busy / (seconds * 1000) };
    this.#count = 0;
    this.#busy = 0;
    this.#longest = 0;
    this.#since = now;
    return out;
  }
}

/** One transition as the page gets it, numbered in the order taken. */
interface Transition {
  seq: number;
  tyme: number | null;
  machine: http.ConnectionMachine;
  event: string;
  from: string;
  to: string;
}

/** What the inspector keeps of one connection: its last transitions and how it was last seen. */
interface Watched {
  id: string;
  peer: string;
  role: string | null;
  transitions: Transition[];
}

/** One open feed: the page's end of `/inspect`. */
interface Feed {
  controller: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
}

/**
 * The inspector: while at least one page watches, it listens to the server's transitions
 * (keeping the last few of each connection) and sends every feed one snapshot per beat,
 * serialized once. A feed that does not keep up skips snapshots rather than queue them. With no
 * page open it does not listen at all, so the server steps its machines unobserved.
 */
class Inspector implements Beating {
  /** Transitions kept per connection, and connections listed per snapshot (the rest are counted). */
  static Kept = 6;
  static Listed = 32;
  static Closed = 6;

  requests = 0;
  readonly #feeds = new Set<Feed>();
  readonly #records = new Map<string, Watched>();
  readonly #roles = new Map<string, string>(); // peer "address:port" -> what the demo knows it for
  #closed: Watched[] = [];
  #stop: (() => void) | null = null;
  #seq = 0;
  #took = 0; // milliseconds the last snapshot took to build and send
  #requestsBefore = 0;
  #since = performance.now();
  readonly #encoder = new TextEncoder();

  constructor(
    readonly server: http.BareServer,
    readonly doist: Doist,
    readonly meter: TickMeter,
    readonly beater: Beat,
  ) {}

  /** Names the connection from `peer` ("address:port") in the page while anyone watches. */
  label(peer: string, role: string): void {
    if (this.#feeds.size > 0) this.#roles.set(peer, role);
  }

  /** A new feed from `peer`: starts listening if it is the first, and sends it a snapshot at once. */
  open(controller: ReadableStreamDefaultController<Uint8Array>, peer: string): Feed {
    const feed: Feed = { controller, closed: false };
    this.#roles.set(peer, "inspector feed");
    this.#feeds.add(feed);
    if (this.#stop === null) {
      this.#stop = this.server.inspect((inspection) => this.#record(inspection));
      this.beater.listeners.add(this);
    }
    this.#send(feed, this.#encoder.encode("retry: 1000\n\n"));
    queueMicrotask(this.#publish); // the app runs inside a tick: the snapshot waits for the pass's end (see beat)
    return feed;
  }

  /** A feed ended (the page closed it, or the program stops): the last one stops the listening. */
  close(feed: Feed): void {
    if (feed.closed) return;
    feed.closed = true;
    this.#feeds.delete(feed);
    try {
      feed.controller.close();
    } catch {
      // cancelled by the server already: the peer went away
    }
    if (this.#feeds.size === 0 && this.#stop !== null) {
      this.#stop();
      this.#stop = null;
      this.beater.listeners.delete(this);
      this.#records.clear();
      this.#roles.clear();
      this.#closed = [];
    }
  }

  /**
   * Sends the snapshot once this tick's pass is over (a microtask runs before the Doist's next
   * await resolves): inside the pass, the deed running is out of the queue, so `deedTree()` would
   * miss the beat's own deed. Its cost is measured apart from the ticks'.
   */
  beat(): void {
    if (this.#feeds.size > 0) queueMicrotask(this.#publish);
  }

  readonly #publish = (): void => {
    if (this.#feeds.size === 0) return;
    const began = performance.now();
    const bytes = this.#encoder.encode(`data: ${this.snapshot()}\n\n`);
    for (const feed of this.#feeds) this.#send(feed, bytes);
    this.#took = performance.now() - began;
  };

  stop(): void {
    for (const feed of [...this.#feeds]) this.close(feed);
  }

  /** The state of the program as JSON: tyme, tick timing, requests, deed tree, connections. */
  snapshot(): string {
    const live = this.server.connections();
    const seen = new Set<string>();
    const connections = [];
    for (const connection of live) {
      seen.add(connection.id);
      const peer = `${connection.peer[0]}:${connection.peer[1]}`;
      const record = this.#recordOf(connection.id);
      record.peer = peer;
      record.role = this.#roles.get(peer) ?? null;
      if (connections.length < Inspector.Listed) {
        connections.push({ ...connection, peer, role: record.role, transitions: record.transitions });
      }
    }
    for (const [id, record] of this.#records) {
      if (seen.has(id)) continue;
      this.#records.delete(id);
      this.#closed = [record, ...this.#closed].slice(0, Inspector.Closed);
    }
    const peers = new Set(live.map((c) => `${c.peer[0]}:${c.peer[1]}`));
    for (const peer of this.#roles.keys()) if (!peers.has(peer)) this.#roles.delete(peer);
    const now = performance.now();
    const seconds = Math.max((now - this.#since) / 1000, 1e-3);
    const requests = { total: this.requests, perSecond: (this.requests - this.#requestsBefore) / seconds };
    this.#requestsBefore = this.requests;
    this.#since = now;
    return JSON.stringify({
      tyme: this.doist.tyme,
      ticks: { total: this.doist.ticks, ...this.meter.take() },
      snapshot: this.#took,
      requests,
      transitions: this.#seq,
      feeds: this.#feeds.size,
      doist: this.doist.deedTree(),
      connections,
      unlisted: live.length - connections.length,
      closed: this.#closed,
    });
  }

  #recordOf(id: string): Watched {
    let record = this.#records.get(id);
    if (record === undefined) {
      record = { id, peer: "", role: null, transitions: [] };
      this.#records.set(id, record);
    }
    return record;
  }

  #record({ tyme, connection, machine, event, from, to }: http.Inspection): void {
    this.#seq += 1;
    const transitions = this.#recordOf(connection).transitions;
    transitions.push({ seq: this.#seq, tyme, machine, event, from, to });
    if (transitions.length > Inspector.Kept) transitions.shift();
  }

  #send(feed: Feed, bytes: Uint8Array): void {
    // A feed whose reader is four messages behind skips this one: nothing piles up.
    if (!feed.closed && (feed.controller.desiredSize ?? 0) > 0) feed.controller.enqueue(bytes);
  }
}

const encoder = new TextEncoder();
const headersSSE = { "content-type": "text/event-stream", "cache-control": "no-store" };

/** `/inspect`: the inspector's feed, ended when the page goes away (the server cancels the stream). */
function feed(request: Request, peer: string): Response {
  let opened: Feed | null = null;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      opened = inspector.open(controller, peer);
    },
    cancel() {
      if (opened !== null) inspector.close(opened);
    },
  }, { highWaterMark: 4 }); // up to four messages wait for a slow reader; later ones are skipped
  request.signal.addEventListener("abort", () => {
    if (opened !== null) inspector.close(opened);
  });
  return new Response(stream, { headers: headersSSE });
}

/** `/slow?beats=N`: waits two beats, then streams one line per beat; cut short when the program stops. */
function slow(request: Request, beats: number): Promise<Response> {
  return new Promise((resolve) => {
    let wait = 2;
    let sent = 0;
    let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
    const end = (): void => {
      beat.listeners.delete(listener);
      try {
        controller?.close();
      } catch {
        // cancelled: the peer went away
      }
    };
    const listener: Beating = {
      beat(tyme) {
        if (wait > 0) {
          wait -= 1;
          if (wait === 0) {
            resolve(
              new Response(
                new ReadableStream<Uint8Array>({
                  start: (c) => void (controller = c),
                  cancel: () => void beat.listeners.delete(listener),
                }),
                { headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } },
              ),
            );
          }
          return;
        }
        sent += 1;
        controller?.enqueue(encoder.encode(`beat ${sent} of ${beats} at tyme ${tyme.toFixed(3)}\n`));
        if (sent >= beats) end();
      },
      stop() {
        if (controller === null) resolve(new Response("stopping\n", { status: 503 }));
        end();
      },
    };
    beat.listeners.add(listener);
    request.signal.addEventListener("abort", () => {
      beat.listeners.delete(listener);
      if (controller === null) resolve(new Response(null, { status: 499 }));
    });
  });
}

/** The machines as Mermaid state diagrams, drawn from the tables the server steps (as examples/machines.ts does). */
const machines = JSON.stringify({
  steward: http.stewardTable.toMermaid(),
  requestant: http.requestantTable.toMermaid(),
  responder: http.responderTable.toMermaid(),
});

/** The mermaid package's browser files (a devDependency), or null when it is not installed. */
function mermaidSink(): http.StaticSink | null {
  try {
    const root = dirname(createRequire(import.meta.url).resolve("mermaid/dist/mermaid.esm.min.mjs"));
    return new http.StaticSink({ root, base: "/vendor/mermaid" });
  } catch {
    console.log("mermaid is not installed (npm install): the page shows the machines as text");
    return null;
  }
}

const sink = new http.StaticSink({ root: fileURLToPath(new URL("./public", import.meta.url)) });
const vendor = mermaidSink();

async function app(request: Request, env: http.HttpEnv): Promise<Response> {
  inspector.requests += 1;
  const { pathname, searchParams } = new URL(request.url);
  const peer = `${env.remoteAddress}:${env.remotePort}`;
  if (pathname === "/") return Response.redirect(new URL("/static/", request.url), 302);
  if (pathname === "/favicon.ico") return Response.redirect(new URL("/static/favicon.svg", request.url), 301);
  if (pathname.startsWith("/static")) {
    inspector.label(peer, "page files");
    return sink.fetch(request);
  }
  if (pathname.startsWith("/vendor/mermaid/") && vendor !== null) {
    inspector.label(peer, "page files");
    return vendor.fetch(request);
  }
  if (pathname === "/machines.json") {
    inspector.label(peer, "page files");
    return new Response(machines, { headers: { "content-type": "application/json" } });
  }
  if (pathname === "/inspect") return feed(request, peer);
  if (pathname === "/slow") {
    inspector.label(peer, "slow");
    const beats = Math.min(Math.max(Math.trunc(Number(searchParams.get("beats") ?? 8)) || 8, 1), 240);
    return slow(request, beats);
  }
  if (pathname === "/echo") {
    inspector.label(peer, "echo");
    const body = await request.text();
    return Response.json({ method: request.method, url: request.url, headers: [...request.headers], body });
  }
  return new Response("Not Found\n", { status: 404 });
}

const port = portFromEnv(8080);
const server = http.openServer({ app, host: process.env.HOST ?? "127.0.0.1", port });
const [host, bound] = server.eha;
console.log(`hio-ts demo on http://${host}:${bound}/  (Ctrl-C or SIGTERM stops it)`);
const limit = process.env.LIMIT === undefined ? null : Number(process.env.LIMIT);
const beat = new Beat({ tock: 0.25 });
const meter = new TickMeter();
const doist = new Doist({ real: true, tock: 1 / 1024, limit, doers: [meter.first, new http.ServerDoer({ server }), beat, meter.last] });
const inspector = new Inspector(server, doist, meter, beat);
await doist.do();
console.log(`demo stopped at tyme ${doist.tyme}`);
