import { describe, expect, it } from "vitest";
import { cancelBody, describe as describeValue, keepBody, nativeSourceShown, wholeBody } from "../../src/http/server/bodying.ts";
import { NativeResponse, OutgoingResponse } from "../../src/http/server/outgoing.ts";

const major = Number(process.versions.node.split(".")[0]);

describe("wholeBody", () => {
  it("gives the body an OutgoingResponse was given whole: a string with its UTF-8 size, bytes, JSON; none for null", () => {
    expect(wholeBody(new OutgoingResponse("héllo"))).toEqual({ text: "héllo", length: 6 });
    expect(wholeBody(new OutgoingResponse("\ud800"))).toEqual({ text: "\ud800", length: 3 }); // sent as U+FFFD, as undici sends it
    expect([...(wholeBody(new OutgoingResponse(new Uint8Array([1, 2, 3]))) as Uint8Array)]).toEqual([1, 2, 3]);
    expect([...(wholeBody(new OutgoingResponse(new Uint8Array([4, 5]).buffer)) as Uint8Array)]).toEqual([4, 5]);
    expect(wholeBody(OutgoingResponse.json({ a: 1 }))).toEqual({ text: '{"a":1}', length: 7 });
    expect(wholeBody(new OutgoingResponse(null))).toBeNull();
  });

  it("copies bytes as undici does: a buffer the app changes afterwards is sent as it was", () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const response = new OutgoingResponse(bytes.subarray(1));
    bytes[1] = 9;
    expect([...(wholeBody(response) as Uint8Array)]).toEqual([2, 3]);
  });

  it("gives a native body whole where undici shows its source (Node 20), never where it keeps it private (Node 22+)", () => {
    expect(nativeSourceShown).toBe(major < 22);
    const native = wholeBody(new NativeResponse("héllo"));
    if (nativeSourceShown) {
      expect(native).toEqual({ text: "héllo", length: 6 });
      expect([...(wholeBody(new NativeResponse(new Uint8Array([1, 2, 3]))) as Uint8Array)]).toEqual([1, 2, 3]);
      expect([...(wholeBody(new NativeResponse(new Uint8Array([4, 5]).buffer)) as Uint8Array)]).toEqual([4, 5]);
      expect(Buffer.from(wholeBody(NativeResponse.json({ a: 1 })) as Uint8Array).toString()).toBe('{"a":1}'); // undici encodes JSON
    } else {
      expect(native).toBeNull();
    }
  });

  it("leaves streams, used bodies and locked bodies to the body's reader", async () => {
    for (const Made of [NativeResponse, OutgoingResponse]) {
      const stream = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
      expect(wholeBody(new Made(stream))).toBeNull();
      const used = new Made("x");
      await used.text();
      expect(wholeBody(used)).toBeNull();
      const locked = new Made("y");
      locked.body!.getReader();
      expect(wholeBody(locked)).toBeNull();
      expect(wholeBody(new Made(null))).toBeNull();
      const cancelled = new Made("z"); // disturbed, not locked
      await cancelled.body!.cancel();
      expect(wholeBody(cancelled)).toBeNull();
    }
  });

  it("answers a native body kept after it was read whole through its stream", async () => {
    const response = new NativeResponse("kept");
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(wholeBody(response)).toBeNull(); // read, and not kept
    keepBody(response, bytes);
    expect(Buffer.from(wholeBody(response) as Uint8Array).toString()).toBe("kept");
  });
});

describe("cancelBody", () => {
  it("cancels the stream of a Response nobody will send, once, and ignores anything else", async () => {
    let cancelled = 0;
    const response = new NativeResponse(new ReadableStream({ cancel: () => void (cancelled += 1) }));
    cancelBody(response);
    cancelBody(new OutgoingResponse(new ReadableStream({ cancel: () => void (cancelled += 1) })));
    cancelBody("not a response");
    await new Promise((resolve) => setImmediate(resolve));
    expect(cancelled).toBe(2);
  });

  it("builds no stream to cancel for an OutgoingResponse holding its body whole", () => {
    const response = new OutgoingResponse("whole");
    cancelBody(response);
    expect(wholeBody(response)).toEqual({ text: "whole", length: 5 }); // not realized, not used
    expect(response.bodyUsed).toBe(false);
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
