/**
 * Raw sockets against the server: a request written a byte per tick, 20 requests pipelined in
 * one write, 50 concurrent keep-alive connections, a reset mid-request, and HEAD's
 * Content-Length. Every server runs on 127.0.0.1 port 0, ticked by a bounded loop.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { drive, parseResponses, rawRequest, responses } from "../helpers.ts";
import { KeepAlive, closeServed, recordingApp, serveApp } from "./clients.ts";

afterEach(closeServed);

describe("raw sockets", () => {
  it("parses a request with a body written one byte per tick", async () => {
    const { app } = recordingApp();
    const { step, port } = serveApp(app);
    const body = '{"slow":"bytes","n":[1,2,3]}';
    const raw = `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    let ticks = 0;
    const reply = await drive(
      () => {
        ticks += 1;
        step();
      },
      rawRequest(port, raw, { split: 1, until: responses(1) }),
    );
    expect(ticks).toBeGreaterThanOrEqual(raw.length); // one byte per turn, a tick per turn
    const [response] = parseResponses(reply.bytes);
    expect(JSON.parse(response!.body.toString())).toMatchObject({ method: "POST", length: body.length, json: JSON.parse(body) });
  });

  it("answers 20 pipelined requests sent in one write, in order, whatever their framing", async () => {
    const { step, port } = serveApp(async (request) => {
      const i = Number(new URL(request.url).searchParams.get("i"));
      const body = request.method === "POST" ? await request.text() : "";
      const text = `${request.method} ${i} ${body}`;
      if (i % 4 !== 1) return new Response(text);
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            // the second half comes turns later, so the head goes out first: framed chunked
            if (sent > 0) for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
            controller.enqueue(new TextEncoder().encode(sent === 0 ? text.slice(0, 3) : text.slice(3)));
            if (++sent === 2) controller.close();
          },
        }),
      );
    });
    const heads: boolean[] = [];
    let raw = "";
    for (let i = 0; i < 20; i++) {
      const method = i % 5 === 4 ? "HEAD" : i % 3 === 0 ? "POST" : "GET";
      heads.push(method === "HEAD");
      const body = method === "POST" ? `body-${i}` : "";
      raw += `${method} /p?i=${i} HTTP/1.1\r\nHost: x\r\n${body ? `Content-Length: ${body.length}\r\n` : ""}\r\n${body}`;
    }
    const reply = await drive(step, rawRequest(port, raw, { until: responses(20, heads) }));
    expect(reply.closed).toBe(false);
    const replies = parseResponses(reply.bytes, { heads });
    expect(replies).toHaveLength(20);
    replies.forEach((r, i) => {
      expect(r.status).toBe(200);
      if (heads[i]) expect(r.body.length).toBe(0);
      else {
        expect(r.framing).toBe(i % 4 === 1 ? "chunked" : "length");
        expect(r.body.toString()).toBe(i % 3 === 0 ? `POST ${i} body-${i}` : `GET ${i} `);
      }
    });
  });

  it("serves 50 concurrent connections, each with 3 keep-alive requests", async () => {
    const ports = new Map<number, string[]>();
    const { step, port, server } = serveApp((request, env) => {
      const id = new URL(request.url).pathname;
      ports.set(env.remotePort, [...(ports.get(env.remotePort) ?? []), id]);
      return new Response(id);
    });
    const connections = Array.from({ length: 50 }, () => new KeepAlive(port));
    let peak = 0;
    const work = Promise.all(
      connections.map(async (connection, c) => {
        const got: string[] = [];
        for (let n = 0; n < 3; n++) {
          const reply = await connection.request(`GET /c${c}/r${n} HTTP/1.1\r\nHost: x\r\n\r\n`);
          got.push(`${reply.status} ${reply.body.toString()}`);
        }
        return got;
      }),
    );
    try {
      const results = await drive(() => {
        step();
        peak = Math.max(peak, server.stewards.size);
      }, work);
      results.forEach((got, c) => expect(got).toEqual([0, 1, 2].map((n) => `200 /c${c}/r${n}`)));
      expect(ports.size).toBe(50);
      for (const ids of ports.values()) {
        expect(ids).toHaveLength(3);
        expect(new Set(ids.map((id) => id.split("/")[1])).size).toBe(1); // one connection, one client
      }
      expect(peak).toBe(50);
      expect(connections.every((c) => !c.closed)).toBe(true);
    } finally {
      for (const connection of connections) connection.close();
    }
  });

  // RFC 9110 §8.6: a server MUST NOT send Content-Length in a response to HEAD unless it equals
  // the length GET would send; for a body of unknown size it sends none.
  it("never advertises a HEAD Content-Length other than GET's body length (RFC 9110 §8.6)", async () => {
    const { app } = recordingApp();
    const { step, port } = serveApp(app);
    const raw = "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    const reply = await drive(step, rawRequest(port, raw, { until: responses(2, [true, false]) }));
    const [head, get] = parseResponses(reply.bytes, { heads: [true, false] });
    expect(get!.body.toString()).toBe("Hello World!");
    expect(head!.body.length).toBe(0);
    // a body given whole has a known size: HEAD advertises exactly GET's length
    expect(head!.get("content-length")).toBe(String(get!.body.length));
  });

  it("keeps serving a fresh connection after a client resets mid-request", async () => {
    const { step, port } = serveApp(() => new Response("still here"));
    const broken = net.connect(port, "127.0.0.1");
    await drive(step, new Promise<void>((resolve) => broken.once("connect", () => resolve())));
    broken.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial");
    for (let i = 0; i < 5; i++) step();
    broken.on("error", () => {});
    broken.resetAndDestroy();
    const reply = await drive(step, rawRequest(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", { until: responses(1) }));
    expect(parseResponses(reply.bytes)[0]!.body.toString()).toBe("still here");
  });
});
