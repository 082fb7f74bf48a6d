/**
 * serveCluster: one fetch app served by several processes on one port with node:cluster. Each
 * worker runs hio's way, a ServerDoer in its own real-time Doist; the primary only forks,
 * restarts and stops them.
 */
import cluster from "node:cluster";
import type { Worker } from "node:cluster";
import os from "node:os";
import type { DoerLike } from "../../base/deeding.ts";
import { Doist } from "../../base/doist.ts";
import { externalize, normalizeHost } from "../../tcp/conduit.ts";
import type { Address } from "../../tcp/conduit.ts";
import { listenError } from "../../tcp/serving.ts";
import { port as checkPort } from "../../base/options.ts";
import { Server, ServerDoer } from "./serving.ts";
import type { ServerOptions } from "./serving.ts";
import type { FetchApp } from "./app.ts";

/** Environment variable that tells a forked worker the port to listen on. */
const PortEnv = "HIO_CLUSTER_PORT";

export interface ClusterOptions extends Omit<ServerOptions, "ha" | "tymth" | "network" | "app"> {
  /** The fetch app every worker serves. */
  app: FetchApp;
  /** How many worker processes; default `os.availableParallelism()`. */
  workers?: number | undefined;
  /** Each worker's Doist tock in seconds; default 1/1024 (see the README on tocks). */
  tock?: number;
  /** More doers each worker's Doist runs after its ServerDoer (made anew in every worker). */
  doers?: Iterable<DoerLike>;
  /**
   * Seconds each worker drains for on a stop (its Doist's grace); default 10. The primary kills
   * workers still there a few seconds after that, so a worker that drained to the end can exit.
   */
  grace?: number;
  /** Seconds before restarting a worker that died; doubles while workers keep dying; default 0.1. */
  backoff?: number;
  /** Longest restart delay in seconds; a worker that lived this long resets the back-off; default 10. */
  backoffMax?: number;
}

/** What the primary knows of one worker. */
export interface ClusterWorkerInfo {
  readonly id: number;
  readonly pid: number;
  /** True once it listens on the cluster's port. */
  readonly listening: boolean;
}

/** Seconds before the restart that follows `streak` recent deaths: backoff doubled each time, up to backoffMax. */
export function restartDelay(streak: number, backoff: number, backoffMax: number): number {
  return Math.min(backoffMax, backoff * 2 ** streak);
}

interface Member {
  readonly worker: Worker;
  readonly port: number; // the port it was told to listen on: 0 joins the primary's port-0 handle
  readonly born: number;
  listening: boolean;
  refused: boolean; // listened on another port than the cluster's
}

/**
 * The primary's side of serveCluster: forks the workers, restarts those that die, stops them.
 * `ha` is the requested address until the first worker listens, then the bound one.
 */
export class ClusterPrimary {
  readonly primary = true as const;
  /** How many workers it keeps running. */
  readonly size: number;
  /** Listen address: the bound [host, port] once a worker listens. */
  ha: Address;
  /** Address to reach the cluster at (all interfaces advertised as loopback). */
  eha: Address;
  /** Workers restarted after dying unexpectedly. */
  restarts = 0;
  /** Resolves with `eha` once `size` workers listen; rejects if they cannot. */
  readonly ready: Promise<Address>;
  /** Resolves once every worker is gone after a stop (also when all stopped by themselves). */
  readonly closed: Promise<void>;
  readonly #requested: number;
  readonly #grace: number;
  /** Seconds past a worker's grace before the primary kills it: time to exit after its drain. */
  static Margin = 3;
  readonly #backoff: number;
  readonly #backoffMax: number;
  readonly #members = new Map<Worker, Member>();
  readonly #restarting = new Set<ReturnType<typeof setTimeout>>();
  #bound = false;
  #ready = false;
  #closing = false;
  #streak = 0;
  #deadline: ReturnType<typeof setTimeout> | null = null;
  #resolveReady!: (ha: Address) => void;
  #rejectReady!: (error: Error) => void;
  #resolveClosed!: () => void;
  readonly #onSignal = (): void => {
    if (this.#closing) this.#kill(); // a second signal does not wait for the grace
    else void this.close();
  };

