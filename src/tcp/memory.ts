/**
 * An in-memory network: virtual TCP connections inside the process for Server, Client and
 * Remoter, driven only by service calls and tyme. No sockets, timers or event loop: a run in
 * simulated tyme gives the same bytes at the same tymes every time.
 */
import type { ByteBuffer } from "../base/buffering.ts";
import { keyOf, normalizeHost } from "./conduit.ts";
import type { Address, Conduit, ConduitStatus, Listener } from "./conduit.ts";

/** Reads the tyme of the conduit's owner. */
export type Clock = () => number;

export interface MemoryNetworkOptions {
  /** Tyme from a write (or connect) until the bytes (or the SYN) arrive. */
  latency?: number;
  /** Most bytes per piece a write is cut into; 0 keeps each write whole. */
  chunk?: number;
  /** Tyme between successive pieces of one direction; 0 lets pieces arrive together. */
  gap?: number;
  /** Most bytes in flight or unread per direction (the socket buffers): writers wait beyond it. */
  window?: number;
  /** First port handed out for port 0 and for dialing ends. */
  firstPort?: number;
}

interface Segment {
  at: number; // tyme it arrives
  bytes: Uint8Array | null; // null: FIN
}

/** One direction of a connection: the segments in flight or arrived, oldest first. */
class Pipe {
  segments: Segment[] = [];
  head = 0;
  bytes = 0; // data bytes in segments[head..]
  lastAt = -Infinity;
  fin = false;
  resetAt = Infinity; // the reader sees a reset from this tyme on
  readerClosed = false;

  get first(): Segment | undefined {
    return this.segments[this.head];
  }

  push(segment: Segment): void {
    this.segments.push(segment);
    this.lastAt = segment.at;
    if (segment.bytes) this.bytes += segment.bytes.length;
  }

  drop(): void {
    this.segments = [];
    this.head = 0;
    this.bytes = 0;
  }

