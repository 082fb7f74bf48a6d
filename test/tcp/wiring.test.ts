import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { Tymist } from "../../src/base/tyming.ts";
import * as tcp from "../../src/tcp/index.ts";

const decoder = new TextDecoder();

/** One echo over a MemoryNetwork with `wl` on the server; returns the client's key. */
function exchange(wl: tcp.WireLog): string {
  const tymist = new Tymist({ tock: 1 / 32 });
  const network = new tcp.MemoryNetwork({ latency: 1 / 32 });
  using server = tcp.openServer({ network, tymth: tymist.tymen(), wl });
  using client = tcp.openClient({ network, ha: server.eha, tymth: tymist.tymen() });
  client.tx("ping");
  for (let i = 0; i < 8; i++) {
    server.service();
    for (const remoter of server.ixes.values()) if (remoter.rxbs.length) remoter.tx(remoter.rxbs.take());
    server.serviceSendsAllIx();
    client.service();
    tymist.tick();
  }
  expect(client.rxbs.toString()).toBe("ping");
  return tcp.keyOf(client.ca!);
}

describe("tcp.WireLog", () => {
  it("logs rx and tx to memory buffers in hio's format", () => {
    const wl = new tcp.WireLog({ reopen: true });
    const who = exchange(wl);
    expect(decoder.decode(wl.readRx())).toBe(`\nrx ${who}:\nping\n`);
    expect(decoder.decode(wl.readTx())).toBe(`\ntx ${who}:\nping\n`);
    wl.close();
  });

  it("logs both directions to one temp file with a custom format, removed on close", () => {
    const wl = new tcp.WireLog({
      filed: true, temp: true, samed: true, name: "echo", reopen: true,
      fmt: ({ dx, who, data }) => `${dx}|${who}|${decoder.decode(data)};`,
    });
    const who = exchange(wl);
    const { rx, tx } = wl.paths;
    expect(rx).toBe(tx);
    expect(fs.readFileSync(rx!, "utf8")).toBe(`rx|${who}|ping;tx|${who}|ping;`);
    const dir = wl.dirPath!;
    wl.close();
    expect(fs.existsSync(dir)).toBe(false);
  });

  it("logs only what it is asked to", () => {
    const wl = new tcp.WireLog({ rxed: false, reopen: true });
    exchange(wl);
    expect(wl.readRx().length).toBe(0);
    expect(wl.readTx().length).toBeGreaterThan(0);
    wl.close();
  });
});
