/**
 * The request-target split into hio's parts (RFC 9112 §3.2): origin-form `/p?q#f`, absolute-form
 * `http://host:port/p?q`, asterisk-form `*`, and authority-form `host:port` for CONNECT.
 * The path is split off first and only then percent-decoded, so `%3F` stays in the path.
 */
import { unquote } from "./httping.ts";

export interface TargetParts {
  /** Percent-decoded path ("/" for an absolute-form target without one, "*" for asterisk-form). */
  path: string;
  /** Query as received, without the "?". */
  query: string;
  /** Fragment as received, without the "#". */
  fragment: string;
  /** Scheme of an absolute-form target, lowercased; "" otherwise. */
  scheme: string;
  /** Host of an absolute-form or authority-form target, lowercased, IPv6 without brackets. */
  hostname: string;
  /** Port of an absolute-form or authority-form target, null when not given. */
  port: number | null;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * Splits the fragment (after the first "#") and then the query (after the first "?") off a
 * path or target, as they are, into `parts` (each left as it was when absent); returns the rest.
 * The client's Requester and the server's target parsing both split so.
 */
export function splitOff(text: string, parts: { query: string; fragment: string }): string {
  let rest = text;
  const hash = rest.indexOf("#");
  if (hash >= 0) {
    parts.fragment = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
  }
  const mark = rest.indexOf("?");
  if (mark >= 0) {
    parts.query = rest.slice(mark + 1);
    rest = rest.slice(0, mark);
  }
  return rest;
}

/** Splits a request-target, or returns null when it has none of the four forms. */
export function splitTarget(target: string, method = "GET"): TargetParts | null {
  const parts: TargetParts = { path: "", query: "", fragment: "", scheme: "", hostname: "", port: null };
  if (target === "*") {
    parts.path = "*";
    return parts;
  }
  if (method === "CONNECT") return authority(target, parts) && !target.includes("/") ? parts : null;

  let rest = splitOff(target, parts);
  if (rest.startsWith("/")) {
    parts.path = unquote(rest);
    return parts;
  }
  const scheme = SCHEME.exec(rest);
  if (scheme === null) return null;
  parts.scheme = scheme[0].slice(0, -1).toLowerCase();
  rest = rest.slice(scheme[0].length);
  if (rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    const auth = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    if (!authority(auth, parts)) return null;
    rest = slash < 0 ? "/" : rest.slice(slash);
  }
  parts.path = unquote(rest);
  return parts;
}

/** Fills hostname and port from `[userinfo@]host[:port]`; false when the port is not digits. */
function authority(text: string, parts: TargetParts): boolean {
  const hostport = text.slice(text.lastIndexOf("@") + 1);
  let host = hostport;
  let port = "";
  if (hostport.startsWith("[")) {
    const close = hostport.indexOf("]");
    if (close < 0) return false;
    host = hostport.slice(1, close);
    const after = hostport.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) return false;
    port = after.slice(1);
  } else {
    const colon = hostport.lastIndexOf(":");
    if (colon >= 0) {
      host = hostport.slice(0, colon);
      port = hostport.slice(colon + 1);
    }
  }
  if (port !== "" && !/^[0-9]{1,5}$/.test(port)) return false;
  parts.hostname = host.toLowerCase();
  parts.port = port === "" ? null : Number(port);
  return true;
}

/**
 * hio's qargs: the query's arguments split on "&" only (the URL standard's
 * application/x-www-form-urlencoded, "+" is a space), every value kept: `get` gives the first,
 * `getAll` all of them. As JSON it is an object: a name seen once maps to its value, a repeated
 * name to the list of its values.
 */
export class Qargs extends URLSearchParams {
  toJSON(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = Object.create(null);
    for (const [name, value] of this) {
      const seen = out[name];
      if (seen === undefined) out[name] = value;
      else if (Array.isArray(seen)) seen.push(value);
      else out[name] = [seen, value];
    }
    return out;
  }
}
