import { afterEach, describe, expect, it } from "vitest";
import * as tcp from "../../src/tcp/index.ts";
import { drive, pki, tcpHandles } from "./helpers.ts";

/** Services both, echoing what the server receives; returns a step function. */
function echoing(server: tcp.Server, client: tcp.Client): () => void {
  return () => {
    server.service();
    for (const remoter of server.ixes.values()) {
      if (remoter.rxbs.length > 0) remoter.tx(remoter.rxbs.take());
    }
    server.serviceSendsAllIx();
    client.service();
  };
}

const serverOpts = { host: "127.0.0.1", keypath: pki.serverKey, certpath: pki.serverCert, cafilepath: pki.ca };
const clientCert = { keypath: pki.clientKey, certpath: pki.clientCert };

afterEach(async () => {
  await drive(() => {}, () => tcpHandles() === 0, { turns: 200, what: "all TLS handles closed" });
});

describe("tcp over TLS", () => {
  it("echoes when the server requires a client certificate and gets a valid one", async () => {
    using server = tcp.openServer({ ...serverOpts, certify: "required" }, tcp.ServerTls);
    using client = tcp.openClient({ ha: server.eha, cafilepath: pki.ca, ...clientCert }, tcp.ClientTls);
    client.tx("secret hello");
    await drive(echoing(server, client), () => client.rxbs.length >= 12, { what: "TLS echo" });
    expect(client.rxbs.toString()).toBe("secret hello");
    expect(client.accepted && client.connected).toBe(true);
    expect([...server.ixes.keys()]).toEqual([tcp.keyOf(client.ca!)]);
  });

  it("echoes without client certificates when the server does not ask", async () => {
    using server = tcp.openServer({ ...serverOpts, certify: "none" }, tcp.ServerTls);
    using client = tcp.openClient({ ha: server.eha, cafilepath: pki.ca }, tcp.ClientTls);
    client.tx("plain hello");
    await drive(echoing(server, client), () => client.rxbs.length >= 11, { what: "TLS echo" });
    expect(client.rxbs.toString()).toBe("plain hello");
  });

  it("accepts a client without a certificate when certify is optional", async () => {
    using server = tcp.openServer({ ...serverOpts, certify: "optional" }, tcp.ServerTls);
    using client = tcp.openClient({ ha: server.eha, cafilepath: pki.ca }, tcp.ClientTls);
    client.tx("maybe");
    await drive(echoing(server, client), () => client.rxbs.length >= 5, { what: "TLS echo" });
    expect(client.rxbs.toString()).toBe("maybe");
  });

  it("refuses a client without a certificate when one is required", async () => {
    using server = tcp.openServer({ ...serverOpts, certify: "required" }, tcp.ServerTls);
    using client = tcp.openClient({ ha: server.eha, cafilepath: pki.ca }, tcp.ClientTls);
    client.tx("let me in");
    await drive(echoing(server, client), () => client.cutoff, { what: "client cut off" });
    expect(client.rxbs.length).toBe(0);
    expect(server.ixes.size).toBe(0);
  });

  it("fails the handshake when the server certificate does not name the expected host", async () => {
    using server = tcp.openServer({ ...serverOpts, certify: "none" }, tcp.ServerTls);
    using client = tcp.openClient({ ha: server.eha, cafilepath: pki.ca, certedhost: "wrong.example" },
      tcp.ClientTls);
    await drive(echoing(server, client), () => client.cutoff, { what: "client cut off" });
    expect(client.connected).toBe(false);
    expect(client.accepted).toBe(true); // TCP connected; TLS never did
  });

  it("fails the handshake when the server certificate is not trusted, unless certify is none", async () => {
    using server = tcp.openServer({ ...serverOpts, certify: "none" }, tcp.ServerTls);
    using strict = tcp.openClient({ ha: server.eha }, tcp.ClientTls); // system CAs only
    await drive(echoing(server, strict), () => strict.cutoff, { what: "untrusted cut off" });
    expect(strict.connected).toBe(false);
    using lax = tcp.openClient({ ha: server.eha, certify: "none" }, tcp.ClientTls);
    lax.tx("anyway");
    await drive(echoing(server, lax), () => lax.rxbs.length >= 6, { what: "unverified echo" });
    expect(lax.rxbs.toString()).toBe("anyway");
  });

  it("refuses a client certificate the CA did not sign, required or optional", async () => {
    const stranger = { keypath: pki.strangerKey, certpath: pki.strangerCert };
    for (const certify of ["required", "optional"] as const) {
      using server = tcp.openServer({ ...serverOpts, certify }, tcp.ServerTls);
      using client = tcp.openClient({ ha: server.eha, cafilepath: pki.ca, ...stranger }, tcp.ClientTls);
      client.tx("it's me");
      await drive(echoing(server, client), () => client.cutoff, { what: `${certify}: client cut off` });
      expect(client.rxbs.length).toBe(0);
      expect(server.ixes.size).toBe(0);
    }
  });

  it("closes connections it never took when the server closes", async () => {
    const server = tcp.openServer({ ...serverOpts, certify: "none" }, tcp.ServerTls);
    using client = tcp.openClient({ ha: server.eha, cafilepath: pki.ca }, tcp.ClientTls);
    // the server is never serviced: the connection waits inside it (handshaking or queued)
    await drive(() => client.service(), () => client.accepted, { what: "TCP accepted" });
    server.close();
    await drive(() => client.service(), () => client.cutoff, { what: "client cut off" });
    expect(client.rxbs.length).toBe(0);
  });
});
