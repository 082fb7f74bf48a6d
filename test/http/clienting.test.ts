import nodeHttp from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Doer, Doist, Tymist, http, tcp } from "../../src/index.ts";
import { Client, ClientDoer } from "../../src/http/client/client.ts";
import type { ClientOptions, ClientResponse } from "../../src/http/client/client.ts";
import { drive, pki, tcpHandles, turn } from "../tcp/helpers.ts";

const closers: Array<() => void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) close();
  await drive(() => {}, () => tcpHandles() === 0, { turns: 500, what: "every socket closed" });
});

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8");

/** Turns the event loop `n` times (lets a server app pace its stream). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

/** A fetch app: echo, close, redirects, a paced chunked stream and a paced event stream. */
const app: http.FetchApp = async (request) => {
  const url = new URL(request.url);
  const encoder = new TextEncoder();
  const paced = (pieces: string[]) => {
    let i = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        await turns(4);
        controller.enqueue(encoder.encode(pieces[i++]!));
        if (i === pieces.length) controller.close();
      },
    });
  };
  switch (url.pathname) {
    case "/close": return new Response("bye", { headers: { connection: "close" } });
    case "/found": return new Response(null, { status: 302, headers: { location: "/echo?via=found" } });
    case "/see-other": return new Response(null, { status: 303, headers: { location: "/echo" } });
    case "/nothing": return new Response(null, { status: 204 });
    case "/stream": return new Response(paced(["one ", "two ", "three"]));
    case "/events": return new Response(paced(["id: 1\ndata: a\n\n", "event: b\ndata: b1\ndata: b2\n\n", "id: 3\ndata: c\n\n"]),
      { headers: { "content-type": "text/event-stream" } });
    default:
      return Response.json({
        method: request.method, path: url.pathname, query: url.search, body: await request.text(),
        last: request.headers.get("last-event-id"), type: request.headers.get("content-type"),
      });
  }
};

/** An http.Server for `app` and a Client to it, stepped together in one tymist. */
function served(options: Partial<http.ServerOptions> = {}, clientOptions: ClientOptions = {}) {
  const tymist = new Tymist({ tock: 1 / 32 });
  const server = http.openServer({ app, host: "127.0.0.1", port: 0, tymth: tymist.tymen(), ...options });
  closers.push(() => server.close());
  const client = new Client({ port: server.eha[1], tymth: tymist.tymen(), ...clientOptions });
  closers.push(() => client.close());
  const accepted = new Set<string>();
  const step = (): void => {
    server.service();
    for (const key of server.servant.ixes.keys()) accepted.add(key);
    client.service();
    tymist.tick();
  };
  return { server, client, step, accepted };
}

/** Steps until the client holds `n` responses. */
async function answered(client: Client, step: () => void, n: number): Promise<ClientResponse[]> {
  await drive(step, () => client.responses.length >= n, { what: `${n} responses` });
  return client.responses.splice(0);
}

