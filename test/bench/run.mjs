// `npm run bench`: Balloon against gunicorn sync on the hello route, with wrk on loopback.
//
// Peers: gunicorn sync (2 workers), Balloon (2 workers, accounting on), Balloon (2 workers,
// --no-accounting). Each round starts every peer in turn (A, B, C, A, B, C, ...: the machine
// is noisy, interleaving spreads the noise over all of them), waits until it answers, warms
// up with wrk, measures with wrk, and stops it. The median round per peer is reported with
// the ratios to gunicorn and the cost of accounting; test-out/bench.json keeps every sample.
//
// Performance is measured, not asserted: the exit code is non-zero only when a peer fails to
// start or wrk saw socket errors or non-2xx/3xx answers.
//
// Beside wrk's figures: CPU µs per request of the peer's front process (gunicorn's master,
// Balloon's Node supervisor), of its workers, and of wrk; and how many cores something else
// used meanwhile (a noisy neighbour explains an outlier round).
//
// Environment: BENCH_ROUNDS (3), BENCH_DURATION seconds (5), BENCH_WARMUP seconds (2),
// BENCH_CONNECTIONS (8), BENCH_PEERS (comma list of peer ids, default all),
// BENCH_OUT (test-out/bench.json).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const appDir = join(root, "test/bench/hello");
const PYTHON = "/usr/bin/python3";

function envInt(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`bench: ${name} must be an integer >= ${min}, got "${raw}"\n`);
    process.exit(2);
  }
  return value;
}

const ROUNDS = envInt("BENCH_ROUNDS", 3, 1);
const DURATION = envInt("BENCH_DURATION", 5, 1);
const WARMUP = envInt("BENCH_WARMUP", 2, 0);
const CONNECTIONS = envInt("BENCH_CONNECTIONS", 8, 1);
const OUT = resolve(root, process.env.BENCH_OUT || "test-out/bench.json");
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100;

const balloonArgs = (extra) => [
  join(root, "bin/balloon.js"), "run", "--app", "app:application", "--cwd", appDir,
  "--python", PYTHON, "--workers", "2", "--port", "0", ...extra,
];

const PEERS = [
  {
    id: "gunicorn",
    label: "gunicorn sync, 2 workers",
    needsPort: true,
    command: (port) => [PYTHON, ["-m", "gunicorn", "-w", "2", "-k", "sync", "--bind", `127.0.0.1:${port}`, "--log-level", "warning", "--chdir", appDir, "app:application"]],
    stopSignal: "SIGTERM",
  },
  {
    id: "balloon",
    label: "Balloon, 2 workers, accounting on",
    command: () => [process.execPath, balloonArgs([])],
    stopSignal: "SIGINT",
  },
  {
    id: "balloon-noacct",
    label: "Balloon, 2 workers, --no-accounting",
    command: () => [process.execPath, balloonArgs(["--no-accounting"])],
    stopSignal: "SIGINT",
  },
];

const selected = process.env.BENCH_PEERS ? process.env.BENCH_PEERS.split(",").map((s) => s.trim()) : PEERS.map((p) => p.id);
for (const id of selected) {
  if (!PEERS.some((p) => p.id === id)) {
    process.stderr.write(`bench: unknown peer "${id}" in BENCH_PEERS (known: ${PEERS.map((p) => p.id).join(", ")})\n`);
    process.exit(2);
  }
}
const peers = PEERS.filter((p) => selected.includes(p.id));

// ---- processes ----

/** The process group of the peer being measured: killed on any exit of this script. */
let current = null;

function freePort() {
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(done, timeoutMs, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (done()) return true;
    await sleep(stepMs);
  }
  return done();
}

/** Starts the peer in its own process group; resolves once GET / answers 200. */
async function startPeer(peer) {
  const port = peer.needsPort ? await freePort() : 0;
  const [command, args] = peer.command(port);
  const child = spawn(command, args, { cwd: appDir, detached: true, stdio: ["ignore", "pipe", "pipe"] });
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
    const answer = await probe(proc.port);
    // A 5xx at start is an answer, not a wait: Balloon says 503 when the app failed to load.
    if (answer.status >= 500) throw startError(proc, `answered GET / with ${answer.status}: ${answer.body.trim()}`);
    if (answer.status === 200) {
      remember(proc);
      return proc;
    }
    await sleep(100);
  }
  throw startError(proc, `did not answer GET / with 200 within ${START_TIMEOUT_MS / 1000} s`);
}

