/**
 * Holds many idle keep-alive connections open to a server, for bench/http.ts (which runs it pinned
 * to the loader's CPU with a raised open-file limit). Commands come one JSON object a line on
 * stdin, each answered by one JSON line on stdout:
 *
 *   {"cmd":"open","host":"127.0.0.1","port":8080,"count":10000,"path":"/"}
 *       opens `count` connections (a bounded number at a time, so the listen backlog never
 *       overflows), sends one GET on each and waits for its whole answer
 *   {"cmd":"refresh"}  one more GET on every open connection, all at once (restarts the
 *                      servers' keep-alive timers, which close connections idle for 5 s)
 *   {"cmd":"count"}    how many are still open (not closed by the server)
 *   {"cmd":"close"}    ends them all, answers, exits
 *
 * When stdin ends (the bench is gone) every connection is destroyed and the process exits.
 */
import net from "node:net";
import readline from "node:readline";

interface Conn {
  socket: net.Socket;
  open: boolean;
  /** Whole answers read so far. */
  answers: number;
  /** performance.now() of the connect or the last answer. */
  last: number;
  /** Bytes of the answer being read. */
  buffer: string;
  /** Resolves the request in flight: true on a whole answer, false on close, error or timeout. */
  done: ((ok: boolean) => void) | null;
}

/**
 * Connections opening at once, each until its first answer is in (so it was accepted): fewer
 * than the servers' listen backlog (511), which never overflows into SYN retries.
 */
const INFLIGHT = 400;
/** Longest wait for a connect or an answer. */
const TIMEOUT_MS = 10_000;
/** Opening starts no new connection after this long (a server that cannot take them is reported as such). */
const OPEN_DEADLINE_MS = 20_000;
/**
 * While the others are still opening, a connection quiet this long is asked once more: the
 * servers close keep-alive connections idle for 5 s, and opening 10,000 can take longer than that.
 */
const KEEP_MS = 3_000;
const conns: Conn[] = [];
let request = "";

/** True once `buffer` holds a whole answer (Content-Length or chunked), which is then removed. */
function answered(conn: Conn): boolean {
  const end = conn.buffer.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const head = conn.buffer.slice(0, end).toLowerCase();
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  let total: number;
  if (length !== null) total = end + 4 + Number(length[1]);
  else if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) {
    const last = conn.buffer.indexOf("\r\n0\r\n\r\n", end);
    if (last < 0 && !conn.buffer.startsWith("0\r\n\r\n", end + 4)) return false;
    total = last < 0 ? end + 9 : last + 7;
  } else total = end + 4;
  if (conn.buffer.length < total) return false;
  conn.buffer = conn.buffer.slice(total);
  return true;
}

/** Sends one GET on the connection; resolves true once its answer is in. */
function ask(conn: Conn): Promise<boolean> {
  if (!conn.open) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => finish(false), TIMEOUT_MS);
    function finish(ok: boolean): void {
      clearTimeout(timer);
      conn.done = null;
      if (ok) {
        conn.answers++;
        conn.last = performance.now();
      }
      resolve(ok);
    }
    conn.done = finish;
    conn.socket.write(request);
  });
}

function connect(host: string, port: number): Promise<Conn | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const conn: Conn = { socket, open: false, answers: 0, last: 0, buffer: "", done: null };
    const timer = setTimeout(() => socket.destroy(), TIMEOUT_MS);
    socket.setEncoding("latin1");
    socket.setNoDelay(true);
    socket.once("connect", () => {
      clearTimeout(timer);
      conn.open = true;
      conn.last = performance.now();
      resolve(conn);
    });
    socket.on("data", (piece: string) => {
      conn.buffer += piece;
      if (conn.done !== null && answered(conn)) conn.done(true);
    });
    socket.on("error", () => {}); // "close" follows
    socket.on("close", () => {
      clearTimeout(timer);
      const wasOpen = conn.open;
      conn.open = false;
      conn.done?.(false);
      if (!wasOpen) resolve(null);
    });
  });
}

/**
 * Opens `count` connections, INFLIGHT at a time, each sending its GET once connected and waiting
 * for the answer. Meanwhile connections quiet for KEEP_MS are asked again, so none reaches a
 * server's keep-alive timeout before all are open.
 */
async function open(host: string, port: number, count: number, path: string) {
  request = `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`;
  const keeper = setInterval(() => {
    const now = performance.now();
    for (const conn of conns) if (conn.open && conn.done === null && now - conn.last >= KEEP_MS) void ask(conn);
  }, 250);
  let next = 0;
  const deadline = performance.now() + OPEN_DEADLINE_MS;
  const worker = async () => {
    while (next < count && performance.now() < deadline) {
      next++;
      const conn = await connect(host, port);
      if (conn === null) continue;
      conns.push(conn);
      await ask(conn);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(INFLIGHT, count) }, worker));
  } finally {
    clearInterval(keeper);
  }
  // Asks the keeper left in flight finish before the bench's next command.
  while (conns.some((conn) => conn.done !== null)) await new Promise((resolve) => setTimeout(resolve, 10));
  const answers = conns.filter((conn) => conn.open && conn.answers > 0).length;
  return { open: openCount(), answered: answers, failed: count - answers };
}

async function refresh() {
  const results = await Promise.all(conns.map((conn) => ask(conn)));
  const answers = results.filter(Boolean).length;
  return { open: openCount(), answered: answers, failed: results.length - answers };
}

function openCount(): number {
  let n = 0;
  for (const conn of conns) if (conn.open) n++;
  return n;
}

async function close() {
  await Promise.all(
    conns.map((conn) =>
      conn.open
        ? new Promise<void>((resolve) => {
            conn.socket.once("close", () => resolve());
            conn.socket.end();
            setTimeout(() => {
              conn.socket.destroy();
              resolve();
            }, 5000).unref();
          })
        : undefined,
    ),
  );
  return { open: openCount() };
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const command = JSON.parse(line) as { cmd: string; host?: string; port?: number; count?: number; path?: string };
  const started = performance.now();
  let reply: object;
  try {
    if (command.cmd === "open") reply = await open(command.host ?? "127.0.0.1", command.port ?? 0, command.count ?? 0, command.path ?? "/");
    else if (command.cmd === "refresh") reply = await refresh();
    else if (command.cmd === "count") reply = { open: openCount() };
    else if (command.cmd === "close") reply = await close();
    else reply = { error: `unknown command ${command.cmd}` };
  } catch (error) {
    reply = { error: String(error) };
  }
  process.stdout.write(`${JSON.stringify({ ...reply, ms: performance.now() - started })}\n`);
  if (command.cmd === "close") process.exit(0);
});
lines.on("close", () => {
  for (const conn of conns) conn.socket.destroy();
  process.exit(0);
});
