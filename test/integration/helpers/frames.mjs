// Test-side copy of the supervisor <-> shim framing (profiler/supervisor/wire.ts), plus a fake
// supervisor socket and a shim launcher, so the Python shim can be tested without a build.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const fixturesDir = path.join(repoRoot, "test/fixtures/apps");
/** Debian's interpreter has django, flask and pyramid; the python3 on PATH may not. */
export const python = process.env.BALLOON_TEST_PYTHON || "/usr/bin/python3";

/** Frame and ExitCode read from shim-protocol.ts itself, so the tests follow the protocol. */
function readConstObject(name) {
  const source = readFileSync(path.join(repoRoot, "profiler/supervisor/shim-protocol.ts"), "utf8");
  const body = source.match(new RegExp(`export const ${name} = \\{([\\s\\S]*?)\\} as const`))[1];
  return Object.fromEntries([...body.matchAll(/^\s*(\w+): (0x[0-9a-fA-F]+|\d+),/gm)].map((m) => [m[1], Number(m[2])]));
}
/** A top-level `export const NAME = 1024 * 1024;` of shim-protocol.ts. */
function readConstNumber(name) {
  const source = readFileSync(path.join(repoRoot, "profiler/supervisor/shim-protocol.ts"), "utf8");
  const [, product] = source.match(new RegExp(`export const ${name} = ([\\d *]+);`));
  return product.split("*").reduce((total, factor) => total * Number(factor), 1);
}
export const BODY_CHUNK_BYTES = readConstNumber("BODY_CHUNK_BYTES");
export const Frame = readConstObject("Frame");
export const ExitCode = readConstObject("ExitCode");
const frameNames = Object.fromEntries(Object.entries(Frame).map(([k, v]) => [v, k]));

export function encodeFrame(type, payload) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length + 1, 0);
  out[4] = type;
  body.copy(out, 5);
  return out;
}

export function encodeHeadFrame(type, head, body = Buffer.alloc(0)) {
  return encodeFrame(type, Buffer.concat([Buffer.from(JSON.stringify(head)), Buffer.from("\n"), body]));
}

/** A received frame with decoding helpers. */
class ReceivedFrame {
  constructor(type, payload) {
    this.type = type;
    this.name = frameNames[type] ?? `0x${type.toString(16)}`;
    this.payload = payload;
  }
  json() {
    return JSON.parse(this.payload.toString("utf8"));
  }
  head() {
    const nl = this.payload.indexOf(0x0a);
    return { head: JSON.parse(this.payload.toString("utf8", 0, nl)), body: this.payload.subarray(nl + 1) };
  }
  bodyChunk() {
    return { id: this.payload.readUInt32BE(0), chunk: this.payload.subarray(4) };
  }
}

