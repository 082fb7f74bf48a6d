/**
 * trustProxy: X-Forwarded-For gives the app the client's address (env.clientAddress) only from
 * peers the server trusts; by default it is ignored. env.remoteAddress stays the socket's peer.
 */
import { afterEach, describe, expect, it } from "vitest";
import { http } from "../../src/index.ts";
import type { HttpEnv } from "../../src/index.ts";
import { drive, parseResponses, rawRequest, responses } from "../helpers.ts";
import { closeServed, serveApp } from "./clients.ts";

afterEach(closeServed);

const fields = (...lines: string[]): http.Hict => new http.Hict(lines.map((line) => ["X-Forwarded-For", line] as const));

describe("ProxyTrust.of checks trustProxy once", () => {
  it.each([
    ["a string, not a list", "127.0.0.1", TypeError, 'trustProxy must be true, false, or a list of addresses and CIDRs such as ["127.0.0.1", "10.0.0.0/8"], not "127.0.0.1"'],
    ["a number", 1, TypeError, "trustProxy must be true, false, or a list of addresses and CIDRs such as [\"127.0.0.1\", \"10.0.0.0/8\"], not 1"],
    ["a name", ["127.0.0.1", "localhost"], RangeError, 'trustProxy[1] must be an IP address or a CIDR such as "10.0.0.0/8", not "localhost"'],
    ["a prefix too long", ["10.0.0.0/33"], RangeError, 'trustProxy[0] must be an IP address or a CIDR such as "10.0.0.0/8", not "10.0.0.0/33"'],
    ["an IPv6 prefix too long", ["fd00::/129"], RangeError, 'trustProxy[0] must be an IP address or a CIDR such as "10.0.0.0/8", not "fd00::/129"'],
    ["an empty prefix", ["10.0.0.0/"], RangeError, 'trustProxy[0] must be an IP address or a CIDR such as "10.0.0.0/8", not "10.0.0.0/"'],
    ["a number in the list", [10], TypeError, 'trustProxy[0] must be an IP address or a CIDR such as "10.0.0.0/8", not 10'],
  ])("refuses %s", (_name, value, type, message) => {
    expect(() => http.ProxyTrust.of(value)).toThrow(type);
    expect(() => http.ProxyTrust.of(value)).toThrow(message);
  });

  it("refuses a bad value when the server is built, before it listens", () => {
    expect(() => new http.Server({ app: () => new Response(), trustProxy: ["10.0.0.0/99"] })).toThrow(
      'trustProxy[0] must be an IP address or a CIDR such as "10.0.0.0/8", not "10.0.0.0/99"',
    );
  });

  it("trusts no one for false, undefined and an empty list", () => {
    expect([http.ProxyTrust.of(false), http.ProxyTrust.of(undefined), http.ProxyTrust.of([])]).toEqual([null, null, null]);
  });

  it("matches addresses, IPv4 and IPv6 CIDRs, and IPv4-mapped peers", () => {
    const trust = http.ProxyTrust.of(["127.0.0.1", "10.0.0.0/8", "fd00::/8", "::1"])!;
    const checked = ["127.0.0.1", "127.0.0.2", "10.9.8.7", "11.0.0.1", "fd12::5", "fe80::1", "::1", "::ffff:10.1.2.3", "not an address"];
    expect(checked.map((address) => trust.trusts(address))).toEqual([true, false, true, false, true, false, true, true, false]);
  });
});

describe("ProxyTrust.clientOf walks X-Forwarded-For from the peer back", () => {
  const list = http.ProxyTrust.of(["127.0.0.1", "10.0.0.0/8"])!;
  const peer = http.ProxyTrust.of(true)!;
  it.each([
    ["no header: the peer", list, "10.0.0.1", [], "10.0.0.1"],
    ["an untrusted peer: its header is ignored", list, "203.0.113.9", ["1.2.3.4"], "203.0.113.9"],
    ["one trusted proxy", list, "127.0.0.1", ["198.51.100.7"], "198.51.100.7"],
    ["a chain of trusted proxies, up to the first untrusted hop", list, "127.0.0.1", ["6.6.6.6, 198.51.100.7, 10.0.0.2"], "198.51.100.7"],
    ["every hop trusted: the leftmost", list, "127.0.0.1", ["10.0.0.3, 10.0.0.2"], "10.0.0.3"],
    ["several header lines as one list, in order", list, "127.0.0.1", ["6.6.6.6", "198.51.100.7, 10.0.0.2"], "198.51.100.7"],
    ["ports and brackets dropped", list, "127.0.0.1", ["[2001:db8::1]:443, 10.0.0.2:8080"], "2001:db8::1"],
    ["a hop that is no address stops the walk", list, "127.0.0.1", ["198.51.100.7, unknown, 10.0.0.2"], "10.0.0.2"],
    ["true: only the immediate peer is believed, a forged left part is not", peer, "127.0.0.1", ["6.6.6.6, 198.51.100.7"], "198.51.100.7"],
    ["true with an unusable element: the peer", peer, "127.0.0.1", ["garbage"], "127.0.0.1"],
  ] as const)("%s", (_name, trust, from, lines, client) => {
    expect(trust.clientOf(from, fields(...lines))).toBe(client);
  });
});

describe("a server's env.clientAddress", () => {
  const app = (_request: Request, env: HttpEnv): Response =>
    Response.json({ remoteAddress: env.remoteAddress, clientAddress: env.clientAddress });
  const ask = async (options: Partial<http.ServerOptions>): Promise<{ remoteAddress: string; clientAddress: string }> => {
    const { step, port } = serveApp(app, options);
    const reply = await drive(step, rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n", { until: responses(1) }));
    return JSON.parse(parseResponses(reply.bytes)[0]!.body.toString()) as { remoteAddress: string; clientAddress: string };
  };

  it("ignores X-Forwarded-For by default: the client is the socket's peer", async () => {
    expect(await ask({})).toEqual({ remoteAddress: "127.0.0.1", clientAddress: "127.0.0.1" });
  });

  it("takes it from a trusted peer, keeping remoteAddress the peer's", async () => {
    expect(await ask({ trustProxy: ["127.0.0.1"] })).toEqual({ remoteAddress: "127.0.0.1", clientAddress: "198.51.100.7" });
    expect(await ask({ trustProxy: true })).toEqual({ remoteAddress: "127.0.0.1", clientAddress: "198.51.100.7" });
  });

  it("ignores it from a peer not on the list", async () => {
    expect(await ask({ trustProxy: ["10.0.0.0/8", "::1"] })).toEqual({ remoteAddress: "127.0.0.1", clientAddress: "127.0.0.1" });
  });
});
