/**
 * The README's tour runs as printed: its code blocks that end by themselves are run with tsx
 * (imports pointed at this checkout) and must print what the README says they print.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const blocks = [...readFileSync(path.join(root, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = mkdtempSync(path.join(os.tmpdir(), "hio-readme-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(index: number): Promise<string> {
  const entry = pathToFileURL(path.join(root, "src", "index.ts")).href;
  const file = path.join(dir, `block${index}.mts`);
  writeFileSync(file, blocks[index]!.replaceAll('"./src/index.ts"', JSON.stringify(entry)));
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ["--import", "tsx", file], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

describe("README", () => {
  it("has the tour's blocks", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  it("doers in simulated tyme print the trace in the comment", async () => {
    const printed = (await run(0)).replace(/\s+/g, "");
    const comment = /\/\/ (enter@.*)/.exec(blocks[0]!)![1]!;
    const expected = comment.split(", ").map((entry) => {
      const [what, tyme] = entry.split("@");
      return `[${tyme},'${what!.replace(/\s/g, "")}']`;
    });
    expect(printed).toBe(`[${expected.join(",")}]`);
  });

  it("the simulated network exchange prints status 200 at tyme 1", async () => {
    const block = blocks.findIndex((b) => b.includes("MemoryNetwork"));
    expect((await run(block)).trim()).toBe("200 1");
  });

  it("testing.request prints the echo, and the fault of a Content-Length that lies", async () => {
    const block = blocks.findIndex((b) => b.includes("testing.request("));
    const printed = (await run(block)).trim().split("\n");
    const comments = [...blocks[block]!.matchAll(/\/\/ (.*)/g)].map((m) => m[1]!);
    expect(printed).toEqual([comments[0], "hello", comments[2]]);
  });
});
