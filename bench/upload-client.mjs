// Uploads for bench/uploads.ts, from a process of its own so that the server's RSS is its own:
// node bench/upload-client.mjs PORT UPLOADS SIZE [PIECE]. Each upload is a PUT of SIZE bytes
// written in PIECE-sized writes as the socket takes them; prints one JSON line when all are answered.
import net from "node:net";

const [port, uploads, size, piece = 65536] = process.argv.slice(2).map(Number);
const block = Buffer.alloc(piece, 0x61);

function upload() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let reply = "";
    socket.on("data", (data) => {
      reply += data.toString("latin1");
      const end = reply.indexOf("\r\n\r\n");
      const length = /content-length: *(\d+)/i.exec(reply);
      if (end >= 0 && length && reply.length >= end + 4 + Number(length[1])) {
        socket.destroy();
        resolve({ status: Number(reply.slice(9, 12)), body: reply.slice(end + 4) });
      }
    });
    socket.on("error", reject);
    socket.on("connect", async () => {
      socket.write(`PUT /upload HTTP/1.1\r\nHost: bench\r\nContent-Length: ${size}\r\n\r\n`);
      for (let sent = 0; sent < size; sent += piece) {
        if (!socket.write(sent + piece <= size ? block : block.subarray(0, size - sent))) {
          await new Promise((go) => socket.once("drain", go));
        }
      }
    });
  });
}

const started = performance.now();
const replies = await Promise.all(Array.from({ length: uploads }, upload));
console.log(JSON.stringify({ ms: performance.now() - started, replies }));
