/**
 * Adversarial review of the HTTP client (Client, Requester, Respondent, EventSource). The
 * server side here is a raw tcp.Server on a MemoryNetwork parsing requests with the project's
 * Requestant, so every scenario runs in simulated tyme, deterministic, with no socket. Each
 * "BUG:" test is a regression test for a bug the review found (since fixed), with the rule it
 * broke; the others pin behaviour the review checked and found right where nothing else does.
 */
import { describe, expect, it } from "vitest";
import { Tymist, tcp } from "../../src/index.ts";
import { Client } from "../../src/http/client/client.ts";
import type { ClientOptions, ClientResponse } from "../../src/http/client/client.ts";
import { EventSource } from "../../src/http/client/eventing.ts";
import { Requestant } from "../../src/http/server/requestant.ts";
import { Requester } from "../../src/http/client/requester.ts";
import { Respondent } from "../../src/http/client/respondent.ts";

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8");

/** One request as the raw server saw it. */
interface Seen {
  conn: number;
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: string;
}

/** What the raw server's answer function gets for each whole request. */
interface Exchange {
  seen: Seen;
  /** Requests seen on this connection before this one. */
  index: number;
  remoter: tcp.Remoter;
  tyme: number;
}

/**
 * A raw HTTP peer: a tcp.Server on a MemoryNetwork (latency 1/32, tock 1/32) that parses each
 * request with a Requestant and hands it to `answer`; `tick` runs every tick with the live
 * remoters (to send unasked bytes or close). `run(ticks)` steps server and client together.
 */
function rawPeer(answer: (exchange: Exchange) => void, clientOptions: ClientOptions = {},
                 tick: (tyme: number, remoters: Map<tcp.Remoter, number>) => void = () => {}) {
  const tymist = new Tymist({ tock: 1 / 32 });
  const network = new tcp.MemoryNetwork({ latency: 1 / 32 });
  const server = tcp.openServer({ network, host: "127.0.0.1", port: 8080, tymth: tymist.tymen(), tymeout: 0 });
  const client = new Client({ port: 8080, network, tymth: tymist.tymen(), ...clientOptions });
  const seen: Seen[] = [];
  const conns = new Map<tcp.Remoter, number>();
  const parsers = new Map<tcp.Remoter, { requestant: Requestant; count: number }>();
  const step = (): void => {
    const tyme = tymist.tyme;
    server.service();
    for (const remoter of server.ixes.values()) {
      if (!conns.has(remoter)) conns.set(remoter, conns.size + 1);
      let parser = parsers.get(remoter);
      if (parser === undefined) parsers.set(remoter, parser = { requestant: new Requestant({ msg: remoter.rxbs }), count: 0 });
      while (remoter.opened && remoter.rxbs.length > 0 && parser.requestant.parse()) {
        const r = parser.requestant;
        const one: Seen = { conn: conns.get(remoter)!, method: r.method, path: r.path, headers: [...r.headers],
          body: Buffer.from(r.body).toString("latin1") };
        seen.push(one);
        answer({ seen: one, index: parser.count++, remoter, tyme });
        r.reinit();
      }
    }
    tick(tyme, conns);
    server.serviceSendsAllIx();
    client.service();
    tymist.tick();
  };
  const run = (ticks: number, until: () => boolean = () => false): void => {
    for (let i = 0; i < ticks && !until(); i++) step();
  };
  const close = (): void => {
    client.close();
    server.close();
  };
  return { tymist, network, server, client, seen, run, close };
}

