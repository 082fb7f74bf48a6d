import { describe, expect, it } from "vitest";
import {
  BadRequestLine, BadStatusLine, CharClass, FVCHAR, HTTPError, HTTPException, HexValue, LineTooLong, PrematureClosure,
  QDTEXT, TCHAR, UnknownProtocol, httpDate1123, isToken, latin1, splitList, statusReason, unquote,
} from "../../src/http/wire/httping.ts";
import type { HTTPErrorOptions } from "../../src/http/wire/httping.ts";
import { Qargs, splitTarget } from "../../src/http/wire/targeting.ts";

describe("HTTPError (S6)", () => {
  it("renders a known status with the table's reason and empty fields", () => {
    const error = new HTTPError({ status: 400 });
    expect([error.status, error.reason, error.title, error.detail, error.fault]).toEqual([400, "Bad Request", "", "", null]);
    expect(error.render()).toBe("400 Bad Request\n\n\n");
    expect(error.headers).toEqual({});
    expect(error.name).toBe("HTTPError");
    expect(error).toBeInstanceOf(Error);
  });

  it("calls a status off the table Unknown and renders every field", () => {
    const error = new HTTPError({ status: 599, title: "Validation Error", detail: "Bad mojo", fault: 50 });
    expect(error.reason).toBe("Unknown");
    expect(error.render()).toBe("599 Unknown\nValidation Error\nBad mojo\n50");
  });

  it("refuses a status that is not an integer from 100 to 599 (hio takes any)", () => {
    for (const status of [0, 99, 600, 1000, -1, 418.5, NaN, Infinity]) {
      expect(() => new HTTPError({ status })).toThrow(new RangeError(`HTTPError status must be an integer from 100 to 599, not ${status}`));
    }
    expect(() => new HTTPError({ status: "418" as unknown as number })).toThrow(TypeError);
    expect(() => new HTTPError({} as HTTPErrorOptions)).toThrow(/status must be a number from 100 to 599: new HTTPError\(\{ status: 418, title: "\.\.\." \}\), not undefined/);
    expect([new HTTPError({ status: 100 }).status, new HTTPError({ status: 599 }).status]).toEqual([100, 599]);
  });

  it("names the call form when given positional arguments or no object", () => {
    const construct = (...args: unknown[]) => () => Reflect.construct(HTTPError, args);
    const form = 'HTTPError takes one options object: new HTTPError({ status: 418, title: "..." })';
    expect(construct(418, "I'm a teapot")).toThrow(new TypeError(`${form}, not new HTTPError(418, "I'm a teapot")`));
    expect(construct(418)).toThrow(new TypeError(`${form}, not new HTTPError(418)`));
    expect(construct()).toThrow(new TypeError(`${form}, not new HTTPError()`));
    expect(construct(null)).toThrow(TypeError);
    expect(construct([418])).toThrow(TypeError);
    expect(construct({ status: 418 }, "extra")).toThrow(TypeError);
  });

  it("refuses a reason or headers that would break the response head", () => {
    expect(() => new HTTPError({ status: 400, reason: "Bad\r\nSet-Cookie: a=b" })).toThrow(/reason must be a reason-phrase/);
    expect(() => new HTTPError({ status: 400, reason: "Bad\u0100" })).toThrow(TypeError);
    expect(new HTTPError({ status: 400, reason: "Bad\there caf\u00e9" }).reason).toBe("Bad\there caf\u00e9");
    expect(() => new HTTPError({ status: 503, headers: { "Retry-After": "5\r\nX: y" } })).toThrow(/header Retry-After has a value with CR, LF/);
    expect(() => new HTTPError({ status: 503, headers: { "Retry After": "5" } })).toThrow(/header name "Retry After" is not a token/);
    expect(() => new HTTPError({ status: 503, headers: { "x": "\0" } })).toThrow(TypeError);
    expect(() => new HTTPError({ status: 503, fault: "x" as unknown as number })).toThrow(/fault must be a number or null/);
  });

  it("cannot be given another status after construction, nor faked without the constructor", () => {
    const error = new HTTPError({ status: 418, headers: { "x-a": "1" } });
    expect(() => {
      (error as { status: number }).status = 1000;
    }).toThrow(TypeError);
    expect(() => {
      (error.headers as Record<string, string>)["x-b"] = "2\r\n";
    }).toThrow(TypeError);
    expect(error.status).toBe(418);
    const fake = Object.create(HTTPError.prototype) as HTTPError;
    expect(fake instanceof HTTPError).toBe(false);
    expect({ status: 418 } instanceof HTTPError).toBe(false);
    class Teapot extends HTTPError {
      constructor() {
        super({ status: 418 });
      }
    }
    const teapot = new Teapot();
    expect([teapot instanceof HTTPError, teapot instanceof Teapot, error instanceof Teapot]).toEqual([true, true, false]);
  });

  it("renders as JSON with a two-space indent", () => {
    const error = new HTTPError({ status: 404, title: "Missing", fault: null });
    expect(error.render({ jsonify: true })).toBe(
      '{\n  "status": 404,\n  "reason": "Not Found",\n  "title": "Missing",\n  "detail": "",\n  "fault": null\n}',
    );
  });

  it("keeps a given reason and a copy of its headers", () => {
    const headers = { "Retry-After": "5" };
    const error = new HTTPError({ status: 503, reason: "Busy", headers });
    headers["Retry-After"] = "9";
    expect([error.reason, error.headers]).toEqual(["Busy", { "Retry-After": "5" }]);
  });
});

