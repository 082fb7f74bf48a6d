/**
 * Behind a reverse proxy: nginx (the Debian package) on a free loopback port, with a config
 * written to a temp dir, proxies to our servers in a real-time Doist over kept-alive upstream
 * connections (`proxy_http_version 1.1`, `Connection ""`, `keepalive`). The client talks to
 * nginx from 127.0.0.2, so the client's address differs from nginx's (127.0.0.1) and the
 * server's `trustProxy` can be seen at work. Skipped when nginx is not installed.
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import nodeHttp from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Doist, http } from "../../src/index.ts";
import type { HttpEnv } from "../../src/index.ts";

/** The nginx binary: on PATH, or where Debian puts it (sbin, off a user's PATH). */
function findNginx(): string | null {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/usr/local/sbin"];
  for (const dir of dirs) {
    const file = path.join(dir, "nginx");
    if (dir !== "" && existsSync(file) && spawnSync(file, ["-v"], { stdio: "ignore", timeout: 10_000 }).status === 0) return file;
  }
  return null;
}

const nginx = findNginx();
const CLIENT = "127.0.0.2"; // our client's address as nginx sees it; nginx reaches us from 127.0.0.1
const MiB = 1 << 20;
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** A port free a moment ago, for nginx to listen on. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Waits, bounded, until something accepts on `port`; false when `gone` says to give up. */
async function accepting(port: number, gone: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200 && !gone(); i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.on("connect", () => (socket.destroy(), resolve(true)));
      socket.on("error", () => resolve(false));
    });
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

/** Hands out the next piece of a stream only when the test says so (after reading the last). */
class Gate {
  #open: Array<() => void> = [];
  #passes = 0;

  wait(): Promise<void> {
    if (this.#passes > 0) {
      this.#passes -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#open.push(resolve));
  }

  pass(): void {
    const next = this.#open.shift();
    if (next !== undefined) next();
    else this.#passes += 1;
  }
}

const gate = new Gate();
const encoder = new TextEncoder();

/** Pieces that each wait for the test's pass: only an unbuffered proxy lets the test see them. */
function gated(pieces: string[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i > 0) await gate.wait();
      if (i === pieces.length) {
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(pieces[i++]!));
    },
  });
}

