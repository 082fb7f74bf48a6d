/**
 * Hello World over hio-ts: the benchmark subject, run as a user would, a ServerDoer in a Doist.
 *
 *   PORT=8080 npx tsx examples/hello.ts   # PORT=0 picks a free port
 *   TOCK=0 PORT=8080 npx tsx examples/hello.ts   # TOCK: the Doist's tock (default 1/1024)
 */
import { Doist, http } from "../src/index.ts";
import { portFromEnv } from "./env.ts";

const hello = (): Response => new Response("Hello World!", { headers: { "content-type": "text/plain" } });

const port = portFromEnv(8080);
const host = process.env.HOST ?? "127.0.0.1";
const server = http.openServer({ app: hello, host, port });
const limit = process.env.LIMIT === undefined ? null : Number(process.env.LIMIT); // tyme to run, else until Ctrl-C
const doist = new Doist({ real: true, tock: Number(process.env.TOCK ?? 1 / 1024), limit, doers: [new http.ServerDoer({ server })] });
console.log(`hello server on http://${server.eha[0]}:${server.eha[1]}/ (Ctrl-C or SIGTERM stops it)`);
await doist.do();
console.log(`hello server stopped at tyme ${doist.tyme}`);
