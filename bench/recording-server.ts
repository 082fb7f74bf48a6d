/**
 * The subject of bench/recording.ts: examples/hello.ts's app on http.Server in a real-time Doist,
 * recording every connection to RECORD (a file path) when it is set, else not recording.
 * HIO_SRC points at another checkout's src/index.ts, to compare code before and after a change.
 * Prints `port <n>` once listening; SIGINT or SIGTERM stops it (and flushes the recording).
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import type * as Hio from "../src/index.ts";

const source = process.env.HIO_SRC ? pathToFileURL(path.resolve(process.env.HIO_SRC)).href : "../src/index.ts";
const { Doist, http } = (await import(source)) as typeof Hio;
const hello = (): Response => new Response("Hello World!", { headers: { "content-type": "text/plain" } });
const record = process.env.RECORD ? { record: { path: process.env.RECORD, maxBytes: 256 << 20, files: 2 } } : {};
const server = http.openServer({ app: hello, host: "127.0.0.1", port: 0, ...record });
const doist = new Doist({ real: true, tock: Number(process.env.TOCK ?? 1 / 1024), doers: [new http.ServerDoer({ server })] });
console.log(`port ${server.eha[1]}`);
await doist.do();
await (server as { recorder?: { close(): Promise<void> } | null }).recorder?.close();