const ok = (body: string, extra = ""): string =>
  `HTTP/1.1 200 OK\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** A generator body: what a caller streaming an upload passes as `body`. */
function* pieces(...parts: string[]): Generator<string> {
  yield* parts;
}

describe("http Client review: requests sent again", () => {
  // BUG: an idempotent request whose kept-alive connection was closed under it is sent again
  // (Client.#recover), but the retry rebuilds it from its parts (serviceRequests deletes the
  // built bytes, #requeue too), and a generator body was consumed by the first build: the PUT
  // goes out again with an empty chunked body ("0\r\n\r\n"), which the server applies: the
  // resource is silently emptied. A retry must send the same bytes (RFC 9110 §9.2.2 allows the
  // retry of an idempotent request, not a different one).
  it("sends the same body when it retries a PUT whose body was a generator", () => {
    const peer = rawPeer(({ seen, index, remoter }) => {
      if (seen.conn === 1 && index === 0) remoter.tx(ok("first"));
      else if (seen.conn === 1) remoter.close(); // the kept-alive connection goes away under the PUT
      else remoter.tx(ok("stored"));
    });
    try {
      peer.client.request({ path: "/first" });
      peer.run(40, () => peer.client.responses.length === 1);
      peer.client.request({ method: "PUT", path: "/doc", body: pieces("hello ", "world") });
      peer.run(80, () => peer.client.responses.length === 2);
      const puts = peer.seen.filter((s) => s.method === "PUT");
      expect(puts.map((s) => s.conn)).toEqual([1, 2]); // it was retried on a new connection
      expect(puts.map((s) => s.body)).toEqual(["hello world", "hello world"]);
    } finally {
      peer.close();
    }
  });

  // BUG: the same for a 307/308 redirect, which "keep method and body" (redirection()): the
  // followed request is rebuilt from the consumed generator and goes out with no content
  // (RFC 9110 §15.4.8: 307 "MUST NOT change the request method", the content is resent).
  it("sends the same body when it follows a 307 for a POST whose body was a generator", () => {
    const peer = rawPeer(({ seen, remoter }) => {
      if (seen.path === "/old") remoter.tx("HTTP/1.1 307 Temporary Redirect\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n");
      else remoter.tx(ok("done"));
    });
    try {
      peer.client.request({ method: "POST", path: "/old", body: pieces("pay", "load") });
      peer.run(60, () => peer.client.responses.length === 1);
      expect(peer.seen.map((s) => [s.method, s.path, s.body])).toEqual([["POST", "/old", "payload"], ["POST", "/new", "payload"]]);
    } finally {
      peer.close();
    }
  });

  // BUG: a 303 (or a 301/302 for POST) turns the request into a GET without content, but the
  // caller's own content headers go along: a GET with "Content-Length: 5" and no body makes
  // the server wait for 5 bytes that never come (the next request is taken as the body).
  // RFC 9110 §15.4 item 5: "If the request method has been changed to GET or HEAD, remove
  // content-specific header fields, including ... Content-Type, Content-Length".
  it("drops the caller's content headers when a 303 turns a POST into a GET", () => {
    const peer = rawPeer(({ seen, remoter }) => {
      if (seen.path === "/form") remoter.tx("HTTP/1.1 303 See Other\r\nLocation: /result\r\nContent-Length: 0\r\n\r\n");
      else remoter.tx(ok("result"));
    });
    try {
      peer.client.request({ method: "POST", path: "/form", body: "a=1&b",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": "5" } });
      peer.run(60, () => peer.client.responses.length === 1);
      // with "Content-Length: 5" the server is still waiting for the GET's body here
      expect(peer.client.responses.map((r) => [r.status, text(r.body)])).toEqual([[200, "result"]]);
      const get = peer.seen.find((s) => s.path === "/result");
      expect(get?.method).toBe("GET");
      const names = get!.headers.map(([name]) => name.toLowerCase());
      expect(names).not.toContain("content-length");
      expect(names).not.toContain("content-type");
    } finally {
      peer.close();
    }
  });

  it("sends a POST once: a kept-alive connection closed under it gives an errored response, even when reconnectable", () => {
    const peer = rawPeer(({ seen, index, remoter }) => {
      if (seen.conn === 1 && index === 0) remoter.tx(ok("first"));
      else remoter.close();
    }, { reconnectable: true });
    try {
      peer.client.request({ path: "/first" });
      peer.run(40, () => peer.client.responses.length === 1);
      peer.client.request({ method: "POST", path: "/pay", body: "once" });
      peer.run(80, () => peer.client.responses.length === 2);
      expect(peer.client.responses[1]).toMatchObject({ status: 0, errored: true });
      expect(peer.seen.filter((s) => s.method === "POST")).toHaveLength(1);
    } finally {
      peer.close();
    }
  });

  it("sends a POST after a refused connect when reconnectable: it never left", () => {
    const tymist = new Tymist({ tock: 1 / 32 });
    const network = new tcp.MemoryNetwork({ latency: 1 / 32 });
    const client = new Client({ port: 8080, network, tymth: tymist.tymen(), reconnectable: true, tymeout: 0.25 });
    let server: tcp.Server | null = null;
    const got: string[] = [];
    try {
      client.request({ method: "POST", path: "/pay", body: "once" });
      for (let i = 0; i < 64 && client.responses.length === 0; i++) {
        if (i === 20) server = tcp.openServer({ network, host: "127.0.0.1", port: 8080, tymth: tymist.tymen(), tymeout: 0 });
        if (server) {
          server.service();
          for (const remoter of server.ixes.values()) {
            if (remoter.rxbs.toString("latin1").endsWith("once")) {
              got.push(remoter.rxbs.take().toString());
              remoter.tx(ok("paid"));
            }
          }
          server.serviceSendsAllIx();
        }
        client.service();
        tymist.tick();
      }
      expect(got).toHaveLength(1);
      expect(client.responses[0]).toMatchObject({ status: 200, errored: false });
    } finally {
      client.close();
      server?.close();
    }
  });
});

describe("http Client review: responses", () => {
  // BUG: bytes that arrive on a kept-alive connection while no request is out (a server's
  // "408 Request Timeout" before it closes an idle connection, or any stray bytes) stay in
  // rxbs and are parsed as the response to the next request sent on it: that request gets the
  // 408, and the responses and requests stay shifted by one from then on. Responses are
  // matched to requests only by order (RFC 9112 §9.3), so a client must not take bytes
  // that came before its request as its response: it should drop the connection.
  it("never takes bytes that came while no request was out as the next response", () => {
    let stray = false;
    const peer = rawPeer(({ seen, remoter }) => {
      remoter.tx(ok(seen.path));
    }, {}, (tyme, conns) => {
      if (tyme === 1 && !stray) {
        stray = true;
        for (const remoter of conns.keys()) {
          if (remoter.opened) remoter.tx("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
        }
      }
    });
    try {
      peer.client.request({ path: "/one" });
      peer.run(64, () => peer.tymist.tyme >= 1.5);
      peer.client.request({ path: "/two" });
      peer.client.request({ path: "/three" });
      peer.run(64, () => peer.client.responses.length === 3);
      expect(peer.client.responses.map((r) => [r.status, text(r.body)]))
        .toEqual([[200, "/one"], [200, "/two"], [200, "/three"]]);
    } finally {
      peer.close();
    }
  });

  // BUG: a body delimited by the close is complete only when the connection closed cleanly:
  // RFC 9112 §8: a response without chunked or Content-Length "is terminated by closure of the
  // connection and ... is considered complete unless an error was indicated by the underlying
  // connection". serviceResponse closes the Respondent on any cutoff, a reset included, so a
  // body cut by a reset is handed over as a whole 200 response.
  it("fails a close-delimited response cut by a reset instead of handing over its part", () => {
    let at: number | null = null;
    const peer = rawPeer(({ remoter, tyme }) => {
      remoter.tx("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthe first half");
      at = tyme;
    });
    try {
      peer.client.request({ path: "/big" });
      peer.run(64, () => at !== null);
      peer.run(1); // the part is on its way; now the connection is reset
      expect(peer.network.reset(peer.client.connector.ca!)).toBe(true);
      peer.run(64, () => peer.client.responses.length === 1);
      const [response] = peer.client.responses;
      expect(response!.errored).toBe(true);
    } finally {
      peer.close();
    }
  });

  it("ends a close-delimited response at an orderly close, whole", () => {
    const peer = rawPeer(({ remoter }) => {
      remoter.tx("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it");
      remoter.shutdownSend();
    });
    try {
      peer.client.request({ path: "/all" });
      peer.run(64, () => peer.client.responses.length === 1);
      expect(peer.client.responses[0]).toMatchObject({ status: 200, errored: false });
      expect(text(peer.client.responses[0]!.body)).toBe("all of it");
    } finally {
      peer.close();
    }
  });

  // BUG: RFC 9112 §6.1: "A server or client that receives an HTTP/1.0 message containing a
  // Transfer-Encoding header field MUST treat the message as if the framing is faulty, even if
  // a Content-Length is present, and close the connection after processing the message."
  // Respondent keeps such a response persisted when it says keep-alive.
  it("does not keep a connection after an HTTP/1.0 response with Transfer-Encoding", () => {
    const r = new Respondent();
    r.msg.push("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    expect(r.parse()).toBe(true);
    expect(r.persisted).toBe(false);
  });

  it("reads 1xx then a HEAD answer with chunked framing on one kept-alive connection, then the next", () => {
    const peer = rawPeer(({ seen, remoter }) => {
      if (seen.method === "HEAD") {
        remoter.tx("HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      } else if (seen.path === "/gone") {
        remoter.tx("HTTP/1.1 304 Not Modified\r\nContent-Length: 42\r\n\r\n");
      } else remoter.tx("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n");
    });
    try {
      peer.client.request({ method: "HEAD", path: "/h" });
      peer.client.request({ path: "/gone" });
      peer.client.request({ path: "/none" });
      peer.run(64, () => peer.client.responses.length === 3);
      expect(peer.client.responses.map((r) => [r.status, r.body.length, r.errored])).toEqual([[200, 0, false], [304, 0, false], [204, 0, false]]);
      expect(peer.client.connections).toBe(1);
    } finally {
      peer.close();
    }
  });
});

describe("http Client review: header injection through request parts", () => {
  // BUG: the method goes into the request line unchecked (Requester.build), so a method with
  // CR LF writes header fields and a second request of the caller's choosing: request
  // splitting. RFC 9110 §9.1: method = token; header names and values are checked already.
  it("refuses a method that is not a token", () => {
    const requester = new Requester({ hostname: "127.0.0.1", port: 80 });
    expect(() => requester.rebuild({ method: "GET / HTTP/1.1\r\nHost: x\r\n\r\nDELETE /all HTTP/1.1\r\nX: " })).toThrow(TypeError);
    const client = new Client({ port: 80 });
    expect(() => client.request({ method: "GET /x HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET" })).toThrow(TypeError);
    expect(() => client.request({ method: "GE T" })).toThrow(TypeError);
  });

  // BUG: a multipart form's field name goes into Content-Disposition as name="<name>" with no
  // escaping, so a name with '"' or CR LF writes the part's header fields (and more parts).
  // The HTML standard's multipart/form-data encoding escapes '"' as %22, CR as %0D, LF as %0A.
  it("escapes a multipart form field name that holds a quote or CR LF", () => {
    const requester = new Requester({ hostname: "127.0.0.1", port: 80,
      headers: { "Content-Type": "multipart/form-data" } });
    const msg = Buffer.from(requester.rebuild({ method: "POST", fargs: { 'a"\r\nContent-Type: text/html\r\n\r\nevil': "v" } })).toString("latin1");
    const body = msg.slice(msg.indexOf("\r\n\r\n") + 4);
    expect(body).not.toContain("\r\nContent-Type: text/html\r\n");
    expect(body).toContain('name="a%22%0D%0AContent-Type: text/html%0D%0A%0D%0Aevil"');
  });

  // BUG: Requester adds its own framing beside the caller's: a caller's "Transfer-Encoding:
  // chunked" with a bytes body goes out with an added Content-Length and the body not chunked;
  // a caller's Content-Length with an iterable body goes out beside Transfer-Encoding: chunked;
  // a caller's Content-Length shorter than the body sends the rest as the start of the next
  // request on the connection. RFC 9112 §6.2: "A sender MUST NOT send a Content-Length header
  // field in any message that contains a Transfer-Encoding header field"; §6.3: a message is
  // framed one way, and the next message starts where it ends (request smuggling otherwise).
  it("frames a request once, as its headers say, or refuses it", () => {
    const requester = new Requester({ hostname: "127.0.0.1", port: 80 });
    const cases: Array<[Record<string, string>, string | string[]]> = [
      [{ "Transfer-Encoding": "chunked" }, "hello"],
      [{ "Content-Length": "5" }, ["hel", "lo"]],
      [{ "Content-Length": "3" }, "hello"],
    ];
    for (const [headers, body] of cases) {
      let msg: Uint8Array;
      try {
        msg = requester.rebuild({ method: "POST", headers, body });
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError); // refusing is right too
        continue;
      }
      const head = Buffer.from(msg).toString("latin1").split("\r\n\r\n")[0]!.toLowerCase();
      expect(head.includes("content-length:") && head.includes("transfer-encoding:"), head).toBe(false);
      const requestant = new Requestant();
      requestant.msg.push(msg);
      expect(requestant.parse()).toBe(true);
      expect(requestant.errored).toBe(false);
      expect(Buffer.from(requestant.body).toString()).toBe([body].flat().join(""));
      expect(requestant.msg.length, "bytes left over for the next request").toBe(0);
    }
  });

  it("percent-encodes CR, LF, space and NUL in the path and the query, so they never split the request line", () => {
    const requester = new Requester({ hostname: "127.0.0.1", port: 80 });
    const head = Buffer.from(requester.rebuild({ path: "/a b\r\nX: 1\0/?q=\r\nY: 2", qargs: { "k\r\n": "v \r\n" } }))
      .toString("latin1").split("\r\n");
    expect(head[0]).toBe("GET /a%20b%0D%0AX:%201%00/?k%0D%0A=v+%0D%0A&q=%0D%0AY%3A+2 HTTP/1.1");
    expect(head.filter((line) => /^[XY]:/.test(line))).toEqual([]);
  });
});

describe("http Client review: event streams", () => {
  /**
   * A raw event-stream server: the first connection gets `first` then is closed by the server,
   * the second gets one event and stays. Returns the requests seen and the events received.
   */
  function resumed(first: string): { seen: Seen[]; events: string[]; responses: ClientResponse[] } {
    const head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";
    const peer = rawPeer(({ seen, remoter }) => {
      if (seen.conn === 1) {
        remoter.tx(head + first);
        remoter.shutdownSend(); // the server ends the stream once it is out
      } else remoter.tx(`${head}id: 9\ndata: again\n\n`);
    }, { reconnectable: true });
    try {
      peer.client.request({ path: "/feed" });
      peer.run(96, () => peer.seen.length === 2 && peer.client.events.some((e) => e.data === "again"));
      return { seen: peer.seen, events: peer.client.events.map((e) => `${e.id}:${e.data}`), responses: peer.client.responses };
    } finally {
      peer.close();
    }
  }

  const lastEventId = (seen: Seen | undefined): string | undefined =>
    seen?.headers.find(([name]) => name.toLowerCase() === "last-event-id")?.[1];

  // BUG: EventSource sets `leid` when an id field is read, not when its event is dispatched.
  // The HTML standard (§9.2.6) keeps the id in the "last event ID buffer" and copies it to the
  // "last event ID string" (what Last-Event-ID carries on reconnection) only when the event is
  // dispatched at its blank line. A stream cut after "id: 2\ndata: two\n" drops event 2 (as it
  // must), yet the client resumes with Last-Event-ID: 2, so the server never sends event 2.
  it("resumes after the last event dispatched, not after an id whose event was cut", () => {
    const { seen, events } = resumed("id: 1\ndata: one\n\nid: 2\ndata: two\n");
    expect(events).toEqual(["1:one", "9:again"]);
    expect(lastEventId(seen[1])).toBe("1");
  });

  // BUG: an empty id field resets the last event id; HTML §9.2.4 then sends no Last-Event-ID
  // ("if ... last event ID string is not the empty string, set `Last-Event-ID`"), but the
  // client sends "Last-Event-ID: " with an empty value.
  it("sends no Last-Event-ID after the stream reset its id with an empty id field", () => {
    const { seen } = resumed("id: 1\ndata: one\n\nid\ndata: two\n\n");
    expect(seen).toHaveLength(2);
    expect(lastEventId(seen[1])).toBeUndefined();
  });

  // BUG: Last-Event-ID is the UTF-8 encoding of the id (HTML §9.2.4), but the client puts the
  // decoded id in the header as it is: Requester writes it as Latin-1, and any character past
  // U+00FF makes the rebuild throw (checkField), so the resubscription becomes an errored
  // response and the stream is over.
  it("resubscribes with the UTF-8 bytes of an id outside Latin-1", () => {
    const { seen, responses } = resumed("id: 日本\ndata: one\n\n");
    expect(responses.filter((r) => r.errored)).toEqual([]);
    expect(seen).toHaveLength(2);
    expect(Buffer.from(lastEventId(seen[1]) ?? "", "latin1").toString("utf8")).toBe("日本");
  });

  it("resubscribes with the id of the last event dispatched when the stream was cut at a blank line", () => {
    const { seen, events } = resumed("retry: 100\nid: 1\ndata: one\n\nid: 2\ndata: two\n\n");
    expect(events).toEqual(["1:one", "2:two", "9:again"]);
    expect(lastEventId(seen[0])).toBeUndefined();
    expect(lastEventId(seen[1])).toBe("2");
  });

  // BUG: EventSource decodes field names and values with TextDecoder("utf-8"), which by default
  // strips a leading U+FEFF from every decode() call. The standard (HTML §9.2.5) drops one BOM
  // at the start of the stream only; a U+FEFF that starts a value is data, and one that
  // starts a line makes the field name "\uFEFFdata", which is ignored.
  it("keeps a U+FEFF that starts a value and ignores a field whose name starts with one", () => {
    const source = new EventSource();
    source.feed(Buffer.from("\uFEFFdata: first\n\ndata: \uFEFFsecond\n\n\uFEFFdata: third\n\n"));
    expect(source.bom).toBe(true);
    expect(source.events.map((e) => e.data)).toEqual(["first", "\uFEFFsecond"]);
  });

  it("takes CR, LF and CRLF line ends split at every byte, a BOM only at the start, and the last retry", () => {
    const stream = "\uFEFFretry: 300\r\nid: a\rdata: x\r\n\r: note\nretry: x1\ndata:y\n\n";
    const bytes = Buffer.from(stream);
    for (let at = 0; at <= bytes.length; at++) {
      const source = new EventSource();
      source.feed(bytes.subarray(0, at));
      source.feed(bytes.subarray(at));
      expect(source.events, `split at ${at}`).toEqual([
        { id: "a", name: "", data: "x", retry: 300 },
        { id: "a", name: "", data: "y", retry: 300 },
      ]);
    }
  });
});
