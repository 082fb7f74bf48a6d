/**
 * Streamed request bodies (the Server's `stream` option) over real sockets: the app runs at the
 * head, reads `request.body` as it arrives, and the body waits in the connection's rxbs (the
 * socket paused) while the app does not read, so an upload holds a few hundred KiB of the
 * server's memory, not its size.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { afterEach, describe, expect, it } from "vitest";
import { Doer, Doist, Tymist, http, tcp } from "../../src/index.ts";
import type { HttpEnv } from "../../src/index.ts";
import { ByteBuffer } from "../../src/base/buffering.ts";
import { Requestant } from "../../src/http/server/requestant.ts";
import { drive, parseResponses, rawRequest, responses, spin } from "../helpers.ts";

const MiB = 1 << 20;

const servers: http.BareServer[] = [];
const sockets: net.Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

interface Served {
  server: http.Server;
  port: number;
  step: () => void;
  /** Most bytes one connection held at the end of a step: rxbs, the socket's unread queue, the feed's unread. */
  held: { most: number; now: () => number };
}

/** Bytes a connection holds in the server: rxbs, what its socket queued unread, the feed's unread. */
function heldBy(steward: http.Steward): number {
  const conduit = (steward.remoter as unknown as { conduit: { unread: number } | null }).conduit;
  return steward.remoter.rxbs.length + (conduit?.unread ?? 0) + (steward.requestant.feed?.unread ?? 0);
}

function open(app: http.FetchApp, options: Partial<http.ServerOptions> = {}): Served {
  const tymist = new Tymist({ tock: 1 / 32 });
  // Tyme here runs a tock per event-loop turn, far faster than the clock: a client's small writes
  // held back by TCP (Nagle, delayed ACKs) would pass the headers and request deadlines.
  const server = http.openServer({ app, host: "127.0.0.1", port: 0, tymth: tymist.tymen(), tymeout: 0, stream: true,
    deadlines: { headers: 0, request: 0 }, ...options });
  servers.push(server);
  const held = {
    most: 0,
    now: (): number => [...server.stewards.values()].reduce((sum, steward) => sum + heldBy(steward), 0),
  };
  const step = (): void => {
    server.service();
    tymist.tick();
    for (const steward of server.stewards.values()) held.most = Math.max(held.most, heldBy(steward));
  };
  return { server, port: server.ha[1], step, held };
}

/** A client that writes `head` then `size` body bytes in `piece`-sized writes, minding the socket's back pressure. */
function upload(port: number, head: string, size: number, { piece = MiB, chunked = false } = {}): { reply: Promise<Buffer>; sent: () => number } {
  let sent = 0;
  const reply = new Promise<Buffer>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    sockets.push(socket);
    const chunks: Buffer[] = [];
    const block = Buffer.alloc(piece, 0x61);
    socket.on("data", (data) => {
      chunks.push(data);
      if (responses(1)(Buffer.concat(chunks))) resolve(Buffer.concat(chunks));
    });
    socket.on("close", () => resolve(Buffer.concat(chunks)));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNRESET" || error.code === "EPIPE") resolve(Buffer.concat(chunks));
      else reject(error);
    });
    socket.on("connect", async () => {
      socket.write(head);
      while (sent < size && !socket.destroyed) {
        const n = Math.min(piece, size - sent);
        const bytes = chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), block.subarray(0, n), Buffer.from("\r\n")]) : block.subarray(0, n);
        sent += n;
        if (!socket.write(bytes)) {
          await new Promise<void>((go) => {
            const done = (): void => {
              socket.off("drain", done).off("close", done);
              go();
            };
            socket.once("drain", done).once("close", done);
          });
        }
      }
      if (chunked && !socket.destroyed) socket.write("0\r\n\r\n");
    });
  });
  return { reply, sent: () => sent };
}

