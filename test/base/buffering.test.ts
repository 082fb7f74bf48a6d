import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteBuffer } from "../../src/base/buffering.ts";

describe("ByteBuffer", () => {
  it("appends strings encoded in place: UTF-8 by default, latin1 one byte per char", () => {
    const b = new ByteBuffer(16);
    b.push("héllo ");
    b.pushText("wörld", "utf8");
    b.pushText("ÿ\r\n", "latin1");
    expect([...b.view()]).toEqual([...Buffer.from("héllo wörld", "utf8"), 0xff, 13, 10]);
    expect(b.length).toBe(16);
  });

  it("grows past its capacity and keeps every byte in order", () => {
    const b = new ByteBuffer(16);
    const text = "0123456789abcdef".repeat(40) + "€";
    b.pushText(text);
    b.push(new Uint8Array([1, 2, 3]));
    expect(Buffer.from(b.view()).subarray(0, -3).toString()).toBe(text);
    expect(b.length).toBe(Buffer.byteLength(text) + 3);
  });

  it("takes a copy the buffer's later writes do not change; view() is a plain Uint8Array", () => {
    const b = new ByteBuffer(16);
    b.push("abcd");
    const taken = b.take(2);
    b.clear();
    b.push("zzzz");
    expect(Buffer.from(taken).toString()).toBe("ab");
    expect(b.view().constructor).toBe(Uint8Array);
    expect(Array.from(b.view().slice(0, 1))).toEqual([0x7a]);
  });

  it("reads back what was pushed, shifted and taken, for any sequence (model check)", () => {
    type Op = { push: string } | { bytes: number[] } | { shift: number } | { take: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ push: fc.string({ unit: "binary", maxLength: 40 }) }),
      fc.record({ bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }) }),
      fc.record({ shift: fc.nat(50) }),
      fc.record({ take: fc.nat(50) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const b = new ByteBuffer(16);
      let model: number[] = [];
      for (const o of ops) {
        if ("push" in o) {
          b.push(o.push);
          model.push(...Buffer.from(o.push, "utf8"));
        } else if ("bytes" in o) {
          b.push(new Uint8Array(o.bytes));
          model.push(...o.bytes);
        } else if ("shift" in o) {
          b.shift(o.shift);
          model = model.slice(o.shift);
        } else {
          expect([...b.take(o.take)]).toEqual(model.slice(0, o.take));
          model = model.slice(o.take);
        }
        expect([...b.view()]).toEqual(model);
      }
    }), { seed: 7, numRuns: 300 });
  });
});

describe("ByteBuffer as latin1 text", () => {
  it("keeps one char per byte for every byte, 0x80-0x9F included, on every Node", () => {
    const buffer = new ByteBuffer();
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    buffer.push(bytes);
    const text = buffer.toString("latin1");
    expect([...text].map((char) => char.charCodeAt(0))).toEqual([...bytes]);
  });
});
