/**
 * Graceful stop: a stop signal to a real-time Doist lets its servers drain (stop accepting,
 * close idle keep-alive connections, answer what is under way with `Connection: close`) for up
 * to `grace` seconds, then exits every doer. A second signal stops at once.
 */
import net from "node:net";
import { describe, expect, it } from "vitest";
import { Doist, http } from "../../src/index.ts";

/** The Doist's own listeners for `signal` added since `before`, called as the signal would. */
function signal(name: NodeJS.Signals, before: Function[]): void {
  for (const listener of process.listeners(name).filter((fn) => !before.includes(fn))) (listener as () => void)();
}

/** Sends raw HTTP on a fresh connection and resolves with everything read until the server closes. */
function exchange(port: number, text: string): Promise<{ text: string; error: string | null }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(text));
    const chunks: Buffer[] = [];
    let error: string | null = null;
    socket.on("data", (data: Buffer) => chunks.push(data));
    socket.on("error", (e: NodeJS.ErrnoException) => void (error = e.code ?? e.message));
    socket.on("close", () => resolve({ text: Buffer.concat(chunks).toString("latin1"), error }));
  });
}

const until = async (what: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe("a graceful stop", () => {
  it("answers all 50 requests in flight with Connection: close, closes idle ones, refuses new ones", async () => {
    const waiting: Array<() => void> = [];
    const app = (request: Request): Promise<Response> =>
      new Promise((resolve) => waiting.push(() => resolve(new Response(`done ${new URL(request.url).pathname}`))));
    const server = http.openServer({ app, host: "127.0.0.1", port: 0 });
    const port = server.ha[1];
    const doist = new Doist({ real: true, tock: 1 / 64, grace: 5, doers: [new http.ServerDoer({ server })] });
    const before = process.listeners("SIGTERM");
    const run = doist.do();

    const idle = exchange(port, ""); // connects, says nothing: closed by the drain, not its idle deadline
    const busy = Array.from({ length: 50 }, (_, i) => exchange(port, `GET /r${i} HTTP/1.1\r\nHost: a\r\n\r\n`));
    await until(() => waiting.length === 50 && server.stewards.size === 51);
    signal("SIGTERM", before);
    await until(() => !server.servant.opened || server.stewards.size < 51);
    const refused = await exchange(port, "GET /late HTTP/1.1\r\nHost: a\r\n\r\n");
    for (const answer of waiting.splice(0)) answer();
    const replies = await Promise.all(busy);
    await run;

    expect(replies.filter((r) => /^HTTP\/1\.1 200 OK\r\n[^]*connection: close\r\n\r\ndone \/r\d+$/i.test(r.text))).toHaveLength(50);
    expect(replies.every((r) => r.error === null)).toBe(true); // none cut
    expect((await idle).text).toBe(""); // closed without a reply
    expect(refused.error).toBe("ECONNREFUSED");
    expect([doist.done, server.opened, server.stewards.size]).toEqual([false, false, 0]);
    expect(process.listeners("SIGTERM")).toEqual(before);
  });

  it("wakes a server asleep with nothing to do, so SIGTERM stops it at once rather than at its limit", async () => {
    const server = http.openServer({ app: () => new Response("x"), host: "127.0.0.1", port: 0 });
    const doist = new Doist({ real: true, tock: 1 / 64, limit: 60, grace: 5, doers: [new http.ServerDoer({ server })] });
    const before = process.listeners("SIGTERM");
    const run = doist.do();
    await until(() => doist.ticks > 0);
    await new Promise((resolve) => setTimeout(resolve, 20)); // asleep: nothing is due before its limit
    signal("SIGTERM", before);
    await run;
    expect([doist.done, server.opened, doist.tyme < 60]).toEqual([false, false, true]);
  });

  it("cuts what is still streaming when the grace runs out, and a second signal stops at once", async () => {
    const app = (): Response => new Response(new ReadableStream({ pull: () => new Promise(() => {}) }), { headers: { "content-type": "text/event-stream" } });
    for (const twice of [false, true]) {
      const server = http.openServer({ app, host: "127.0.0.1", port: 0 });
      const doist = new Doist({ real: true, tock: 1 / 64, grace: twice ? 30 : 0.25, doers: [new http.ServerDoer({ server })] });
      const before = process.listeners("SIGINT");
      const run = doist.do();
      const stream = exchange(server.ha[1], "GET /events HTTP/1.1\r\nHost: a\r\n\r\n");
      await until(() => server.stewards.size === 1 && [...server.stewards.values()][0]!.busy);
      const started = performance.now();
      signal("SIGINT", before);
      if (twice) signal("SIGINT", before);
      await run;
      const took = performance.now() - started;
      expect((await stream).text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*text\/event-stream/);
      expect(server.stewards.size).toBe(0);
      if (twice) expect(took).toBeLessThan(5000); // not the 30 s grace
      else expect(took).toBeGreaterThanOrEqual(240); // the grace was given
    }
  });
});
