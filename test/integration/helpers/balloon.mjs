// Real `balloon` processes for the supervisor tests: start `balloon run` on a free port, talk
// HTTP to it, read its recording, walk its process tree, stop or kill it. Every process started
// here is tracked, and killAll() (call it in `after`) SIGKILLs what is left, with its workers.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const balloonBin = path.join(repoRoot, "bin/balloon.js");
export const faultsDir = path.join(repoRoot, "test/fixtures/apps/faults");
/** Debian's interpreter (django, flask, pyramid); the python3 on PATH may be another. */
export const python = process.env.BALLOON_TEST_PYTHON || "/usr/bin/python3";

const started = new Set();
const scratchDirs = new Set();

/** A fresh temporary directory, removed by killAll(). */
export function scratchDir() {
  const dir = mkdtempSync(path.join(tmpdir(), "balloon-test-"));
  scratchDirs.add(dir);
  return dir;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` (sync or async) until it returns a truthy value; throws with `what` after timeoutMs. */
export async function waitFor(check, { timeoutMs = 10_000, intervalMs = 50, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// ---- processes ----

/** State letter of /proc/PID/stat ("R", "S", "Z", …), or null when there is no such process. */
function procState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return null;
  }
}

/** Start time of a process (clock ticks since boot, /proc/PID/stat field 22), or null: with the pid, its identity. */
export function startTimeOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return null;
  }
}

/** True while the process exists and is not a zombie. */
export function pidAlive(pid) {
  const state = procState(pid);
  return state !== null && state !== "Z" && state !== "X";
}

export function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

/** Every live descendant of `pid` (children, grandchildren, …), from /proc. */
export function descendants(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid === null) continue;
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  const out = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop()) ?? []) {
      if (pidAlive(child)) out.push(child);
      stack.push(child);
    }
  }
  return out;
}

/** "Max stack size" soft limit in bytes from /proc/PID/limits ("unlimited" → Infinity). */
export function stackLimitBytes(pid) {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8").split("\n").find((l) => l.startsWith("Max stack size"));
  const soft = line.slice("Max stack size".length).trim().split(/\s+/)[0];
  return soft === "unlimited" ? Infinity : Number(soft);
}

function killQuietly(pid, signal = "SIGKILL") {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

// ---- recordings ----

/** The JSON lines of a recording; a torn last line (writer killed) is skipped. */
export function readRecord(file) {
  if (!existsSync(file)) return [];
  const lines = [];
  for (const raw of readFileSync(file, "utf8").split("\n")) {
    if (!raw.trim()) continue;
    try {
      lines.push(JSON.parse(raw));
    } catch {
      // torn line
    }
  }
  return lines;
}

// ---- HTTP ----

/**
 * One HTTP request; resolves { status, headers, body (string), ms } or rejects on a socket
 * error. `agent: false` (the default) means a fresh connection closed after the response.
 */
export function request(port, urlPath, { method = "GET", headers = {}, body, agent = false, timeoutMs = 15_000, chunks } = {}) {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const req = http.request({ host: "127.0.0.1", port, path: urlPath, method, headers, agent }, (res) => {
      const parts = [];
      res.on("data", (chunk) => parts.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString("utf8"), ms: performance.now() - startedAt, socket: res.socket }));
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${urlPath}: no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    if (chunks) {
      // Chunked transfer encoding: several writes without a Content-Length.
      for (const chunk of chunks) req.write(chunk);
      req.end();
    } else {
      req.end(body);
    }
  });
}

/** Writes raw bytes on a new connection; resolves with everything the server sent until it closed. */
export function rawExchange(port, data, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const parts = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw exchange: no close in ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(parts).toString())}`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(data));
    socket.on("data", (chunk) => parts.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts).toString("utf8"));
    });
  });
}

// ---- balloon processes ----

function collect(child) {
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk) => (out.stdout += chunk));
  child.stderr.on("data", (chunk) => (out.stderr += chunk));
  return out;
}

