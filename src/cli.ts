#!/usr/bin/env node
/**
 * The hio-ts command line: `hio-ts replay <log> --app <module>` replays a recorded session (a
 * server's `record` option) against the app the module exports, in simulated tyme, and prints
 * "N connections, M requests, identical" (exit code 0) or the first difference (exit code 1).
 * Exit code 2: it could not run (usage, an unreadable log, an app that does not load).
 *
 *   npx hio-ts replay session.log --app ./app.ts [--tock 1/256] [--slack 1] [--settle 2] [--json]
 *   npx tsx src/cli.ts replay ...                 (in a clone of hio-ts)
 *
 * The module exports the app as its default, or as `app` or `fetch`: a fetch handler
 * `(request, env) => Response`, or an object with a `fetch` method (a Hono app). A TypeScript
 * module is loaded through tsx when the project has it (`npm install -D tsx`).
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { formatReport, replay } from "./testing/replaying.ts";
import type { ReplayReport } from "./testing/replaying.ts";
import type { FetchApp } from "./http/server/app.ts";
import type { Fetcher } from "./testing/requesting.ts";

const USAGE = `usage: hio-ts replay <session.log> --app <module> [--tock <tyme>] [--slack <tyme>] [--settle <tyme>] [--json]

Replays a recorded session against the app <module> exports (default, app or fetch) in
simulated tyme; prints "N connections, M requests, identical" (exit 0) or the first
difference (exit 1).`;

/** An error to print as it is, without a stack: the user has something to do. */
class Usage extends Error {}

function tyme(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const [over, under] = text.split("/");
  const value = under === undefined ? Number(over) : Number(over) / Number(under);
  if (!(value > 0) || !Number.isFinite(value)) throw new Usage(`--${name} takes a positive tyme in seconds (0.25 or 1/256), not ${text}`);
  return value;
}

/** Imports a module by path; a TypeScript one through tsx's loader when node cannot load it itself. */
async function load(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  if (!/\.[mc]?tsx?$/.test(file)) return import(url) as Promise<Record<string, unknown>>;
  const api = await tsxApi(file);
  if (api !== null) {
    api.register();
    return import(url) as Promise<Record<string, unknown>>;
  }
  try {
    return await (import(url) as Promise<Record<string, unknown>>);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== "ERR_UNKNOWN_FILE_EXTENSION" && code !== "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING" && !(error instanceof SyntaxError)) throw error;
    throw new Usage(`cannot load ${file}: node does not run TypeScript by itself here. ` +
      "Install tsx in your project (npm install -D tsx) and run this again, or run it through tsx " +
      "(npx tsx node_modules/hio-ts/dist/src/cli.js replay ...), or point --app at a built .js module.");
  }
}

/** tsx's ESM API (register), found from the app's folder or from hio-ts's; null without tsx. */
async function tsxApi(file: string): Promise<{ register: () => unknown } | null> {
  for (const from of [file, fileURLToPath(import.meta.url)]) {
    try {
      const manifest = createRequire(from).resolve("tsx/package.json");
      const { exports } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { exports?: Record<string, unknown> };
      const entry = exports?.["./esm/api"] as { import?: { default?: string } | string } | undefined;
      const target = typeof entry?.import === "string" ? entry.import : entry?.import?.default;
      if (target === undefined) continue;
      const api = await import(pathToFileURL(path.join(path.dirname(manifest), target)).href) as { register?: unknown };
      if (typeof api.register === "function") return { register: api.register as () => unknown };
    } catch {
      // not installed there
    }
  }
  return null;
}

/** The app a module exports: default, app or fetch; a handler or an object with fetch. */
function appOf(module: Record<string, unknown>, file: string): FetchApp | Fetcher {
  for (const name of ["default", "app", "fetch"]) {
    const value = module[name];
    if (typeof value === "function") return value as FetchApp;
    if (typeof value === "object" && value !== null && typeof (value as Fetcher).fetch === "function") return value as Fetcher;
  }
  throw new Usage(`${file} exports no app: export default a fetch handler (request, env) => Response, ` +
    "or an object with a fetch method (a Hono app), or export it as `app` or `fetch`");
}

/** Runs the command line `args` (without node and the script); resolves with the exit code. */
export async function main(args: readonly string[], out: (line: string) => void = console.log,
                           err: (line: string) => void = console.error): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        app: { type: "string" },
        tock: { type: "string" },
        slack: { type: "string" },
        settle: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      out(USAGE);
      return 0;
    }
    const [command, log, ...extra] = positionals;
    if (command !== "replay") throw new Usage(command === undefined ? USAGE : `unknown command ${command}\n${USAGE}`);
    if (log === undefined || extra.length > 0) throw new Usage(USAGE);
    if (values.app === undefined) throw new Usage(`--app is needed: the module whose app to replay against\n${USAGE}`);
    const file = path.resolve(values.app);
    const app = appOf(await load(file), values.app);
    const tock = tyme("tock", values.tock);
    const slack = tyme("slack", values.slack);
    const settle = tyme("settle", values.settle);
    const report = await replay({
      log, app,
      ...(tock === undefined ? {} : { tock }),
      ...(slack === undefined ? {} : { slack }),
      ...(settle === undefined ? {} : { settle }),
    });
    out(values.json ? JSON.stringify(plain(report), null, 2) : formatReport(report));
    return report.identical ? 0 : 1;
  } catch (error) {
    if (error instanceof Usage || (error as { code?: unknown }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      err((error as Error).message);
    } else if ((error as { code?: unknown }).code === "ENOENT") {
      err(`hio-ts: ${(error as Error).message}`);
    } else {
      err(`hio-ts: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
    return 2;
  }
}

/** The report as JSON can carry it (errors as their messages). */
function plain(report: ReplayReport): unknown {
  return { ...report, errors: report.errors.map((error) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))) };
}

/** True when node runs this file (also through npm's bin link), not when it is imported. */
function invoked(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(fs.realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (invoked()) process.exitCode = await main(process.argv.slice(2));