function startError(proc, what) {
  const how = proc.exited ? ` (exit ${proc.exited.code ?? proc.exited.signal ?? proc.exited.error})` : "";
  return new Error(`${proc.peer.label} ${what}${how}\n--- the end of its output ---\n${proc.output.slice(-2000).trim()}`);
}

/** GET / → {status, body}; status 0 when nothing answered (not listening yet). */
function probe(port) {
  return new Promise((resolveAnswer) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 2000 }, (res) => {
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
async function stopPeer(proc) {
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

// ---- the peer's process tree (/proc): CPU per request, and nothing left behind ----

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
function processTree(leaderPid) {
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
function treeCpu(leaderPid) {
  const out = { leaderMs: 0, othersMs: 0 };
  for (const p of processTree(leaderPid)) {
    if (p.pid === leaderPid) out.leaderMs += p.cpuMs;
    else out.othersMs += p.cpuMs;
  }
  return out;
}

/** CPU ms of this script's reaped children: wrk's own time once it has exited. */
function reapedChildrenCpuMs() {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK; // cutime + cstime
}

/** Busy CPU ms of the whole machine (all cores, /proc/stat), to see what else ran meanwhile. */
function machineBusyMs() {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = ticks[3] + ticks[4]; // idle + iowait
  const busy = ticks.slice(0, 8).reduce((a, b) => a + b, 0) - idle; // without guest (already in user)
  return (busy * 1000) / CLK_TCK;
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

// ---- wrk ----

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function toMs(text) {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2]] : Number.NaN;
}

function parseWrk(text) {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const requests = /(\d+) requests in/.exec(text);
  const p50 = /^\s+50%\s+(\S+)/m.exec(text);
  const p99 = /^\s+99%\s+(\S+)/m.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const socketErrors = socket ? { connect: +socket[1], read: +socket[2], write: +socket[3], timeout: +socket[4] } : null;
  return {
    rps: rps ? Number(rps[1]) : Number.NaN,
    requests: requests ? Number(requests[1]) : 0,
    p50Ms: p50 ? toMs(p50[1]) : Number.NaN,
    p99Ms: p99 ? toMs(p99[1]) : Number.NaN,
    socketErrors,
    socketErrorCount: socketErrors ? socketErrors.connect + socketErrors.read + socketErrors.write + socketErrors.timeout : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

function wrk(port, seconds) {
  return new Promise((resolveRun, reject) => {
    const args = ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", `http://127.0.0.1:${port}/`];
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`wrk ${args.join(" ")} exited ${code}:\n${out}`));
      else resolveRun(out);
    });
  });
}

// ---- one measurement ----

async function measure(peer, round) {
  let proc = null;
  try {
    proc = await startPeer(peer);
    if (WARMUP > 0) await wrk(proc.port, WARMUP);
    const cpuBefore = treeCpu(proc.child.pid);
    const clientBefore = reapedChildrenCpuMs();
    const machineBefore = machineBusyMs();
    const text = await wrk(proc.port, DURATION);
    const machineAfter = machineBusyMs();
    const clientAfter = reapedChildrenCpuMs();
    const cpuAfter = treeCpu(proc.child.pid);
    const result = parseWrk(text);
    if (Number.isNaN(result.rps)) throw new Error(`could not read wrk's output:\n${text}`);
    const perRequest = (ms) => (result.requests > 0 ? (ms * 1000) / result.requests : Number.NaN);
    result.cpuUsPerRequest = {
      front: perRequest(cpuAfter.leaderMs - cpuBefore.leaderMs),
      workers: perRequest(cpuAfter.othersMs - cpuBefore.othersMs),
      client: perRequest(clientAfter - clientBefore),
    };
    // CPU that neither the peer nor wrk used during the run, in cores: other load (noise).
    const oursMs = cpuAfter.leaderMs - cpuBefore.leaderMs + cpuAfter.othersMs - cpuBefore.othersMs + clientAfter - clientBefore;
    result.otherLoadCores = Math.max(0, machineAfter - machineBefore - oursMs) / (DURATION * 1000);
    const failures = [];
    if (result.socketErrorCount > 0) failures.push(`socket errors ${JSON.stringify(result.socketErrors)}`);
    if (result.non2xx > 0) failures.push(`${result.non2xx} non-2xx/3xx responses`);
    if (proc.exited) failures.push(`exited during the run (${proc.exited.code ?? proc.exited.signal})`);
    return { peer: peer.id, round, ok: failures.length === 0, failures, ...result, wrk: text };
  } catch (error) {
    return { peer: peer.id, round, ok: false, failures: [error.message] };
  } finally {
    await stopPeer(proc ?? current);
  }
}

// ---- report ----

function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = (v, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : "—");

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r, n) => {
    const line = r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
    return n === 0 ? `${line}\n${widths.map((w) => "-".repeat(w)).join("  ")}` : line;
  }).join("\n");
}

