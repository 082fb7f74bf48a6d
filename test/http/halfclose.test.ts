/**
 * A peer that half-closes (FIN) while its streamed answer waits on the app: the Steward keeps
 * the connection for the answer, but nothing is due until the app yields or the idle deadline
 * after the FIN passes. (Marked for every tick instead, it held a real-time Doist's tyme still,
 * so that deadline never came.)
 */
import net from "node:net";
import { describe, expect, it } from "vitest";
import { Doist, http } from "../../src/index.ts";

const until = async (what: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe("a half-closed peer with a stream under way", () => {
  it("ends the connection at the idle deadline after the FIN while the app stays silent", async () => {
    let first = true;
    const app = (): Response =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (!first) return new Promise<void>(() => {}); // the app never says more
            first = false;
            controller.enqueue(new TextEncoder().encode("data: 1\n\n"));
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    const server = http.openServer({ app, host: "127.0.0.1", port: 0, tymeout: 0.25 });
    const doist = new Doist({ real: true, tock: 1 / 64, limit: 30, doers: [new http.ServerDoer({ server })] });
    const before = process.listeners("SIGTERM");
    const run = doist.do();
    const socket = net.connect(server.ha[1], "127.0.0.1");
    let text = "";
    socket.on("data", (data: Buffer) => (text += data.toString("latin1")));
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.write("GET /events HTTP/1.1\r\nHost: a\r\n\r\n");
    await until(() => text.includes("data: 1\n\n"));
    socket.end(); // FIN: we send no more, but would still read the rest of the answer
    await closed; // the server closed it: its idle deadline passed while the app stayed silent
    await until(() => server.stewards.size === 0);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*text\/event-stream[^]*data: 1\n\n/);
    expect(doist.tyme).toBeGreaterThanOrEqual(0.25);
    for (const listener of process.listeners("SIGTERM").filter((fn) => !before.includes(fn))) (listener as () => void)();
    await run;
    expect(server.opened).toBe(false);
  });
});
