/**
 * The tables of bench/http.ts: one per Node (every measurement of every server, ratios against
 * plain node:http from the same run, and a bar column), the issue's bars evaluated, and the
 * summary of the bars across Nodes.
 */
import type { Loader, LoadResult } from "./loaders.ts";

/** What one server did under one Node. */
export interface SubjectRun {
  key: string;
  label: string;
  /** A hio-ts server: the idle bars apply to it. */
  hio: boolean;
  /** Why it was not measured (skipped or failed), else null. */
  problem: string | null;
  loads: LoadResult[];
  /** Idle CPU, percent of a core, with no connections. */
  idle: number | null;
  /** With many idle keep-alive connections open (null: not measured). */
  idleMany: IdleMany | null;
}

export interface IdleMany {
  /** Connections asked for, and those open (answered) after opening. */
  wanted: number;
  opened: number;
  /** Length of the idle window, s. */
  seconds: number;
  /** Percent of a core over the idle window; null when the connections could not be opened. */
  cpu: number | null;
  /** Connections still open after the idle window and after the loaded run. */
  openAfterIdle: number | null;
  openAfterLoad: number | null;
  /** The paired runs at the same connection count: just before the idle connections opened, and with them open. */
  without: LoadResult | null;
  with: LoadResult | null;
  error: string | null;
}

export type Verdict = "PASS" | "FAIL" | "n/a";

export interface Bar {
  title: string;
  value: string;
  verdict: Verdict;
  /** The row the bar is shown on: subject key and measure key. */
  subject: string;
  measure: string;
  /** Short text for the table's bar column. */
  short: string;
}

export interface Settings {
  loaders: Loader[];
  connections: number[];
  idleLoad: number;
  idleSeconds: number;
  idleConns: number;
}

const ratio = (x: number) => `${x.toFixed(2)}x`;

function load(runs: SubjectRun[], key: string, loader: Loader, connections: number): LoadResult | null {
  const run = runs.find((r) => r.key === key && r.problem === null);
  return run?.loads.find((l) => l.loader === loader && l.connections === connections) ?? null;
}

