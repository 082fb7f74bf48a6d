/**
 * The inspector page of `npm start` (examples/demo.ts) in a real browser: Chromium, driven by
 * playwright-core, against the demo run as a user runs it (a child process on a free port). The
 * page must load whole (no console error, no failed request, no 404, favicon included), draw the
 * three machines, follow tyme, show a connection this test opens (with its machines' states) and
 * drop it when the test closes it, open connections from its button, and let go of its feed when
 * it is closed. A screenshot with the test's connection in view goes to test/.artifacts/.
 *
 * Chromium is $CHROMIUM, else chromium (Debian's package) or Chrome on the PATH; without one the
 * test skips.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { connect } from "node:net";
import { delimiter, join } from "node:path";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { http } from "../../src/index.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const artifacts = fileURLToPath(new URL("../.artifacts", import.meta.url));

/** A Chromium to drive: $CHROMIUM, else the first of its usual names on the PATH. */
function findChromium(): string | null {
  if (process.env.CHROMIUM) return existsSync(process.env.CHROMIUM) ? process.env.CHROMIUM : null;
  const folders = (process.env.PATH ?? "").split(delimiter).filter((folder) => folder !== "");
  for (const name of ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome"]) {
    for (const folder of folders) if (existsSync(join(folder, name))) return join(folder, name);
  }
  return null;
}

const executablePath = findChromium();
if (executablePath === null) console.log("test/browser: no Chromium found (set CHROMIUM, or apt-get install chromium): the inspector page test skips");