async function app(request: Request, env: HttpEnv): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname.endsWith("/who")) {
    return Response.json({
      remoteAddress: env.remoteAddress,
      remotePort: env.remotePort,
      clientAddress: env.clientAddress,
      connection: request.headers.get("connection"),
    });
  }
  if (pathname === "/upload") {
    const body = new Uint8Array(await request.arrayBuffer());
    return Response.json({ length: body.length, sha256: sha256(body) });
  }
  if (pathname === "/stream/chunks") {
    return new Response(gated(["one\n", "two\n", "three\n"]), { headers: { "content-type": "text/plain" } });
  }
  if (pathname === "/events") {
    // Not under /stream/: nginx buffers this location, and the response turns that off itself.
    const events = [1, 2, 3].map((n) => `id: ${n}\nevent: tick\ndata: {"n":${n}}\n\n`);
    return new Response(gated(events), { headers: { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" } });
  }
  return new Response("not found\n", { status: 404 });
}

function config(dir: string, listen: number, trusted: number, untrusted: number): string {
  const at = (name: string): string => JSON.stringify(path.join(dir, name));
  const proxied = (upstream: string, extra = ""): string => `
      proxy_pass http://${upstream};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;${extra}`;
  // One process (no master), in the foreground: the pid we spawn is all there is to stop.
  return `daemon off;
master_process off;
pid ${at("nginx.pid")};
error_log ${at("error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${at("client_body")};
  proxy_temp_path ${at("proxy")};
  fastcgi_temp_path ${at("fastcgi")};
  uwsgi_temp_path ${at("uwsgi")};
  scgi_temp_path ${at("scgi")};
  client_max_body_size 32m;
  upstream hio { server 127.0.0.1:${trusted}; keepalive 4; }
  upstream plain { server 127.0.0.1:${untrusted}; keepalive 4; }
  server {
    listen 127.0.0.1:${listen};
    location / {${proxied("hio")}
    }
    location /stream/ {${proxied("hio", "\n      proxy_buffering off;")}
    }
    location /plain/ {${proxied("plain")}
    }
  }
}
`;
}

interface Reply {
  status: number;
  headers: nodeHttp.IncomingHttpHeaders;
  body: Buffer;
}

const agent = new nodeHttp.Agent({ keepAlive: true, maxSockets: 4 });

/** One request to nginx from CLIENT; `read` may consume the body as it arrives. */
function ask(
  port: number,
  target: string,
  { method = "GET", headers = {}, body, read }: { method?: string; headers?: Record<string, string>; body?: Uint8Array; read?: (response: nodeHttp.IncomingMessage) => Promise<Buffer> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = nodeHttp.request({ host: "127.0.0.1", port, path: target, method, headers, agent, localAddress: CLIENT, timeout: 15_000 }, (response) => {
      const chunks: Buffer[] = [];
      const whole = read !== undefined ? read(response) : new Promise<Buffer>((done) => {
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => done(Buffer.concat(chunks)));
      });
      whole.then((bytes) => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: bytes }), reject);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer to ${method} ${target}`)));
    request.on("error", reject);
    request.end(body);
  });
}

/** Reads a streamed body piece by piece: after each `mark` appears, lets the app send the next. */
function stepwise(marks: string[]): { read: (response: nodeHttp.IncomingMessage) => Promise<Buffer>; seen: string[] } {
  const seen: string[] = [];
  const read = (response: nodeHttp.IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      let text = "";
      let next = 0;
      response.setEncoding("utf8");
      response.on("data", (piece: string) => {
        text += piece;
        while (next < marks.length && text.includes(marks[next]!)) {
          seen.push(marks[next]!);
          next += 1;
          gate.pass(); // only now may the app send the next piece
        }
      });
      response.on("end", () => resolve(Buffer.from(text)));
      response.on("error", reject);
    });
  return { read, seen };
}

describe.skipIf(nginx === null)(`behind nginx as a reverse proxy${nginx === null ? " (skipped: nginx is not installed)" : ""}`, () => {
  let dir = "";
  let port = 0;
  let proxy: ChildProcess | null = null;
  let proxyExited: Promise<number | null> = Promise.resolve(null);
  let run: Promise<void> = Promise.resolve();
  let before: Function[] = [];

  beforeAll(async () => {
    // Our servers, trusting nginx's address and not, in one real-time Doist.
    const trusted = http.openServer({ app, host: "127.0.0.1", port: 0, trustProxy: ["127.0.0.1"] });
    const untrusted = http.openServer({ app, host: "127.0.0.1", port: 0 });
    const doist = new Doist({ real: true, tock: 1 / 256, grace: 5, doers: [new http.ServerDoer({ server: trusted }), new http.ServerDoer({ server: untrusted })] });
    before = process.listeners("SIGTERM");
    run = doist.do();
    dir = mkdtempSync(path.join(os.tmpdir(), "hio-nginx-"));
    port = await freePort();
    writeFileSync(path.join(dir, "nginx.conf"), config(dir, port, trusted.ha[1], untrusted.ha[1]));
    const started = spawn(nginx!, ["-p", dir, "-e", path.join(dir, "error.log"), "-c", path.join(dir, "nginx.conf")], { stdio: ["ignore", "ignore", "pipe"] });
    proxy = started;
    let stderr = "";
    started.stderr!.on("data", (data: Buffer) => (stderr += data.toString()));
    let gone = false;
    proxyExited = new Promise((resolve) => started.on("exit", (code) => ((gone = true), resolve(code))));
    if (!(await accepting(port, () => gone))) {
      const log = existsSync(path.join(dir, "error.log")) ? readFileSync(path.join(dir, "error.log"), "utf8") : "";
      throw new Error(`nginx did not start listening on 127.0.0.1:${port}:\n${stderr}${log}`);
    }
  });

  afterAll(async () => {
    agent.destroy();
    if (proxy !== null && proxy.exitCode === null && proxy.signalCode === null) {
      proxy.kill("SIGTERM"); // the one nginx process this test started, by its pid
      const stopped = await Promise.race([proxyExited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000))]);
      if (!stopped) proxy.kill("SIGKILL");
    }
    // The Doist's own SIGTERM listener: the servers drain and the run ends.
    for (const listener of process.listeners("SIGTERM").filter((fn) => !before.includes(fn))) (listener as () => void)();
    await run;
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("serves many requests over a few reused upstream connections", async () => {
    const requests = 120;
    const replies: Reply[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < requests / 4; i++) replies.push(await ask(port, "/who"));
      }),
    );
    const seen = replies.map((reply) => JSON.parse(reply.body.toString()) as { remotePort: number; connection: string | null });
    expect(replies.map((reply) => reply.status)).toEqual(Array(requests).fill(200));
    const upstream = new Set(seen.map((who) => who.remotePort)); // each upstream connection's port on nginx's side
    expect(upstream.size).toBeLessThanOrEqual(8); // 4 at a time, 4 kept alive: a handful, not one per request
    expect(seen.every((who) => who.connection === null)).toBe(true); // Connection "" upstream: kept alive
  });

  it("streams a response piece by piece with proxy_buffering off", async () => {
    const { read, seen } = stepwise(["one\n", "two\n", "three\n"]);
    const reply = await ask(port, "/stream/chunks", { read });
    expect(reply.status).toBe(200);
    expect(seen).toEqual(["one\n", "two\n", "three\n"]); // each arrived before the next was made
    expect(reply.body.toString()).toBe("one\ntwo\nthree\n");
  });

  it("passes Server-Sent Events one at a time where the response says X-Accel-Buffering: no", async () => {
    const { read, seen } = stepwise(['data: {"n":1}\n\n', 'data: {"n":2}\n\n', 'data: {"n":3}\n\n']);
    const reply = await ask(port, "/events", { headers: { accept: "text/event-stream" }, read });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("text/event-stream");
    expect(seen).toHaveLength(3);
    const events = reply.body.toString().split("\n\n").filter((block) => block !== "");
    expect(events).toEqual([1, 2, 3].map((n) => `id: ${n}\nevent: tick\ndata: {"n":${n}}`));
  });

  it("takes a large upload whole: its length and checksum come back", async () => {
    const body = new Uint8Array(6 * MiB + 12345);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 13)) & 0xff;
    const reply = await ask(port, "/upload", { method: "POST", headers: { "content-type": "application/octet-stream" }, body });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString())).toEqual({ length: body.length, sha256: sha256(body) });
  });

  it("with trustProxy, gives the app the client's address from X-Forwarded-For; remoteAddress stays nginx's", async () => {
    const who = JSON.parse((await ask(port, "/who")).body.toString()) as { remoteAddress: string; clientAddress: string };
    expect([who.remoteAddress, who.clientAddress]).toEqual(["127.0.0.1", CLIENT]);
    // A client's own X-Forwarded-For is kept by nginx on the left; the walk stops at CLIENT, untrusted.
    const forged = JSON.parse((await ask(port, "/who", { headers: { "x-forwarded-for": "6.6.6.6" } })).body.toString()) as { clientAddress: string };
    expect(forged.clientAddress).toBe(CLIENT);
  });

  it("by default ignores X-Forwarded-For: the client is nginx", async () => {
    const who = JSON.parse((await ask(port, "/plain/who")).body.toString()) as { remoteAddress: string; clientAddress: string };
    expect([who.remoteAddress, who.clientAddress]).toEqual(["127.0.0.1", "127.0.0.1"]);
  });
});