/** The issue's bars, judged on the first loader's figures. */
export function bars(runs: SubjectRun[], settings: Settings): Bar[] {
  const loader = settings.loaders[0] as Loader;
  const out: Bar[] = [];
  const has = (key: string) => runs.some((r) => r.key === key);
  /** Why a subject's figures are missing, shortly. */
  const why = (...keys: string[]): string => {
    for (const key of keys) {
      const problem = runs.find((r) => r.key === key)?.problem;
      if (problem !== null && problem !== undefined) return problem.startsWith("skipped") ? `${key} skipped` : `${key} failed`;
    }
    return "not measured";
  };
  const conns = settings.idleConns.toLocaleString("en");
  const na = (title: string, subject: string, measure: string, why: string): Bar =>
    ({ title, value: why, verdict: "n/a", subject, measure, short: "n/a" });

  const throughput = (key: string, ref: string, refLabel: string, connections: number, min: number, goal: number | null) => {
    const title = `${key} vs ${refLabel}, ${connections} conn${connections === 1 ? "" : "s"}: ≥${min.toFixed(1)}x${goal === null ? "" : ` (goal ${goal.toFixed(1)}x)`}`;
    const measure = `load:${loader}:${connections}`;
    if (!settings.connections.includes(connections)) return out.push(na(title, key, measure, why(key, ref)));
    const mine = load(runs, key, loader, connections);
    const theirs = load(runs, ref, loader, connections);
    if (mine === null || theirs === null || theirs.rps === 0) return out.push(na(title, key, measure, why(key, ref)));
    const r = mine.rps / theirs.rps;
    const verdict: Verdict = r >= min ? "PASS" : "FAIL";
    const goalNote = goal !== null && verdict === "PASS" ? (r >= goal ? ", goal met" : ", goal not yet") : "";
    out.push({ title, value: `${ratio(r)}${goalNote}`, verdict, subject: key, measure, short: `${ref === "node" ? "" : `${ratio(r)} ${ref}, `}≥${min.toFixed(1)}x ${verdict}` });
  };

  if (has("hio")) {
    for (const c of [50, 100]) throughput("hio", "node", "node:http", c, 1.0, 1.3);
    for (const c of [1, 10]) throughput("hio", "node", "node:http", c, 0.9, null);
  }
  if (has("hio-native")) for (const c of [50, 100]) throughput("hio-native", "node", "node:http", c, 1.3, null);
  if (has("hono-hio") && has("hono-node")) for (const c of [50, 100]) throughput("hono-hio", "hono-node", "hono-node", c, 1.2, null);

  for (const run of runs.filter((r) => r.hio)) {
    const title = `${run.key} idle CPU, no connections: <1% of a core`;
    if (run.idle === null) out.push(na(title, run.key, "idle", why(run.key)));
    else {
      const verdict: Verdict = run.idle < 1 ? "PASS" : "FAIL";
      out.push({ title, value: `${run.idle.toFixed(2)}%`, verdict, subject: run.key, measure: "idle", short: `<1% ${verdict}` });
    }
  }
  for (const run of runs.filter((r) => r.hio)) {
    const many = run.idleMany;
    const title = `${run.key} idle CPU, ${conns} idle connections: <1% of a core`;
    if (many === null || many.cpu === null) out.push(na(title, run.key, "idle-many", many?.error ?? why(run.key)));
    else {
      // Fewer idle connections than asked for can only have cost less CPU: at ≥1% it fails anyway.
      const held = many.opened >= many.wanted && (many.openAfterIdle ?? 0) >= many.wanted;
      const verdict: Verdict = many.cpu >= 1 ? "FAIL" : held ? "PASS" : "n/a";
      const value = held ? `${many.cpu.toFixed(2)}%` : `${many.cpu.toFixed(2)}% with ${many.openAfterIdle ?? 0} of ${many.wanted} open`;
      out.push({ title, value, verdict, subject: run.key, measure: "idle-many", short: `<1% ${verdict}` });
    }
  }
  const hello = runs.find((r) => r.key === "hio");
  if (hello !== undefined) {
    const many = hello.idleMany;
    const title = `hio ${settings.idleLoad} conns with ${conns} idle open vs without: ≥0.9x`;
    if (many === null || many.with === null || many.without === null || many.without.rps === 0) {
      out.push(na(title, "hio", "with-idle", many?.error ?? why("hio")));
    } else {
      const r = many.with.rps / many.without.rps;
      // Fewer idle connections than asked for can only have cost less: under 0.9x it fails anyway.
      const held = many.openAfterLoad !== null && many.openAfterLoad >= many.wanted && many.opened >= many.wanted;
      const verdict: Verdict = r < 0.9 ? "FAIL" : held ? "PASS" : "n/a";
      const value = held ? ratio(r) : `${ratio(r)} with ${many.openAfterLoad ?? 0} of ${many.wanted} idle connections open`;
      out.push({ title, value, verdict, subject: "hio", measure: "with-idle", short: `${ratio(r)}, ≥0.9x ${verdict}` });
    }
    const title99 = "hio p99 at 100 conns ≤ node:http's";
    const mine = load(runs, "hio", loader, 100);
    const theirs = load(runs, "node", loader, 100);
    if (mine === null || theirs === null || mine.p99 === null || theirs.p99 === null) out.push(na(title99, "hio", `load:${loader}:100`, why("hio", "node")));
    else {
      const verdict: Verdict = mine.p99 <= theirs.p99 ? "PASS" : "FAIL";
      out.push({ title: title99, value: `${ms(mine.p99)} vs ${ms(theirs.p99)} ms`, verdict, subject: "hio", measure: `load:${loader}:100`, short: `p99 ≤ node's ${verdict}` });
    }
  }
  return out;
}

export function ms(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return "n/a";
  return x < 10 ? x.toFixed(2) : x.toFixed(1);
}

const count = (x: number) => Math.round(x).toLocaleString("en");
const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "n/a" : x < 10 ? x.toFixed(2) : x.toFixed(0));

const blank = (n: number): string[] => Array.from({ length: n }, () => "");