/** Polls `check` every 50 ms until it returns a value other than undefined, for at most `ms`. */
async function until<T>(what: string, ms: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Snapshot {
  feeds: number;
  connections: { role: string | null }[];
}

/** Reads `/inspect` from this process until a snapshot passes `check` (within `ms`), then cancels it. */
async function watchUntil(base: string, what: string, ms: number, check: (snapshot: Snapshot) => boolean): Promise<Snapshot> {
  const response = await fetch(`${base}inspect`, { signal: AbortSignal.timeout(ms) });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let last: Snapshot | null = null;
  try {
    for (;;) {
      for (let match = /^data: (.*)\n\n/m.exec(text); match !== null; match = /^data: (.*)\n\n/m.exec(text)) {
        text = text.slice(match.index + match[0].length);
        last = JSON.parse(match[1]!) as Snapshot;
        if (check(last)) return last;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`the feed ended before ${what}`);
      text += value;
    }
  } catch (error) {
    throw new Error(`${what}: not seen within ${ms} ms (last snapshot: ${last === null ? "none" : `${last.feeds} feed(s), roles ${JSON.stringify(last.connections.map((c) => c.role))}`})`, { cause: error });
  } finally {
    await reader.cancel().catch(() => {});
  }
}

describe.skipIf(executablePath === null)(`the inspector page in Chromium${executablePath === null ? " (skipped: no Chromium; set CHROMIUM or install chromium)" : ""}`, () => {
  let child: ChildProcess | null = null;
  let browser: Browser | null = null;
  let socket: Socket | null = null;

  afterAll(async () => {
    socket?.destroy();
    await browser?.close();
    if (child !== null && child.exitCode === null) child.kill("SIGKILL");
  });

  it("shows the deeds, the connections with their machines' states and the diagrams, live; closing it ends its feed", async () => {
    const demo = spawn(process.execPath, ["--import", "tsx", "examples/demo.ts"], {
      cwd: root,
      env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LIMIT: "300" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = demo;
    let output = "";
    demo.stdout!.on("data", (data: Buffer) => (output += data.toString()));
    demo.stderr!.on("data", (data: Buffer) => (output += data.toString()));
    const exited = new Promise<number | null>((resolve) => demo.on("exit", (code) => resolve(code)));
    const base = await until("the demo's URL", 20_000, () => /http:\/\/127\.0\.0\.1:\d+\//.exec(output)?.[0]);
    const port = Number(new URL(base).port);

    browser = await chromium.launch({ executablePath: executablePath!, headless: true, args: ["--no-sandbox"], timeout: 30_000 });
    const page: Page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(20_000);
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("requestfailed", (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText ?? ""}`));
    page.on("response", (response) => {
      if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
    });

    await page.goto(base, { waitUntil: "load", timeout: 30_000 });
    expect(new URL(page.url()).pathname).toBe("/static/");

    // The machines drawn by Mermaid: one svg each, with a node per state of its table.
    await page.waitForFunction(() => document.querySelectorAll("figure .diagram svg").length === 3, null, { timeout: 30_000 });
    for (const [machine, table] of [["steward", http.stewardTable], ["requestant", http.requestantTable], ["responder", http.responderTable]] as const) {
      const ids = await page.$$eval(`figure[data-machine="${machine}"] svg g.node`, (nodes) => nodes.map((node) => node.id));
      for (const state of table.states) expect(ids.some((id) => id.includes(`-state-${state.replaceAll(".", "_")}-`)), `${machine} ${state}`).toBe(true);
    }

    // Tyme advances, and the deed tree lists the demo's doers.
    const tymeNow = async (): Promise<number> => Number(await page.textContent("#tyme"));
    const first = await until("a tyme", 10_000, async () => {
      const tyme = await tymeNow();
      return Number.isFinite(tyme) ? tyme : undefined;
    });
    await until("tyme to advance", 10_000, async () => ((await tymeNow()) > first ? true : undefined));
    const deeds = await page.$$eval("#tree .name", (names) => names.map((name) => name.textContent));
    expect(deeds).toEqual(["doist", "tick.first", "ServerDoer", "Beat", "tick.last"]);

    // A connection of this test's own: one request that streams for a minute, kept open.
    const raw = connect(port, "127.0.0.1");
    socket = raw;
    let received = "";
    raw.on("data", (data: Buffer) => (received += data.toString("latin1")));
    await new Promise<void>((resolve, reject) => raw.once("connect", resolve).once("error", reject));
    raw.write("GET /slow?beats=240 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await until("the slow answer's head", 10_000, () => (received.startsWith("HTTP/1.1 200") ? true : undefined));
    const peer = `127.0.0.1:${raw.localPort}`;
    const row = page.locator(`#live tr[data-peer="${peer}"]`);
    await until("the test's connection streaming in the page", 10_000, async () =>
      (await row.count()) === 1 && (await row.locator("td.responder").textContent())?.startsWith("streaming.") ? true : undefined,
    );
    expect(await row.locator("td.steward").textContent()).toBe("answering.plain");
    expect(http.requestantTable.states).toContain(await row.locator("td.requestant").textContent());
    expect(await row.locator("td.requests").textContent()).toBe("1");
    expect(await row.getAttribute("data-role")).toBe("slow");
    expect(await row.locator(".transitions li").count()).toBeGreaterThan(0);
    const id = (await row.getAttribute("data-id"))!;

    // Followed in the diagrams: its current states are marked.
    await row.locator("td.id").click();
    await until("the diagrams to follow it", 10_000, async () => ((await page.textContent("#following"))?.includes(id) ? true : undefined));
    await until("its states marked in the diagrams", 10_000, async () => {
      const [steward, responder] = await page.evaluate(() =>
        ["steward", "responder"].map((machine) => document.querySelector(`figure[data-machine="${machine}"] g.node.current`)?.id ?? ""),
      );
      return steward?.includes("-state-answering_plain-") && /-state-streaming_[a-z]+-/.test(responder ?? "") ? true : undefined;
    });
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "inspector.png"), fullPage: true });

    // Closed by the test: gone from the open connections, listed among the recently closed.
    raw.destroy();
    socket = null;
    await until("the test's connection to leave the page", 10_000, async () => ((await row.count()) === 0 ? true : undefined));
    await until("it among the recently closed", 10_000, async () => ((await page.locator(`#closed tr[data-id="${id}"]`).count()) === 1 ? true : undefined));

    // The button opens four connections, each a slow answer the page shows.
    await page.click("#slow");
    await until("four slow connections", 10_000, async () => ((await page.locator('#live tr[data-role="slow"]').count()) >= 4 ? true : undefined));

    expect(problems).toEqual([]); // taken before the page closes: closing it fails its streams on purpose
    await page.close();

    // Closing the page ended its feed on the server: the next feed is the only one.
    // (A stream's end shows when the server next writes to it: a peer's FIN alone may be a half-close.)
    await watchUntil(base, "the page's feed to end", 15_000, (now) => now.feeds === 1 && now.connections.filter((c) => c.role === "inspector feed").length === 1);

    demo.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output).toMatch(/demo stopped at tyme \d/);
  }, 120_000);
});