/** One shim process's connection, seen from the supervisor side. */
export class Connection {
  constructor(socket) {
    this.socket = socket;
    this.frames = [];
    this.waiters = [];
    this.ended = false;
    // Linear in the bytes received: chunks are joined once, when a frame is complete.
    let pending = [];
    let pendingBytes = 0;
    socket.on("data", (chunk) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      for (;;) {
        if (pendingBytes < 5) break;
        if (pending[0].length < 5) pending = [Buffer.concat(pending, pendingBytes)];
        const length = pending[0].readUInt32BE(0);
        if (pendingBytes < 4 + length) break;
        const all = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
        this.frames.push(new ReceivedFrame(all[4], Buffer.from(all.subarray(5, 4 + length))));
        const rest = all.subarray(4 + length);
        pending = rest.length > 0 ? [rest] : [];
        pendingBytes = rest.length;
      }
      this.wake();
    });
    socket.on("close", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", () => {});
  }
  wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
  /** Resolves with the first unconsumed frame of that type (any type when omitted), removing it. */
  async next(type, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((f) => type === undefined || f.type === type);
      if (index >= 0) return this.frames.splice(index, 1)[0];
      if (this.ended) throw new Error(`connection closed while waiting for ${frameNames[type] ?? "a frame"}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${frameNames[type] ?? "a frame"}; have ${this.frames.map((f) => f.name)}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  send(type, message) {
    this.socket.write(encodeFrame(type, message));
  }
  /** Sends a Request and collects its response, FullResponse or streamed. */
  async request(id, method, rawPath, { query = "", headers = [], body = Buffer.alloc(0) } = {}) {
    const head = { id, method, path: rawPath, query, protocol: "HTTP/1.1", headers, remoteAddr: "127.0.0.1", remotePort: 50000 };
    this.socket.write(encodeHeadFrame(Frame.Request, head, body));
    const first = await this.nextOf(id, [Frame.FullResponse, Frame.ResponseStart]);
    if (first.type === Frame.FullResponse) {
      const { head: h, body: b } = first.head();
      return { streamed: false, status: h.status, headers: h.headers, body: b, stats: h.stats };
    }
    const start = first.json();
    const chunks = [];
    for (;;) {
      const frame = await this.nextOf(id, [Frame.Body, Frame.ResponseEnd]);
      if (frame.type === Frame.ResponseEnd) {
        const chunkSizes = chunks.map((chunk) => chunk.length);
        return { streamed: true, status: start.status, headers: start.headers, body: Buffer.concat(chunks), stats: frame.json().stats, bodyFrames: chunks.length, chunkSizes };
      }
      chunks.push(frame.bodyChunk().chunk);
    }
  }
  /** Next frame of one of these types that belongs to request `id`, in arrival order. */
  async nextOf(id, types, timeoutMs = 15000) {
    const belongs = (f) =>
      types.includes(f.type) && (f.type === Frame.Body ? f.bodyChunk().id === id : (f.type === Frame.FullResponse ? f.head().head : f.json()).id === id);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(belongs);
      if (index >= 0) return this.frames.splice(index, 1)[0];
      if (this.ended) throw new Error(`connection closed while waiting for request ${id}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for request ${id}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  close() {
    this.socket.destroy();
  }
}

/** The supervisor's private socket in a fresh 0700 directory. */
export class FakeSupervisor {
  static async start() {
    const server = new FakeSupervisor();
    await new Promise((resolve, reject) => {
      server.server.once("error", reject);
      server.server.listen(server.socketPath, resolve);
    });
    return server;
  }
  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), "balloon-shim-"));
    this.socketPath = path.join(this.dir, "s");
    this.connections = [];
    this.waiters = [];
    this.server = net.createServer((socket) => {
      this.connections.push(new Connection(socket));
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }
  /** The next connection not yet handed out. */
  async nextConnection(timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    while (this.handedOut === undefined ? this.connections.length === 0 : this.connections.length <= this.handedOut) {
      if (Date.now() > deadline) throw new Error("no connection from the shim");
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.handedOut = (this.handedOut ?? 0) + 1;
    return this.connections[this.handedOut - 1];
  }
  async close() {
    for (const c of this.connections) c.close();
    await new Promise((resolve) => this.server.close(resolve));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function shimConfig(overrides) {
  return {
    target: "app:application",
    framework: "auto",
    cwd: path.join(fixturesDir, "shim_smoke"),
    threads: 1,
    stackKiB: 0,
    accounting: true,
    pssIntervalSec: 0,
    serverHost: "127.0.0.1",
    serverPort: 8123,
    ...overrides,
  };
}

/** Spawns `python3 -m balloon_shim <mode>`; `exited` resolves with {code, signal}. */
export function spawnShim(mode, supervisor, config, { workerId = 1, env = {} } = {}) {
  const child = spawn(python, ["-m", "balloon_shim", mode], {
    cwd: config.cwd,
    env: {
      ...process.env,
      PYTHONPATH: path.join(repoRoot, "profiler/shim"),
      BALLOON_SOCKET: supervisor.socketPath,
      BALLOON_CONFIG: JSON.stringify(config),
      ...(mode === "worker" ? { BALLOON_WORKER_ID: String(workerId) } : {}),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderrText = "";
  child.stderr.on("data", (d) => (child.stderrText += d));
  child.stdout.resume();
  child.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return child;
}

/** Starts a worker and returns its connection and Hello. */
export async function startWorker(supervisor, configOverrides = {}, options = {}) {
  const child = spawnShim("worker", supervisor, shimConfig(configOverrides), options);
  const conn = await supervisor.nextConnection();
  const hello = (await conn.next(Frame.Hello)).json();
  return { child, conn, hello };
}

/** Sends Stop; resolves with the worker's {code, signal}. */
export async function stopWorker({ child, conn }) {
  conn.send(Frame.Stop, { reason: "shutdown" });
  return child.exited;
}
