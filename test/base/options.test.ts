import { describe, expect, it } from "vitest";
import { boolean, envPort, integer, nonNegativeInt, oneOf, port, positiveInt, shown, tyme } from "../../src/base/options.ts";

describe("option checks", () => {
  it("passes a good port through and names the option and value of a bad one", () => {
    expect([port("port", 0), port("port", 8080), port("port", 65535)]).toEqual([0, 8080, 65535]);
    expect(() => port("port", 70000)).toThrow(new RangeError("port must be an integer from 0 to 65535 (0 picks a free port), not 70000"));
    expect(() => port("tcp.Server port", -1)).toThrow(/^tcp\.Server port must be .* not -1$/);
    expect(() => port("port", NaN)).toThrow(RangeError);
    expect(() => port("port", 80.5)).toThrow(/not 80\.5$/);
    expect(() => port("port", Infinity)).toThrow(RangeError);
    expect(() => port("port", "8080")).toThrow(new TypeError('port must be an integer from 0 to 65535 (0 picks a free port), not "8080"'));
    expect(() => port("port", undefined)).toThrow(/not undefined$/);
  });

  it("takes a tyme of at least min, Infinity only when allowed", () => {
    expect([tyme("tymeout", 0), tyme("tymeout", 0.125), tyme("limit", Infinity, { allowInfinity: true })]).toEqual([0, 0.125, Infinity]);
    expect(() => tyme("tymeout", -1)).toThrow(new RangeError("tymeout must be a number of seconds at least 0, and finite, not -1"));
    expect(() => tyme("tymeout", NaN)).toThrow(/not NaN$/);
    expect(() => tyme("tymeout", Infinity)).toThrow(RangeError);
    expect(() => tyme("tock", 0, { min: 0, inclusive: false })).toThrow(/more than 0/);
    expect(() => tyme("tymeout", "1")).toThrow(TypeError);
    expect(tyme("grace", 1, { min: 1 })).toBe(1);
  });

  it("checks integers, counts and sizes", () => {
    expect([positiveInt("bufsize", 1), nonNegativeInt("backlog", 0), integer("x", 5, { min: 1, max: 9 })]).toEqual([1, 0, 5]);
    expect(() => positiveInt("bufsize", 0)).toThrow(new RangeError("bufsize must be an integer of at least 1, not 0"));
    expect(() => nonNegativeInt("backlog", 1.5)).toThrow(RangeError);
    expect(() => integer("x", 10, { min: 1, max: 9 })).toThrow(/^x must be an integer from 1 to 9, not 10$/);
    expect(() => positiveInt("bufsize", null)).toThrow(TypeError);
  });

  it("checks booleans and choices", () => {
    expect(boolean("dictable", false)).toBe(false);
    expect(() => boolean("dictable", "false")).toThrow(new TypeError('dictable must be true or false, not "false"'));
    expect(oneOf("certify", "none", ["required", "optional", "none"])).toBe("none");
    expect(() => oneOf("certify", "maybe", ["required", "none"])).toThrow(new RangeError('certify must be one of "required", "none", not "maybe"'));
    expect(() => oneOf("certify", 1, ["required"])).toThrow(TypeError);
  });

  it("reads a port from the environment: digits only, empty is the fallback", () => {
    expect([envPort("PORT", undefined, 8080), envPort("PORT", "", 8080), envPort("PORT", "0", 8080), envPort("PORT", "9000", 1)])
      .toEqual([8080, 8080, 0, 9000]);
    expect(() => envPort("PORT", "abc", 8080)).toThrow(new RangeError('PORT must be a port number from 0 to 65535 (0 picks a free port), not "abc"'));
    expect(() => envPort("PORT", "-1", 8080)).toThrow(RangeError);
    expect(() => envPort("PORT", "70000", 8080)).toThrow(/not 70000$/);
    expect(() => envPort("PORT", "0x10", 8080)).toThrow(RangeError);
  });

  it("shows values the way a message should", () => {
    expect([shown("a"), shown(1), shown(NaN), shown(null), shown({}), shown([]), shown(() => 1)])
      .toEqual(['"a"', "1", "NaN", "null", "an object", "an array", "a function"]);
  });
});
