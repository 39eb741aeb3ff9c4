// `npm run bench`: Balloon against gunicorn sync on the hello route, with wrk on loopback,
// at several connection counts and wrk thread counts.
//
// Peers: gunicorn sync (2 workers), Balloon (2 workers, accounting on), Balloon (2 workers,
// --no-accounting), all on /usr/bin/python3 (the same interpreter); and a bare node:http hello
// server, the floor of a Node front's CPU per request. For each load (connections
// × wrk threads), each round starts every peer in turn (A, B, C, A, B, C, ...: the machine is
// noisy, interleaving spreads the noise over all of them), waits until it answers, warms up
// with wrk, measures with wrk, and stops it. The median round per peer is reported with the
// ratios to gunicorn and the cost of accounting; test-out/bench.json keeps every sample.
//
// Performance is measured, not asserted: the exit code is non-zero only when a peer fails to
// start or wrk saw socket errors or non-2xx/3xx answers.
//
// Beside wrk's figures: CPU µs per request of the peer's front process (gunicorn's master,
// Balloon's Node supervisor), of its workers, and of wrk; and how many cores something else
// used meanwhile (a noisy neighbour explains an outlier round).
//
// Environment: BENCH_ROUNDS (3), BENCH_DURATION seconds (5), BENCH_WARMUP seconds (2),
// BENCH_CONNECTIONS (comma list, "8,64,256"), BENCH_WRK_THREADS (comma list, "1,2"),
// BENCH_PEERS (comma list of peer ids, default all), BENCH_OUT (test-out/bench.json).
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { currentPeer, machineBusyMs, reapedChildrenCpuMs, startPeer, stopPeer, treeCpu } from "./lib/peers.mjs";
import { fmt, median, table } from "./lib/table.mjs";
import { parseWrk, wrk } from "./lib/wrk.mjs";

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

function envList(name, fallback) {
  const raw = process.env[name] || fallback;
  const values = raw.split(",").map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1)) {
    process.stderr.write(`bench: ${name} must be a comma list of integers >= 1, got "${raw}"\n`);
    process.exit(2);
  }
  return values;
}

const ROUNDS = envInt("BENCH_ROUNDS", 3, 1);
const DURATION = envInt("BENCH_DURATION", 5, 1);
const WARMUP = envInt("BENCH_WARMUP", 2, 0);
const CONNECTIONS = envList("BENCH_CONNECTIONS", "8,64,256");
const WRK_THREADS = envList("BENCH_WRK_THREADS", "1,2");
const OUT = resolve(root, process.env.BENCH_OUT || "test-out/bench.json");

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
  {
    // Not a peer to beat: the floor a Node front pays per request, for the ratio of Balloon's.
    id: "node-hello",
    label: "bare node:http hello (no workers)",
    command: () => [process.execPath, [join(appDir, "node-hello.mjs")]],
    stopSignal: "SIGTERM",
  },
].map((peer) => ({ ...peer, cwd: appDir }));

const selected = process.env.BENCH_PEERS ? process.env.BENCH_PEERS.split(",").map((s) => s.trim()) : PEERS.map((p) => p.id);
for (const id of selected) {
  if (!PEERS.some((p) => p.id === id)) {
    process.stderr.write(`bench: unknown peer "${id}" in BENCH_PEERS (known: ${PEERS.map((p) => p.id).join(", ")})\n`);
    process.exit(2);
  }
}
const peers = PEERS.filter((p) => selected.includes(p.id));

async function measure(peer, load, round) {
  let proc = null;
  try {
    proc = await startPeer(peer);
    if (WARMUP > 0) await wrk(proc.port, { ...load, seconds: WARMUP });
    const cpuBefore = treeCpu(proc.child.pid);
    const clientBefore = reapedChildrenCpuMs();
    const machineBefore = machineBusyMs();
    const text = await wrk(proc.port, { ...load, seconds: DURATION });
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
    return { peer: peer.id, ...load, round, ok: failures.length === 0, failures, ...result, wrk: text };
  } catch (error) {
    return { peer: peer.id, ...load, round, ok: false, failures: [error.message] };
  } finally {
    await stopPeer(proc ?? currentPeer());
  }
}

