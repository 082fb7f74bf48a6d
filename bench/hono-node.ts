/**
 * bench/hono-app.ts on Hono's own Node adapter, @hono/node-server, with its default options:
 * the reference the bench compares bench/hono-hio.ts against (env PORT, HOST).
 *
 *   PORT=8080 npx tsx bench/hono-node.ts
 */
import { serve } from "@hono/node-server";
import { app } from "./hono-app.ts";

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 8080), hostname: process.env.HOST ?? "127.0.0.1" }, (info) => {
  console.log(`Hono on @hono/node-server at http://${info.address}:${info.port}/`);
});
const stop = () => {
  server.close(() => process.exit(0));
  if ("closeAllConnections" in server) server.closeAllConnections();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
