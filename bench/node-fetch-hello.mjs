/**
 * Hello World over node:http the way a fetch adapter serves it: a Request is built for each
 * request and the app's Response is read back into bytes. It measures what the fetch interface
 * itself costs, beside plain node:http (bench/node-hello.mjs) and hio-ts (examples/hello.ts).
 *
 *   PORT=8080 node bench/node-fetch-hello.mjs
 */
import http from "node:http";

const app = () => new Response("Hello World!", { headers: { "content-type": "text/plain" } });

const server = http.createServer(async (request, response) => {
  const headers = new Headers();
  for (let i = 0; i < request.rawHeaders.length; i += 2) headers.append(request.rawHeaders[i], request.rawHeaders[i + 1]);
  const reply = await app(new Request(`http://${request.headers.host ?? "localhost"}${request.url}`, { method: request.method, headers }));
  const body = Buffer.from(await reply.arrayBuffer());
  const fields = { server: "node", "content-length": String(body.length) };
  for (const [name, value] of reply.headers) fields[name] = value;
  response.writeHead(reply.status, fields);
  response.end(body);
});
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`node:http fetch-style hello on http://${address}:${port}/`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
