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
    expect(drawing).toContain("pending --> aborted: failed, cutoff");
    expect(drawing).toContain("note right of streaming: busy, headed");
    expect(http.stewardTable.toMermaid()).toContain("closed --> [*]");
    expect(http.respondentTable.toMermaid()).toContain("headers --> line: head.interim");
    expect(http.requesterTable.toMermaid()).toContain("waiting --> closed: dropped, response.last, requeued");
  });
});
