/**
 * Determinism, guarded: one program in simulated tyme (doers, an HTTP server and clients over the
 * in-memory network, a chunked upload, a streamed reply, event streams, a promised reply, a slow
 * peer, testing.request) gives the same tyme-stamped trace on every run, here and in another
 * process: the SHA-256 digests of the traces are equal.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { program } from "./program.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const script = fileURLToPath(new URL("./program.ts", import.meta.url));

/** The digest the program prints when run by another node process. */
function digestElsewhere(): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ["--import", "tsx", script], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout.trim()),
    ),
  );
}

describe("a simulated program traced with testing.Trace", () => {
  it("gives the same trace twice in this process and the same digest in another", async () => {
    const elsewhere = digestElsewhere(); // starts now, runs beside the two runs here
    const first = await program();
    const second = await program();
    expect(second.entries).toEqual(first.entries);
    expect(second.digest()).toBe(first.digest());
    expect(await elsewhere).toBe(first.digest());
  });

  it("did what it says: every exchange answered", async () => {
    const trace = await program();
    const lines = trace.lines().join("\n");
    for (const seen of [
      /client response "\/json" 200/,
      /app "POST \/upload from \d+" "chunk one,chunk two,chunk three"/,
      /client response "\/stream" 200 "part 1 at [\d.]+;part 2 at [\d.]+;part 3 at [\d.]+;"/,
      /client event "3" "event 3 at [\d.]+"/,
      /client response "\/later" 200 "answered at [\d.]+"/,
      /peer rx \d+ "HTTP\/1\.1 200 OK/,
      /peer closed/,
      /tree a 3/,
      /request 200 "data: more 1 at [\d.]+\\n\\ndata: more 2 at [\d.]+\\n\\ndata: more 3 at [\d.]+\\n\\n" false/,
    ]) {
      expect(lines).toMatch(seen);
    }
    expect(trace.only("run")[0]?.slice(3)).toEqual([true]); // ended by its condition, not the limit
    expect(lines).not.toMatch(/GMT/); // every date masked
  });
});
