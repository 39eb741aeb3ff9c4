// Peers under a benchmark (gunicorn, Balloon): each started in its own process group, waited
// for until it answers, stopped with its own signal, and swept so nothing is left behind; and
// the CPU its process tree used. Shared by the benchmarks in test/bench/.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";

const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100;

/** The process group of the peer being measured: killed on any exit of this script. */
let current = null;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

async function waitUntil(done, timeoutMs, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (done()) return true;
    await sleep(stepMs);
  }
  return done();
}

/**
 * Starts a peer ({ label, needsPort, command(port) → [cmd, args], stopSignal, cwd, probePath })
 * in its own process group; resolves once GET probePath answers 200.
 */
export async function startPeer(peer) {
  const port = peer.needsPort ? await freePort() : 0;
  const [command, args] = peer.command(port);
  const child = spawn(command, args, { cwd: peer.cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const proc = { peer, child, pgid: child.pid, port, output: "", exited: null, known: [] };
  current = proc;
  const keep = (chunk) => {
    proc.output = (proc.output + chunk.toString("utf8")).slice(-8000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.on("exit", (code, signal) => (proc.exited = { code, signal }));
  child.on("error", (error) => (proc.exited = { code: null, signal: null, error: error.message }));

  if (!peer.needsPort) {
    const listening = await waitUntil(() => {
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(proc.output);
      if (match) proc.port = Number(match[1]);
      return proc.port > 0 || proc.exited !== null;
    }, START_TIMEOUT_MS);
    if (!listening || proc.port === 0) throw startError(proc, "never printed \"listening on\"");
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exited) throw startError(proc, "exited before answering");
    const answer = await probe(proc.port, peer.probePath ?? "/");
    // A 5xx at start is an answer, not a wait: Balloon says 503 when the app failed to load.
    if (answer.status >= 500) throw startError(proc, `answered GET ${peer.probePath ?? "/"} with ${answer.status}: ${answer.body.trim()}`);
    if (answer.status === 200) {
      remember(proc);
      return proc;
    }
    await sleep(100);
  }
  throw startError(proc, `did not answer with 200 within ${START_TIMEOUT_MS / 1000} s`);
}

function startError(proc, what) {
  const how = proc.exited ? ` (exit ${proc.exited.code ?? proc.exited.signal ?? proc.exited.error})` : "";
  return new Error(`${proc.peer.label} ${what}${how}\n--- the end of its output ---\n${proc.output.slice(-2000).trim()}`);
}

/** GET path → {status, body}; status 0 when nothing answered (not listening yet). */
function probe(port, path) {
  return new Promise((resolveAnswer) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (text) => (body += text));
      res.on("end", () => resolveAnswer({ status: res.statusCode, body: body.slice(0, 500) }));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolveAnswer({ status: 0, body: "" }));
    req.end();
  });
}

/** Its processes now, added to those seen before (a worker outlives a dead leader's tree). */
function remember(proc) {
  for (const p of processTree(proc.child.pid)) {
    if (!proc.known.some((k) => k.pid === p.pid && k.startTicks === p.startTicks)) proc.known.push(p);
  }
}

function leftovers(proc) {
  return proc.known.filter(stillThere);
}

function killAll(proc) {
  killGroup(proc.pgid, "SIGKILL");
  for (const p of leftovers(proc)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** Graceful stop (the peer's own signal), then SIGKILL to whatever of its processes is left. */
export async function stopPeer(proc) {
  if (!proc) return;
  remember(proc);
  if (!proc.exited) {
    try {
      process.kill(proc.child.pid, proc.peer.stopSignal);
    } catch {
      // gone
    }
  }
  const gone = () => proc.exited !== null && leftovers(proc).length === 0 && !groupAlive(proc.pgid);
  await waitUntil(gone, STOP_GRACE_MS);
  if (!gone()) {
    process.stderr.write(`bench: ${proc.peer.label} left processes behind after ${proc.peer.stopSignal}; killing them\n`);
    killAll(proc);
    await waitUntil(gone, 5000);
  }
  if (current === proc) current = null;
}

/** The peer started last, if it is still up (for a `finally` that must not leak it). */
export function currentPeer() {
  return current;
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (current) {
      remember(current);
      killAll(current);
    }
    process.exit(130);
  });
}
process.on("exit", () => {
  if (current) {
    remember(current);
    killAll(current);
  }
});

// ---- the peer's process tree (/proc): CPU per request, memory, and nothing left behind ----

/** Every process as {pid, ppid, startTicks, cpuMs}. */
function processTable() {
  const table = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // Fields after "(comm) ": state ppid pgrp ... utime(14) stime(15) ... starttime(22).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    table.push({
      pid: Number(entry),
      ppid: Number(fields[1]),
      startTicks: fields[19],
      cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK,
    });
  }
  return table;
}

/** The leader and its descendants (workers may sit in process groups of their own). */
export function processTree(leaderPid) {
  const table = processTable();
  const children = new Map();
  for (const p of table) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p);
  }
  const tree = table.filter((p) => p.pid === leaderPid);
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i].pid) ?? []));
  return tree;
}

/** CPU ms of the leader (gunicorn's master, Balloon's Node supervisor) and of the rest (workers). */
export function treeCpu(leaderPid) {
  const out = { leaderMs: 0, othersMs: 0 };
  for (const p of processTree(leaderPid)) {
    if (p.pid === leaderPid) out.leaderMs += p.cpuMs;
    else out.othersMs += p.cpuMs;
  }
  return out;
}

/** CPU ms of this script's reaped children: wrk's own time once it has exited. */
export function reapedChildrenCpuMs() {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK; // cutime + cstime
}

/** Busy CPU ms of the whole machine (all cores, /proc/stat), to see what else ran meanwhile. */
export function machineBusyMs() {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = ticks[3] + ticks[4]; // idle + iowait
  const busy = ticks.slice(0, 8).reduce((a, b) => a + b, 0) - idle; // without guest (already in user)
  return (busy * 1000) / CLK_TCK;
}

/** Resident set of one process, KiB (0 when it is gone). */
export function rssKiB(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
    return line ? Number(line.split(/\s+/)[1]) : 0;
  } catch {
    return 0;
  }
}

/** Is this exact process (same pid, same start time) still there? */
function stillThere(p) {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] === p.startTicks && fields[0] !== "Z";
  } catch {
    return false;
  }
}
