/**
 * Hello World over plain node:http: the baseline of bench/http.ts. It answers every request with
 * the 12 bytes and the header fields examples/hello.ts sends (content-type, server, date,
 * content-length); node:http adds its own connection and keep-alive fields.
 *
 *   PORT=8080 node bench/node-hello.mjs
 */
import http from "node:http";

const body = Buffer.from("Hello World!", "latin1");
const headers = { "content-type": "text/plain", server: "node", "content-length": String(body.length) };

const server = http.createServer((request, response) => {
  response.writeHead(200, headers);
  response.end(body);
});
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`node:http hello on http://${address}:${port}/`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