function summarize(samples, load) {
  const summary = {};
  for (const peer of peers) {
    const mine = samples.filter((s) => s.peer === peer.id && s.connections === load.connections && s.threads === load.threads && Number.isFinite(s.rps));
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
  const front = (id) => summary[id]?.cpuUsPerRequest.front ?? Number.NaN;
  const ratios = {
    balloonOnVsGunicorn: rps("balloon") / rps("gunicorn"),
    balloonOffVsGunicorn: rps("balloon-noacct") / rps("gunicorn"),
    accountingCostPercent: (1 - rps("balloon") / rps("balloon-noacct")) * 100,
    /** The supervisor's CPU per request against a bare node:http hello server's. */
    frontVsBareNode: front("balloon") / front("node-hello"),
  };
  return { ...load, summary, ratios };
}

function printLoad({ connections, threads, summary, ratios }) {
  const rows = [["peer", "req/s", "p50 ms", "p99 ms", "cpu µs/req: front + workers (+ wrk)", "req/s per round"]];
  for (const peer of peers) {
    const s = summary[peer.id];
    rows.push([
      peer.label, fmt(s.rps), fmt(s.p50Ms, 3), fmt(s.p99Ms, 3),
      `${fmt(s.cpuUsPerRequest.front)} + ${fmt(s.cpuUsPerRequest.workers)} (+ ${fmt(s.cpuUsPerRequest.client)})`,
      s.rounds.map((v) => fmt(v)).join(" "),
    ]);
  }
  process.stdout.write(`\nmedian of ${ROUNDS} round(s), wrk -t${threads} -c${connections} -d${DURATION}s, hello route\n${table(rows)}\n`);
  process.stdout.write(`Balloon / gunicorn: ${fmt(ratios.balloonOnVsGunicorn, 2)} (accounting on), ${fmt(ratios.balloonOffVsGunicorn, 2)} (--no-accounting); ` +
    `accounting cost ${fmt(ratios.accountingCostPercent, 1)} %; supervisor CPU per request ${fmt(ratios.frontVsBareNode, 2)}x a bare node:http server's\n`);
}

async function main() {
  const samples = [];
  const started = new Date();
  const loads = CONNECTIONS.flatMap((connections) => WRK_THREADS.map((threads) => ({ connections, threads })));
  process.stderr.write(
    `bench: ${peers.length} peers × ${loads.length} loads × ${ROUNDS} rounds, wrk -d${DURATION}s after ${WARMUP}s warm-up, ` +
      `${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n`,
  );
  const results = [];
  for (const load of loads) {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const peer of peers) {
        const sample = await measure(peer, load, round);
        samples.push(sample);
        const status = sample.ok ? "" : `  FAILED: ${sample.failures.join("; ")}`;
        const cpu = sample.cpuUsPerRequest;
        process.stderr.write(
          `bench: -t${load.threads} -c${load.connections} round ${round} ${peer.id.padEnd(14)} ${fmt(sample.rps)} req/s  p50 ${fmt(sample.p50Ms, 3)} ms  p99 ${fmt(sample.p99Ms, 3)} ms` +
            `${cpu ? `  cpu µs/req front ${fmt(cpu.front)} workers ${fmt(cpu.workers)} wrk ${fmt(cpu.client)}  other load ${fmt(sample.otherLoadCores, 2)} cores` : ""}${status}\n`,
        );
      }
    }
    const result = summarize(samples, load);
    results.push(result);
    printLoad(result);
  }
  const failed = samples.filter((s) => !s.ok);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify({
    started: started.toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadavgAtEnd: loadavg() },
    settings: { rounds: ROUNDS, durationSec: DURATION, warmupSec: WARMUP, loads, workers: 2, python: PYTHON },
    results,
    samples: samples.map(({ wrk: text, ...rest }) => ({ ...rest, wrkOutput: text })),
    failures: failed.map((s) => ({ peer: s.peer, connections: s.connections, threads: s.threads, round: s.round, failures: s.failures })),
  }, null, 2)}\n`);
  process.stdout.write(`\nresults written to ${OUT}\n`);
  if (failed.length > 0) {
    process.stderr.write(`bench: ${failed.length} run(s) failed:\n${failed.map((s) => `  ${s.peer} -t${s.threads} -c${s.connections} round ${s.round}: ${s.failures.join("; ")}`).join("\n")}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
