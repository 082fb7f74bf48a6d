import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { http } from "../../src/index.ts";

const readme = readFileSync(new URL("../../machines/README.md", import.meta.url), "utf8");

describe("machines/README.md", () => {
  for (const [name, table] of Object.entries({
    requestant: http.requestantTable,
    responder: http.responderTable,
    steward: http.stewardTable,
    requester: http.requesterTable,
    respondent: http.respondentTable,
  })) {
    it(`shows the ${name} machine as its table draws it now`, () => {
      expect(readme).toContain(`## ${name}\n\n\`\`\`mermaid\n${table.toMermaid()}\n\`\`\``);
    });
  }

  it("draws every state and every handled transition", () => {
    const drawing = http.responderTable.toMermaid();
    expect(drawing).toContain("[*] --> idle");
    expect(drawing).toContain("streaming_failed --> aborted: cutoff, failed");
    expect(drawing).toContain("note right of streaming_held: busy, headed");
    const steward = http.stewardTable.toMermaid();
    expect(steward).toContain("closed --> [*]");
    // Guarded arrows name exactly the facts under which the table takes them.
    expect(steward).toContain("closing --> lingering: tick [!peerEnded & !sending]");
    expect(steward).toContain("answering_plain --> waiting: answered [persists]");
    expect(http.respondentTable.toMermaid()).toContain("headers --> line: head.interim");
    expect(http.requesterTable.toMermaid()).toContain("waiting --> closed: dropped, response.last, requeued");
  });
});
