/**
 * Conduits: one end of a byte stream (a Node socket or a virtual memory connection) seen the
 * way hio sees a nonblocking socket: poll it for what arrived, hand it what to send.
 * Transport events only fill a conduit's private queue and flags; its owner (a Remoter or a
 * Client) reads them inside service calls, so every observable change happens in a tick.
 */
import net from "node:net";
import type { ByteBuffer } from "../base/buffering.ts";
import { wake } from "../base/waking.ts";

/** A [host, port] pair, hio's `ha`/`ca` duple. */
export type Address = [host: string, port: number];

/** The `ixes` key of an address: `${host}:${port}`. */
export function keyOf(address: Address | string): string {
  return typeof address === "string" ? address : `${address[0]}:${address[1]}`;
}

/** hio's eha: the address to advertise for a listen address (all interfaces -> loopback). */
export function externalize([host, port]: Address): Address {
  if (host === "" || host === "0.0.0.0") return ["127.0.0.1", port];
  if (host === "::" || host === "0:0:0:0:0:0:0:0") return ["::1", port];
  return [host, port];
}

/** Maps "" to all IPv4 interfaces and "localhost" to 127.0.0.1 (hio's normalizeHost). */
export function normalizeHost(host: string): string {
  if (host === "") return "0.0.0.0";
  if (host === "localhost") return "127.0.0.1";
  return host;
}

/** Connect progress of a conduit: dialing, TCP accepted, fully connected (TLS done), failed. */
export type ConduitStatus = "dialing" | "accepted" | "connected" | "failed";

/** A listen socket, real or virtual, polled by a Server inside service calls. */
export interface Listener {
  /** Bound [host, port]; null while a hostname is still being resolved. */
  readonly ha: Address | null;
  /** False once closed, or once listening on a resolved hostname failed. */
  readonly opened: boolean;
  /** Connections waiting to be accepted (0 for a listener that is polled by tyme). */
  readonly queued: number;
  /** Takes the next new connection, if any, holding input past `highWater` unread bytes. */
  accept(highWater: number): Conduit | null;
  /** Stops listening and drops connections not yet accepted. */
  close(): void;
}

/** One end of a byte stream, polled by its owner inside service calls. */
export interface Conduit {
  readonly status: ConduitStatus;
  /** Near end [host, port]; null until accepted. */
  readonly local: Address | null;
  /** Far end [host, port]; null until accepted. */
  readonly remote: Address | null;
  /** Bytes that arrived and wait to be taken by receive(). */
  readonly unread: number;
  /** True once the peer's FIN arrived and everything before it was taken. */
  readonly ended: boolean;
  /** True once the stream was reset or failed and everything before it was taken. */
  readonly faulted: boolean;
  /** True while bytes handed to write() are not yet flushed to the system. */
  readonly writing: boolean;
  /** True while write() takes nothing until the transport drains (it then says so by an event). */
  readonly blocked: boolean;
  /** Moves up to `max` arrived bytes into `rxbs` and returns how many. */
  receive(rxbs: ByteBuffer, max: number): number;
  /** Takes what the transport accepts now from `bytes` (copied) and returns the count. */
  write(bytes: Uint8Array): number;
  /** Half-closes: FIN after what was already handed over. */
  end(): void;
  /** Closes; what was handed over is still flushed when the transport can. */
  close(): void;
  /** Closes at once, dropping anything unsent. */
  destroy(): void;
  /**
   * Calls `listener` after every transport event from now on (bytes or a FIN arrived, a reset,
   * the socket drained or flushed, connected). False when this conduit has no events (a virtual
   * one driven by tyme): then its owner must look at it on every service.
   */
  watch(listener: (() => void) | null): boolean;
}

/** Most bytes given to one socket.write: bounds the copy held by Node per call. */
const WriteChunk = 65536;

function addressOf(host: string | undefined, port: number | undefined): Address | null {
  return host === undefined || port === undefined ? null : [host, port];
}

/**
 * A conduit over a Node net.Socket or tls.TLSSocket. Data events are queued and counted;
 * the socket is paused while the queue plus the owner's rxbs exceed the high-water mark and
 * resumed once they fall to half of it. Errors (resets included) are only recorded.
 */
export class SocketConduit implements Conduit {
  /** Milliseconds close() waits for Node to flush to a peer before dropping the rest. */
  static CloseFlush = 2000;

