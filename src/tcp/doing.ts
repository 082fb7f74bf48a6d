/**
 * TCP doers: hio's ServerDoer, EchoServerDoer and a ClientDoer, which run a tcp Server or
 * Client under a Doist or DoDoer: enter winds and opens, recur services once (never done),
 * exit closes.
 */
import { Doer } from "../base/doing.ts";
import type { DoerOptions, EnterOptions } from "../base/doing.ts";
import type { Tymth } from "../base/tyming.ts";
import type { Client } from "./clienting.ts";
import type { Server } from "./serving.ts";

export interface ServerDoerOptions extends DoerOptions {
  server: Server;
}

/** Runs a tcp Server: enter winds and reopens it, recur services it, exit closes it. */
export class ServerDoer extends Doer {
  readonly server: Server;

  constructor({ server, ...rest }: ServerDoerOptions) {
    super(rest);
    this.server = server;
  }

  /** Winds the doer and its server. */
  override wind(tymth: Tymth | null): void {
    super.wind(tymth);
    this.server?.wind(tymth);
  }

  override enter(_options: EnterOptions = {}): void {
    if (this.tymth) this.server.wind(this.tymth);
    this.server.reopen();
  }

  override recur(_tyme: number): boolean {
    this.server.service();
    return false;
  }

  override exit(): void {
    this.server.close();
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
export class ClientDoer extends Doer {
  readonly client: Client;

  constructor({ client, ...rest }: ClientDoerOptions) {
    super(rest);
    this.client = client;
  }

  /** Winds the doer and its client. */
  override wind(tymth: Tymth | null): void {
    super.wind(tymth);
    this.client?.wind(tymth);
  }

  override enter(_options: EnterOptions = {}): void {
    if (this.tymth) this.client.wind(this.tymth);
    this.client.reopen();
  }

  override recur(_tyme: number): boolean {
    this.client.service();
    return false;
  }

  override exit(): void {
    this.client.close();
  }
}
