// `npm run bench:recorder`: what the request recorder of an exported gunicorn.conf.py
// (`balloon recommend --format gunicorn --record-to DIR`) costs per request. The same Debian
// gunicorn (2 sync workers, /usr/bin/python3) serves the hello app from two exported files that
// differ only by the recorder; wrk on loopback; interleaved rounds (without, with, without,
// with, ...: the machine is noisy, interleaving spreads the noise over both). Printed: the
// median round of each, the recorder's cost in worker CPU µs per request and in % of
// throughput, and how many of wrk's requests the recorder wrote (all of them, or it failed).
//
// Measured, not asserted: the exit code is non-zero only when a peer fails to start, wrk saw
// errors, or the recording misses requests.
//
// Environment: BENCH_ROUNDS (5), BENCH_DURATION seconds (5), BENCH_WARMUP seconds (2),
// BENCH_CONNECTIONS (8), BENCH_OUT (test-out/bench-recorder.json), BENCH_SHAPES=1 (Balloon too).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadExporters } from "../integration/helpers/servers.mjs";
import { EXPORT_OPTIONS, baseRecommendation } from "../unit/helpers/recommendations.mjs";
import { currentPeer, startPeer, stopPeer, treeCpu } from "./lib/peers.mjs";
import { fmt, median, table } from "./lib/table.mjs";
import { parseWrk, wrk } from "./lib/wrk.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const appDir = join(root, "test/bench/hello");
const PYTHON = "/usr/bin/python3";
const env = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be an integer >= 1`);
  return value;
};
const ROUNDS = env("BENCH_ROUNDS", 5);
const DURATION = env("BENCH_DURATION", 5);
const WARMUP = env("BENCH_WARMUP", 2);
const CONNECTIONS = env("BENCH_CONNECTIONS", 8);
const OUT = resolve(root, process.env.BENCH_OUT || "test-out/bench-recorder.json");

const exporters = await loadExporters();
const scratch = mkdtempSync(join(tmpdir(), "balloon-bench-recorder-"));
// Two workers, no recycling (RSS hook off in both): the files differ by the recorder alone.
const recommendation = baseRecommendation({ workers: 2, threads: 1, maxRequests: 0, reloadOnRssMiB: 0, stackKiB: 0 });

function peer(id, label, recordTo) {
  return {
    id, label, recordTo, needsPort: true, cwd: appDir, stopSignal: "SIGTERM",
    command: (port) => {
      const options = { ...EXPORT_OPTIONS, app: "app:application", appDir, python: PYTHON, bind: `127.0.0.1:${port}`, ...(recordTo ? { recordTo } : {}) };
      const file = join(scratch, `${id}.conf.py`);
      writeFileSync(file, `${exporters.EXPORTERS.gunicorn(recommendation, options).text}loglevel = "warning"\n`);
      return [PYTHON, ["-m", "gunicorn", "-c", file]];
    },
  };
}
const PEERS = [peer("plain", "gunicorn sync, 2 workers, exported file", null), peer("recorder", "the same with --record-to", join(scratch, "recorded"))];
// BENCH_SHAPES=1 (npm run bench:shapes): ARCHITECTURE.md's two shapes in one run. gunicorn with
// the recorder is the other shape's cost (workers accept on the shared socket and report each
// request's figures, read as the shim reads them); Balloon is the router hop.
const SHAPES = process.env.BENCH_SHAPES === "1";
if (SHAPES) {
  PEERS.push({
    id: "balloon", label: "Balloon (router hop), 2 workers", cwd: appDir, stopSignal: "SIGINT",
    command: () => [process.execPath, [join(root, "bin/balloon.js"), "run", "--app", "app:application", "--cwd", appDir, "--python", PYTHON, "--workers", "2", "--port", "0"]],
  });
}

/** Request lines the recorder wrote (its files are emptied before each round). */
function recordedRequests(dir) {
  let count = 0;
  for (const name of readdirSync(dir)) for (const line of readFileSync(join(dir, name), "utf8").split("\n")) if (line.includes('"type":"request"')) count += 1;
  return count;
}

async function measure(p, round) {
  let proc = null;
  if (p.recordTo) rmSync(p.recordTo, { recursive: true, force: true });
  try {
    proc = await startPeer(p);
    const load = { connections: CONNECTIONS, threads: 1 };
    if (WARMUP > 0) await wrk(proc.port, { ...load, seconds: WARMUP });
    const before = treeCpu(proc.child.pid);
    const result = parseWrk(await wrk(proc.port, { ...load, seconds: DURATION }));
    const after = treeCpu(proc.child.pid);
    result.workerCpuUs = (after.othersMs - before.othersMs) * 1000 / Math.max(1, result.requests);
    const failures = [];
    if (result.socketErrorCount > 0 || result.non2xx > 0) failures.push(`wrk: ${result.socketErrorCount} socket errors, ${result.non2xx} non-2xx`);
    await stopPeer(proc);
    proc = null;
    if (p.recordTo) {
      // The probe, warm-up and measured requests: the recorder must have written every one.
      result.recorded = recordedRequests(p.recordTo);
      if (result.recorded < result.requests) failures.push(`the recorder wrote ${result.recorded} request lines for ${result.requests} measured requests`);
    }
    return { peer: p.id, round, ok: failures.length === 0, failures, ...result };
  } catch (error) {
    return { peer: p.id, round, ok: false, failures: [error.message] };
  } finally {
    await stopPeer(proc ?? currentPeer());
  }
}

const samples = [];
process.stderr.write(`bench:recorder: ${ROUNDS} rounds × wrk -t1 -c${CONNECTIONS} -d${DURATION}s after ${WARMUP}s, ${cpus().length} CPUs\n`);
for (let round = 1; round <= ROUNDS; round++) {
  for (const p of PEERS) {
    const s = await measure(p, round);
    samples.push(s);
    process.stderr.write(`  round ${round} ${p.id.padEnd(8)} ${fmt(s.rps)} req/s  p50 ${fmt(s.p50Ms, 3)} ms  p99 ${fmt(s.p99Ms, 3)} ms  workers ${fmt(s.workerCpuUs, 1)} µs/req${s.ok ? "" : `  FAILED: ${s.failures.join("; ")}`}\n`);
  }
}
rmSync(scratch, { recursive: true, force: true });

const of = (id, key) => median(samples.filter((s) => s.peer === id && Number.isFinite(s[key])).map((s) => s[key]));
const rows = [["peer", "req/s", "p50 ms", "p99 ms", "worker CPU µs/req", "req/s per round"]];
for (const p of PEERS) {
  rows.push([p.label, fmt(of(p.id, "rps")), fmt(of(p.id, "p50Ms"), 3), fmt(of(p.id, "p99Ms"), 3), fmt(of(p.id, "workerCpuUs"), 1),
    samples.filter((s) => s.peer === p.id).map((s) => fmt(s.rps)).join(" ")]);
}
// Per round pair, so each comparison is of two runs made one after the other.
const pairs = [];
for (let round = 1; round <= ROUNDS; round++) {
  const [plain, recorded] = PEERS.map((p) => samples.find((s) => s.peer === p.id && s.round === round));
  if (plain?.ok && recorded?.ok) pairs.push({ cpuUs: recorded.workerCpuUs - plain.workerCpuUs, throughputPercent: (1 - recorded.rps / plain.rps) * 100 });
}
const cost = { cpuUs: median(pairs.map((p) => p.cpuUs)), throughputPercent: median(pairs.map((p) => p.throughputPercent)) };
process.stdout.write(`\nmedian of ${ROUNDS} rounds, wrk -t1 -c${CONNECTIONS} -d${DURATION}s, hello app\n${table(rows)}\n`);
process.stdout.write(`recorder cost (median of the round pairs): ${fmt(cost.cpuUs, 1)} µs of worker CPU per request, ${fmt(cost.throughputPercent, 1)} % of throughput ` +
  `(pairs: ${pairs.map((p) => `${fmt(p.cpuUs, 1)} µs / ${fmt(p.throughputPercent, 1)} %`).join(", ")})\n`);
if (SHAPES) {
  const plainRps = of("plain", "rps");
  process.stdout.write(`against gunicorn without the recorder: workers accepting with each request's figures ${fmt(of("recorder", "rps") / plainRps, 2)}x, ` +
    `Balloon's router hop ${fmt(of("balloon", "rps") / plainRps, 2)}x\n`);
}
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, `${JSON.stringify({ settings: { rounds: ROUNDS, durationSec: DURATION, warmupSec: WARMUP, connections: CONNECTIONS, workers: 2 }, cost, pairs, samples }, null, 2)}\n`);
const failed = samples.filter((s) => !s.ok);
if (failed.length > 0) process.stderr.write(`bench:recorder: ${failed.length} run(s) failed\n`);
process.exitCode = failed.length > 0 ? 1 : 0;
