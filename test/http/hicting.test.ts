import { describe, expect, it } from "vitest";
import { Hict } from "../../src/http/wire/hicting.ts";

describe("Hict", () => {
  it("keeps every field line in order with its name as added", () => {
    const hict = new Hict();
    hict.add("Host", "localhost:6101");
    hict.add("Accept-Encoding", "identity");
    hict.add("X-Dup", "a");
    hict.add("x-dup", "b");
    expect([...hict.items()]).toEqual([["Host", "localhost:6101"], ["Accept-Encoding", "identity"], ["X-Dup", "a"], ["x-dup", "b"]]);
    expect([...hict]).toEqual([...hict.items()]);
    expect([...hict.keys()]).toEqual(["Host", "Accept-Encoding", "X-Dup", "x-dup"]);
    expect([...hict.values()]).toEqual(["localhost:6101", "identity", "a", "b"]);
    expect(hict.size).toBe(4);
  });

  it("looks names up in any case: get the first, nab the last, getAll in order", () => {
    const hict = new Hict([["X-Dup", "a"], ["Other", "o"], ["x-DUP", "b"], ["X-dup", "c"]]);
    expect(hict.get("x-dup")).toBe("a");
    expect(hict.getOne("X-DUP")).toBe("a");
    expect(hict.nab("X-Dup")).toBe("c");
    expect(hict.nabOne("x-dup")).toBe("c");
    expect(hict.getAll("X-DUP")).toEqual(["a", "b", "c"]);
    expect(hict.nabAll("x-dup")).toEqual(["c", "b", "a"]);
    expect(hict.has("OTHER")).toBe(true);
    expect(hict.get("missing")).toBeUndefined();
    expect(hict.nab("missing")).toBeUndefined();
    expect(hict.getAll("missing")).toEqual([]);
    expect(() => hict.getOne("missing")).toThrow(RangeError);
    expect(() => hict.nabOne("missing")).toThrow(RangeError);
  });

  it("sees lines added after a lookup", () => {
    const hict = new Hict();
    expect(hict.has("a")).toBe(false);
    hict.add("A", "1");
    expect(hict.get("a")).toBe("1");
    hict.add("a", "2");
    expect(hict.nab("A")).toBe("2");
  });

  it("replaces every value of a name with set, at the place of the first", () => {
    const hict = new Hict([["A", "1"], ["B", "2"], ["a", "3"], ["C", "4"]]);
    hict.set("a", "x");
    expect(hict.toJSON()).toEqual([["a", "x"], ["B", "2"], ["C", "4"]]);
    hict.set("D", "5");
    expect(hict.toJSON()).toEqual([["a", "x"], ["B", "2"], ["C", "4"], ["D", "5"]]);
  });

  it("deletes every value of a name", () => {
    const hict = new Hict([["A", "1"], ["B", "2"], ["a", "3"]]);
    expect(hict.delete("A")).toBe(true);
    expect(hict.delete("A")).toBe(false);
    expect(hict.toJSON()).toEqual([["B", "2"]]);
    hict.clear();
    expect(hict.size).toBe(0);
    expect(hict.has("B")).toBe(false);
  });

  it("builds from a record, with lists for repeated names, or from another Hict", () => {
    const hict = new Hict({ A: "1", B: ["2", "3"] });
    expect(hict.toJSON()).toEqual([["A", "1"], ["B", "2"], ["B", "3"]]);
    const copy = new Hict(hict);
    copy.add("C", "4");
    expect([copy.size, hict.size]).toEqual([4, 3]);
  });

  it("gives firsts and lasts once per name in first-seen order", () => {
    const hict = new Hict([["A", "1"], ["B", "2"], ["a", "3"]]);
    expect(hict.firsts()).toEqual([["A", "1"], ["B", "2"]]);
    expect(hict.lasts()).toEqual([["A", "3"], ["B", "2"]]);
  });

  it("iterates with forEach as value, name", () => {
    const seen: string[] = [];
    new Hict([["A", "1"], ["B", "2"]]).forEach((value, name) => seen.push(`${name}=${value}`));
    expect(seen).toEqual(["A=1", "B=2"]);
  });

  it("makes a fetch Headers that joins repeats and keeps Set-Cookie lines apart (RFC 9110 §5.3)", () => {
    const hict = new Hict([["X-Dup", "a"], ["x-dup", "b"], ["Set-Cookie", "s=1"], ["Set-Cookie", "t=2"]]);
    const headers = hict.toHeaders();
    expect(headers.get("x-dup")).toBe("a, b");
    expect(headers.getSetCookie()).toEqual(["s=1", "t=2"]);
  });

  it("shows itself as its lines", () => {
    expect(JSON.stringify(new Hict([["A", "1"]]))).toBe('[["A","1"]]');
    expect(String(new Hict([["A", "1"]]))).toBe('Hict([["A","1"]])');
  });
});