describe("Client with the project's http.Server over loopback", () => {
  it("GETs, POSTs JSON, PUTs, HEADs and gets a 204 on one kept-alive connection", async () => {
    const { client, step, accepted } = served();
    client.request({ path: "/echo", qargs: { x: "1" } });
    client.request({ method: "POST", path: "/echo", data: { a: 1 } });
    client.request({ method: "PUT", path: "/echo", body: "hello", reply: "mine" });
    client.request({ method: "HEAD", path: "/echo" });
    client.request({ path: "/nothing" });
    const [get, post, put, head, none] = await answered(client, step, 5);
    expect(get).toMatchObject({ status: 200, reason: "OK", version: [1, 1], errored: false, data: { method: "GET", query: "?x=1" } });
    expect(post!.data).toMatchObject({ method: "POST", body: '{"a":1}', type: "application/json; charset=utf-8" });
    expect(put!.data).toMatchObject({ method: "PUT", body: "hello" });
    expect(put!.request).toMatchObject({ method: "PUT", reply: "mine", host: "127.0.0.1", scheme: "http" });
    expect(head).toMatchObject({ status: 200, body: new Uint8Array(0), errored: false });
    expect(none).toMatchObject({ status: 204, errored: false });
    expect(client.connections).toBe(1);
    expect(accepted.size).toBe(1);
  });

  it("opens a new connection for the request after a Connection: close response", async () => {
    const { client, step, accepted } = served();
    client.request({ path: "/close" });
    client.request({ path: "/echo" });
    const [bye, echo] = await answered(client, step, 2);
    expect(bye!.headers.get("connection")).toBe("close");
    expect(text(bye!.body)).toBe("bye");
    expect(echo).toMatchObject({ status: 200, errored: false });
    expect(client.connections).toBe(2);
    expect(accepted.size).toBe(2);
  });

  it("follows same-origin redirects, turning a POST into a GET after a 303", async () => {
    const { client, step } = served();
    client.request({ path: "/found" });
    client.request({ method: "POST", path: "/see-other", data: { gone: true } });
    const [found, seen] = await answered(client, step, 2);
    expect(found!.data).toMatchObject({ method: "GET", path: "/echo", query: "?via=found" });
    expect(found!.redirects!.map((r) => r.status)).toEqual([302]);
    expect(seen!.data).toMatchObject({ method: "GET", body: "" });
    expect(seen!.redirects!.map((r) => r.status)).toEqual([303]);
  });

  it("hands a redirect over as it is when not redirectable", async () => {
    const { client, step } = served({}, { redirectable: false });
    client.request({ path: "/found" });
    const [found] = await answered(client, step, 1);
    expect(found).toMatchObject({ status: 302, errored: false });
    expect(found!.headers.get("location")).toBe("/echo?via=found");
  });

  it("reads a chunked stream and sees events while their stream is still open", async () => {
    const { client, step } = served();
    client.request({ path: "/stream" });
    const [stream] = await answered(client, step, 1);
    expect(stream!.headers.get("transfer-encoding")).toBe("chunked");
    expect(text(stream!.body)).toBe("one two three");
    client.request({ path: "/events" });
    await drive(step, () => client.events.length > 0, { what: "a first event" });
    expect(client.responses).toHaveLength(0);
    expect(client.waited).toBe(true);
    const [events] = await answered(client, step, 1);
    expect(events).toMatchObject({ status: 200, body: new Uint8Array(0), errored: false });
    expect(client.events).toEqual([
      { id: "1", name: "", data: "a", retry: null },
      { id: "1", name: "b", data: "b1\nb2", retry: null },
      { id: "3", name: "", data: "c", retry: null },
    ]);
  });

  it("speaks https to a TLS server, verifying it with the CA", async () => {
    const { client, step } = served({ keypath: pki.serverKey, certpath: pki.serverCert }, { cafilepath: pki.ca });
    expect(client.secured).toBe(true);
    client.request({ path: "/echo" });
    const [echo] = await answered(client, step, 1);
    expect(echo).toMatchObject({ status: 200, errored: false, data: { method: "GET" } });
  });
});

