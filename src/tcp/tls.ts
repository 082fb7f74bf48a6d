/**
 * TLS: hio's ServerTls and ClientTls, the TCP server and client over TLS with key, cert and
 * CA files. A server connection becomes a Remoter only once its handshake succeeded (hio's
 * cxes -> ixes); a failed handshake is dropped without a trace in ixes. Real sockets only.
 */
import fs from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { Client } from "./clienting.ts";
import type { ClientOptions } from "./clienting.ts";
import { SocketConduit } from "./conduit.ts";
import type { Address, Conduit, Listener } from "./conduit.ts";
import { SocketListener } from "./listening.ts";
import { Server } from "./serving.ts";
import type { ServerOptions } from "./serving.ts";

/**
 * Peer certificate requirement, hio's ssl.CERT_NONE / CERT_OPTIONAL / CERT_REQUIRED
 * (true = "required", false = "none").
 */
export type Certify = boolean | "none" | "optional" | "required";

function certifyOf(certify: Certify | undefined): "none" | "optional" | "required" {
  if (certify === undefined || certify === true) return "required";
  return certify === false ? "none" : certify;
}

function read(path: string | undefined): Buffer | undefined {
  return path === undefined ? undefined : fs.readFileSync(path);
}

export interface ServerTlsOptions extends ServerOptions {
  /** Server private key file (PEM). */
  keypath?: string;
  /** Server certificate file (PEM). */
  certpath?: string;
  /** CA file to verify client certificates. */
  cafilepath?: string | undefined;
  /** Client certificate requirement; default "required" as hio. */
  certify?: Certify;
  /** Extra Node TLS options (ciphers, minVersion, ...). */
  context?: tls.TlsOptions;
}

/**
 * A Server over TLS. With certify "required" a client without a valid certificate signed by
 * the CA in `cafilepath` fails the handshake; "optional" accepts a client without one but
 * still rejects an invalid one; "none" never asks.
 */
export class ServerTls extends Server {
  keypath: string | undefined;
  certpath: string | undefined;
  cafilepath: string | undefined;
  certify: "none" | "optional" | "required";
  readonly context: tls.TlsOptions;

  constructor({ keypath, certpath, cafilepath, certify, context = {}, ...rest }: ServerTlsOptions = {}) {
    if (rest.network) throw new Error("ServerTls needs real sockets, not a MemoryNetwork");
    super(rest);
    this.keypath = keypath;
    this.certpath = certpath;
    this.cafilepath = cafilepath;
    this.certify = certifyOf(certify);
    this.context = {
      key: read(keypath),
      cert: read(certpath),
      ca: read(cafilepath),
      requestCert: this.certify !== "none",
      rejectUnauthorized: this.certify === "required",
      ...context,
    };
    tls.createSecureContext(this.context); // a bad key, certificate or CA throws here, not at open
  }

  protected override listen(ha: Address): Listener | null {
    const server = tls.createServer({ ...this.context, allowHalfOpen: true, noDelay: true });
    if (this.certify === "optional") {
      // Node lets an invalid certificate through when not rejecting; hio's CERT_OPTIONAL does not.
      server.prependListener("secureConnection", (socket: tls.TLSSocket) => {
        if (!socket.authorized && socket.getPeerCertificate().raw !== undefined) socket.destroy();
      });
    }
    const listener = new SocketListener(server, ha, { event: "secureConnection", backlog: this.backlog });
    return listener.opened ? listener : null;
  }
}

export interface ClientTlsOptions extends ClientOptions {
  /** Client private key file (PEM), for servers that ask for a certificate. */
  keypath?: string | undefined;
  /** Client certificate file (PEM). */
  certpath?: string | undefined;
  /** CA file to verify the server certificate. */
  cafilepath?: string | undefined;
  /** Server certificate requirement: "required" (default) verifies it, "none" does not. */
  certify?: Certify | undefined;
  /** Check the server certificate names the host; default true when verifying. */
  hostify?: boolean | undefined;
  /** Name the server certificate must carry; default the host. */
  certedhost?: string | undefined;
  /** Extra Node TLS options. */
  context?: tls.ConnectionOptions | undefined;
}

/** A Client over TLS: `accepted` once TCP connects, `connected` once the handshake is done. */
export class ClientTls extends Client {
  keypath: string | undefined;
  certpath: string | undefined;
  cafilepath: string | undefined;
  certify: "none" | "optional" | "required";
  hostify: boolean;
  certedhost: string;
  readonly context: tls.ConnectionOptions;

  constructor({ keypath, certpath, cafilepath, certify, hostify, certedhost, context = {},
                ...rest }: ClientTlsOptions = {}) {
    if (rest.network) throw new Error("ClientTls needs real sockets, not a MemoryNetwork");
    super(rest);
    this.keypath = keypath;
    this.certpath = certpath;
    this.cafilepath = cafilepath;
    this.certify = certifyOf(certify);
    this.hostify = hostify ?? this.certify !== "none";
    if (this.hostify && this.certify === "none") {
      throw new Error("hostify needs the server certificate verified (certify not 'none')");
    }
    this.certedhost = certedhost || this.hostname;
    this.context = { key: read(keypath), cert: read(certpath), ca: read(cafilepath), ...context };
    tls.createSecureContext(this.context); // a bad key, certificate or CA throws here, not in service()
  }

  protected override dial(): Conduit {
    const certedhost = this.certedhost;
    const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
      ...this.context,
      host: this.ha[0],
      port: this.ha[1],
      allowHalfOpen: true,
      rejectUnauthorized: this.certify !== "none",
      // SNI may not carry an IP address (RFC 6066); the identity check still gets certedhost.
      ...(net.isIP(certedhost) === 0 ? { servername: certedhost } : {}),
      checkServerIdentity: this.hostify
        ? (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(certedhost, cert)
        : () => undefined,
    };
    const socket = tls.connect(options);
    return new SocketConduit(socket, { highWater: this.rxbsHighWater, status: "dialing", secure: true });
  }
}
