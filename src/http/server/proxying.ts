/**
 * Trusted proxies: which peers a server believes when their X-Forwarded-For says whom they
 * forward for. A server built with `trustProxy` gives its app the client's address as
 * `env.clientAddress`; `env.remoteAddress` stays the socket's peer (the proxy) either way.
 */
import { BlockList, isIP } from "node:net";
import type { Hict } from "../wire/hicting.ts";
import { shown } from "../../base/options.ts";

/**
 * Whom to believe about the client's address: `false` (the default) no one, X-Forwarded-For is
 * ignored; `true` the immediate peer, whoever it is (one hop: the address it says it saw);
 * a list of addresses and CIDRs (`["127.0.0.1", "10.0.0.0/8", "::1"]`) those peers, hop after
 * hop, for a chain of proxies.
 */
export type TrustProxy = boolean | readonly string[];

const WANTED = 'true, false, or a list of addresses and CIDRs such as ["127.0.0.1", "10.0.0.0/8"]';

/** An entry of a trustProxy list as [address, prefix bits, family]; null when it is neither. */
function cidrOf(entry: string): [string, number, "ipv4" | "ipv6"] | null {
  const slash = entry.indexOf("/");
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return null;
  const most = version === 4 ? 32 : 128;
  if (slash < 0) return [address, most, version === 4 ? "ipv4" : "ipv6"];
  const bits = entry.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > most) return null;
  return [address, Number(bits), version === 4 ? "ipv4" : "ipv6"];
}

/**
 * One X-Forwarded-For element as an address: trimmed, a port dropped (`1.2.3.4:80`,
 * `[::1]:80`), IPv6 brackets removed; null when it is no IP address (`unknown`, a hidden name).
 */
export function forwardedAddress(element: string): string | null {
  let text = element.trim();
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return null;
    const rest = text.slice(close + 1);
    if (rest !== "" && !/^:[0-9]+$/.test(rest)) return null;
    text = text.slice(1, close);
    return isIP(text) === 6 ? text : null;
  }
  if (isIP(text) !== 0) return text;
  const port = /^([0-9.]+):[0-9]+$/.exec(text);
  return port !== null && isIP(port[1]!) === 4 ? port[1]! : null;
}

/** A checked `trustProxy`: tells the client's address from the peer's and its X-Forwarded-For. */
export class ProxyTrust {
  /** Null: trust the immediate peer only, whoever it is (`trustProxy: true`). */
  readonly #trusted: BlockList | null;

  /**
   * Checks `value` once (a server's constructor calls this): a boolean or an array of IP
   * addresses and CIDRs, else a TypeError or RangeError naming the option and the value.
   * Returns null when no one is trusted (false, undefined, an empty list).
   */
  static of(value: unknown, name = "trustProxy"): ProxyTrust | null {
    if (value === undefined || value === false) return null;
    if (value === true) return new ProxyTrust(null);
    if (!Array.isArray(value)) throw new TypeError(`${name} must be ${WANTED}, not ${shown(value)}`);
    if (value.length === 0) return null;
    const list = new BlockList();
    value.forEach((entry: unknown, i: number) => {
      const cidr = typeof entry === "string" ? cidrOf(entry.trim()) : null;
      if (cidr === null) {
        const error = typeof entry === "string" ? RangeError : TypeError;
        throw new error(`${name}[${i}] must be an IP address or a CIDR such as "10.0.0.0/8", not ${shown(entry)}`);
      }
      list.addSubnet(...cidr);
    });
    return new ProxyTrust(list);
  }

  private constructor(trusted: BlockList | null) {
    this.#trusted = trusted;
  }

  /** True when `address` is believed about whom it forwards for. */
  trusts(address: string): boolean {
    if (this.#trusted === null) return true;
    const version = isIP(address);
    return version !== 0 && this.#trusted.check(address, version === 4 ? "ipv4" : "ipv6");
  }

  /**
   * The client's address: starting at the socket's peer, while the address in hand is trusted
   * the one it reports (the rightmost X-Forwarded-For element left) takes its place; with
   * `true`, one hop only. The walk stops at an untrusted address, at the header's start, or
   * before an element that is no IP address (the last address reached is the answer). Several
   * X-Forwarded-For lines count as one list, in order.
   */
  clientOf(peer: string, fields: Hict): string {
    const lines = fields.getAll("x-forwarded-for");
    if (lines.length === 0) return peer;
    const hops = (lines.length === 1 ? lines[0]! : lines.join(",")).split(",");
    let client = peer;
    for (let i = hops.length - 1; i >= 0 && this.trusts(client); i--) {
      const reported = forwardedAddress(hops[i]!);
      if (reported === null) break;
      client = reported;
      if (this.#trusted === null) break; // true: the immediate peer only
    }
    return client;
  }
}
