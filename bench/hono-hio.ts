/**
 * bench/hono-app.ts on hio-ts: `app.fetch` on an http.Server run by a ServerDoer in a real-time
 * Doist, as examples/hello.ts runs its app (env PORT, HOST, TOCK; default tock 1/1024).
 *
 *   PORT=8080 npx tsx bench/hono-hio.ts
 */
import { Doist, http } from "../src/index.ts";
import { app } from "./hono-app.ts";

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? "127.0.0.1";
const server = http.openServer({ app: app.fetch, host, port });
const doist = new Doist({ real: true, tock: Number(process.env.TOCK ?? 1 / 1024), doers: [new http.ServerDoer({ server })] });
console.log(`Hono on hio-ts at http://${server.eha[0]}:${server.eha[1]}/`);
await doist.do();
