/**
 * Streamed bodies both ways on real sockets: SSE events flushed as a doer makes them, back
 * pressure against a client that stops reading, a client that goes away mid-stream, an
 * async-iterable body, and large or oversized request bodies.
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Doer, Doist, http } from "../../src/index.ts";
import { drive, parseResponses, rawRequest, responses, spin } from "../helpers.ts";
import { closeServed, matchesPattern, pattern, patternAt, serveApp } from "./clients.ts";

afterEach(closeServed);

const MiB = 1 << 20;
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");
/** Node's `ReadableStream.from` (TypeScript's DOM lib does not declare it). */
const streamFrom = <T>(iterable: AsyncIterable<T>): ReadableStream<T> =>
  (ReadableStream as unknown as { from: (iterable: AsyncIterable<T>) => ReadableStream<T> }).from(iterable);

/** Makes SSE events one per recur, each only once the client has seen the one before. */
class EventMaker extends Doer {
  controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  /** Set by the client: the response head arrived / how many events it has seen. */
  headed = false;
  seen = 0;
  made = 0;
  readonly count: number;

  constructor(count: number) {
    super();
    this.count = count;
  }

  override recur(tyme: number): boolean {
    const controller = this.controller;
    if (controller === null || !this.headed || this.seen < this.made) return false;
    if (this.made === this.count) {
      controller.close();
      return true;
    }
    this.made += 1;
    controller.enqueue(encode(`id: ${this.made}\ndata: event ${this.made} at tyme ${tyme}\n\n`));
    return false;
  }
}

