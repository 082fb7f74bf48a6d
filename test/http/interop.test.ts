/**
 * The server with clients nobody here wrote: Node's fetch (undici), curl, Python's http.client,
 * and a Hono app run unchanged (raw sockets are in raw.test.ts). Every server runs on 127.0.0.1
 * port 0, ticked by a bounded loop while the client works.
 */
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { app as hono } from "../../examples/hono.ts";
import { drive, parseResponses } from "../helpers.ts";
import { closeServed, driveFor, installed, matchesPattern, pattern, recordingApp, runCommand, serveApp } from "./clients.ts";

afterEach(closeServed);

const hasCurl = installed("curl");
const hasPython = installed("python3");

const MiB = 1 << 20;

const sha256 = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex");

describe("Node's fetch (undici) as the client", () => {
  it("GETs a text body with the server's Date and Server headers", async () => {
    const { app } = recordingApp();
    const { step, url } = serveApp(app);
    const got = await drive(step, fetch(url("/hello")).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() })));
    expect(got.status).toBe(200);
    expect(got.text).toBe("Hello World!");
    expect(got.headers.get("content-length")).toBe("12");
    expect(got.headers.get("content-type")).toBe("text/plain");
    expect(got.headers.get("server")).toBe("hio-ts");
    expect(Date.parse(got.headers.get("date") ?? "")).not.toBeNaN();
  });

  it("POSTs a JSON body that reaches the app whole", async () => {
    const { app } = recordingApp();
    const { step, url } = serveApp(app);
    const sent = { name: "fame", list: [1, 2, 3], nested: { ok: true, text: "héllo ✓" } };
    const reply = await drive(
      step,
      fetch(url("/echo?k=v"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(sent) }).then((r) => r.json()),
    );
    expect(reply).toMatchObject({ method: "POST", query: { k: "v" }, type: "application/json", json: sent });
    expect(reply.length).toBe(Buffer.byteLength(JSON.stringify(sent)));
  });

  it("receives a 1 MiB body whole and in order", async () => {
    const { app } = recordingApp();
    const { step, url } = serveApp(app);
    const got = await drive(step, fetch(url("/big")).then(async (r) => ({ status: r.status, bytes: new Uint8Array(await r.arrayBuffer()) })));
    expect(got.status).toBe(200);
    expect(got.bytes.length).toBe(MiB);
    expect(matchesPattern(got.bytes, 0)).toBe(true);
  });

  it("reuses keep-alive connections for sequential requests", async () => {
    const { app, seen } = recordingApp();
    const { step, url, server } = serveApp(app);
    const sizes: number[] = [];
    let peak = 0;
    const work = (async () => {
      for (let i = 0; i < 8; i++) {
        const r = await fetch(url(["/hello", "/big", "/stream", "/hello"][i % 4]!));
        sizes.push((await r.arrayBuffer()).byteLength);
      }
    })();
    await drive(() => {
      step();
      peak = Math.max(peak, server.stewards.size);
    }, work);
    expect(sizes).toEqual([12, MiB, 14, 12, 12, MiB, 14, 12]);
    // undici hands a connection back to its pool a turn after the body resolves, so requests sent
    // back to back alternate between two pooled connections (it does the same with node:http).
    const perConnection = new Map<number, number>();
    for (const s of seen) perConnection.set(s.remotePort, (perConnection.get(s.remotePort) ?? 0) + 1);
    expect(seen).toHaveLength(8);
    expect(perConnection.size).toBeLessThanOrEqual(2); // 8 requests: connections were reused
    expect(peak).toBe(perConnection.size);
  });
});