/** Reads a stream to its end, keeping only the count. */
async function sizeOf(stream: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stream.getReader();
  let size = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) size += read.value.length;
  return size;
}

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe("streamed request bodies", () => {
  it("streams a 256 MiB upload to a file while the connection holds under 4 MiB", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hio-upload-"));
    try {
      const file = join(dir, "upload.bin");
      const { port, step, held } = open(async (request) => {
        await pipeline(Readable.fromWeb(request.body as NodeReadableStream<Uint8Array>), createWriteStream(file));
        return Response.json({ size: statSync(file).size });
      }, { limits: { maxBody: 1 << 30 } });
      const size = 256 * MiB;
      const { reply } = upload(port, `PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`, size);
      const [answer] = parseResponses(await drive(step, reply, 1_000_000));
      expect(answer!.status).toBe(200);
      expect(JSON.parse(answer!.body.toString())).toEqual({ size });
      expect(held.most).toBeLessThan(4 * MiB); // rxbs and the socket queue (1 MiB high water), the feed
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("holds 40 trickled 16 MiB uploads in bounded memory while the app waits, then takes them whole", async () => {
    const reading = gate();
    const { server, port, step, held } = open(async (request) => {
      await reading.opened;
      return new Response(String(await sizeOf(request.body!)));
    });
    const size = 16 * MiB;
    const uploads = Array.from({ length: 40 }, () => upload(port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`, size, { piece: 65536 }));
    // Until every connection has filled its rxbs to the high-water mark (its socket then paused).
    const full = (): boolean => server.stewards.size === 40 && [...server.stewards.values()].every((s) => s.remoter.rxbs.length >= MiB);
    for (let tick = 0; tick < 100_000 && !full(); tick++) await spin(step, 1);
    expect(full()).toBe(true);
    await spin(step, 200); // more ticks take no more: the sockets stay paused
    const waiting = held.now();
    expect(waiting).toBeLessThan(40 * 2 * MiB); // buffered whole they would be 640 MiB
    expect(uploads.every(({ sent }) => sent() < size)).toBe(true); // the clients are held back
    reading.open();
    const replies = await drive(step, Promise.all(uploads.map(({ reply }) => reply)), 1_000_000);
    expect(replies.map((bytes) => parseResponses(bytes)[0]!.body.toString())).toEqual(Array(40).fill(String(size)));
    expect(held.most).toBeLessThan(4 * MiB); // rxbs and the socket queue (1 MiB high water), the feed
  });

  it("answers a chunked body passing maxBody with 413 and a close, having held under the limit", async () => {
    const failures: unknown[] = [];
    const { port, step, held } = open(async (request) => {
      try {
        return new Response(await request.text());
      } catch (error) {
        failures.push(error);
        throw error;
      }
    }, { limits: { maxBody: MiB } });
    const { reply } = upload(port, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 16 * MiB, { piece: 65536, chunked: true });
    const bytes = await drive(step, reply);
    const [answer] = parseResponses(bytes, { closed: true });
    expect(answer!.status).toBe(413);
    expect(answer!.get("connection")).toBe("close");
    expect(failures).toEqual([expect.objectContaining({ status: 413 })]);
    expect(held.most).toBeLessThan(4 * MiB); // rxbs and the socket queue (1 MiB high water), the feed
  });

  it("closes the connection when a chunked body passes maxBody after the answer's head went out", async () => {
    const { port, step } = open((request) => new Response(request.body), { limits: { maxBody: MiB }, onError: () => {} });
    const { reply } = upload(port, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 4 * MiB, { piece: 65536, chunked: true });
    const bytes = await drive(step, reply);
    expect(bytes.toString("latin1")).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(bytes.toString("latin1")).not.toMatch(/\r\n0\r\n\r\n$/); // no last chunk: the body was cut
    expect(parseResponses(bytes)).toEqual([]); // never a whole reply
  });

  it("echoes an upload back as it arrives, the request's stream as the response's body, then closes", async () => {
    const { port, step, held } = open((request) => new Response(request.body));
    const size = 8 * MiB;
    const { reply } = upload(port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`, size, { piece: 65536 });
    const [answer] = parseResponses(await drive(step, reply, 1_000_000));
    expect([answer!.status, answer!.framing, answer!.body.length, answer!.get("connection")]).toEqual([200, "chunked", size, "close"]);
    expect(answer!.body.every((byte) => byte === 0x61)).toBe(true);
    expect(held.most).toBeLessThan(4 * MiB);
  });

  it("answers a declared Content-Length over maxBody with 413 before the app runs", async () => {
    let ran = false;
    const { port, step } = open(() => {
      ran = true;
      return new Response("no");
    }, { limits: { maxBody: 100 } });
    const reply = await drive(step, rawRequest(port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n"));
    expect(parseResponses(reply.bytes, { closed: true })[0]!.status).toBe(413);
    expect(ran).toBe(false);
  });

  it("sends 100 Continue only once the app reads the body", async () => {
    const reading = gate();
    const { port, step } = open(async (request) => {
      await reading.opened;
      return new Response(`got ${await request.text()}`);
    });
    let received = Buffer.alloc(0);
    const socket = net.connect(port, "127.0.0.1", () => socket.write("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
    sockets.push(socket);
    const answered = new Promise<void>((resolve) => {
      socket.on("data", (data) => {
        received = Buffer.concat([received, data]);
        if (received.toString("latin1") === "HTTP/1.1 100 Continue\r\n\r\n") socket.write("body");
        if (responses(1)(received)) resolve();
      });
    });
    await spin(step, 100);
    expect(received.length).toBe(0); // the app has not read: no 100 Continue yet
    reading.open();
    await drive(step, answered);
    const [interim, final] = parseResponses(received);
    expect(interim!.status).toBe(100);
    expect(final!.body.toString()).toBe("got body");
  });

  it("answers without 100 Continue, and closes, when the app answers without reading", async () => {
    const { port, step } = open(() => new Response("refused", { status: 403 }));
    const reply = await drive(step, rawRequest(port, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
    const replies = parseResponses(reply.bytes, { closed: reply.closed });
    expect(replies.map((r) => r.status)).toEqual([403]);
    expect(replies[0]!.get("connection")).toBe("close");
    expect(reply.closed).toBe(true);
  });

  it("drops the rest of a body the app did not read, answering first and closing after", async () => {
    const { port, step } = open(() => new Response("early"));
    const { reply } = upload(port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${8 * MiB}\r\n\r\n`, 8 * MiB, { piece: 65536 });
    const replies = parseResponses(await drive(step, reply));
    expect(replies.map((r) => [r.status, r.body.toString(), r.get("connection")])).toEqual([[200, "early", "close"]]);
  });

  it("answers 400 when the client half-closes inside a streamed body, failing the app's read", async () => {
    const failures: unknown[] = [];
    const { port, step } = open(async (request) => {
      try {
        return new Response(await request.text());
      } catch (error) {
        failures.push(error);
        throw error;
      }
    });
    for (const raw of ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n"]) {
      const reply = await drive(step, rawRequest(port, raw, { end: true }));
      expect(reply.closed).toBe(true);
      expect(parseResponses(reply.bytes, { closed: true }).map((r) => r.status)).toEqual([400]);
    }
    expect(failures).toEqual([expect.objectContaining({ status: 400 }), expect.objectContaining({ status: 400 })]);
  });

  it("drops the rest of a body the app cancelled, answering once and closing", async () => {
    const { port, step, held } = open(async (request) => {
      const reader = request.body!.getReader();
      const first = await reader.read();
      await reader.cancel();
      return new Response(`first ${first.value?.length ?? 0} bytes`, { status: 422 });
    });
    const size = 8 * MiB;
    const { reply } = upload(port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`, size, { piece: 65536 });
    const replies = parseResponses(await drive(step, reply));
    expect(replies.map((r) => [r.status, r.get("connection")])).toEqual([[422, "close"]]);
    expect(replies[0]!.body.toString()).toMatch(/^first [1-9]\d* bytes$/);
    expect(held.most).toBeLessThan(4 * MiB);
  });

  it("answers requests pipelined after streamed ones on the same connection", async () => {
    const { port, step } = open(async (request) => new Response(`${request.method} ${await request.text()}`), { stream: 2 });
    const raw = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
      + "PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      + "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
      + "GET /d HTTP/1.1\r\nHost: x\r\n\r\n";
    for (const split of [undefined, 7]) {
      const reply = await drive(step, rawRequest(port, raw, split === undefined ? { until: responses(4) } : { until: responses(4), split }));
      expect(reply.closed).toBe(false);
      expect(parseResponses(reply.bytes).map((r) => r.body.toString())).toEqual(["POST abcde", "PUT hello", "POST hi", "GET "]);
    }
  });

  it("buffers bodies up to the threshold and streams larger and chunked ones", async () => {
    const seen: Array<[string, boolean, string]> = [];
    const { port, step } = open(async (request, env: HttpEnv) => {
      const streamed = env.requestant.feed !== null;
      const body = streamed ? "" : Buffer.from(env.requestant.body).toString();
      seen.push([new URL(request.url).pathname, streamed, body || (await request.text())]);
      return new Response("ok");
    }, { stream: 4 });
    const raw = "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nfour"
      + "POST /large HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfive!"
      + "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\n\r\n";
    await drive(step, rawRequest(port, raw, { until: responses(3) }));
    expect(seen).toEqual([["/small", false, "four"], ["/large", true, "five!"], ["/chunked", true, "c"]]);
  });

  it("reads a streamed body once through json(), arrayBuffer() or bytes(); a second read is refused", async () => {
    const results: unknown[] = [];
    const { port, step } = open(async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/json") results.push(await request.json());
      if (path === "/buffer") results.push(new TextDecoder().decode(await request.arrayBuffer()));
      if (path === "/bytes") results.push(Buffer.from(await request.bytes()).toString());
      results.push(request.bodyUsed, await request.text().catch((error: unknown) => (error as Error).name));
      return new Response("ok");
    });
    const post = (path: string, body: string): string => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    await drive(step, rawRequest(port, post("/json", '{"a":[1,2]}') + post("/buffer", "buffer") + post("/bytes", "bytes"), { until: responses(3) }));
    expect(results).toEqual([{ a: [1, 2] }, true, "TypeError", "buffer", true, "TypeError", "bytes", true, "TypeError"]);
  });

  it("refuses a stream option that is not a boolean or a byte count", () => {
    for (const stream of [-1, Number.NaN, "yes"]) {
      expect(() => new http.Server({ app: () => new Response(), stream: stream as number })).toThrow(TypeError);
    }
  });
});

describe("streamed request bodies in simulated tyme", () => {
  it("fills rxbs to its high-water mark and no further while the app does not read, then takes the rest", async () => {
    const network = new tcp.MemoryNetwork({ latency: 1 / 64 });
    const reading = gate();
    const size = 32 * MiB;
    const server = http.openServer({ app: async (request) => {
      await reading.opened;
      return new Response(String(await sizeOf(request.body!)));
    }, network, host: "127.0.0.1", port: 80, stream: true, limits: { maxBody: size } });
    const client = new tcp.Client({ network, ha: ["127.0.0.1", 80] });
    const trace: Array<[number, string]> = [];
    let most = 0; // most bytes the server's connection held: rxbs and the feed's unread
    let waited = 0; // the same, once the app had waited 4 s
    const piece = new Uint8Array(65536).fill(0x61);
    const peer = new (class extends Doer {
      written = 0;
      reply = "";
      override enter(): void {
        client.wind(this.tymth);
        client.reopen();
      }
      override exit(): void {
        client.close();
      }
      override recur(tyme: number): boolean {
        client.service();
        if (client.connected && this.written === 0) client.tx(`PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: ${size}\r\n\r\n`);
        while (client.connected && this.written < size && client.txbs.length < 262144) {
          client.tx(piece);
          this.written += piece.length;
        }
        for (const steward of server.stewards.values()) most = Math.max(most, steward.remoter.rxbs.length + (steward.requestant.feed?.unread ?? 0));
        if (tyme === 4) {
          waited = most;
          trace.push([tyme, `written ${this.written >= size ? "all" : "part"}`]);
          reading.open();
        }
        this.reply += Buffer.from(client.rxbs.take()).toString("latin1");
        if (this.reply.endsWith(`\r\n\r\n${size}`)) {
          trace.push([tyme, "answered"]);
          return true;
        }
        return false;
      }
    })();
    const doist = new Doist({ tock: 1 / 64 });
    const serving = new http.ServerDoer({ server });
    await doist.do({ doers: [serving, peer], limit: 100 });
    server.close();
    expect(trace).toEqual([[4, "written part"], [6.03125, "answered"]]);
    expect(waited).toBeGreaterThanOrEqual(MiB); // rxbs held the body up to the high-water mark...
    expect(waited).toBeLessThanOrEqual(MiB + 262144); // ...and one receive more at most
    expect(most).toBeLessThanOrEqual(MiB + 2 * 262144); // the feed's budget besides, once the app reads
  });
});

describe("Requestant with a streamed body", () => {
  it("stops at the head and leaves the body in rxbs until the feed's reader asks", async () => {
    const msg = new ByteBuffer();
    let demands = 0;
    const r = new Requestant({ msg, streamAbove: 0, onDemand: () => (demands += 1) });
    msg.push("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc");
    expect([r.parse(), r.headed, r.ended, r.streaming]).toEqual([true, true, false, true]);
    expect([r.parse(), msg.length]).toEqual([true, 3]); // no reader yet: the body stays put
    const reader = r.feed!.stream.getReader();
    const first = reader.read();
    await new Promise((resolve) => setImmediate(resolve)); // the stream starts, then pulls
    expect(demands).toBe(1);
    r.parse();
    expect(await first).toEqual({ done: false, value: new TextEncoder().encode("abc") });
    msg.push("def");
    r.parse();
    expect([r.ended, r.streaming, r.length, msg.length]).toEqual([true, false, 6, 0]);
    expect(await reader.read()).toEqual({ done: false, value: new TextEncoder().encode("def") });
    expect((await reader.read()).done).toBe(true);
  });

  it("errors the stream with 413 once a chunk would pass maxBody, before taking its data", async () => {
    const msg = new ByteBuffer();
    const r = new Requestant({ msg, streamAbove: 0, limits: { maxBody: 4 } });
    msg.push("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    r.parse();
    const reading = new Response(r.feed!.stream).text();
    for (let i = 0; i < 4 && !r.errored; i++) {
      r.parse();
      await Promise.resolve();
    }
    expect([r.errored, r.error?.status]).toEqual([true, 413]);
    await expect(reading).rejects.toMatchObject({ status: 413 });
  });
});