function markdown(header: string[], rows: string[][]): string {
  const align = header.map((_, i) => (i < 3 || i === header.length - 1 ? "---" : "--:"));
  return [header, align, ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

/** The table of one Node's run. */
export function nodeTable(runs: SubjectRun[], settings: Settings, judged: Bar[]): string {
  const header = ["server", "measure", "loader", "req/s", "vs node:http", "p50 ms", "p99 ms", "errors / non-2xx",
    "server CPU %", "server µs/req user + sys", "server wait %", "loader CPU %", "bar"];
  const rows: string[][] = [];
  const barOf = (subject: string, measure: string) =>
    judged.filter((b) => b.subject === subject && b.measure === measure).map((b) => b.short).join("; ");
  const loadCells = (run: SubjectRun, result: LoadResult, vsNode: boolean): string[] => {
    const node = load(runs, "node", result.loader, result.connections);
    return [
      count(result.rps),
      vsNode && node !== null && run.key !== "node" && node.rps > 0 ? ratio(result.rps / node.rps) : "",
      ms(result.p50),
      ms(result.p99),
      `${result.errors} / ${result.non2xx}`,
      pct(result.server?.percent),
      result.server === null || result.requests === 0 ? "n/a" : `${result.server.userUs.toFixed(1)} + ${result.server.systemUs.toFixed(1)}`,
      pct(result.server?.waitPercent),
      pct(result.loaderCpu),
    ];
  };
  for (const run of runs) {
    if (run.problem !== null && run.loads.length === 0) {
      rows.push([run.label, run.problem, ...blank(11)]);
      continue;
    }
    for (const result of run.loads) {
      const measure = `${result.connections} conn${result.connections === 1 ? "" : "s"}`;
      rows.push([run.label, measure, result.loader, ...loadCells(run, result, true), barOf(run.key, `load:${result.loader}:${result.connections}`)]);
    }
    if (run.idle !== null) {
      rows.push([run.label, `idle ${settings.idleSeconds} s, no connections`, ...blank(6), pct(run.idle), ...blank(3), barOf(run.key, "idle")]);
    }
    const many = run.idleMany;
    if (many !== null) {
      const n = many.wanted.toLocaleString("en");
      const kept = `${count(many.openAfterIdle ?? many.opened)} of ${n} open`;
      const bar = [many.error, barOf(run.key, "idle-many")].filter((x) => x !== null && x !== "").join("; ");
      rows.push([run.label, `idle ${many.seconds.toFixed(1)} s, ${n} keep-alive conns (${kept})`, ...blank(6), pct(many.cpu), ...blank(3), bar]);
      if (many.without !== null) {
        rows.push([run.label, `${settings.idleLoad} conns, paired run without idle conns`, many.without.loader, ...loadCells(run, many.without, false), ""]);
      }
      if (many.with !== null) {
        const keptLoad = `${count(many.openAfterLoad ?? 0)} of ${n} open`;
        rows.push([run.label, `${settings.idleLoad} conns + ${n} idle (${keptLoad})`, many.with.loader, ...loadCells(run, many.with, false), barOf(run.key, "with-idle")]);
      }
    }
    if (run.problem !== null) rows.push([run.label, run.problem, ...blank(11)]);
  }
  return markdown(header, rows);
}

/** The bars of every Node side by side, and how busy the machine was. */
export function summaryTable(perNode: { node: string; bars: Bar[]; busy: { busy: number; total: number; worst: number } }[]): string {
  const titles: string[] = [];
  for (const { bars: list } of perNode) for (const bar of list) if (!titles.includes(bar.title)) titles.push(bar.title);
  const rows = titles.map((title) => [
    title,
    ...perNode.map(({ bars: list }) => {
      const bar = list.find((b) => b.title === title);
      return bar === undefined ? "" : bar.verdict === "n/a" ? `n/a (${bar.value})` : `${bar.value} ${bar.verdict}`;
    }),
  ]);
  rows.push([
    "(machine) load runs where the server waited ≥5% of the time for its CPU",
    ...perNode.map(({ busy }) => `${busy.busy} of ${busy.total} (worst ${busy.worst.toFixed(0)}%)${busy.busy > 0 ? ": noisy, rerun before judging" : ""}`),
  ]);
  const header = ["bar", ...perNode.map((p) => p.node)];
  return [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

/** How many load runs the server spent ≥ 5% of waiting for a CPU (something else used its core), and the worst. */
export function busyMachine(runs: SubjectRun[]): { busy: number; total: number; worst: number } {
  let busy = 0;
  let total = 0;
  let worst = 0;
  for (const run of runs) {
    for (const result of [...run.loads, run.idleMany?.without ?? null, run.idleMany?.with ?? null]) {
      const wait = result?.server?.waitPercent;
      if (result === null || wait === null || wait === undefined) continue;
      total++;
      worst = Math.max(worst, wait);
      if (wait >= 5) busy++;
    }
  }
  return { busy, total, worst };
}

/** Rows whose loader used ≥ 90% of its core: their req/s is the loader's ceiling, not the server's. */
export function saturatedLoaders(runs: SubjectRun[]): string[] {
  const out: string[] = [];
  for (const run of runs) {
    for (const result of [...run.loads, run.idleMany?.without ?? null, run.idleMany?.with ?? null]) {
      if (result !== null && result.loaderCpu !== null && result.loaderCpu >= 90) {
        out.push(`${run.label} ${result.connections} conns (${result.loader}, ${result.loaderCpu.toFixed(0)}%)`);
      }
    }
  }
  return out;
}
