/**
 * A TCP echo server doer and a client doer in one Doist, over real loopback sockets.
 * The server listens on 127.0.0.1 at a free port; the client sends a few lines, one per
 * quarter tyme, and prints what comes back. The Doist's limit ends the run, and every
 * doer's exit closes its sockets, so the process ends by itself.
 *
 *   npx tsx examples/echo-tcp.ts
 */
import { Doist } from "../src/base/doing.ts";
import * as tcp from "../src/tcp/index.ts";

/** Says one line per recur (its tock paces it) and prints the echoes as they arrive. */
class ChatterDoer extends tcp.ClientDoer {
  readonly lines: string[];
  readonly server: tcp.Server;

  constructor({ client, server, lines, tock }:
              { client: tcp.Client; server: tcp.Server; lines: string[]; tock: number }) {
    super({ client, tock });
    this.server = server;
    this.lines = [...lines];
  }

  override enter(): void {
    this.client.ha = this.server.eha; // bound by the server doer's enter, just before
    super.enter();
    console.log(`client: connecting to ${tcp.keyOf(this.client.ha)}`);
  }

  override recur(tyme: number): boolean {
    const client = this.client;
    client.serviceConnect();
    if (client.connected && this.lines.length > 0) {
      const line = this.lines.shift()!;
      client.tx(line); // goes out with the sends just below
      console.log(`[${tyme.toFixed(3)}] client -> ${JSON.stringify(line)}`);
    }
    client.serviceSends();
    client.serviceReceives();
    if (client.rxbs.length > 0) {
      console.log(`[${tyme.toFixed(3)}] client <- ${JSON.stringify(client.rxbs.toString())}`);
      client.clearRxbs();
    }
    return false;
  }

  override exit(): void {
    super.exit();
    console.log("client: closed");
  }
}

const server = new tcp.Server({ host: "127.0.0.1", port: 0, tymeout: 2 });
const client = new tcp.Client({ host: "127.0.0.1", port: 0 });
const doers = [
  new tcp.EchoServerDoer({ server }),
  new ChatterDoer({ client, server, lines: ["hello", "from", "hio-ts"], tock: 0.25 }),
];
const doist = new Doist({ tock: 1 / 32, limit: 1.5 });
await doist.do({ doers });
console.log(`server: ${server.opened ? "still open" : "closed"} at tyme ${doist.tyme}`);