describe.skipIf(!hasCurl)(`curl as the client${hasCurl ? "" : " (skipped: curl is not installed)"}`, () => {
  const curl = (args: string[], input?: Uint8Array): Promise<{ code: number | null; stdout: Buffer; stderr: string }> =>
    runCommand("curl", ["-sS", "--max-time", "10", ...args], { input });

  it("GET -i shows a status line, the head and the body", async () => {
    const { app } = recordingApp();
    const { step, url } = serveApp(app);
    const ran = await driveFor(step, curl(["-i", url("/hello")]));
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(0);
    const [reply] = parseResponses(ran.stdout);
    expect(ran.stdout.toString("latin1")).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(reply!.get("content-length")).toBe("12");
    expect(reply!.body.toString()).toBe("Hello World!");
  });

  it("POSTs --data-binary bytes (NUL, CR, LF included) unchanged", async () => {
    const { app } = recordingApp();
    const { step, url } = serveApp(app);
    const body = Buffer.concat([Buffer.from("a\0b\r\nc\n\r"), pattern(70_000)]);
    const ran = await driveFor(step, curl(["--data-binary", "@-", "-H", "content-type: application/octet-stream", url("/echo")], body));
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout.toString())).toMatchObject({ method: "POST", length: body.length, sha256: sha256(body) });
  });

  it("HEAD (-I) twice on one connection: the full head, never a body", async () => {
    const { app, seen } = recordingApp();
    const { step, url } = serveApp(app);
    const ran = await driveFor(step, curl(["-I", url("/big"), url("/big"), "-w", "connects=%{num_connects} size=%{size_download}\n"]));
    expect(ran.code).toBe(0);
    const text = ran.stdout.toString("latin1");
    expect([...text.matchAll(/connects=(\d+) size=(\d+)/g)].map((m) => [m[1], m[2]])).toEqual([
      ["1", "0"],
      ["0", "0"],
    ]);
    const heads = text.split(/connects=\d+ size=\d+\n/).filter((h) => h.length > 0);
    expect(heads).toHaveLength(2);
    for (const head of heads) {
      expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(head.toLowerCase()).toContain("content-type: application/octet-stream\r\n");
      expect(head.endsWith("\r\n\r\n")).toBe(true);
    }
    expect(seen.map((s) => s.method)).toEqual(["HEAD", "HEAD"]);
    expect(seen[0]!.remotePort).toBe(seen[1]!.remotePort);
  });

  it("--http1.0 gets a streamed body close-delimited, then the connection closes", async () => {
    const { app, seen } = recordingApp();
    const { step, url, server } = serveApp(app);
    const ran = await driveFor(step, curl(["-i", "--http1.0", url("/stream")]));
    expect(ran.code).toBe(0);
    const [reply] = parseResponses(ran.stdout, { closed: true });
    expect(reply!.framing).toBe("close");
    expect(reply!.get("connection")).toBe("close");
    expect(reply!.body.toString()).toBe("one;two;three;");
    expect(seen[0]!.version).toBe("HTTP/1.0");
    for (let i = 0; i < 100 && server.stewards.size > 0; i++) step();
    expect(server.stewards.size).toBe(0);
  });

  it("uploads chunked (Transfer-Encoding: chunked from stdin) and the app gets the bytes", async () => {
    const { app, seen } = recordingApp();
    const { step, url } = serveApp(app);
    const body = pattern(300_000);
    const ran = await driveFor(step, curl(["--data-binary", "@-", "-H", "Transfer-Encoding: chunked", "-H", "content-type: application/octet-stream", url("/echo")], body));
    expect(ran.code).toBe(0);
    expect(seen[0]!.te).toBe("chunked");
    expect(JSON.parse(ran.stdout.toString())).toMatchObject({ length: body.length, sha256: sha256(body) });
  });

  it("reuses one connection for two URLs (num_connects 1 then 0)", async () => {
    const { app, seen } = recordingApp();
    const { step, url } = serveApp(app);
    const ran = await driveFor(step, curl([url("/hello"), url("/stream"), "-w", "\n[%{num_connects} %{http_code}]\n"]));
    expect(ran.code).toBe(0);
    expect(ran.stdout.toString()).toBe("Hello World!\n[1 200]\none;two;three;\n[0 200]\n");
    expect(seen.map((s) => s.path)).toEqual(["/hello", "/stream"]);
    expect(seen[1]!.te).toBeNull();
    expect(seen[0]!.remotePort).toBe(seen[1]!.remotePort);
  });
});

const PYTHON = `
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
out = []
c.request("GET", "/hello")
r = c.getresponse()
out.append({"status": r.status, "reason": r.reason, "headers": r.getheaders(), "body": r.read().decode()})
first = c.sock
c.request("POST", "/echo?from=python", body=json.dumps({"snake": [1, 2]}), headers={"Content-Type": "application/json"})
r = c.getresponse()
out.append({"status": r.status, "reason": r.reason, "headers": r.getheaders(), "body": r.read().decode()})
out.append({"same_socket": c.sock is first and first is not None})
c.close()
print(json.dumps(out))
`;

describe.skipIf(!hasPython)(`Python's http.client as the client${hasPython ? "" : " (skipped: python3 is not installed)"}`, () => {
  it("GETs then POSTs on one keep-alive HTTPConnection", async () => {
    const { app, seen } = recordingApp();
    const { step, port } = serveApp(app);
    const ran = await driveFor(step, runCommand("python3", ["-c", PYTHON, String(port)]));
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(0);
    const [get, post, socket] = JSON.parse(ran.stdout.toString()) as [
      { status: number; reason: string; headers: [string, string][]; body: string },
      { status: number; reason: string; headers: [string, string][]; body: string },
      { same_socket: boolean },
    ];
    const header = (h: [string, string][], name: string): string | undefined => h.find(([n]) => n.toLowerCase() === name)?.[1];
    expect([get.status, get.reason, get.body]).toEqual([200, "OK", "Hello World!"]);
    expect(header(get.headers, "content-length")).toBe("12");
    expect(header(get.headers, "server")).toBe("hio-ts");
    expect(post.status).toBe(200);
    expect(header(post.headers, "content-type")).toMatch(/^application\/json/);
    expect(JSON.parse(post.body)).toMatchObject({ method: "POST", query: { from: "python" }, json: { snake: [1, 2] } });
    expect(socket.same_socket).toBe(true);
    expect(seen.map((s) => s.remotePort)).toEqual([seen[0]!.remotePort, seen[0]!.remotePort]);
  });
});

describe("a Hono app (examples/hono.ts) on http.Server, unchanged", () => {
  it("routes GET, params and query, POST JSON with 201, and notFound", async () => {
    const { step, url } = serveApp(hono.fetch);
    const work = (async () => {
      const root = await fetch(url("/"));
      const user = await fetch(url("/users/7?q=x"));
      const echo = await fetch(url("/echo"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ a: [1, "b"] }) });
      const missing = await fetch(url("/nowhere"));
      return {
        root: [root.status, root.headers.get("content-type"), await root.text()],
        user: [user.status, user.headers.get("content-type"), await user.json()],
        echo: [echo.status, await echo.json()],
        missing: [missing.status, await missing.text()],
      };
    })();
    const got = await drive(step, work);
    expect(got.root).toEqual([200, expect.stringMatching(/^text\/plain; ?charset=UTF-8$/i), "Hello Hono!"]);
    expect(got.user).toEqual([200, "application/json", { id: "7", q: "x" }]);
    expect(got.echo).toEqual([201, { got: { a: [1, "b"] } }]);
    expect(got.missing).toEqual([404, "no such page"]);
  });
});
