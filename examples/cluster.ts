/**
 * One app on every core: http.serveCluster runs this same script as the primary, which forks
 * WORKERS worker processes, and in each worker, where it serves the app from a ServerDoer in
 * the worker's own Doist, all on one port. Ctrl-C (or SIGTERM to the primary) stops them all.
 *
 *   npx tsx examples/cluster.ts                       # http://127.0.0.1:8080/, a worker per core
 *   WORKERS=2 PORT=0 npx tsx examples/cluster.ts      # two workers; PORT=0 picks a free port
 */
import { http } from "../src/index.ts";
import { portFromEnv } from "./env.ts";

/** Says which worker answered: fresh connections go round the workers. */
const app = (request: Request): Response =>
  Response.json({ worker: process.pid, path: new URL(request.url).pathname });

const cluster = http.serveCluster({
  app,
  host: process.env.HOST ?? "127.0.0.1",
  port: portFromEnv(8080),
  workers: process.env.WORKERS === undefined ? undefined : Number(process.env.WORKERS),
});

if (cluster.primary) { // the workers serve; only the primary reports
  const [host, port] = await cluster.ready;
  console.log(`cluster of ${cluster.size} workers on http://${host}:${port}/ (Ctrl-C or SIGTERM stops it)`);
  await cluster.closed;
  console.log(`cluster stopped after ${cluster.restarts} restart(s)`);
}