  advance(): void {
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.segments.length) {
      this.segments = this.segments.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * One end of a virtual connection. A dialing end becomes connected (or fails when nothing
 * listens) one round trip after it dialed; bytes arrive `latency` after they were written.
 */
export class MemoryConduit implements Conduit {
  readonly network: MemoryNetwork;
  readonly local: Address;
  readonly remote: Address;
  clock: Clock;
  #inbound: Pipe;
  #outbound: Pipe;
  #readyAt: number; // tyme this end is connected (or fails)
  #refused: boolean | null; // null: decided when the SYN arrives (a dialing end)
  #syn: Syn | null = null;
  #highWater: number;
  #closed = false;

  constructor(network: MemoryNetwork, local: Address, remote: Address, inbound: Pipe, outbound: Pipe,
              { clock, readyAt, refused = false, highWater }:
              { clock: Clock; readyAt: number; refused?: boolean | null; highWater: number }) {
    this.network = network;
    this.local = local;
    this.remote = remote;
    this.#inbound = inbound;
    this.#outbound = outbound;
    this.clock = clock;
    this.#readyAt = readyAt;
    this.#refused = refused;
    this.#highWater = highWater;
  }

  /** Sets the receive high-water mark once an owner adopts this end. */
  adopt(clock: Clock, highWater: number): void {
    this.clock = clock;
    this.#highWater = highWater;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get status(): ConduitStatus {
    if (this.clock() < this.#readyAt) return "dialing";
    this.#refused ??= this.network.decide(this.#syn!) === null;
    return this.#refused ? "failed" : "connected";
  }

  /** The SYN of a dialing end, decided once it has arrived. */
  dialed(syn: Syn): void {
    this.#syn = syn;
  }

  /** Forgets a far end whose SYN found no listener: it never existed for anyone. */
  discard(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.network.release(this);
  }

  /** Bytes in the pipe when the next of them can be taken now, else 0. */
  get unread(): number {
    const first = this.#inbound.first;
    const now = this.clock();
    if (first === undefined || first.bytes === null || first.at > now) return 0;
    if (first.at >= this.#inbound.resetAt) return 0;
    return this.#inbound.bytes;
  }

  get ended(): boolean {
    const first = this.#inbound.first;
    return first !== undefined && first.bytes === null && first.at <= this.clock()
      && first.at < this.#inbound.resetAt;
  }

  get faulted(): boolean {
    const pipe = this.#inbound;
    if (this.clock() < pipe.resetAt) return false;
    const first = pipe.first;
    // What arrived before the reset is still delivered first; what would arrive later is lost.
    return first === undefined || first.at >= pipe.resetAt;
  }

  get writing(): boolean {
    return false;
  }

  receive(rxbs: ByteBuffer, max: number): number {
    const pipe = this.#inbound;
    if (this.#closed || rxbs.length >= this.#highWater) return 0;
    const now = this.clock();
    let moved = 0;
    while (moved < max) {
      const segment = pipe.first;
      if (segment === undefined || segment.bytes === null || segment.at > now
          || segment.at >= pipe.resetAt) break;
      const bytes = segment.bytes;
      const room = max - moved;
      if (bytes.length <= room) {
        rxbs.push(bytes);
        moved += bytes.length;
        pipe.advance();
      } else {
        rxbs.push(bytes.subarray(0, room));
        segment.bytes = bytes.subarray(room);
        moved += room;
      }
    }
    pipe.bytes -= moved;
    const first = pipe.first;
    if (now >= pipe.resetAt && first !== undefined && first.at >= pipe.resetAt) pipe.drop(); // lost
    return moved;
  }

  write(bytes: Uint8Array): number {
    if (this.#closed || this.status !== "connected") return 0;
    const pipe = this.#outbound;
    const now = this.clock();
    if (pipe.fin || now >= this.#inbound.resetAt) return 0;
    const net = this.network;
    if (pipe.readerClosed) {
      // The far end is gone: like a kernel, take the bytes, then the peer's reset comes back.
      if (this.#inbound.resetAt === Infinity) this.#inbound.resetAt = now + 2 * net.latency;
      return bytes.length;
    }
    const n = Math.min(bytes.length, Math.max(0, net.window - pipe.bytes));
    const size = net.chunk > 0 ? net.chunk : n;
    for (let i = 0; i < n; i += size) {
      const at = Math.max(now + net.latency, pipe.lastAt + net.gap);
      pipe.push({ at, bytes: bytes.slice(i, Math.min(n, i + size)) });
    }
    return n;
  }

  end(): void {
    const pipe = this.#outbound;
    if (this.#closed || pipe.fin) return;
    pipe.fin = true;
    if (pipe.readerClosed) return;
    pipe.push({ at: Math.max(this.clock() + this.network.latency, pipe.lastAt), bytes: null });
  }

  close(): void {
    if (this.#closed) return;
    if (this.status !== "failed") this.end();
    this.#closed = true;
    this.#inbound.readerClosed = true;
    this.#inbound.drop();
    this.network.release(this);
  }

  destroy(): void {
    if (this.#closed) return;
    const pipe = this.#outbound;
    if (!pipe.readerClosed && pipe.resetAt === Infinity) {
      pipe.resetAt = this.clock() + this.network.latency;
    }
    pipe.fin = true;
    this.close();
  }

  /** Never blocked in a way an event would end: polled every service anyway. */
  get blocked(): boolean {
    return false;
  }

  /** A virtual conduit has no events: it moves by tyme, so its owner looks at it every service. */
  watch(): boolean {
    return false;
  }

  /** Resets both directions as a middlebox would: each end sees it `latency` from `now`. */
  reset(now: number): void {
    const at = now + this.network.latency;
    if (this.#inbound.resetAt > at) this.#inbound.resetAt = at;
    if (this.#outbound.resetAt > at) this.#outbound.resetAt = at;
  }
}

/** A dial on its way: the listener open where and when it arrives takes it, else it is refused. */
export interface Syn {
  at: number;
  target: string;
  port: number;
  end: MemoryConduit;
  far: MemoryConduit;
  listener?: MemoryListener | null;
}

/** A virtual listen socket: accepts dialed ends once their SYN has arrived. */
export class MemoryListener implements Listener {
  readonly network: MemoryNetwork;
  readonly ha: Address;
  clock: Clock;
  #closed = false;

  constructor(network: MemoryNetwork, ha: Address, clock: Clock) {
    this.network = network;
    this.ha = ha;
    this.clock = clock;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get opened(): boolean {
    return !this.#closed;
  }

  /** Arrivals are found by tyme at accept, never queued ahead. */
  get queued(): number {
    return 0;
  }

  accept(highWater: number): Conduit | null {
    if (this.#closed) return null;
    const far = this.network.arrived(this, true)[0];
    if (far === undefined) return null;
    far.adopt(this.clock, highWater);
    return far;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const far of this.network.arrived(this, false)) {
      far.adopt(this.clock, far.network.window);
      far.destroy(); // connections never accepted are reset, as a closed listen socket does
    }
    this.network.unlisten(this);
  }
}

/**
 * The network itself: pass it as the `network` option of a Server or Client to run over
 * virtual connections. `reset(ca)` injects a reset into the connection of a dialing end.
 */
export class MemoryNetwork {
  readonly latency: number;
  readonly chunk: number;
  readonly gap: number;
  readonly window: number;
  #nextPort: number;
  #listeners = new Map<string, MemoryListener>();
  #links = new Map<string, [MemoryConduit, MemoryConduit]>(); // by dialing end's address key
  #ends = 0;
  #ports = new Set<number>(); // ports ever handed out or listened on: never reused
  #syns: Syn[] = []; // dials whose far end no listener has taken yet, oldest first
  #history: { listener: MemoryListener; from: number; to: number }[] = []; // who listened when

  constructor({ latency = 0, chunk = 0, gap = 0, window = 262144, firstPort = 49152 }:
              MemoryNetworkOptions = {}) {
    this.latency = latency;
    this.chunk = Math.max(0, Math.floor(chunk));
    this.gap = gap;
    this.window = Math.max(1, window);
    this.#nextPort = firstPort;
  }

  /** Open listeners. */
  get openListeners(): number {
    return this.#listeners.size;
  }

  /** Connection ends not yet closed (dialing, accepted or pending in a backlog). */
  get openEnds(): number {
    return this.#ends;
  }

  #port(): number {
    while (this.#ports.has(this.#nextPort)) this.#nextPort += 1;
    this.#ports.add(this.#nextPort);
    return this.#nextPort++;
  }

  /** Listens on `ha` (port 0 picks one); null when the address is taken. */
  listen([host, port]: Address, clock: Clock): MemoryListener | null {
    const bound: Address = [normalizeHost(host), port === 0 ? this.#port() : port];
    const key = keyOf(bound);
    if (this.#listeners.has(key) || this.#listeners.has(`0.0.0.0:${bound[1]}`)) return null;
    if (bound[0] === "0.0.0.0") {
      for (const other of this.#listeners.values()) if (other.ha[1] === bound[1]) return null;
    }
    this.#ports.add(bound[1]);
    const listener = new MemoryListener(this, bound, clock);
    this.#listeners.set(key, listener);
    this.#history.push({ listener, from: clock(), to: Infinity });
    return listener;
  }

  unlisten(listener: MemoryListener): void {
    const key = keyOf(listener.ha);
    if (this.#listeners.get(key) === listener) this.#listeners.delete(key);
    const open = this.#history.find((h) => h.listener === listener && h.to === Infinity);
    if (open) open.to = listener.clock();
  }

  /** The listener open on the SYN's address when it arrived, or null (refused: forgotten). */
  decide(syn: Syn): MemoryListener | null {
    if (syn.listener !== undefined) return syn.listener;
    const found = this.#history.find(({ listener: { ha }, from, to }) => from <= syn.at && syn.at < to
      && ha[1] === syn.port && (ha[0] === syn.target || ha[0] === "0.0.0.0"));
    syn.listener = found?.listener ?? null;
    if (syn.listener === null) {
      this.#syns.splice(this.#syns.indexOf(syn), 1);
      syn.far.discard();
    }
    return syn.listener;
  }

  /** Far ends whose SYN has reached `listener` by now, taken from the queue: the first, or all. */
  arrived(listener: MemoryListener, first: boolean): MemoryConduit[] {
    const now = listener.clock();
    const out: MemoryConduit[] = [];
    for (const syn of [...this.#syns]) {
      if (syn.at > now || this.decide(syn) !== listener) continue;
      this.#syns.splice(this.#syns.indexOf(syn), 1);
      out.push(syn.far);
      if (first) break;
    }
    return out;
  }

  /**
   * Dials `ha`: the SYN reaches the listener after `latency`, the answer comes back after
   * another `latency`; with nothing listening the dial fails then (refused). `from` asks for the
   * dialing end's address (a replay's recorded peer), granted unless a live link has it.
   */
  dial([host, port]: Address, clock: Clock, highWater: number, from?: Address): MemoryConduit {
    const target = normalizeHost(host);
    const now = clock();
    const free = from !== undefined && !this.#links.has(keyOf(from));
    if (free) this.#ports.add(from[1]);
    const local: Address = free ? [from[0], from[1]] : ["127.0.0.1", this.#port()];
    const remote: Address = [target, port];
    const up = new Pipe();
    const down = new Pipe();
    const end = new MemoryConduit(this, local, remote, down, up,
      { clock, readyAt: now + 2 * this.latency, refused: null, highWater });
    const far = new MemoryConduit(this, remote, local, up, down,
      { clock, readyAt: now + this.latency, highWater: this.window });
    const syn: Syn = { at: now + this.latency, target, port, end, far };
    end.dialed(syn);
    this.#syns.push(syn);
    this.#ends += 2;
    this.#links.set(keyOf(local), [end, far]);
    return end;
  }

  /** Injects a reset into the connection whose dialing end is at `ca`; false if none. */
  reset(ca: Address | string): boolean {
    const link = this.#links.get(keyOf(ca));
    if (link === undefined) return false;
    const [end, far] = link;
    end.reset(end.clock());
    far.reset(end.clock());
    return true;
  }

  /** Called by an end when it closes: forgets the link once both ends are closed. */
  release(end: MemoryConduit): void {
    this.#ends -= 1;
    const link = this.#links.get(keyOf(end.local)) ?? this.#links.get(keyOf(end.remote));
    if (link !== undefined && link[0].closed && link[1].closed) this.#links.delete(keyOf(link[0].local));
  }
}
