/**
 * http.serveCluster with real processes: the fixture (test/http/fixtures/cluster.ts) runs as a
 * child so this test process is never the primary; its workers answer with their pid.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restartDelay } from "../../src/http/server/clustering.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const children = new Set<ChildProcess>();
const forked = new Set<number>(); // every worker pid any fixture reported

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const pid of forked) if (alive(pid)) process.kill(pid, "SIGKILL");
});

type ClusterEvent = { event: string; pid?: number; port?: number; pids?: number[]; code?: number | null; signal?: string | null; restarts?: number };

/** True while a process with that pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs the fixture and gathers its JSON lines. */
function startCluster(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["--import", "tsx", "test/http/fixtures/cluster.ts"], {
    cwd: root,
    // Round-robin is Node's default off Windows; pinned so an inherited setting cannot change it.
    env: { ...process.env, NODE_CLUSTER_SCHED_POLICY: "rr", PORT: "0", WORKERS: "2", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const events: ClusterEvent[] = [];
  let output = "";
  let pending = "";
  let wake: () => void = () => {};
  child.stdout!.on("data", (data: Buffer) => {
    output += data.toString();
    pending += data.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      const event = JSON.parse(line) as ClusterEvent;
      if (event.event === "fork" && event.pid !== undefined) forked.add(event.pid);
      events.push(event);
    }
    wake();
  });
  child.stderr!.on("data", (data: Buffer) => {
    output += data.toString();
    wake();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

  /** Waits (at most `seconds`) until `found` gives something, re-checking on output and every 100 ms. */
  async function until<T>(found: () => T | undefined | Promise<T | undefined>, what: string, seconds = 15): Promise<T> {
    const deadline = performance.now() + seconds * 1000;
    for (;;) {
      const result = await found();
      if (result !== undefined) return result;
      if (performance.now() > deadline || child.exitCode !== null) {
        throw new Error(`no ${what} within ${seconds} s; output was:\n${output}`);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  }
  return { child, events, exited, until, output: () => output };
}

/** GET / on a connection of its own; resolves with the body (the answering worker's pid). */
function pidAt(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: "127.0.0.1", port, path: "/", agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve(Number(body)));
    });
    request.setTimeout(5000, () => request.destroy(new Error("no reply in 5 s")));
    request.on("error", reject);
  });
}

/** Asks on fresh connections (at most `tries`) until every pid in `wanted` answered; returns all that answered. */
async function answering(port: number, wanted: number[], tries = 20): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let i = 0; i < tries && !wanted.every((pid) => seen.has(pid)); i++) seen.add(await pidAt(port));
  return seen;
}

describe("restartDelay", () => {
  it("doubles from backoff while workers keep dying, up to backoffMax", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((streak) => restartDelay(streak, 0.125, 10)))
      .toEqual([0.125, 0.25, 0.5, 1, 2, 4, 8, 10, 10]);
  });
});

describe("http.serveCluster with two workers on 127.0.0.1 port 0", () => {
  let cluster: ReturnType<typeof startCluster>;
  let port: number;
  let first: number[];

  beforeAll(async () => {
    cluster = startCluster();
    const ready = await cluster.until(() => cluster.events.find((e) => e.event === "ready"), "ready line", 30);
    port = ready.port!;
    first = ready.pids!;
  }, 40_000);

  it("answers from both workers on the one port", async () => {
    expect(port).toBeGreaterThan(0);
    expect(first).toHaveLength(2);
    // Both listen before ready, and the primary hands new connections out round-robin,
    // so a few sequential fresh connections reach both.
    expect(await answering(port, first)).toEqual(new Set(first));
  });

  it("replaces a worker killed with SIGKILL and keeps serving", async () => {
    const [victim, survivor] = first as [number, number];
    process.kill(victim, "SIGKILL");
    const fresh = await cluster.until(
      () => cluster.events.find((e) => e.event === "fork" && !first.includes(e.pid!))?.pid, "replacement fork");
    // The replacement answers once it has joined the cluster's port (a connection handed to the
    // victim as it died may be reset: ask again).
    const seen = await cluster.until(async () => {
      const got = await answering(port, [survivor, fresh], 6).catch(() => new Set<number>());
      return got.has(fresh) && got.has(survivor) ? got : undefined;
    }, "answer from the replacement");
    expect(seen).toEqual(new Set([survivor, fresh]));
    expect(alive(victim)).toBe(false);
  }, 40_000);

  it("keeps the port when every worker dies at once", async () => {
    const before = new Set(forked);
    const live = [...forked].filter(alive);
    expect(live).toHaveLength(2);
    for (const pid of live) process.kill(pid, "SIGKILL");
    // Answers on the old port from two workers forked after the kill: both replacements joined it.
    const seen = await cluster.until(async () => {
      const fresh = [...forked].filter((pid) => !before.has(pid) && alive(pid));
      if (fresh.length !== 2) return undefined;
      const got = await answering(port, fresh, 6).catch(() => new Set<number>());
      return fresh.every((pid) => got.has(pid)) ? got : undefined;
    }, "answers from two replacements on the same port");
    expect(seen.size).toBe(2);
    for (const pid of seen) expect(before.has(pid)).toBe(false);
  }, 40_000);

  it("stops every worker gracefully on SIGTERM and exits 0", async () => {
    const live = [...forked].filter(alive);
    expect(live).toHaveLength(2);
    cluster.child.kill("SIGTERM");
    expect(await cluster.exited).toBe(0);
    // Each worker's Doist exited its doers (the fixture's witness printed) and the worker ended by itself.
    const exits = cluster.events.filter((e) => e.event === "worker.exit").map((e) => e.pid);
    expect(new Set(exits)).toEqual(new Set(live));
    for (const pid of live) {
      expect(cluster.events).toContainEqual({ event: "exit", pid, code: 0, signal: null });
    }
    expect(cluster.events.at(-1)).toMatchObject({ event: "closed" });
    expect([...forked].filter(alive)).toEqual([]);
  }, 40_000);
});

describe("http.serveCluster on a port already taken", () => {
  it("fails the start: the primary says so and exits 1, leaving no worker", async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen({ host: "127.0.0.1", port: 0 }, resolve));
    try {
      const { port } = taken.address() as net.AddressInfo;
      const cluster = startCluster({ PORT: String(port) });
      expect(await cluster.exited).toBe(1);
      expect(cluster.output()).toMatch(new RegExp(`could not listen on 127\\.0\\.0\\.1:${port}`));
      expect(cluster.events.some((e) => e.event === "ready")).toBe(false);
      const pids = cluster.events.filter((e) => e.event === "fork").map((e) => e.pid!);
      expect(pids.length).toBeGreaterThan(0);
      expect(pids.filter(alive)).toEqual([]);
    } finally {
      taken.close();
    }
  }, 40_000);
});
