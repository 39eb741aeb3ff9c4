// `node test/bench/report-big.mjs`: `balloon report` on big recordings, time and peak RSS.
//
// Generates synthetic recordings (test-out/, deleted afterwards) with realistic lines: a start
// and an app line, 4 workers (spawn, forked, ready, recycled every 50k requests), a sample
// line per worker every 25 requests (4 Hz at 100 req/s), and request lines over 20 routes with
// every memory figure. Then runs `node bin/balloon.js report FILE` on each, and the streaming
// reader alone (every line parsed, nothing kept), under /usr/bin/time -v for the peak RSS.
// The reader alone must stay flat whatever the size; the whole report follows the analysis
// (the collecting stand-in keeps every line until the incremental analysis lands).
//
// Not part of npm test. Environment: REPORT_BENCH_SIZES_MB (comma list, default "100,1000"),
// REPORT_BENCH_BIN (another bin/balloon.js, e.g. an older checkout, for a before/after),
// REPORT_BENCH_KEEP=1 keeps the generated files.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const outDir = join(root, "test-out");
const balloonBin = process.env.REPORT_BENCH_BIN ? resolve(process.env.REPORT_BENCH_BIN) : join(root, "bin/balloon.js");
const sizesMB = (process.env.REPORT_BENCH_SIZES_MB ?? "100,1000").split(",").map(Number).filter((n) => n > 0);
const readerModule = join(root, "out/test-build/record/reader.js");

const WORKERS = 4;
const ROUTES = Array.from({ length: 20 }, (_, i) => {
  const templates = ["/api/users/<int:id>", "/api/orders/<int:id>", "/search", "/report/export", "/cart/add", "/health", "/products", "/products/<slug>", "/static/<path:p>", "/login"];
  const route = i < templates.length ? templates[i] : `/v2${templates[i - templates.length]}`;
  return { route, method: i % 7 === 3 ? "POST" : "GET", handler: { qualname: `views.view_${i}`, file: `shop/views_${i % 4}.py`, line: 20 + i * 7 } };
});

/** A tiny LCG: the same file every run. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function generate(file, targetBytes) {
  const next = random(42);
  const fd = openSync(file, "w");
  let pending = [];
  let pendingBytes = 0;
  let written = 0;
  let lines = 0;
  const emit = (line) => {
    const text = JSON.stringify(line) + "\n";
    pending.push(text);
    pendingBytes += text.length;
    lines += 1;
    if (pendingBytes > 4 << 20) flush();
  };
  const flush = () => {
    const buffer = Buffer.from(pending.join(""));
    writeSync(fd, buffer);
    written += buffer.length;
    pending = [];
    pendingBytes = 0;
  };
  let t = 1_700_000_000_000;
  const settings = { workers: WORKERS, minSpare: null, maxSpare: null, maxWorkers: WORKERS, threads: 1, maxRequests: 50_000, maxRequestsJitter: 0, reloadOnRssMiB: 0, memoryBudgetMiB: 0, timeoutSec: 30, bootTimeoutSec: 60, stackKiB: 512, preload: false, accounting: true, queueSize: 128, maxBodyMiB: 10, pssIntervalSec: 1 };
  emit({ type: "start", version: 1, t, run: { target: "shop.wsgi:application", cwd: "/srv/shop", python: "/usr/bin/python3", framework: "django" }, settings });
  emit({ type: "app", t, app: { target: "shop.wsgi:application", framework: "django", pythonVersion: "3.11.2", pythonExecutable: "/usr/bin/python3", frameworkVersion: "4.2.11" } });
  let nextPid = 20_000;
  const workers = Array.from({ length: WORKERS }, (_, i) => ({ id: i + 1, pid: 0, seq: 0, rssKiB: 0 }));
  const boot = (worker) => {
    worker.pid = nextPid++;
    worker.seq = 0;
    worker.rssKiB = 14_000 + Math.floor(next() * 2000);
    emit({ type: "worker", t, event: "spawn", worker: worker.id, pid: 0 });
    emit({ type: "worker", t, event: "forked", worker: worker.id, pid: worker.pid });
    emit({ type: "worker", t: t + 300, event: "ready", worker: worker.id, pid: worker.pid, rssKiB: worker.rssKiB, vmSizeKiB: 30_000, stackLimitKiB: 512, threadStackKiB: 512 });
  };
  for (const worker of workers) boot(worker);
  let nextWorkerId = WORKERS + 1;
  while (written + pendingBytes < targetBytes) {
    t += 10;
    const slot = Math.floor(next() * WORKERS);
    const worker = workers[slot];
    const { route, method, handler } = ROUTES[Math.floor(next() * ROUTES.length)];
    worker.seq += 1;
    const before = worker.rssKiB;
    const retained = route === "/cart/add" ? 1024 : next() < 0.05 ? 256 : 0;
    const peak = before + (route === "/report/export" ? 60_000 : Math.floor(next() * 600)) + retained;
    worker.rssKiB = before + retained;
    const path = route.replace("<int:id>", String(Math.floor(next() * 10_000))).replace("<slug>", "pear").replace("<path:p>", "app.js");
    const failed = next() < 0.002;
    emit({
      type: "request", t, worker: worker.id, pid: worker.pid, seq: worker.seq, method, path, route, handler,
      status: failed ? 500 : 200, outcome: failed ? "app-error" : "ok", durationMs: Math.round(next() * 4000) / 100,
      ...(failed ? { error: "ValueError" } : {}),
      rssBeforeKiB: before, peakKiB: peak, rssAfterKiB: worker.rssKiB, vmSizeKiB: worker.rssKiB + 16_000,
      ussKiB: worker.rssKiB - 6000, pssKiB: worker.rssKiB - 3000, concurrent: 1,
    });
    if (worker.seq % 25 === 0) emit({ type: "sample", t, worker: worker.id, pid: worker.pid, rssKiB: worker.rssKiB, cpu: Math.round(next() * 1000) / 10 });
    if (worker.seq >= settings.maxRequests) {
      emit({ type: "worker", t, event: "recycle", worker: worker.id, pid: worker.pid, reason: "max-requests", detail: `served ${worker.seq} requests (limit ${worker.seq})`, rssKiB: worker.rssKiB });
      emit({ type: "worker", t: t + 5, event: "exit", worker: worker.id, pid: worker.pid, reason: "max-requests", detail: `served ${worker.seq} requests (limit ${worker.seq})`, exitCode: 0, signal: null, rssKiB: worker.rssKiB });
      const replacement = { id: nextWorkerId++, pid: 0, seq: 0, rssKiB: 0 };
      boot(replacement);
      workers[slot] = replacement;
    }
  }
  emit({ type: "stop", t: t + 100, reason: "SIGINT" });
  flush();
  closeSync(fd);
  return { bytes: written, lines };
}

/** Runs argv under /usr/bin/time -v: wall seconds, peak RSS MiB, exit code. */
function measure(argv) {
  return new Promise((resolvePromise) => {
    const child = spawn("/usr/bin/time", ["-v", ...argv], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => {
      const rssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? NaN);
      const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(stderr);
      const seconds = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
      const failure = code === 0 ? "" : stderr.split("\n").find((line) => line.startsWith("balloon:")) ?? `exit ${code}`;
      resolvePromise({ seconds, rssMiB: rssKiB / 1024, code, failure });
    });
  });
}