describe("streamed response bodies", () => {
  it("flushes the SSE head at once and every event as a doer makes it", async () => {
    const maker = new EventMaker(3);
    const server = new http.Server({
      host: "127.0.0.1",
      port: 0,
      tymeout: 0,
      app: () =>
        new Response(new ReadableStream<Uint8Array>({ start: (controller) => void (maker.controller = controller) }), {
          headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
        }),
    });
    const doist = new Doist({ tock: 1 / 64, doers: [new http.ServerDoer({ server }), maker] });
    doist.enter();
    try {
      const sightings: Array<{ seen: number; made: number; data: string }> = [];
      const client = (async () => {
        const response = await fetch(`http://127.0.0.1:${server.ha[1]}/events`);
        const head = { status: response.status, type: response.headers.get("content-type"), te: response.headers.get("transfer-encoding"), made: maker.made };
        maker.headed = true;
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += value;
          let end: number;
          while ((end = text.indexOf("\n\n")) >= 0) {
            const data = /data: (.*)/.exec(text.slice(0, end))?.[1] ?? "";
            text = text.slice(end + 2);
            maker.seen += 1;
            sightings.push({ seen: maker.seen, made: maker.made, data });
          }
        }
        return { head, rest: text };
      })();
      const { head, rest } = await drive(() => doist.recur(), client);
      expect(head).toEqual({ status: 200, type: "text/event-stream", te: "chunked", made: 0 });
      expect(sightings.map(({ seen, made }) => [seen, made])).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
      ]); // each event arrived before the next one existed
      expect(sightings.map((s) => s.data.replace(/ at tyme .*/, ""))).toEqual(["event 1", "event 2", "event 3"]);
      expect(rest).toBe("");
      expect(maker.done).toBe(true);
    } finally {
      doist.exit();
    }
  });

  it("streams an async iterable body (ReadableStream.from) chunked, piece by piece", async () => {
    let clientSaw = 0;
    let finished = false;
    const waitUntilSeen = async (n: number): Promise<void> => {
      for (let i = 0; i < 10_000 && clientSaw < n; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    async function* pieces(): AsyncGenerator<Uint8Array> {
      try {
        for (let n = 1; n <= 4; n++) {
          yield encode(`piece ${n};`);
          await waitUntilSeen(n); // the next piece only exists once the client has this one
        }
      } finally {
        finished = true;
      }
    }
    const { step, port } = serveApp(() => new Response(streamFrom(pieces()), { headers: { "content-type": "text/plain" } }));
    const reply = await drive(
      step,
      rawRequest(port, "GET /pieces HTTP/1.1\r\nHost: x\r\n\r\n", {
        until: (bytes) => {
          clientSaw = bytes.toString("latin1").split("piece ").length - 1;
          return responses(1)(bytes);
        },
      }),
    );
    const [response] = parseResponses(reply.bytes);
    expect(response!.framing).toBe("chunked");
    expect(response!.body.toString()).toBe("piece 1;piece 2;piece 3;piece 4;");
    expect(clientSaw).toBe(4);
    expect(finished).toBe(true);
  });

  it("pulls a 64 MiB body only as a paused client drains it, then delivers every byte in order", async () => {
    const total = 64 * MiB;
    const piece = 64 * 1024;
    let pulled = 0;
    const { step, port, server } = serveApp((request) => {
      if (new URL(request.url).pathname !== "/big") return new Response("small");
      const body = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            controller.enqueue(patternAt(pulled, piece));
            pulled += piece;
            if (pulled >= total) controller.close();
          },
        },
        { highWaterMark: 0 },
      );
      return new Response(body, { headers: { "content-length": String(total), "content-type": "application/octet-stream" } });
    });
    const socket = net.connect(port, "127.0.0.1");
    try {
      await drive(step, new Promise<void>((resolve) => socket.once("connect", () => resolve())));
      socket.pause();
      socket.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
      // The client reads nothing: run the server until the pulls stop (bounded).
      let still = 0;
      for (let tick = 0; tick < 20_000 && still < 300; tick++) {
        const before = pulled;
        step();
        await new Promise((resolve) => setImmediate(resolve));
        still = pulled === before ? still + 1 : 0;
      }
      expect(still).toBe(300);
      const pausedPull = pulled;
      expect(pausedPull).toBeGreaterThan(0);
      expect(pausedPull).toBeLessThan(16 * MiB); // what the kernel buffers hold, not 64 MiB
      // Another connection is served meanwhile.
      const other = await drive(step, rawRequest(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", { until: responses(1) }));
      expect(parseResponses(other.bytes)[0]!.body.toString()).toBe("small");
      expect(pulled).toBe(pausedPull);

      // Now read everything, checking the pattern as it comes.
      let head: Buffer | null = null;
      let pending = Buffer.alloc(0);
      let received = 0;
      let inOrder = true;
      let lead = 0; // most bytes pulled ahead of what the client had read
      const all = new Promise<void>((resolve, reject) => {
        socket.on("error", reject);
        socket.on("data", (data: Buffer) => {
          let body = data;
          if (head === null) {
            pending = Buffer.concat([pending, data]);
            const end = pending.indexOf("\r\n\r\n");
            if (end < 0) return;
            head = pending.subarray(0, end + 4);
            body = pending.subarray(end + 4);
          }
          if (!matchesPattern(body, received)) inOrder = false;
          received += body.length;
          lead = Math.max(lead, pulled - received);
          if (received >= total) resolve();
        });
      });
      socket.resume();
      await drive(step, all, 200_000);
      expect(String(head)).toMatch(new RegExp(`^HTTP/1.1 200 OK\r\n[^]*content-length: ${total}\r\n`));
      expect(received).toBe(total);
      expect(inOrder).toBe(true);
      expect(pulled).toBe(total);
      expect(lead).toBeLessThan(16 * MiB);
      expect(server.stewards.size).toBe(1); // the big one: `other` was closed by its client
    } finally {
      socket.destroy();
    }
  });

  it.each(["destroy", "resetAndDestroy"] as const)(
    "aborts request.signal once and cancels the body when the client goes away (%s)",
    async (how) => {
      const events: string[] = [];
      const { step, port, server } = serveApp((request) => {
        const path = new URL(request.url).pathname;
        request.signal.addEventListener("abort", () => events.push(`abort ${path}`));
        if (path !== "/endless") return new Response(`fine ${path}`);
        let n = 0;
        return new Response(
          new ReadableStream<Uint8Array>(
            {
              pull(controller) {
                controller.enqueue(patternAt(n, 16 * 1024));
                n += 16 * 1024;
              },
              cancel: () => void events.push(`cancel ${path}`),
            },
            { highWaterMark: 0 },
          ),
        );
      });
      await drive(step, rawRequest(port, "GET /before HTTP/1.1\r\nHost: x\r\n\r\n", { until: responses(1) }));
      const socket = net.connect(port, "127.0.0.1");
      socket.on("error", () => {});
      let got = 0;
      const enough = new Promise<void>((resolve) => {
        socket.on("data", (data: Buffer) => {
          got += data.length;
          if (got > 200 * 1024) resolve();
        });
      });
      socket.write("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n");
      await drive(step, enough);
      expect(events).toEqual([]);
      socket[how]();
      const gone = (async () => {
        while (!events.includes("cancel /endless") || !events.includes("abort /endless")) {
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      await drive(step, gone);
      await spin(step, 200);
      expect(events.filter((e) => e.startsWith("abort")).sort()).toEqual(["abort /endless"]);
      expect(events.filter((e) => e.startsWith("cancel"))).toEqual(["cancel /endless"]);
      expect(server.stewards.size).toBe(0);
      const after = await drive(step, rawRequest(port, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n", { until: responses(1) }));
      expect(parseResponses(after.bytes)[0]!.body.toString()).toBe("fine /after");
      expect(events.filter((e) => e.startsWith("abort"))).toEqual(["abort /endless"]);
    },
  );

  it("aborts the signal of an app still pending when its client resets, and its late answer goes nowhere", async () => {
    const events: string[] = [];
    let answer: ((response: Response) => void) | null = null;
    const { step, port, server } = serveApp((request) => {
      request.signal.addEventListener("abort", () => events.push(`abort ${String(request.signal.reason?.name ?? request.signal.reason)}`));
      events.push("app called");
      return new Promise<Response>((resolve) => (answer = resolve));
    });
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.write("GET /pending HTTP/1.1\r\nHost: x\r\n\r\n");
    await drive(step, (async () => {
      while (answer === null) await new Promise((resolve) => setImmediate(resolve));
    })());
    socket.resetAndDestroy();
    await drive(step, (async () => {
      while (server.stewards.size > 0) await new Promise((resolve) => setImmediate(resolve));
    })());
    answer!(new Response("too late"));
    await spin(step, 50);
    expect(events).toEqual(["app called", "abort AbortError"]);
  });
});

describe("request bodies", () => {
  it("hands the app a 5 MiB body whole, by Content-Length and chunked", async () => {
    const body = pattern(5 * MiB);
    const seen: Array<{ te: string | null; length: number; sha: string }> = [];
    const { step, url } = serveApp(async (request) => {
      const bytes = new Uint8Array(await request.arrayBuffer());
      seen.push({ te: request.headers.get("transfer-encoding"), length: bytes.length, sha: sha256(bytes) });
      return Response.json({ length: bytes.length });
    });
    const streamed = (): ReadableStream<Uint8Array> => {
      let at = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= body.length) return controller.close();
          controller.enqueue(body.subarray(at, at + 300_000));
          at += 300_000;
        },
      });
    };
    const work = (async () => {
      const plain = await fetch(url("/plain"), { method: "POST", body });
      const chunked = await fetch(url("/chunked"), { method: "POST", body: streamed(), duplex: "half" } as RequestInit);
      return [plain.status, await plain.json(), chunked.status, await chunked.json()];
    })();
    expect(await drive(step, work)).toEqual([200, { length: body.length }, 200, { length: body.length }]);
    expect(seen).toEqual([
      { te: null, length: body.length, sha: sha256(body) },
      { te: "chunked", length: body.length, sha: sha256(body) },
    ]);
  });

  it("answers 413 and closes when a body passes limits.maxBody, declared or chunked", async () => {
    let called = 0;
    const { step, port } = serveApp(
      async (request) => {
        called += 1;
        return new Response(String((await request.arrayBuffer()).byteLength));
      },
      { limits: { maxBody: 1000 } },
    );
    const fits = await drive(step, rawRequest(port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${"a".repeat(1000)}`, { until: responses(1) }));
    expect(parseResponses(fits.bytes)[0]!.body.toString()).toBe("1000");
    const declared = await drive(step, rawRequest(port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n"));
    const chunk = `258\r\n${"b".repeat(600)}\r\n`;
    const chunked = await drive(step, rawRequest(port, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${chunk}`));
    for (const reply of [declared, chunked]) {
      expect(reply.closed).toBe(true);
      const [response] = parseResponses(reply.bytes, { closed: true });
      expect(response!.status).toBe(413);
      expect(response!.get("connection")).toBe("close");
    }
    expect(called).toBe(1);
  });
});
