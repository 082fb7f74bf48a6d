/**
 * A Hono app on hio-ts's http.Server, unchanged: `app.fetch` is a fetch handler.
 *
 *   PORT=8080 npx tsx examples/hono.ts   # PORT=0 picks a free port
 */
import { Hono } from "hono";
import { Doist, http } from "../src/index.ts";
import { portFromEnv } from "./env.ts";

export const app = new Hono();
app.get("/", (c) => c.text("Hello Hono!"));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), q: c.req.query("q") ?? null }));
app.post("/echo", async (c) => c.json({ got: await c.req.json() }, 201));
app.notFound((c) => c.text("no such page", 404));

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = http.openServer({ app: app.fetch, host: process.env.HOST ?? "127.0.0.1", port: portFromEnv(8080) });
  console.log(`Hono on hio-ts at http://${server.eha[0]}:${server.eha[1]}/ (Ctrl-C or SIGTERM stops it)`);
  const limit = process.env.LIMIT === undefined ? null : Number(process.env.LIMIT);
  const doist = new Doist({ real: true, tock: 1 / 1024, limit, doers: [new http.ServerDoer({ server })] });
  await doist.do();
  console.log(`Hono on hio-ts stopped at tyme ${doist.tyme}`);
}