const READER_ONLY = `
const { readRecordingInto } = require(${JSON.stringify(readerModule)});
let lines = 0, warnings = 0;
readRecordingInto(process.argv[1], { add() { lines += 1; }, warn() { warnings += 1; } })
  .then(() => { if (warnings) console.error(warnings + " warnings"); console.log(lines); }, (error) => { console.error(error.message); process.exit(1); });
`;

async function main() {
  if (!existsSync("/usr/bin/time")) throw new Error("needs /usr/bin/time (Debian package time)");
  if (!existsSync(join(root, "dist/cli.js"))) spawnSync(process.execPath, [join(root, "scripts/build.mjs")], { stdio: "inherit" });
  if (!existsSync(readerModule)) spawnSync(process.execPath, [join(root, "scripts/build-tests.mjs")], { stdio: "inherit" });
  mkdirSync(outDir, { recursive: true });
  const rows = [];
  for (const sizeMB of sizesMB) {
    const file = join(outDir, `report-big-${sizeMB}MB.jsonl`);
    try {
      const started = performance.now();
      const { bytes, lines } = generate(file, sizeMB * 1e6);
      process.stderr.write(`generated ${file}: ${(bytes / 1e6).toFixed(0)} MB, ${lines} lines in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
      const report = await measure([process.execPath, balloonBin, "report", file]);
      const reader = await measure([process.execPath, "-e", READER_ONLY, file]);
      rows.push({ sizeMB: Math.round(statSync(file).size / 1e6), lines, report, reader });
      process.stderr.write(`  report: ${report.seconds.toFixed(1)} s, peak RSS ${report.rssMiB.toFixed(0)} MiB${report.failure ? ` (FAILED: ${report.failure})` : ""}\n`);
      process.stderr.write(`  reader alone: ${reader.seconds.toFixed(1)} s, peak RSS ${reader.rssMiB.toFixed(0)} MiB${reader.failure ? ` (FAILED: ${reader.failure})` : ""}\n`);
    } finally {
      if (!process.env.REPORT_BENCH_KEEP) rmSync(file, { force: true });
    }
  }
  console.log(`balloon report on synthetic recordings (${balloonBin}):`);
  console.log("| recording | lines | report: time | report: peak RSS | reader alone: time | reader alone: peak RSS |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const { sizeMB, lines, report, reader } of rows) {
    const cell = (m) => (m.failure ? `failed: ${m.failure}` : `${m.seconds.toFixed(1)} s`);
    console.log(`| ${sizeMB} MB | ${lines} | ${cell(report)} | ${report.rssMiB.toFixed(0)} MiB | ${cell(reader)} | ${reader.rssMiB.toFixed(0)} MiB |`);
  }
  if (rows.some((row) => row.reader.failure)) process.exitCode = 1;
}

await main();
