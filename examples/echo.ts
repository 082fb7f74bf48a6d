/**
 * The echo server the conformance corpus expects: every request is answered 200 with JSON
 * {method, target, headers, body}: the target as received, every field line in order.
 *
 *   PORT=8080 npx tsx examples/echo.ts   # PORT=0 picks a free port
 *   STREAM=1 npx tsx examples/echo.ts      # bodies streamed to the app (the server's stream option)
 */
import { Doist, http } from "../src/index.ts";
import type { HttpEnv } from "../src/index.ts";
import { portFromEnv } from "./env.ts";

export async function echo(_request: Request, env: HttpEnv): Promise<Response> {
  const r = env.requestant;
  // A streamed body is read from the requestant's feed: a GET's too, which a Request does not carry.
  const body = r.feed === null ? r.body : new Uint8Array(await new Response(r.feed.stream).arrayBuffer());
  return Response.json({
    method: r.method,
    target: r.url,
    headers: [...r.headers.items()],
    body: Buffer.from(body).toString("utf8"),
  });
}

const port = portFromEnv(8080);
const host = process.env.HOST ?? "127.0.0.1";
const stream = process.env.STREAM === "1";
const server = http.openServer({ app: echo, host, port, stream });
const limit = process.env.LIMIT === undefined ? null : Number(process.env.LIMIT); // tyme to run, else until Ctrl-C
const doist = new Doist({ real: true, tock: 1 / 1024, limit, doers: [new http.ServerDoer({ server })] });
console.log(`echo server on http://${server.eha[0]}:${server.eha[1]}/ (Ctrl-C or SIGTERM stops it)`);
await doist.do();
console.log(`echo server stopped at tyme ${doist.tyme}`);
