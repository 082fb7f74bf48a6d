import { describe, expect, it } from "vitest";
import { cancelBody, describe as describeValue, wholeBody } from "../../src/http/bodying.ts";

describe("wholeBody", () => {
  it("gives a body given whole: a string with its UTF-8 size, bytes, an ArrayBuffer, JSON", () => {
    expect(wholeBody(new Response("héllo"))).toEqual({ text: "héllo", length: 6 });
    expect([...(wholeBody(new Response(new Uint8Array([1, 2, 3]))) as Uint8Array)]).toEqual([1, 2, 3]);
    expect([...(wholeBody(new Response(new Uint8Array([4, 5]).buffer)) as Uint8Array)]).toEqual([4, 5]);
    expect(Buffer.from(wholeBody(Response.json({ a: 1 })) as Uint8Array).toString()).toBe('{"a":1}'); // undici encodes JSON
  });

  it("leaves streams, used bodies and locked bodies to the body's reader", async () => {
    const stream = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    expect(wholeBody(new Response(stream))).toBeNull();
    const used = new Response("x");
    await used.text();
    expect(wholeBody(used)).toBeNull();
    const locked = new Response("y");
    locked.body!.getReader();
    expect(wholeBody(locked)).toBeNull();
    expect(wholeBody(new Response(null))).toBeNull();
    const cancelled = new Response("z"); // disturbed, not locked
    await cancelled.body!.cancel();
    expect(wholeBody(cancelled)).toBeNull();
  });
});

describe("cancelBody", () => {
  it("cancels the stream of a Response nobody will send, once, and ignores anything else", async () => {
    let cancelled = 0;
    const response = new Response(new ReadableStream({ cancel: () => void (cancelled += 1) }));
    cancelBody(response);
    cancelBody("not a response");
    await new Promise((resolve) => setImmediate(resolve));
    expect(cancelled).toBe(1);
  });
});

describe("describe", () => {
  it("names what an app returned instead of a Response", () => {
    expect(describeValue(undefined)).toBe("undefined");
    expect(describeValue(null)).toBe("null");
    expect(describeValue("x")).toBe("a string");
    expect(describeValue(3)).toBe("a number");
    expect(describeValue({})).toBe("an object ([object Object])");
  });
});
