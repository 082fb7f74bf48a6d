/**
 * client.inspect: every transition of a real Client's machines (requester, respondent) against
 * a real http.Server on 127.0.0.1, in order, for a keep-alive GET, a chunked response and a
 * response that closes the connection.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Tymist, http } from "../../src/index.ts";
import { drive, tcpHandles, turn } from "../tcp/helpers.ts";

const closers: Array<() => void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) close();
  await drive(() => {}, () => tcpHandles() === 0, { turns: 500, what: "every socket closed" });
});

/** Pieces of a body, each after a few event-loop turns: the server sends each as its own chunk. */
function paced(pieces: string[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (let n = 0; n < 4; n++) await turn();
      controller.enqueue(new TextEncoder().encode(pieces[i++]!));
      if (i === pieces.length) controller.close();
    },
  });
}

const app: http.FetchApp = (request) => {
  const path = new URL(request.url).pathname;
  if (path === "/chunked") return new Response(paced(["one ", "two"]));
  if (path === "/close") return new Response("bye", { headers: { connection: "close" } });
  return new Response("Hello World!");
};

function served() {
  const tymist = new Tymist({ tock: 1 / 32 });
  const server = http.openServer({ app, host: "127.0.0.1", port: 0, tymth: tymist.tymen(), tymeout: 0 });
  closers.push(() => server.close());
  const client = new http.Client({ port: server.eha[1], tymth: tymist.tymen() });
  closers.push(() => client.close());
  const step = (): void => {
    server.service();
    client.service();
    tymist.tick();
  };
  return { server, client, step };
}

type Step = [machine: string, event: string, from: string, to: string];

/** The respondent's steps through one response's head, up to its body state. */
const head = (body: string, event: string): Step[] => [
  ["respondent", "line.started", "idle", "line"],
  ["respondent", "line.parsed", "line", "headers"],
  ["respondent", event, "headers", body],
];

describe("client.inspect", () => {
  it("reports every transition of a keep-alive GET, a chunked response and a close, in order", async () => {
    const { client, step } = served();
    expect([client.stepper.observer, client.respondent.stepper.observer]).toEqual([null, null]);
    const seen: http.Inspection[] = [];
    const stop = client.inspect((inspection) => seen.push(inspection));
    client.request({ path: "/" });
    client.request({ path: "/chunked" });
    client.request({ path: "/close" });
    await drive(step, () => client.responses.length === 3 && client.stepper.value === "closed", { what: "three responses" });
    stop();
    expect([client.stepper.observer, client.respondent.stepper.observer]).toEqual([null, null]);

    const bodies = client.responses.map((r) => [r.status, Buffer.from(r.body).toString()]);
    expect(bodies).toEqual([[200, "Hello World!"], [200, "one two"], [200, "bye"]]);
    expect(new Set(seen.map((s) => s.connection))).toEqual(new Set([`1@127.0.0.1:${client.port}`]));
    const tymes = seen.map((s) => s.tyme as number);
    expect(tymes.every((tyme, i) => typeof tyme === "number" && (i === 0 || tyme >= (tymes[i - 1] as number)))).toBe(true);
    expect(seen.map((s): Step => [s.machine, s.event, s.from, s.to])).toEqual([
      // GET /, kept alive
      ["requester", "opened", "closed", "idle"],
      ["requester", "request.sent", "idle", "waiting"],
      ...head("body.length", "head.parsed.length"),
      ["respondent", "body.parsed", "body.length", "ended"],
      ["requester", "response.ended", "waiting", "idle"],
      // GET /chunked on the same connection: two chunks, the last chunk, no trailers
      ["requester", "request.sent", "idle", "waiting"],
      ["respondent", "reset", "ended", "idle"],
      ...head("body.size", "head.parsed.chunked"),
      ["respondent", "chunk.sized", "body.size", "body.data"],
      ["respondent", "chunk.parsed", "body.data", "body.size"],
      ["respondent", "chunk.sized", "body.size", "body.data"],
      ["respondent", "chunk.parsed", "body.data", "body.size"],
      ["respondent", "chunk.last", "body.size", "body.trailers"],
      ["respondent", "trailers.parsed", "body.trailers", "ended"],
      ["requester", "response.ended", "waiting", "idle"],
      // GET /close: its response ends the connection
      ["requester", "request.sent", "idle", "waiting"],
      ["respondent", "reset", "ended", "idle"],
      ...head("body.length", "head.parsed.length"),
      ["respondent", "body.parsed", "body.length", "ended"],
      ["requester", "response.last", "waiting", "closed"],
    ]);
  });

  it("reports a refused connection as the respondent's error, unanswered, and the connection's end", async () => {
    const { server, client, step } = served();
    const port = client.port;
    server.close();
    const seen: string[] = [];
    client.inspect(({ machine, event, from, to }) => seen.push(`${machine} ${event} ${from}→${to}`));
    client.request({ path: "/" });
    await drive(step, () => client.responses.length === 1, { what: "the failed response" });
    expect(client.responses[0]).toMatchObject({ errored: true, error: `HTTPException: connection to 127.0.0.1:${port} failed` });
    expect(seen).toEqual([
      "requester opened closed→idle",
      "requester request.sent idle→waiting",
      "respondent error idle→errored.unanswered",
      "requester response.last waiting→closed",
    ]);
  });
});