function exitOf(child) {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

/** Runs a balloon command to its end: { code, signal, stdout, stderr }; `env` is added to ours. */
export async function runCli(args, { timeoutMs = 30_000, cwd = repoRoot, env = {} } = {}) {
  const child = spawn(process.execPath, [balloonBin, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  started.add(child);
  const out = collect(child);
  const timer = setTimeout(() => killTree(child.pid), timeoutMs);
  const { code, signal } = await exitOf(child);
  clearTimeout(timer);
  started.delete(child);
  return { code, signal, stdout: out.stdout, stderr: out.stderr };
}

function killTree(pid) {
  for (const child of descendants(pid)) killQuietly(child);
  killQuietly(pid);
}

/** A running `balloon run`. */
export class Balloon {
  constructor(child, out, recordPath) {
    this.child = child;
    this.out = out;
    this.recordPath = recordPath;
    this.port = 0;
    this.exited = exitOf(child);
    this.exitStatus = null;
    this.exited.then((status) => (this.exitStatus = status));
    /** pid → start time of every process seen under the supervisor (see trackProcesses, stop, kill). */
    this.seen = new Map();
  }

  /** Notes the supervisor's live descendants now: a dead supervisor has none to walk, so look while it lives. */
  noteProcesses() {
    for (const pid of descendants(this.pid)) if (!this.seen.has(pid)) this.seen.set(pid, startTimeOf(pid));
    return [...this.seen.keys()];
  }

  /** Notes its descendants every `intervalMs` until it exits (catches processes that come and go). */
  trackProcesses(intervalMs = 50) {
    const timer = setInterval(() => this.noteProcesses(), intervalMs);
    this.exited.then(() => clearInterval(timer));
    this.noteProcesses();
  }

  /** Processes seen under the supervisor that still run (same pid and start time, not a zombie). */
  processesLeft() {
    return [...this.seen].filter(([pid, startTime]) => pidAlive(pid) && startTimeOf(pid) === startTime).map(([pid]) => pid);
  }

  get pid() {
    return this.child.pid;
  }

  get stdout() {
    return this.out.stdout;
  }

  get stderr() {
    return this.out.stderr;
  }

  records(type) {
    const lines = readRecord(this.recordPath);
    return type ? lines.filter((line) => line.type === type) : lines;
  }

  workerEvents(event) {
    return this.records("worker").filter((line) => !event || line.event === event);
  }

  requestLines() {
    return this.records("request");
  }

  /** Pids of worker processes that said they are ready (record), in order. */
  readyPids() {
    return this.workerEvents("ready").map((line) => line.pid);
  }

  /** Live Python processes under the supervisor (workers and, with --preload, the master). */
  pythonProcesses() {
    return descendants(this.pid);
  }

  /** The workers: the master's children (the master is balloon's own child). */
  workerProcesses() {
    return this.pythonProcesses().filter((pid) => parentOf(pid) !== this.pid);
  }

  /** Waits until `n` workers are ready and none is starting (record: ready minus exits). */
  async waitForWorkers(n, timeoutMs = 15_000) {
    return waitFor(() => {
      const lines = this.workerEvents();
      const ready = new Set(lines.filter((l) => l.event === "ready").map((l) => l.worker));
      for (const l of lines) if (l.event === "exit" || l.event === "crash" || l.event === "recycle") ready.delete(l.worker);
      return ready.size >= n ? [...ready] : null;
    }, { timeoutMs, what: `${n} ready workers (stderr: ${this.stderr.slice(-500)})` });
  }

  get(urlPath, options) {
    return request(this.port, urlPath, options);
  }

  /** Sends `signal` to the supervisor only (not its workers) and waits for it to exit. */
  async stop(signal = "SIGINT", timeoutMs = 20_000) {
    if (this.exitStatus) return this.exitStatus;
    this.noteProcesses();
    killQuietly(this.pid, signal);
    const timer = setTimeout(() => killTree(this.pid), timeoutMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }

  /** SIGKILL the supervisor and everything under it. */
  kill() {
    if (!this.exitStatus) {
      this.noteProcesses();
      killTree(this.pid);
    }
    return this.exited;
  }
}

/**
 * Starts `balloon run` on port 0 (faults app, /usr/bin/python3, a recording in a scratch dir
 * unless `record: false`; `env` added to ours) and waits for "listening on". `detached` puts it in its own process
 * group, as a shell does with a foreground job, so a test can signal the whole group.
 */
export async function startBalloon(args = [], { app = "app:application", cwd = faultsDir, record = true, detached = false, readyTimeoutMs = 20_000, env = {} } = {}) {
  const recordPath = record ? path.join(scratchDir(), "record.jsonl") : null;
  const argv = [balloonBin, "run", "--app", app, "--cwd", cwd, "--python", python, "--port", "0", ...(recordPath ? ["--record", recordPath] : []), ...args];
  const child = spawn(process.execPath, argv, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], detached, env: { ...process.env, ...env } });
  started.add(child);
  const balloon = new Balloon(child, collect(child), recordPath);
  balloon.exited.then(() => started.delete(child));
  const listening = await Promise.race([
    waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(balloon.stdout), { timeoutMs: readyTimeoutMs, intervalMs: 20, what: "listening on" }),
    balloon.exited.then(({ code, signal }) => {
      throw new Error(`balloon run exited (${code ?? signal}) before listening:\n${balloon.stderr}`);
    }),
  ]).catch(async (error) => {
    await balloon.kill();
    throw error;
  });
  balloon.port = Number(listening[1]);
  return balloon;
}

/** SIGKILLs every balloon process still running, with its descendants; removes scratch dirs. */
export async function killAll() {
  const pending = [];
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) {
      killTree(child.pid);
      pending.push(exitOf(child));
    }
  }
  started.clear();
  await Promise.all(pending);
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  scratchDirs.clear();
}

process.on("exit", () => {
  for (const child of started) if (child.exitCode === null) killTree(child.pid);
});