  readonly socket: net.Socket;
  #status: ConduitStatus;
  #queue: Buffer[] = [];
  #queued = 0;
  #eof = false; // FIN seen
  #fault = false; // error or unexpected close seen
  #drainWait = false; // write() returned false; waiting for 'drain'
  #paused = false;
  #highWater: number;
  #local: Address | null = null;
  #remote: Address | null = null;
  #listener: (() => void) | null = null;
  // every transport event: the owner is told, and a sleeping real-time Doist woken
  readonly #event = (): void => {
    this.#listener?.();
    wake();
  };
  // A write's callback: when Node has handed everything to the system, say so, but only to an
  // owner that saw `writing` true (it waits for the flush). A small write is flushed before
  // write() returns; telling of it again would cost a tick per response for nothing.
  readonly #written = (): void => {
    if (this.#flushWaited && this.socket.writableLength === 0) {
      this.#flushWaited = false;
      this.#event();
    }
  };
  readonly #ended = (): void => {
    this.#event();
  };
  #flushWaited = false;

  /**
   * Wraps `socket`, holding input while more than `highWater` bytes are queued or unconsumed.
   * `status` is "connected" for an accepted socket; a dialing socket moves to "accepted" on
   * 'connect' and on to "connected" then, or on 'secureConnect' when `secure`.
   */
  constructor(socket: net.Socket, { highWater, status = "connected", secure = false }:
              { highWater: number; status?: ConduitStatus; secure?: boolean }) {
    this.socket = socket;
    this.#status = status;
    this.#highWater = highWater;
    if (status !== "dialing") this.#learnAddresses();
    if (socket.destroyed) this.#fault = true; // reset before it was accepted
    if (socket.readableEnded) this.#eof = true; // FIN before it was accepted ('end' was missed)
    socket.on("data", (chunk: Buffer) => {
      this.#queue.push(chunk);
      this.#queued += chunk.length;
      if (!this.#paused && this.#queued > this.#highWater) this.#pause();
      this.#event();
    });
    socket.on("end", () => {
      this.#eof = true;
      this.#event();
    });
    socket.on("error", () => {
      this.#fault = true;
      if (this.#status === "dialing" || (secure && this.#status === "accepted")) this.#status = "failed";
      this.#event();
    });
    socket.on("close", () => {
      if (!this.#eof) this.#fault = true;
      if (this.#status === "dialing" || (secure && this.#status === "accepted")) this.#status = "failed";
      this.#event();
    });
    socket.on("drain", () => {
      this.#drainWait = false;
      this.#event();
    });
    if (status === "dialing") {
      socket.once("connect", () => {
        if (this.#status !== "dialing") return;
        this.#learnAddresses();
        this.#status = secure ? "accepted" : "connected";
        this.#event();
      });
      if (secure) socket.once("secureConnect", () => {
        if (this.#status === "failed") return;
        this.#learnAddresses();
        this.#status = "connected";
        this.#event();
      });
    }
  }

  #pause(): void {
    this.#paused = true;
    this.socket.pause();
  }

  #learnAddresses(): void {
    this.#local = addressOf(this.socket.localAddress, this.socket.localPort);
    this.#remote = addressOf(this.socket.remoteAddress, this.socket.remotePort);
  }

  get status(): ConduitStatus { return this.#status; }
  get local(): Address | null { return this.#local; }
  get remote(): Address | null { return this.#remote; }
  get unread(): number { return this.#queued; }
  get ended(): boolean { return this.#eof && this.#queued === 0; }
  get faulted(): boolean { return this.#fault && this.#queued === 0; }
  get writing(): boolean {
    if (this.socket.writableLength === 0) return false;
    this.#flushWaited = true; // the owner waits for the flush: the write's callback tells it
    return true;
  }
  get blocked(): boolean { return this.#drainWait; }

  receive(rxbs: ByteBuffer, max: number): number {
    let moved = 0;
    while (moved < max && this.#queue.length > 0) {
      const chunk = this.#queue[0]!;
      const room = max - moved;
      if (chunk.length <= room) {
        rxbs.push(chunk);
        this.#queue.shift();
        moved += chunk.length;
      } else {
        rxbs.push(chunk.subarray(0, room));
        this.#queue[0] = chunk.subarray(room);
        moved += room;
      }
    }
    this.#queued -= moved;
    // Back pressure counts what the consumer has not shifted out of rxbs yet.
    const unconsumed = this.#queued + rxbs.length;
    if (!this.#paused && unconsumed > this.#highWater) this.#pause();
    else if (this.#paused && unconsumed <= this.#highWater / 2) {
      this.#paused = false;
      rxbs.watch(-1, null);
      if (!this.socket.destroyed) this.socket.resume();
    }
    // Held back: the owner hears of it once the consumer has made room (no event would come).
    if (this.#paused) rxbs.watch(Math.max(0, this.#highWater / 2 - this.#queued), this.#event);
    return moved;
  }

  write(bytes: Uint8Array): number {
    const socket = this.socket;
    if (this.#drainWait || this.#fault || socket.destroyed || !socket.writable
        || this.#status !== "connected") return 0;
    let taken = 0;
    while (taken < bytes.length) {
      const n = Math.min(WriteChunk, bytes.length - taken);
      // Node keeps a reference to what it is given: hand it a copy, never a view of txbs.
      const piece = Buffer.from(bytes.subarray(taken, taken + n));
      taken += n;
      if (!socket.write(piece, this.#written)) {
        this.#drainWait = true;
        break;
      }
    }
    return taken;
  }

  end(): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.end(this.#ended);
  }

  watch(listener: (() => void) | null): boolean {
    this.#listener = listener;
    return true;
  }

  close(): void {
    // destroySoon flushes what Node holds, then destroys; at once when nothing is held.
    // (Also after end(): it waits for 'finish'.) A peer that never reads would hold it open
    // for ever, so the flush gets CloseFlush ms; then what is left is dropped. The timer only
    // ends a socket nobody uses any more: nothing observable changes outside a tick.
    const socket = this.socket;
    if (socket.destroyed) return;
    if (socket.writableLength === 0) {
      socket.destroy();
      return;
    }
    socket.destroySoon();
    setTimeout(() => socket.destroy(), SocketConduit.CloseFlush).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