describe("Client with node:http, a server nobody here wrote", () => {
  async function nodeServer(handler: nodeHttp.RequestListener) {
    const server = nodeHttp.createServer(handler);
    let connections = 0;
    server.on("connection", () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => {
      server.closeAllConnections();
      server.close();
    });
    const tymist = new Tymist({ tock: 1 / 32 });
    const client = new Client({ port: (server.address() as { port: number }).port, tymth: tymist.tymen() });
    closers.push(() => client.close());
    return { client, tymist, step: () => (client.service(), tymist.tick()), connections: () => connections };
  }

  it("reuses one connection for JSON, HEAD, chunked and event-stream responses", async () => {
    const { client, step, connections } = await nodeServer((req, res) => {
      let body = "";
      req.on("data", (data: Buffer) => (body += data));
      req.on("end", () => {
        if (req.url === "/chunks") {
          res.write("abc");
          res.end("def");
        } else if (req.url === "/sse") {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.write("retry: 500\nid: 9\ndata: hi\n\n");
          res.end("data: bye\n\n");
        } else {
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ method: req.method, url: req.url, body, headers: req.headers }));
        }
      });
    });
    client.request({ method: "POST", path: "/json", qargs: { a: "b c" }, data: [1, 2] });
    client.request({ method: "HEAD", path: "/json" });
    client.request({ path: "/chunks" });
    client.request({ path: "/sse" });
    const [json, head, chunks, sse] = await answered(client, step, 4);
    expect(json!.data).toMatchObject({ method: "POST", url: "/json?a=b+c", body: "[1,2]",
      headers: { "accept-encoding": "identity", "user-agent": "hio-ts", "content-length": "5" } });
    expect(head).toMatchObject({ status: 200, body: new Uint8Array(0), errored: false });
    expect(chunks!.headers.get("transfer-encoding")).toBe("chunked");
    expect(text(chunks!.body)).toBe("abcdef");
    expect(sse).toMatchObject({ status: 200, errored: false });
    expect(client.events).toEqual([
      { id: "9", name: "", data: "hi", retry: 500 },
      { id: "9", name: "", data: "bye", retry: 500 },
    ]);
    expect(connections()).toBe(1);
    expect(client.connections).toBe(1);
  });

  it("answers inside a generator with serviceWhileGen, as hio's backendRequest", async () => {
    const { client, tymist } = await nodeServer((req, res) => res.end(`got ${req.url}`));
    client.request({ path: "/gen" });
    const dog = client.serviceWhileGen(5);
    let step = dog.next();
    await drive(() => {
      if (!step.done) step = dog.next();
      tymist.tick();
    }, () => step.done === true, { what: "the generator's return" });
    expect(step.value).toMatchObject({ status: 200, errored: false });
    expect(text((step.value as ClientResponse).body)).toBe("got /gen");
    expect(client.responses).toHaveLength(0);
  });

  it("puts the request under way back in the queue on close() and sends it again after", async () => {
    const { client, step, connections } = await nodeServer((req, res) => res.end(`got ${req.url}`));
    client.request({ path: "/again" });
    await drive(step, () => client.waited && !client.connector.txPending, { what: "the request sent" });
    client.close();
    expect(client.waited).toBe(false);
    expect(client.requests.map((r) => r.path)).toEqual(["/again"]);
    const [again] = await answered(client, step, 1);
    expect(text(again!.body)).toBe("got /again");
    expect(client.connections).toBe(2);
    await drive(() => {}, () => connections() === 2, { what: "node's second connection" });
  });

  it("opens a second connection after node answers Connection: close", async () => {
    const { client, step, connections } = await nodeServer((req, res) => {
      if (req.url === "/last") res.setHeader("connection", "close");
      res.end(req.url);
    });
    client.request({ path: "/last" });
    client.request({ path: "/next" });
    const [last, next] = await answered(client, step, 2);
    expect([text(last!.body), text(next!.body)]).toEqual(["/last", "/next"]);
    expect(connections()).toBe(2);
  });
});

