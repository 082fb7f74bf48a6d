/**
 * Draws the connection machines (machines/) as Mermaid state diagrams, from the tables the
 * server and the client step: what machines/README.md shows.
 *
 *   npx tsx examples/machines.ts
 */
import { http } from "../src/index.ts";

const tables = {
  requestant: http.requestantTable,
  responder: http.responderTable,
  steward: http.stewardTable,
  requester: http.requesterTable,
  respondent: http.respondentTable,
};

for (const [name, table] of Object.entries(tables)) {
  console.log(`## ${name}\n\n\`\`\`mermaid\n${table.toMermaid()}\n\`\`\`\n`);
}
