/**
 * SocketListener: a Node net.Server (or tls.Server) as hio's nonblocking listen socket.
 * Accepted sockets wait in a queue until the Server's serviceConnects takes them.
 */
import cluster from "node:cluster";
import net from "node:net";
import { wake } from "../base/waking.ts";
import { normalizeHost, SocketConduit } from "./conduit.ts";
import type { Address, Conduit, Listener } from "./conduit.ts";

/** Node's legacy listen entry point: binds and listens synchronously for an IP literal. */
type Listen2 = (address: string, port: number, addressType: number, backlog: number) => void;

/**
 * Listens with `server` on `ha`. For an IP literal (and "" or "localhost") the socket is bound
 * before this returns, so the bound address is known at once; a hostname is resolved first
 * and bound later (ha stays null until then), and so is every address in a cluster worker.
 * Returns false when binding failed.
 */
function bind(server: net.Server, [host, port]: Address, backlog: number): boolean {
  const address = normalizeHost(host);
  const family = net.isIP(address);
  const listen2 = (server as unknown as { _listen2?: Listen2 })._listen2;
  // A cluster worker must listen through listen(), which asks the primary for the shared
  // handle; _listen2 would bind a socket of its own (EADDRINUSE on the cluster's port).
  if (family !== 0 && typeof listen2 === "function" && !cluster.isWorker) {
    // net.Server.listen() defers even IP literals to a dns.lookup tick; hio's `ha` must be the
    // bound address right after open, so take the path listen() takes after that lookup.
    listen2.call(server, address, port, family, backlog);
    return server.address() !== null;
  }
  server.listen({ host: address, port, backlog });
  return true;
}

/** A listen socket that queues accepted sockets (or TLS sockets after their handshake). */
export class SocketListener implements Listener {
  readonly server: net.Server;
  #axes: net.Socket[] = [];
  #raw = new Set<net.Socket>(); // every socket not yet handed over, to close them with us
  #closed = false;

  /**
   * Takes `server` and listens on `ha`. `event` is the server event that hands over a ready
   * socket: "connection" for TCP, "secureConnection" for TLS (raw sockets are still tracked).
   */
  constructor(server: net.Server, ha: Address,
              { event = "connection", backlog = 511 }: { event?: string; backlog?: number } = {}) {
    this.server = server;
    // Bind errors are reported by open() (or by opened turning false for a hostname), never thrown.
    server.on("error", () => {
      if (!server.listening) this.close();
    });
    server.on("connection", (socket: net.Socket) => {
      socket.on("error", () => {}); // a reset before accept must not crash the process
      this.#raw.add(socket);
      socket.once("close", () => this.#raw.delete(socket));
      if (event === "connection") {
        this.#axes.push(socket);
        wake();
      }
    });
    if (event !== "connection") {
      server.on(event, (socket: net.Socket) => {
        socket.on("error", () => {});
        if (socket.destroyed) return; // refused after its handshake
        // The raw socket under it is now owned by this one: forget it.
        for (const raw of this.#raw) {
          if (raw.remotePort === socket.remotePort && raw.remoteAddress === socket.remoteAddress) {
            this.#raw.delete(raw);
          }
        }
        this.#raw.add(socket);
        socket.once("close", () => this.#raw.delete(socket));
        this.#axes.push(socket);
        wake();
      });
    }
    if (!bind(server, ha, backlog)) this.close();
  }

  /** True while listening (or resolving the host to listen on). */
  get opened(): boolean {
    return !this.#closed;
  }

  get ha(): Address | null {
    const address = this.server.address();
    if (address === null || typeof address === "string") return null;
    return [address.address, address.port];
  }

  get queued(): number {
    return this.#axes.length;
  }

  accept(highWater: number): Conduit | null {
    const socket = this.#axes.shift();
    if (socket === undefined) return null;
    this.#raw.delete(socket); // its Remoter closes it from now on
    return new SocketConduit(socket, { highWater });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.server.listening) this.server.close();
    for (const socket of this.#raw) socket.destroy();
    for (const socket of this.#axes) socket.destroy();
    this.#raw.clear();
    this.#axes = [];
  }
}