describe("Client failures: errored responses, never a throw from service()", () => {
  it("answers a refused connection with an errored response", async () => {
    const probe = tcp.openServer({ host: "127.0.0.1", port: 0 });
    const port = probe.eha[1];
    probe.close();
    const tymist = new Tymist({ tock: 1 / 32 });
    const client = new Client({ port, tymth: tymist.tymen() });
    closers.push(() => client.close());
    client.request({ path: "/" });
    const [refused] = await answered(client, () => (client.service(), tymist.tick()), 1);
    expect(refused).toMatchObject({ status: 0, errored: true, version: null });
    expect(refused!.error).toMatch(/failed/);
  });

  /** A raw tcp server answering every request head with `reply`, and a Client to it. */
  function rawServed(reply: string) {
    const tymist = new Tymist({ tock: 1 / 32 });
    const server = tcp.openServer({ host: "127.0.0.1", port: 0, tymth: tymist.tymen() });
    closers.push(() => server.close());
    const client = new Client({ port: server.eha[1], tymth: tymist.tymen() });
    closers.push(() => client.close());
    const step = (): void => {
      server.service();
      for (const remoter of server.ixes.values()) {
        if (remoter.rxbs.toString("latin1").endsWith("\r\n\r\n")) {
          remoter.rxbs.clear();
          remoter.tx(reply);
        }
      }
      server.serviceSendsAllIx();
      client.service();
      tymist.tick();
    };
    return { client, step };
  }

  it("answers garbage with BadStatusLine, then opens a new connection for the next request", async () => {
    const { client, step } = rawServed("SSH-2.0-OpenSSH\r\n");
    client.request({ path: "/one" });
    client.request({ path: "/two" });
    const [one, two] = await answered(client, step, 2);
    expect(one).toMatchObject({ errored: true, status: 0 });
    expect(one!.error).toMatch(/^BadStatusLine: SSH-2\.0/);
    expect(two!.error).toMatch(/^BadStatusLine/);
    expect(client.connections).toBe(2);
  });

  it("does not reuse a connection after an HTTP/1.0 response, even one the server keeps open", async () => {
    const { client, step } = rawServed("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    client.request({ path: "/one" });
    client.request({ path: "/two" });
    const [one, two] = await answered(client, step, 2);
    expect([one!.version, two!.version]).toEqual([[1, 0], [1, 0]]);
    expect([text(one!.body), text(two!.body)]).toEqual(["ok", "ok"]);
    expect(client.connections).toBe(2);
  });

  it("throws at request() on a part that cannot be sent", () => {
    const client = new Client({ port: 9 });
    expect(() => client.request({ headers: { "Bad Name": "x" } })).toThrow(TypeError);
    expect(client.requests).toHaveLength(0);
  });
});

describe("Client in simulated tyme over a MemoryNetwork", () => {
  /** A ServerDoer and a ClientDoer in one Doist; a watcher notes what arrives, with its tyme. */
  async function scenario() {
    const network = new tcp.MemoryNetwork({ latency: 1 / 32, chunk: 512 });
    const doist = new Doist({ tock: 1 / 32, limit: 2 });
    const server = new http.Server({ app, host: "127.0.0.1", port: 8080, network, tymeout: 0 });
    const client = new Client({ port: 8080, network });
    const trace: unknown[][] = [];
    client.request({ path: "/echo", qargs: { n: "1" } });
    client.request({ method: "POST", path: "/echo", data: { n: 2 } });
    client.request({ path: "/close" });
    client.request({ path: "/events" });
    client.request({ method: "HEAD", path: "/found" });
    class Watcher extends Doer {
      override recur(tyme: number): boolean {
        for (const r of client.responses.splice(0)) {
          trace.push([tyme, r.status, r.request.method, r.request.path, r.data ?? text(r.body), client.connections,
            r.redirects?.map((redirect) => redirect.status) ?? []]);
        }
        for (const event of client.events.splice(0)) trace.push([tyme, "event", event.name, event.data]);
        return false;
      }
    }
    await doist.do({ doers: [new http.ServerDoer({ server }), new ClientDoer({ client }), new Watcher()] });
    return { trace, openEnds: network.openEnds, listeners: network.openListeners };
  }

  it("runs a ServerDoer and a ClientDoer in one Doist, the same trace every run", async () => {
    const first = await scenario();
    const second = await scenario();
    expect(second).toEqual(first);
    expect(first.openEnds).toBe(0);
    expect(first.listeners).toBe(0);
    const responses = first.trace.filter((entry) => entry[1] !== "event");
    expect(responses.map((entry) => entry.slice(1, 4))).toEqual([
      [200, "GET", "/echo"], [200, "POST", "/echo"], [200, "GET", "/close"], [200, "GET", "/events"], [200, "HEAD", "/echo"], // /found redirected
    ]);
    expect(responses[0]![4]).toMatchObject({ query: "?n=1" });
    expect(responses[1]![4]).toMatchObject({ body: '{"n":2}' });
    expect(responses.map((entry) => entry[5])).toEqual([1, 1, 1, 2, 2]); // reopened after Connection: close
    expect(responses.map((entry) => entry[6])).toEqual([[], [], [], [], [302]]);
    expect(first.trace.filter((entry) => entry[1] === "event").map((entry) => entry.slice(2))).toEqual([
      ["", "a"], ["b", "b1\nb2"], ["", "c"],
    ]);
    const eventsEnded = responses.find((entry) => entry[3] === "/events")![0] as number;
    expect(first.trace.find((entry) => entry[1] === "event")![0]).toBeLessThan(eventsEnded); // streamed
    const tymes = first.trace.map((entry) => entry[0] as number);
    expect(tymes).toEqual([...tymes].sort((a, b) => a - b));
    expect(tymes.at(-1)!).toBeLessThan(2);
  });

  /** A raw event-stream server: events at set tymes, the first connection cut after half a tyme. */
  function resubscribed(): { trace: unknown[][]; connections: number } {
    const tymist = new Tymist({ tock: 1 / 32 });
    const network = new tcp.MemoryNetwork({ latency: 1 / 16 });
    const server = tcp.openServer({ network, host: "127.0.0.1", port: 8080, tymth: tymist.tymen() });
    const client = new Client({ port: 8080, network, tymth: tymist.tymen(), reconnectable: true });
    const head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
    const trace: unknown[][] = [];
    const streams = new Map<tcp.Remoter, { start: number; n: number }>();
    client.request({ path: "/feed" });
    for (let tick = 0; tick < 48; tick++) {
      const tyme = tymist.tyme;
      server.service();
      for (const remoter of server.ixes.values()) {
        const got = remoter.rxbs.toString("latin1");
        if (!streams.has(remoter) && got.endsWith("\r\n\r\n")) {
          const n = streams.size + 1;
          streams.set(remoter, { start: tyme, n });
          remoter.rxbs.clear();
          trace.push([tyme, "request", n, /\r\nLast-Event-ID: (.*)\r\n/.exec(got)?.[1] ?? null]);
          remoter.tx(head + (n === 1 ? "retry: 250\nid: 1\ndata: one\n\n" : "id: 3\ndata: three\n\n"));
        }
        const stream = streams.get(remoter);
        if (stream?.n === 1 && tyme - stream.start === 0.25) remoter.tx("id: 2\ndata: two\n\n");
        if (stream?.n === 1 && tyme - stream.start === 0.5) remoter.close();
      }
      server.serviceSendsAllIx();
      client.service();
      for (const event of client.events.splice(0)) trace.push([tyme, "event", event.id, event.data]);
      tymist.tick();
    }
    client.close();
    server.close();
    return { trace, connections: client.connections };
  }

  it("sees events as they arrive and resubscribes with Last-Event-ID after the retry delay", () => {
    const { trace, connections } = resubscribed();
    // latency 1/16: connected at 1/8, request in at 3/16, events 1/16 after written; the cut
    // (server close at 11/16) is seen at 3/4 and the retry of 250 ms reopens at 1.
    expect(trace).toEqual([
      [0.1875, "request", 1, null],
      [0.25, "event", "1", "one"],
      [0.5, "event", "2", "two"],
      [1.1875, "request", 2, "2"],
      [1.25, "event", "3", "three"],
    ]);
    expect(connections).toBe(2);
    expect(resubscribed()).toEqual({ trace, connections });
  });

  /** Sends `method` /second just before the server's idle tymeout closes the kept-alive connection. */
  async function raced(method: string): Promise<{ second: ClientResponse; connections: number; accepted: number }> {
    const tymist = new Tymist({ tock: 1 / 32 });
    const network = new tcp.MemoryNetwork({ latency: 1 / 8 });
    const server = http.openServer({ app: (request) => new Response(new URL(request.url).pathname), host: "127.0.0.1",
      port: 8080, network, tymth: tymist.tymen(), tymeout: 1 });
    const client = new Client({ port: 8080, network, tymth: tymist.tymen() });
    closers.push(() => (client.close(), server.close()));
    const accepted = new Set<string>();
    client.request({ path: "/first" });
    let sent = false;
    await drive(() => {
      server.service();
      for (const [key, remoter] of server.servant.ixes) {
        accepted.add(key);
        // the request leaves now and lands 1/8 later, after the server closed at 1/16 from now
        if (!sent && client.responses.length === 1 && remoter.tymer.remaining === 1 / 16) {
          client.request({ method, path: "/second" });
          sent = true;
        }
      }
      client.service();
      tymist.tick();
    }, () => client.responses.length === 2, { what: "the second response" });
    return { second: client.responses[1]!, connections: client.connections, accepted: accepted.size };
  }

  it("sends an idempotent request again when the server closed the kept-alive connection under it", async () => {
    const { second, connections, accepted } = await raced("GET");
    expect(second).toMatchObject({ status: 200, errored: false });
    expect(text(second.body)).toBe("/second");
    expect(connections).toBe(2);
    expect(accepted).toBe(2);
  });

  it("does not send a POST twice: it gets an errored response instead", async () => {
    const { second, connections } = await raced("POST");
    expect(second).toMatchObject({ status: 0, errored: true });
    expect(second.error).toMatch(/^PrematureClosure/);
    expect(connections).toBe(1);
  });
});
