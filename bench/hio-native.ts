/**
 * Hello World the hio way, for bench/http.ts: a BareServer whose Steward answers every request
 * with hio's CustomResponder (`Hello World!`, text/plain), run as examples/hello.ts runs, a
 * ServerDoer in a real-time Doist. No fetch Request or Response is made: the parsed request
 * (the Requestant) goes to `respond()`, and the reply is written straight into the send buffer.
 * Beside hello.ts it shows what the fetch interface costs over the engine itself.
 *
 *   PORT=8080 npx tsx bench/hio-native.ts   # PORT=0 picks a free port
 *   TOCK=1/8192 PORT=8080 npx tsx bench/hio-native.ts   # TOCK: the Doist's tock (default 1/1024)
 */
import { Doist, http } from "../src/index.ts";
import { portFromEnv } from "../examples/env.ts";

const custom = new http.CustomResponder();

/** Answers each request with a CustomReply made for it, as a hio Steward makes its response. */
class Hello extends http.Steward {
  override respond(): http.CustomReply {
    return custom.reply({ headers: { "content-type": "text/plain" }, body: "Hello World!" });
  }
}

/** "1/8192" or "0.000122": a tock from the environment. */
const tockOf = (text: string): number => {
  const [over, under] = text.split("/");
  return under === undefined ? Number(over) : Number(over) / Number(under);
};

const port = portFromEnv(8080);
const host = process.env.HOST ?? "127.0.0.1";
const server = http.openServer({ host, port, steward: (options) => new Hello(options) });
const limit = process.env.LIMIT === undefined ? null : Number(process.env.LIMIT); // tyme to run, else until Ctrl-C
const doist = new Doist({ real: true, tock: tockOf(process.env.TOCK ?? "1/1024"), limit, doers: [new http.ServerDoer({ server })] });
console.log(`hio-ts CustomResponder hello on http://${server.eha[0]}:${server.eha[1]}/ (Ctrl-C stops it)`);
await doist.do();