  constructor({ host, port, workers, grace, backoff, backoffMax }: {
    host: string; port: number; workers: number; grace: number; backoff: number; backoffMax: number;
  }) {
    this.size = workers;
    this.ha = [normalizeHost(host), port];
    this.eha = externalize(this.ha);
    this.#requested = port;
    this.#grace = grace;
    this.#backoff = backoff;
    this.#backoffMax = backoffMax;
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // a failed start is also printed; awaiting ready is optional
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    process.on("SIGTERM", this.#onSignal);
    process.on("SIGINT", this.#onSignal);
    for (let i = 0; i < workers; i++) this.#fork();
  }

  /** The live workers. */
  get workers(): ClusterWorkerInfo[] {
    return [...this.#members.values()].map(({ worker, listening }) =>
      ({ id: worker.id, pid: worker.process.pid ?? 0, listening }));
  }

  /**
   * Stops the cluster: no more restarts, SIGTERM to every worker (its Doist stops and exits its
   * doers, closing its server), SIGKILL to those still there after `grace`. Resolves with closed.
   */
  close(): Promise<void> {
    if (this.#closing) return this.closed;
    this.#closing = true;
    for (const timer of this.#restarting) clearTimeout(timer);
    this.#restarting.clear();
    if (!this.#ready) this.#rejectReady(new Error("http.serveCluster: closed before every worker listened"));
    for (const { worker } of this.#members.values()) worker.process.kill("SIGTERM");
    if (this.#members.size === 0) this.#finish();
    else this.#deadline = setTimeout(() => this.#kill(), (this.#grace + ClusterPrimary.Margin) * 1000);
    return this.closed;
  }

  /** The port a new worker listens on. */
  #port(): number {
    if (this.#requested !== 0 || !this.#bound) return this.#requested;
    // node:cluster gives every worker that listens on port 0 the port of the primary's port-0
    // handle while one still holds it; once none does, that handle is gone, so name the port.
    for (const member of this.#members.values()) if (member.port === 0 && member.listening) return 0;
    return this.ha[1];
  }

  #fork(): void {
    const port = this.#port();
    const worker = cluster.fork({ [PortEnv]: String(port) });
    const member: Member = { worker, port, born: performance.now(), listening: false, refused: false };
    this.#members.set(worker, member);
    // A signal or message that could not be delivered: its exit, if any, is what counts.
    worker.on("error", () => {});
    worker.on("listening", (address: { address?: string | null; port: number }) => this.#listening(member, address));
    worker.on("exit", (code: number | null, signal: string | null) => this.#exited(member, code, signal));
  }

  #listening(member: Member, address: { address?: string | null; port: number }): void {
    if (this.#bound && address.port !== this.ha[1]) {
      member.refused = true; // it missed the cluster's port: replace it
      member.worker.process.kill("SIGKILL");
      return;
    }
    if (!this.#bound) {
      this.#bound = true;
      this.ha = [address.address || this.ha[0], address.port];
      this.eha = externalize(this.ha);
    }
    member.listening = true;
    let listening = 0;
    for (const { listening: yes } of this.#members.values()) if (yes) listening += 1;
    if (!this.#ready && !this.#closing && listening >= this.size) {
      this.#ready = true;
      this.#resolveReady(this.eha);
    }
  }

  #exited(member: Member, code: number | null, signal: string | null): void {
    this.#members.delete(member.worker);
    if (this.#closing) {
      if (this.#members.size === 0) this.#finish();
      return;
    }
    if (!this.#ready && !member.listening && !member.refused) {
      // Failing before it ever listened, at the start, is no crash to retry: say so and stop.
      const error = listenError(`http.serveCluster: worker ${member.worker.id}`, this.ha);
      error.message += ` (it exited with ${signal ?? `code ${code}`})`;
      console.error(error.message);
      process.exitCode ??= 1;
      this.#rejectReady(error);
      void this.close();
      return;
    }
    if (member.worker.exitedAfterDisconnect) { // it stopped by itself (SIGINT, SIGTERM, close())
      if (this.#members.size === 0 && this.#restarting.size === 0) void this.close();
      return;
    }
    const lived = (performance.now() - member.born) / 1000;
    if (lived >= this.#backoffMax) this.#streak = 0;
    const delay = restartDelay(this.#streak, this.#backoff, this.#backoffMax);
    this.#streak += 1;
    const timer = setTimeout(() => {
      this.#restarting.delete(timer);
      this.restarts += 1;
      this.#fork();
    }, delay * 1000);
    this.#restarting.add(timer);
  }

  #kill(): void {
    for (const { worker } of this.#members.values()) worker.process.kill("SIGKILL");
  }

  #finish(): void {
    if (this.#deadline !== null) clearTimeout(this.#deadline);
    this.#deadline = null;
    process.off("SIGTERM", this.#onSignal);
    process.off("SIGINT", this.#onSignal);
    this.#resolveClosed();
  }
}

/** A ServerDoer that stops the run once its server stopped listening (a cluster worker learns late). */
class WorkerServerDoer extends ServerDoer {
  #draining = false;

  override recur(tyme: number): boolean {
    // A listener gone before a stop began is one that failed to bind (a worker learns it late).
    if (!this.server.opened && !this.#draining) throw listenError("http.serveCluster: this worker's server", this.server.ha);
    return super.recur(tyme);
  }

  override drain(): boolean {
    this.#draining = true; // a graceful stop closes the listener on purpose
    return super.drain();
  }
}

/**
 * A worker's side of serveCluster: its Doist runs a ServerDoer for the app (and any given doers).
 * SIGTERM, SIGINT or close() stop the Doist, whose exits close the server; the worker then
 * disconnects from the primary and ends. A run that fails prints why and exits with code 1,
 * which the primary takes for a crash and restarts.
 */
export class ClusterWorker {
  readonly primary = false as const;
  /** node:cluster's id of this worker. */
  readonly id: number;
  readonly server: Server;
  readonly doist: Doist;
  /** Resolves once the Doist's run ended cleanly and the server is closed. */
  readonly closed: Promise<void>;

  constructor({ app, host = "", port = 0, tock = 1 / 1024, doers = [], workers: _workers, grace = 10,
                backoff: _backoff, backoffMax: _backoffMax, ...options }: ClusterOptions) {
    this.id = cluster.worker?.id ?? 0;
    const told = process.env[PortEnv];
    this.server = new Server({ ...options, app, host, port: told === undefined ? port : Number(told) });
    this.doist = new Doist({ real: true, tock, grace, doers: [new WorkerServerDoer({ server: this.server }), ...doers] });
    this.closed = this.#run(); // the Doist stops itself on SIGTERM and SIGINT
  }

  /** Stops this worker's Doist (its exits close the server); resolves with closed. */
  close(): Promise<void> {
    this.#stop();
    return this.closed;
  }

  /** Ends the run: removing every doer exits them now, and the Doist ends on its next tick. */
  #stop(): void {
    try {
      this.doist.remove([...this.doist.doers]);
    } catch (error) {
      this.#fail(error);
    }
  }

  async #run(): Promise<void> {
    try {
      await this.doist.do();
    } catch (error) {
      this.#fail(error);
    }
    cluster.worker?.disconnect(); // a stop by choice: the primary does not restart it
  }

  #fail(error: unknown): never {
    const listening = error instanceof Error && / could not listen /.test(error.message);
    console.error(listening ? error.message : error);
    process.exit(1);
  }
}

let served = false;

/**
 * Serves `app` from `workers` processes on one port. Call it from the script Node runs: in the
 * primary it forks that same script `workers` times (node:cluster runs a worker with the
 * primary's argv and execArgv, so `npx tsx app.ts` works) and returns a ClusterPrimary; in each
 * worker the same call opens the server in a real-time Doist and returns a ClusterWorker. So
 * one script is both, as with `cluster.isPrimary` branching, done for you; `primary` tells
 * which you got. Code before the call runs in every process; put what only the primary should
 * do after `if (cluster.primary)`.
 *
 * Workers share the listen socket through node:cluster (the primary accepts and hands
 * connections round-robin, Node's default except on Windows). Port 0 is picked once: workers
 * listening on port 0 all get the primary's one random port (as node:cluster documents), and
 * workers forked when none of those is left are told that port. A worker that dies is restarted
 * after `backoff` seconds, doubling while workers keep dying, so a crash loop cannot spin; one
 * that stops by itself (SIGTERM or SIGINT sent to it alone) is not replaced, as node:cluster's
 * `exitedAfterDisconnect` means. SIGTERM or SIGINT to the primary stops the cluster gracefully
 * (see `close()`), a second one kills what is left at once; once every worker is gone `closed`
 * resolves and, nothing else holding it, the primary ends with code 0. A worker that cannot
 * listen at the start fails the cluster: `ready` rejects, the error is printed and the primary
 * ends with code 1. Only one call per process.
 * @example
 * const cluster = http.serveCluster({ app, host: "127.0.0.1", port: 8080, workers: 4 });
 * if (cluster.primary) {
 *   const [host, port] = await cluster.ready;
 *   console.log(`serving on http://${host}:${port}/`);
 *   await cluster.closed;
 * }
 */
export function serveCluster(options: ClusterOptions): ClusterPrimary | ClusterWorker {
  checkPort("http.serveCluster port", options.port ?? 0); // before forking workers that would all fail
  if (served) throw new Error("http.serveCluster runs once per process");
  served = true;
  if (cluster.isWorker) return new ClusterWorker(options);
  const { host = "", port = 0, workers = os.availableParallelism(), grace = 10, backoff = 0.1,
          backoffMax = 10 } = options;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`http.serveCluster: workers must be a whole number of at least 1, not ${workers}`);
  }
  return new ClusterPrimary({ host, port, workers, grace, backoff, backoffMax });
}
