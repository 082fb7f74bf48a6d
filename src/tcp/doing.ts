/**
 * TCP doers: hio's ServerDoer, EchoServerDoer and a ClientDoer, which run a tcp Server or
 * Client under a Doist or DoDoer: enter winds and opens, recur services once (never done),
 * exit closes.
 */
import type { DoerOptions } from "../base/doing.ts";
import { ServicingDoer } from "../base/servicing.ts";
import type { Client } from "./clienting.ts";
import { listenError } from "./serving.ts";
import type { Server } from "./serving.ts";

export interface ServerDoerOptions extends DoerOptions {
  server: Server;
}

/** Runs a tcp Server: enter winds and reopens it, recur services it, exit closes it. */
export class ServerDoer extends ServicingDoer<Server> {
  constructor({ server, ...rest }: ServerDoerOptions) {
    super(server, rest);
  }

  get server(): Server {
    return this.servicing;
  }

  /** Reopens the server at enter; a server that cannot listen stops the run with a clear error. */
  protected override open(server: Server): void {
    if (!server.reopen()) throw listenError("tcp.ServerDoer: the server", server.ha);
  }
}

/** A ServerDoer that sends back to each client whatever it received, in the same tick. */
export class EchoServerDoer extends ServerDoer {
  override recur(_tyme: number): boolean {
    const server = this.server;
    server.service();
    for (const remoter of server.ixes.values()) {
      if (remoter.rxbs.length > 0) remoter.tx(remoter.rxbs.take());
    }
    server.serviceSendsAllIx();
    return false;
  }
}

export interface ClientDoerOptions extends DoerOptions {
  client: Client;
}

/** Runs a tcp Client: enter winds and reopens it, recur services it, exit closes it. */
export class ClientDoer extends ServicingDoer<Client> {
  constructor({ client, ...rest }: ClientDoerOptions) {
    super(client, rest);
  }

  get client(): Client {
    return this.servicing;
  }
}