async function main() {
  const samples = [];
  const started = new Date();
  process.stderr.write(
    `bench: ${peers.length} peers × ${ROUNDS} rounds, wrk -t1 -c${CONNECTIONS} -d${DURATION}s after ${WARMUP}s warm-up, ` +
      `${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const peer of peers) {
      const sample = await measure(peer, round);
      samples.push(sample);
      const status = sample.ok ? "" : `  FAILED: ${sample.failures.join("; ")}`;
      process.stderr.write(
        `bench: round ${round} ${peer.id.padEnd(14)} ${fmt(sample.rps)} req/s  p50 ${fmt(sample.p50Ms, 3)} ms  p99 ${fmt(sample.p99Ms, 3)} ms` +
          `${sample.cpuUsPerRequest ? `  cpu µs/req front ${fmt(sample.cpuUsPerRequest.front)} workers ${fmt(sample.cpuUsPerRequest.workers)} wrk ${fmt(sample.cpuUsPerRequest.client)}  other load ${fmt(sample.otherLoadCores, 2)} cores` : ""}${status}\n`,
      );
    }
  }

  const summary = {};
  for (const peer of peers) {
    const mine = samples.filter((s) => s.peer === peer.id && Number.isFinite(s.rps));
    summary[peer.id] = {
      label: peer.label,
      rps: median(mine.map((s) => s.rps)),
      p50Ms: median(mine.map((s) => s.p50Ms)),
      p99Ms: median(mine.map((s) => s.p99Ms)),
      cpuUsPerRequest: {
        front: median(mine.map((s) => s.cpuUsPerRequest.front)),
        workers: median(mine.map((s) => s.cpuUsPerRequest.workers)),
        client: median(mine.map((s) => s.cpuUsPerRequest.client)),
      },
      rounds: mine.map((s) => s.rps),
    };
  }
  const rps = (id) => summary[id]?.rps ?? Number.NaN;
  const ratios = {
    balloonOnVsGunicorn: rps("balloon") / rps("gunicorn"),
    balloonOffVsGunicorn: rps("balloon-noacct") / rps("gunicorn"),
    accountingCostPercent: (1 - rps("balloon") / rps("balloon-noacct")) * 100,
  };

  const rows = [["peer", "req/s", "p50 ms", "p99 ms", "cpu µs/req: front + workers (+ wrk)", "req/s per round"]];
  for (const peer of peers) {
    const s = summary[peer.id];
    rows.push([
      peer.label, fmt(s.rps), fmt(s.p50Ms, 3), fmt(s.p99Ms, 3),
      `${fmt(s.cpuUsPerRequest.front)} + ${fmt(s.cpuUsPerRequest.workers)} (+ ${fmt(s.cpuUsPerRequest.client)})`,
      s.rounds.map((v) => fmt(v)).join(" "),
    ]);
  }
  process.stdout.write(`\nmedian of ${ROUNDS} round(s), wrk -t1 -c${CONNECTIONS} -d${DURATION}s, hello route\n${table(rows)}\n\n`);
  process.stdout.write(`Balloon (accounting on) / gunicorn throughput: ${fmt(ratios.balloonOnVsGunicorn, 2)}\n`);
  process.stdout.write(`Balloon (--no-accounting) / gunicorn throughput: ${fmt(ratios.balloonOffVsGunicorn, 2)}\n`);
  process.stdout.write(`accounting cost (1 − on/off): ${fmt(ratios.accountingCostPercent, 1)} %\n`);

  const failed = samples.filter((s) => !s.ok);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify({
    started: started.toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadavgAtEnd: loadavg() },
    settings: { rounds: ROUNDS, durationSec: DURATION, warmupSec: WARMUP, connections: CONNECTIONS, wrkThreads: 1, workers: 2 },
    summary,
    ratios,
    samples: samples.map(({ wrk: text, ...rest }) => ({ ...rest, wrkOutput: text })),
    failures: failed.map((s) => ({ peer: s.peer, round: s.round, failures: s.failures })),
  }, null, 2)}\n`);
  process.stdout.write(`results written to ${OUT}\n`);
  if (failed.length > 0) {
    process.stderr.write(`bench: ${failed.length} run(s) failed:\n${failed.map((s) => `  ${s.peer} round ${s.round}: ${s.failures.join("; ")}`).join("\n")}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
