/**
 * One autocannon run in a process of its own, for bench/http.ts (which pins it to the loader's
 * CPU). Argument: JSON { url, connections, duration, paths }. Prints "start" when the load begins,
 * then one JSON line: requests, req/s, latency percentiles in ms (from autocannon's per-response
 * times: its own histogram keeps whole milliseconds only), errors and this process's CPU seconds
 * over the run.
 */
import autocannon from "autocannon";

interface Job {
  url: string;
  connections: number;
  duration: number;
  paths: string[];
}

const job = JSON.parse(process.argv[2] ?? "{}") as Job;

/** The q-th quantile of sorted values (nearest rank). */
function quantile(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

let times = new Float64Array(1 << 16);
let count = 0;
const requests = job.paths.length > 1 ? job.paths.map((path) => ({ method: "GET" as const, path })) : undefined;
process.stdout.write("start\n");
const cpuBefore = process.cpuUsage();
const started = performance.now();
const instance = autocannon(
  { url: job.url, connections: job.connections, pipelining: 1, duration: job.duration, ...(requests ? { requests } : {}) },
  (error, result) => {
    if (error) {
      process.stderr.write(`autocannon: ${String(error)}\n`);
      process.exit(1);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const elapsed = (performance.now() - started) / 1000;
    const latencies = times.subarray(0, count).sort();
    process.stdout.write(
      `${JSON.stringify({
        requests: result.requests.total,
        rps: result.requests.average,
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        errors: result.errors + result.timeouts,
        non2xx: result.non2xx,
        cpu: (cpu.user + cpu.system) / 1e6,
        elapsed,
      })}\n`,
    );
  },
);
instance.on("response", (_client, status, _bytes, ms) => {
  if (status < 200 || status > 299) return;
  if (count === times.length) {
    const grown = new Float64Array(times.length * 2);
    grown.set(times);
    times = grown;
  }
  times[count++] = ms;
});
