/**
 * The examples run as a user runs them (`node --import tsx examples/<name>.ts`): the ones that
 * end by themselves end with status 0 and print what they promise; the servers answer on a
 * free port and, on SIGTERM as on SIGINT (what a process manager and Ctrl-C send), print their
 * stop line and end with status 0.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const started = new Set<ChildProcess>();

afterEach(() => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
  started.clear();
});

function start(name: string, env: Record<string, string> = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", `examples/${name}.ts`], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.add(child);
  let text = "";
  child.stdout!.on("data", (data: Buffer) => (text += data.toString()));
  child.stderr!.on("data", (data: Buffer) => (text += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function runToEnd(name: string): Promise<string> {
  const { output, exited } = start(name);
  expect(await exited).toBe(0);
  return output();
}

/** Waits for the server's "http://127.0.0.1:PORT/" line and returns its base URL. */
async function listening(output: () => string, exited: Promise<number | null>): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const match = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(output());
    if (match) return match[0];
    const done = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50))]);
    if (done) break;
  }
  throw new Error(`no URL printed; output was:\n${output()}`);
}

describe("examples that end by themselves", () => {
  it("doers-in-doist: three doers share one tyme until the limit", async () => {
    expect(await runToEnd("doers-in-doist")).toMatch(/doist done false at tyme 1; fast true, slow false, count true/);
  });

  it("dodoer-tree: exits nest inside enters", async () => {
    expect(await runToEnd("dodoer-tree")).toMatch(/house: exit \(done false\)/);
  });

  it("doified-generator: every doified doer ends done", async () => {
    expect(await runToEnd("doified-generator")).toMatch(/done: writer true, quick true, patient true; doist true at 1\.25/);
  });

  it("simulated-test: the trace is exact", async () => {
    expect(await runToEnd("simulated-test")).toMatch(/ok: the trace is \[\[0\.625,"pressed"\]\]/);
  });

  it("echo-tcp: the client gets its lines echoed over real sockets", async () => {
    const output = await runToEnd("echo-tcp");
    expect(output).toMatch(/client <- "hio-ts"/);
    expect(output).toMatch(/server: closed at tyme 1\.5/);
  });

  it("machines: draws the five connection machines (three server, two client) as Mermaid diagrams", async () => {
    const output = await runToEnd("machines");
    expect(output.match(/```mermaid\nstateDiagram-v2/g)).toHaveLength(5);
    expect(output).toContain("## respondent");
  });

  it("client: an http.Client and a server in one Doist on one connection", async () => {
    expect(await runToEnd("client")).toMatch(/done: 1 connection\(s\) opened by the client/);
  });
});

describe("example servers", () => {
  /** Starts an example, runs `check` once it listens, sends `signal`, and expects a clean stop. */
  async function serve(name: string, stopped: RegExp, check: (base: string) => Promise<void>, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const { child, output, exited } = start(name, { PORT: "0", HOST: "127.0.0.1", LIMIT: "60" });
    const base = await listening(output, exited);
    await check(base);
    child.kill(signal); // the real-time Doist stops on SIGTERM and SIGINT, drains, exits its doers
    expect(await exited).toBe(0);
    expect(output()).toMatch(stopped);
  }

  it("a PORT that is not a port stops the server with one line saying what to give", async () => {
    for (const name of ["hello", "echo", "hono", "demo", "cluster"]) {
      const { output, exited } = start(name, { PORT: "abc", HOST: "127.0.0.1", LIMIT: "60" });
      expect(await exited).toBe(2);
      expect(output().trim()).toBe('PORT must be a port number from 0 to 65535 (0 picks a free port), not "abc": give e.g. PORT=8080, or PORT=0 for any free port');
    }
  });

  const hello = async (base: string): Promise<void> => {
    const response = await fetch(base);
    expect(response.headers.get("content-type")).toBe("text/plain");
    expect(await response.text()).toBe("Hello World!");
  };

  it("hello answers Hello World! as text/plain and stops on SIGTERM", async () => {
    await serve("hello", /hello server stopped at tyme \d/, hello);
  });

  it("hello stops on SIGINT (Ctrl-C) the same way", async () => {
    await serve("hello", /hello server stopped at tyme \d/, hello, "SIGINT");
  });

  it("echo answers the conformance contract: target as received, every field line in order", async () => {
    await serve("echo", /echo server stopped at tyme \d/, async (base) => {
      const response = await fetch(`${base}a%20b?x=1`, { method: "POST", body: "hi", headers: { "X-One": "1" } });
      const echoed = (await response.json()) as { method: string; target: string; headers: [string, string][]; body: string };
      expect(echoed.method).toBe("POST");
      expect(echoed.target).toBe("/a%20b?x=1");
      expect(echoed.headers.filter(([name]) => name.toLowerCase() === "x-one")).toEqual([[expect.any(String), "1"]]);
      expect(echoed.body).toBe("hi");
    });
  });

  it("cluster serves from worker processes and stops them all on SIGTERM to the primary", async () => {
    const { child, output, exited } = start("cluster", { PORT: "0", HOST: "127.0.0.1", WORKERS: "2" });
    const base = await listening(output, exited);
    const answer = (await (await fetch(`${base}x`)).json()) as { worker: number; path: string };
    expect(answer.path).toBe("/x");
    expect(answer.worker).not.toBe(child.pid); // a worker answered, not the primary
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output()).toMatch(/cluster stopped after 0 restart\(s\)/);
  });

  it("hono runs a Hono app unchanged", async () => {
    await serve("hono", /Hono on hio-ts stopped at tyme \d/, async (base) => {
      expect(await (await fetch(`${base}users/7?q=x`)).json()).toEqual({ id: "7", q: "x" });
    });
  });

  it("demo ends its streams on SIGTERM, so the graceful stop finishes them whole instead of waiting out the grace", async () => {
    const { child, output, exited } = start("demo", { PORT: "0", HOST: "127.0.0.1", LIMIT: "60" });
    const base = await listening(output, exited);
    const readAll = async (response: Response): Promise<string> => {
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      for (let part = await reader.read(); !part.done; part = await reader.read()) text += part.value;
      return text;
    };
    const feed = await fetch(`${base}inspect`);
    const slow = await fetch(`${base}slow?beats=240`); // a minute of beats, once its head has come
    const feedText = readAll(feed);
    const slowText = readAll(slow);
    child.kill("SIGTERM");
    // Both bodies end with their last chunk (a cut connection would fail the read instead).
    const [feedBody, slowBody] = await Promise.all([feedText, slowText]);
    expect(feedBody).toMatch(/^retry: 1000\n\n(data: \{.*\}\n\n)+$/);
    expect(slowBody).toMatch(/^(beat \d+ of 240 at tyme \d+\.\d{3}\n)*$/);
    expect(await exited).toBe(0);
    expect(output()).toMatch(/demo stopped at tyme \d/);
  });

  it("demo (npm start) serves the inspector page, its feed of snapshots, the machines, a slow answer and a JSON echo", async () => {
    await serve("demo", /demo stopped at tyme \d/, async (base) => {
      const page = await fetch(`${base}static/`);
      expect(page.headers.get("content-type")).toMatch(/text\/html/);
      expect(await page.text()).toMatch(/<h1>hio-ts<\/h1>/);
      const machines = (await (await fetch(`${base}machines.json`)).json()) as Record<string, string>;
      expect(Object.keys(machines).sort()).toEqual(["requestant", "responder", "steward"]);
      for (const text of Object.values(machines)) expect(text).toMatch(/^stateDiagram-v2\n/);
      expect((await fetch(`${base}vendor/mermaid/mermaid.esm.min.mjs`, { method: "HEAD" })).status).toBe(200);
      const echoed = (await (await fetch(`${base}echo`, { method: "POST", body: "x" })).json()) as { body: string };
      expect(echoed.body).toBe("x");
      const slow = await (await fetch(`${base}slow?beats=2`)).text();
      expect(slow).toMatch(/^beat 1 of 2 at tyme \d+\.\d{3}\nbeat 2 of 2 at tyme \d+\.\d{3}\n$/);
      const stream = await fetch(`${base}inspect`);
      expect(stream.headers.get("content-type")).toBe("text/event-stream");
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!/^data: .*\n\n/m.test(text)) text += (await reader.read()).value ?? "";
      const snapshot = JSON.parse(/^data: (.*)$/m.exec(text)![1]!) as { tyme: number; feeds: number; doist: { deeds: { name: string }[] }; connections: { role: string | null }[] };
      expect(snapshot.tyme).toBeGreaterThan(0);
      expect(snapshot.feeds).toBe(1);
      expect(snapshot.doist.deeds.map((deed) => deed.name)).toEqual(["tick.first", "ServerDoer", "Beat", "tick.last"]);
      expect(snapshot.connections.map((connection) => connection.role)).toContain("inspector feed");
      await reader.cancel();
    });
  });
});
