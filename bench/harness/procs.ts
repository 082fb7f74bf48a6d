/**
 * Child processes for bench/http.ts: spawned pinned to a CPU (taskset) with a raised open-file
 * limit, every one tracked by pid so that all are killed at the end, on an error, on Ctrl-C or on
 * SIGTERM; and their CPU time read from /proc.
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess, StdioOptions } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** Pids of live children (and of grandchildren a child told us of, such as wrk under bash). */
const live = new Set<number>();
let handlersInstalled = false;
let aborting = false;

/** True once a terminating signal came: nothing new is spawned. */
export function aborted(): boolean {
  return aborting;
}

/** Sends `signal` to every live child, by pid. */
export function killAll(signal: NodeJS.Signals = "SIGKILL"): void {
  for (const pid of live) {
    try {
      process.kill(pid, signal);
    } catch {
      live.delete(pid); // already gone
    }
  }
}

/** Tracks a pid until `untrack`; on the bench's exit or a terminating signal it is killed. */
export function track(pid: number): void {
  live.add(pid);
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", () => killAll("SIGKILL"));
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    process.on(signal, () => {
      if (aborting) process.exit(code); // a second signal (tsx relays the terminal's Ctrl-C too)
      aborting = true;
      process.stderr.write(`\n${signal}: stopping ${live.size} child process(es)\n`);
      killAll("SIGTERM");
      // Then "exit" SIGKILLs whatever is left.
      setTimeout(() => process.exit(code), 300).unref();
    });
  }
}

export function untrack(pid: number): void {
  live.delete(pid);
}

/** Whether `taskset` runs here. */
export const hasTaskset = spawnSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" }).status === 0;

export interface SpawnPinnedOptions {
  /** CPU list for taskset -c; null: not pinned. */
  cpu: string | null;
  /** Open-file limit to ask for (ulimit -n); the hard limit is taken when that is refused. */
  nofile?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdio?: StdioOptions;
}

/**
 * Spawns `command` (argv, the program first) through bash, which raises the open-file limit and
 * then execs taskset, which execs the program: the child's pid is the program's.
 */
export function spawnPinned(command: readonly string[], options: SpawnPinnedOptions): ChildProcess {
  if (aborting) throw new Error("aborted");
  const limit = options.nofile === undefined ? "" : `ulimit -n ${options.nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; `;
  const pin = options.cpu !== null && hasTaskset ? `taskset -c ${options.cpu} ` : "";
  const child = spawn("bash", ["-c", `${limit}exec ${pin}"$0" "$@"`, ...command], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: options.stdio ?? ["ignore", "ignore", "inherit"],
  });
  const pid = child.pid;
  if (pid !== undefined) {
    track(pid);
    child.once("exit", () => untrack(pid));
  }
  return child;
}

/** True once the child has exited or was killed. */
export function gone(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Asks the child to stop with `signal`, then SIGKILLs it after `graceMs`; resolves once it is gone. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGINT", graceMs = 5000): Promise<void> {
  if (gone(child) || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), graceMs).unref());
  if ((await Promise.race([exited.then(() => true as const), timer])) === false && !gone(child)) {
    child.kill("SIGKILL");
    await exited;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** CPU a process has used so far, in seconds. */
export interface Cpu {
  /** User and kernel time from /proc/<pid>/stat (all threads; 10 ms ticks). */
  user: number;
  system: number;
  /** On-CPU time summed over the threads' /proc/<pid>/task/<tid>/schedstat (ns precision), else user + system. */
  run: number;
  /** Time its main thread was ready to run but waited for a CPU (schedstat's run delay); null where unknown. */
  wait: number | null;
  /** performance.now() when read, in seconds. */
  at: number;
}

/** USER_HZ: /proc/<pid>/stat counts clock ticks of 1/100 s on Linux. */
const TICKS = 100;

export function readCpu(pid: number | undefined): Cpu | null {
  if (pid === undefined) return null;
  try {
    const at = performance.now() / 1000;
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const user = Number(fields[11]) / TICKS; // utime
    const system = Number(fields[12]) / TICKS; // stime
    let run = 0;
    let wait: number | null = null;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [onCpu, delay] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "latin1").split(" ");
        run += Number(onCpu) / 1e9;
        if (tid === String(pid)) wait = Number(delay) / 1e9; // the main thread: the event loop
      } catch {
        // a thread that ended between the listing and the read
      }
    }
    const ok = Number.isFinite(run) && run > 0;
    return { user, system, run: ok ? run : user + system, wait: ok && wait !== null && Number.isFinite(wait) ? wait : null, at };
  } catch {
    return null;
  }
}

/**
 * CPU used between two readings: percent of one core over the wall time between them, user and
 * system seconds, and the percent of that wall time its main thread spent waiting for a CPU
 * (near 0 on a quiet machine; high means something else held the server's core).
 */
export function cpuBetween(before: Cpu | null, after: Cpu | null): { percent: number; user: number; system: number; waitPercent: number | null } | null {
  if (before === null || after === null || after.at <= before.at) return null;
  const wall = after.at - before.at;
  return {
    percent: (100 * (after.run - before.run)) / wall,
    user: after.user - before.user,
    system: after.system - before.system,
    waitPercent: before.wait === null || after.wait === null ? null : (100 * (after.wait - before.wait)) / wall,
  };
}
