// Run by plain node in a scratch project with hio-ts installed from its packed tarball:
// the built ESM resolves and serves one real request in a real-time Doist, then stops.
import assert from "node:assert/strict";
import { Doist, http } from "hio-ts";
import * as httpEntry from "hio-ts/http";
import * as tcpEntry from "hio-ts/tcp";
import * as testingEntry from "hio-ts/testing";
import { tcp, testing } from "hio-ts";
import app from "./app.mjs";

assert.equal(httpEntry.Server, http.Server, "hio-ts/http is the module behind the http namespace");
assert.equal(tcpEntry.MemoryNetwork, tcp.MemoryNetwork, "hio-ts/tcp is the module behind the tcp namespace");
assert.equal(testingEntry.request, testing.request, "hio-ts/testing is the module behind the testing namespace");

const simulated = await testingEntry.request(app, "/simulated");
assert.equal(await simulated.text(), "hello /simulated from 127.0.0.1", "testing.request answers in simulated tyme");
// recorded, for check.sh to replay through the hio-ts command
const server = http.openServer({ app, host: "127.0.0.1", port: 0, record: { path: "session.log" }, onError: () => {} });
const serverDoer = new http.ServerDoer({ server });
const doist = new Doist({ real: true, tock: 1 / 256, limit: 20, doers: [serverDoer] });
const running = doist.do();

const base = `http://127.0.0.1:${server.eha[1]}`;
const response = await fetch(`${base}/there`, { signal: AbortSignal.timeout(10_000) });
assert.equal(response.status, 200);
assert.equal(response.headers.get("server"), "hio-ts");
assert.equal(await response.text(), "hello /there from 127.0.0.1");
const teapot = await fetch(`${base}/teapot`, { signal: AbortSignal.timeout(10_000) });
assert.equal(teapot.status, 418);
await teapot.arrayBuffer();

doist.remove([serverDoer]);
await running;
assert.equal(doist.done, true, "the Doist ends by itself once its last doer is removed");
assert.equal(server.opened, false, "the ServerDoer closed its server on exit");
await server.recorder.close();
const replayed = await testing.replay({ log: "session.log", app });
assert.equal(testing.formatReport(replayed), "2 connections, 2 requests, identical", "the recording replays");
console.log(`smoke: served GET /there (200) and /teapot (418) on ${base}, then stopped`);
