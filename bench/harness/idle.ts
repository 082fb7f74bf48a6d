/**
 * The bench's side of bench/harness/idle-conns.ts: starts it pinned to the loader's CPU with a
 * raised open-file limit and sends it commands, one at a time.
 */
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { spawnPinned, stop } from "./procs.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

export interface IdleReply {
  open?: number;
  answered?: number;
  failed?: number;
  error?: string;
  ms: number;
}

export class IdleConnections {
  readonly #child: ChildProcess;
  readonly #replies: ((reply: IdleReply) => void)[] = [];
  readonly #exited: Promise<void>;

  constructor(node: string, root: string, cpu: string | null, nofile: number) {
    this.#child = spawnPinned([node, "--import", "tsx", path.join(here, "idle-conns.ts")], {
      cpu,
      nofile,
      cwd: root,
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.#exited = new Promise((resolve) => this.#child.once("exit", () => resolve()));
    readline.createInterface({ input: this.#child.stdout! }).on("line", (line) => {
      this.#replies.shift()?.(JSON.parse(line) as IdleReply);
    });
    this.#child.once("exit", () => {
      for (const reply of this.#replies.splice(0)) reply({ error: "idle-connection helper exited", ms: 0 });
    });
  }

  /** Sends one command; resolves with its reply (or an error once the helper is gone). */
  send(command: object): Promise<IdleReply> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
      return Promise.resolve({ error: "idle-connection helper exited", ms: 0 });
    }
    return new Promise((resolve) => {
      this.#replies.push(resolve);
      this.#child.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  }

  open(host: string, port: number, count: number, target: string): Promise<IdleReply> {
    return this.send({ cmd: "open", host, port, count, path: target });
  }

  refresh(): Promise<IdleReply> {
    return this.send({ cmd: "refresh" });
  }

  count(): Promise<IdleReply> {
    return this.send({ cmd: "count" });
  }

  /** Closes every connection and ends the helper (killed if it does not end within 10 s). */
  async close(): Promise<void> {
    const closed = this.send({ cmd: "close" });
    const timer = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
    await Promise.race([Promise.all([closed, this.#exited]), timer]);
    this.#child.stdin?.end();
    await stop(this.#child, "SIGKILL", 1000);
  }
}
