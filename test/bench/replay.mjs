// `npm run bench:replay`: the what-if replay checked against reality.
//
// 1. Record the plain WSGI fixture (test/fixtures/apps/wsgi_app: balloons, inflations, leaks)
//    under interleaved traffic with Balloon's defaults (2 workers).
// 2. Predict, from that recording alone, other settings:
//      A: 4 workers, no recycling;  B: 2 workers, max-requests 50 and reload-on-rss 90 MiB.
// 3. Run each live on the same traffic (balloon profile, concurrency = workers, as the
//    prediction assumes) and measure, independently of Balloon's own figures, the workers'
//    total RSS by polling /proc every 5 ms; count recycles from the recording.
// BENCH_ROUNDS rounds (3): the highest total reached depends on which balloons happen to
// overlap, so each side's median is compared. 340 requests: about 170 per worker, and while a
// replacement boots the other worker takes both lanes, so live runs split them 155–185; with
// max-requests 50 that is 3 recycles per worker either way. (With max-requests 20 the split
// decides between 3 and 4, and live runs differ from each other by one recycle.)
// Prints predicted against measured: peak total within 15% and recycles equal are the targets.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { processTree, rssKiB, sleep } from "./lib/peers.mjs";
import { fmt, median, table } from "./lib/table.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const appDir = join(root, "test/fixtures/apps/wsgi_app");
const PYTHON = "/usr/bin/python3";
const { WorkloadBuilder } = await import(join(root, "out/test-build/recommend/workload.js"));
const { replay } = await import(join(root, "out/test-build/recommend/replay.js"));
const { parseRecording } = await import(join(root, "out/test-build/record/reader.js"));

/** Interleaved traffic: the routes round-robin, never grouped. */
const ROUTES = ["/hello", "/balloon/small", "/users/7", "/inflate/small", "/leak/small", "/about", "/balloon/large", "/inflate/large", "/users/42", "/leak/large"];
const REQUESTS = Number(process.env.BENCH_REQUESTS || 340);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);

const SETTINGS = {
  A: { label: "4 workers, no recycling", args: ["--workers", "4"], arbiter: { workers: 4, maxWorkers: 4 }, concurrency: 4 },
  B: { label: "2 workers, max-requests 50, reload-on-rss 90 MiB", args: ["--workers", "2", "--max-requests", "50", "--reload-on-rss", "90"], arbiter: { workers: 2, maxWorkers: 2, maxRequests: 50, reloadOnRssMiB: 90 }, concurrency: 2 },
};
const BASE = { workers: 2, minSpare: null, maxSpare: null, maxWorkers: 2, threads: 1, maxRequests: 0, maxRequestsJitter: 0, reloadOnRssMiB: 0, memoryBudgetMiB: 0, timeoutSec: 30, queueSize: 2048 };

/** `balloon profile` with a poller summing the workers' RSS (children of the Python master) every 5 ms. */
async function profileMeasured(args, requestsFile, record) {
  const child = spawn(process.execPath, [join(root, "bin/balloon.js"), "profile", "--app", "app:application", "--cwd", appDir, "--python", PYTHON,
    "--requests", requestsFile, "--record", record, "--no-adaptive", "--force", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  child.stdout.resume();
  let peakKiB = 0;
  let running = true;
  const exited = new Promise((r) => child.on("exit", (code) => {
    running = false;
    r(code);
  }));
  while (running) {
    const tree = processTree(child.pid);
    const master = tree.find((p) => p.ppid === child.pid);
    const workers = master ? tree.filter((p) => p.ppid === master.pid) : [];
    peakKiB = Math.max(peakKiB, workers.reduce((sum, p) => sum + rssKiB(p.pid), 0));
    await sleep(5);
  }
  const code = await exited;
  if (code !== 0) throw new Error(`balloon profile ${args.join(" ")} exited ${code}:\n${stderr.slice(-2000)}`);
  const lines = parseRecording(readFileSync(record, "utf8")).lines;
  return { peakMiB: peakKiB / 1024, recycles: lines.filter((l) => l.type === "worker" && l.event === "recycle").length, lines };
}

function workloadOf(lines) {
  const builder = new WorkloadBuilder();
  for (const line of lines) builder.add(line);
  return builder.build();
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "balloon-bench-replay-"));
  try {
    const requestsFile = join(dir, "requests.txt");
    writeFileSync(requestsFile, Array.from({ length: REQUESTS }, (_, i) => `GET ${ROUTES[i % ROUTES.length]}`).join("\n") + "\n");
    const samples = Object.fromEntries(Object.keys(SETTINGS).map((key) => [key, { predictedMiB: [], measuredMiB: [], predictedRecycles: [], measuredRecycles: [] }]));
    for (let round = 1; round <= ROUNDS; round++) {
      process.stderr.write(`bench: round ${round}: recording ${REQUESTS} interleaved requests with Balloon's defaults (2 workers)\n`);
      const baseline = await profileMeasured(["--workers", "2"], requestsFile, join(dir, "baseline.jsonl"));
      const workload = workloadOf(baseline.lines);
      for (const [key, setting] of Object.entries(SETTINGS)) {
        const predicted = replay(workload, { ...BASE, ...setting.arbiter }, { concurrency: setting.concurrency });
        const measured = await profileMeasured(setting.args, requestsFile, join(dir, `${key}.jsonl`));
        const s = samples[key];
        s.predictedMiB.push(predicted.peakTotalMiB);
        s.measuredMiB.push(measured.peakMiB);
        s.predictedRecycles.push(predicted.recycles);
        s.measuredRecycles.push(measured.recycles);
        process.stderr.write(`bench: round ${round} ${key}: predicted ${fmt(predicted.peakTotalMiB, 1)} MiB, ${predicted.recycles} recycles; measured ${fmt(measured.peakMiB, 1)} MiB, ${measured.recycles} recycles\n`);
      }
    }
    const rows = [["settings", "peak total MiB: predicted", "measured", "error", "recycles: predicted", "measured", "per round (predicted/measured MiB)"]];
    let ok = true;
    for (const [key, setting] of Object.entries(SETTINGS)) {
      const s = samples[key];
      const predicted = median(s.predictedMiB);
      const measured = median(s.measuredMiB);
      const error = (predicted - measured) / measured;
      const recycles = [median(s.predictedRecycles), median(s.measuredRecycles)];
      ok &&= Math.abs(error) <= 0.15 && recycles[0] === recycles[1];
      rows.push([`${key}: ${setting.label}`, fmt(predicted, 1), fmt(measured, 1), `${error >= 0 ? "+" : ""}${fmt(error * 100, 1)}%`, String(recycles[0]), String(recycles[1]),
        s.predictedMiB.map((p, i) => `${fmt(p, 0)}/${fmt(s.measuredMiB[i], 0)}`).join(" ")]);
    }
    process.stdout.write(`\nmedian of ${ROUNDS} round(s), ${REQUESTS} interleaved requests\n${table(rows)}\n\nTargets: peak total within 15%, recycles equal.\n`);
    return ok ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
