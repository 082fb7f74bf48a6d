import { afterEach, describe, expect, it } from "vitest";
import { Doist } from "../../src/base/doing.ts";
import { Tymist } from "../../src/base/tyming.ts";
import * as tcp from "../../src/tcp/index.ts";
import { drive, tcpHandles } from "./helpers.ts";

/** A ClientDoer that sends lines on its first recur and traces what comes back, with tyme. */
class TalkerDoer extends tcp.ClientDoer {
  readonly trace: [number, string][] = [];
  #said = false;

  constructor(client: tcp.Client, readonly lines: string[], tock = 0) {
    super({ client, tock });
  }

  override recur(tyme: number): boolean {
    const client = this.client;
    if (!this.#said) {
      for (const line of this.lines) client.tx(line);
      this.#said = true;
      this.trace.push([tyme, "said"]);
    }
    client.service();
    if (client.rxbs.length > 0) this.trace.push([tyme, client.rxbs.take().length + " back"]);
    return false;
  }
}

afterEach(async () => {
  await drive(() => {}, () => tcpHandles() === 0, { turns: 200, what: "all TCP handles closed" });
});

describe("tcp doers", () => {
  it("runs an echo server doer and a client doer in one Doist over real sockets, closing at the end", async () => {
    const doist = new Doist({ tock: 1 / 32, limit: 2 });
    const server = new tcp.Server({ host: "127.0.0.1", port: 0 });
    const client = new tcp.Client({ ha: ["127.0.0.1", 0] });
    const serverDoer = new tcp.EchoServerDoer({ server });
    // the server binds in enter, so the client learns the port from the server doer's enter
    const talker = new (class extends TalkerDoer {
      override enter(): void {
        client.ha = server.eha;
        super.enter();
      }
    })(client, ["ping ", "pong"]);
    await doist.do({ doers: [serverDoer, talker] });
    expect(doist.tyme).toBe(2);
    const back = talker.trace.filter(([, what]) => what.endsWith("back"))
      .reduce((n, [, what]) => n + Number.parseInt(what, 10), 0);
    expect(back).toBe(9);
    expect(server.opened).toBe(false); // exit closed the listener
    expect(server.ixes.size).toBe(0);
    expect(client.opened).toBe(false);
    expect(serverDoer.done).toBe(false); // servers never finish by themselves
  });

  it("winds the server and its remoters with the doer", () => {
    const network = new tcp.MemoryNetwork();
    const before = new Tymist({ tock: 1 / 32 });
    const after = new Tymist({ tyme: 5 });
    using server = tcp.openServer({ network, tymth: before.tymen(), tymeout: 1 });
    using client = tcp.openClient({ network, ha: server.eha, tymth: before.tymen() });
    server.service();
    const [remoter] = [...server.ixes.values()];
    expect(remoter!.tymer.stop).toBe(1);
    const doer = new tcp.ServerDoer({ server });
    doer.wind(after.tymen());
    expect(server.tyme).toBe(5);
    expect(remoter!.tyme).toBe(5);
    expect(remoter!.tymer.stop).toBe(6); // the idle tymer restarts at the new base
    expect(client.opened).toBe(true);
  });

  it("gives the same tyme-stamped trace on every run over a MemoryNetwork", async () => {
    const once = async (): Promise<[number, string][]> => {
      const network = new tcp.MemoryNetwork({ latency: 1 / 16, chunk: 3, gap: 1 / 32 });
      const doist = new Doist({ tock: 1 / 32, limit: 1 });
      const server = new tcp.Server({ network, port: 80 });
      const talker = new TalkerDoer(new tcp.Client({ network, ha: ["127.0.0.1", 80] }), ["abcdefg"]);
      await doist.do({ doers: [new tcp.EchoServerDoer({ server }), talker] });
      expect(network.openEnds).toBe(0);
      expect(network.openListeners).toBe(0);
      return talker.trace;
    };
    const first = await once();
    expect(first).toEqual([
      [0, "said"],
      // connected at 2 * 1/16 = 0.125; "abc" reaches the server at 0.1875, is echoed in that
      // tick and is back at 0.25; the next 3-byte pieces follow 1/32 apart
      [0.25, "3 back"],
      [0.28125, "3 back"],
      [0.3125, "1 back"],
    ]);
    expect(await once()).toEqual(first);
  });
});

describe("tcp.ServerDoer on a port in use", () => {
  it("stops the run with an error that names the address and says what to do", async () => {
    using taken = tcp.openServer({ host: "127.0.0.1", port: 0 });
    const server = new tcp.Server({ host: "127.0.0.1", port: taken.ha[1] });
    const doist = new Doist({ tock: 1 / 32, limit: 1 / 8 });
    await expect(doist.do({ doers: [new tcp.ServerDoer({ server })] })).rejects.toThrow(/127\.0\.0\.1:\d+: is another server using that port/);
    server.close();
  });
});
