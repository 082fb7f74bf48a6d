/**
 * Draws the connection machines (machines/) as Mermaid state diagrams, from the tables the
 * server steps: what machines/README.md shows.
 *
 *   npx tsx examples/machines.ts
 */
import { http } from "../src/index.ts";

const tables = { requestant: http.requestantTable, responder: http.responderTable, steward: http.stewardTable };

for (const [name, table] of Object.entries(tables)) {
  console.log(`## ${name}\n\n\`\`\`mermaid\n${table.toMermaid()}\n\`\`\`\n`);
}