describe("the HTTPException family", () => {
  it("names each class", () => {
    const errors = [new HTTPException("x"), new UnknownProtocol("HTTP/2.0"), new BadStatusLine(""), new BadRequestLine("GET"),
      new LineTooLong("request line", 10), new PrematureClosure("gone")];
    expect(errors.map((e) => e.name)).toEqual(["HTTPException", "UnknownProtocol", "BadStatusLine", "BadRequestLine", "LineTooLong", "PrematureClosure"]);
    for (const error of errors) expect(error).toBeInstanceOf(HTTPException);
    expect(new BadRequestLine("x")).toBeInstanceOf(BadStatusLine);
    expect(new LineTooLong("request line", 10).message).toBe("got more than 10 bytes while parsing request line");
  });
});

describe("status reasons and dates", () => {
  it("finds reasons in the table and Unknown off it", () => {
    expect([statusReason(200), statusReason(431), statusReason(505), statusReason(799)])
      .toEqual(["OK", "Request Header Fields Too Large", "HTTP Version Not Supported", "Unknown"]);
  });

  it("formats an IMF-fixdate in UTC (httpDate1123)", () => {
    expect(httpDate1123(new Date(Date.UTC(2015, 8, 30, 14, 29, 18)))).toBe("Wed, 30 Sep 2015 14:29:18 GMT");
    expect(httpDate1123(Date.UTC(2001, 0, 2, 3, 4, 5))).toBe("Tue, 02 Jan 2001 03:04:05 GMT");
    const now = httpDate1123();
    expect(now).toMatch(/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
    expect(Math.abs(Date.parse(now) - Date.now())).toBeLessThan(2_000);
  });
});

describe("byte classes and text helpers", () => {
  it("classes tokens, field values and quoted text by RFC 9110", () => {
    const has = (c: string, flag: number) => (CharClass[c.charCodeAt(0)]! & flag) !== 0;
    expect([..."!#$%&'*+-.^_`|~aZ9"].every((c) => has(c, TCHAR))).toBe(true);
    expect([..."(),/:;<=>?@[\\]{}\" \t"].some((c) => has(c, TCHAR))).toBe(false);
    expect([has("\x80", FVCHAR), has("\x7f", FVCHAR), has("\x00", FVCHAR), has(" ", FVCHAR)]).toEqual([true, false, false, false]);
    expect([has("\t", QDTEXT), has('"', QDTEXT), has("\\", QDTEXT), has("a", QDTEXT)]).toEqual([true, false, false, true]);
    expect([HexValue[0x66], HexValue[0x46], HexValue[0x39], HexValue[0x67]]).toEqual([15, 15, 9, -1]);
    expect([isToken("GET"), isToken("M-SEARCH"), isToken(""), isToken("A B"), isToken("é")]).toEqual([true, true, false, false, false]);
  });

  it("decodes latin1 one char per byte", () => {
    expect(latin1(new Uint8Array([0x41, 0x80, 0xe9, 0xff]))).toBe("A\x80\xe9\xff");
    expect(latin1(new Uint8Array([0x41, 0x42, 0x43]), 1, 2)).toBe("B");
    expect(latin1(new Uint8Array(0))).toBe("");
  });

  it("splits lists on commas, trimming OWS and dropping empty elements", () => {
    expect(splitList(" gzip ,\tchunked, ,")).toEqual(["gzip", "chunked"]);
  });

  it("percent-decodes as UTF-8 and leaves invalid escapes alone", () => {
    expect(unquote("/caf%C3%A9%20x")).toBe("/café x");
    expect(unquote("/100%zz%2")).toBe("/100%zz%2");
    expect(unquote("/a%FFb")).toBe("/a\ufffdb");
    expect(unquote("/plain")).toBe("/plain");
  });
});

describe("request-targets", () => {
  it("splits origin-form before decoding the path", () => {
    expect(splitTarget("/a%3Fb?q=%3F#frag")).toEqual({ path: "/a?b", query: "q=%3F", fragment: "frag", scheme: "", hostname: "", port: null });
  });

  it("splits absolute-form with userinfo, IPv6 and an empty path", () => {
    expect(splitTarget("HTTP://u:p@Host.Example:8080")).toMatchObject({ scheme: "http", hostname: "host.example", port: 8080, path: "/" });
    expect(splitTarget("http://[::1]:9/x?y")).toMatchObject({ hostname: "::1", port: 9, path: "/x", query: "y" });
    expect(splitTarget("http://h:port/")).toBeNull();
  });

  it("takes asterisk-form and authority-form for CONNECT only", () => {
    expect(splitTarget("*", "OPTIONS")?.path).toBe("*");
    expect(splitTarget("h.example:443", "CONNECT")).toMatchObject({ hostname: "h.example", port: 443, path: "" });
    expect(splitTarget("h.example/x", "CONNECT")).toBeNull();
    expect(splitTarget("relative")).toBeNull();
  });

  it("gives qargs every value and JSON as names to values", () => {
    const qargs = new Qargs("a=1&b=&a=2&__proto__=x");
    expect(qargs.getAll("a")).toEqual(["1", "2"]);
    expect(JSON.stringify(qargs)).toBe('{"a":["1","2"],"b":"","__proto__":"x"}');
  });
});
