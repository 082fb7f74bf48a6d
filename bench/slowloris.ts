/**
 * Slowloris against examples/hello.ts's app: N connections each send a request head one byte every
 * 2 s, never finishing it. The server (a child process, headers deadline `--headers` seconds) must
 * drop them all at that deadline, answering 408, while a legitimate client keeps getting answers.
 * Prints the legitimate client's latency without and during the attack and when the attackers were
 * dropped. Loopback only; bounded in time.
 *
 *   npm run bench:slowloris -- --attackers 1000 --headers 5
 */
import { spawn } from "node:child_process";
import net from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { attackers: { type: "string" }, headers: { type: "string" }, requests: { type: "string" } } });
const attackers = Number(values.attackers ?? 1000);
const headers = Number(values.headers ?? 5);
const requests = Number(values.requests ?? 300);

const server = spawn(process.execPath, ["--import", "tsx", "-e", `
  import { Doist, http } from "./src/index.ts";
  const server = http.openServer({ app: () => new Response("Hello World!"), host: "127.0.0.1", port: 0, deadlines: { headers: ${headers} } });
  console.log(server.ha[1]);
  await new Doist({ real: true, doers: [new http.ServerDoer({ server })] }).do();
`], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<number>((resolve) => server.stdout!.once("data", (data: Buffer) => resolve(Number(String(data).trim()))));

/** One GET on a fresh connection: its latency in ms. */
function ask(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect(port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
    let got = "";
    socket.on("data", (data: Buffer) => (got += String(data)));
    socket.on("close", () => (got.startsWith("HTTP/1.1 200") ? resolve(performance.now() - started) : reject(new Error(`got ${JSON.stringify(got.slice(0, 40))}`))));
    socket.on("error", reject);
  });
}

async function latencies(n: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await ask());
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(n * 0.5)]!, p99: times[Math.floor(n * 0.99)]! };
}

const quiet = await latencies(requests);
const start = performance.now();
let dropped = 0;
let answered408 = 0;
let lastDrop = 0;
const sockets: net.Socket[] = [];
for (let i = 0; i < attackers; i++) {
  const socket = net.connect(port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: a\r\nX: "));
  socket.on("data", (data: Buffer) => { if (String(data).startsWith("HTTP/1.1 408")) answered408 += 1; });
  socket.on("close", () => { dropped += 1; lastDrop = performance.now() - start; });
  socket.on("error", () => {});
  sockets.push(socket);
}
const drip = setInterval(() => { for (const socket of sockets) if (!socket.destroyed && socket.writable) socket.write("a"); }, 2000);
const attacked = await latencies(requests);
const limit = performance.now() + (headers + 10) * 1000;
while (dropped < attackers && performance.now() < limit) await new Promise((resolve) => setTimeout(resolve, 100));
clearInterval(drip);
for (const socket of sockets) socket.destroy();
server.kill("SIGTERM");

console.log(`| legit client (${requests} GETs, fresh connections) | p50 ms | p99 ms |`);
console.log("|---|--:|--:|");
console.log(`| no attack | ${quiet.p50.toFixed(2)} | ${quiet.p99.toFixed(2)} |`);
console.log(`| ${attackers} slowloris connections | ${attacked.p50.toFixed(2)} | ${attacked.p99.toFixed(2)} |`);
console.log(`\nattackers dropped: ${dropped} of ${attackers} (${answered408} answered 408), the last ${(lastDrop / 1000).toFixed(1)} s after the attack began (headers deadline ${headers} s); p99 under attack ${(attacked.p99 / quiet.p99).toFixed(2)}x of no attack`);
