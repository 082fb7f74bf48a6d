/**
 * The small Hono app of bench/http.ts, served unchanged by hio-ts (bench/hono-hio.ts) and by
 * Hono's own Node adapter (bench/hono-node.ts): a text route, a JSON route and a route with a
 * parameter and a query. The bench requests `paths` in turn.
 */
import { Hono } from "hono";

export const app = new Hono();
app.get("/", (c) => c.text("Hello World!"));
app.get("/json", (c) => c.json({ message: "Hello World!" }));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), q: c.req.query("q") ?? null }));

/** What the bench requests, one after another on each connection. */
export const paths = ["/", "/json", "/users/42?q=hio"];
