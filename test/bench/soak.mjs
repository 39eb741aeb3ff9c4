// `npm run bench:soak`: a long run under load with --record — does the supervisor stay flat?
//
// `balloon run --record` on the hello app (2 workers), wrk in 20 s stretches until
// SOAK_REQUESTS (1 000 000) have been answered; the supervisor's RSS is read every second.
// Prints its RSS once warmed up (after the first stretch) and at the end (target: within 10%),
// the recording's bytes per request, and that `balloon report` of it counts every request.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { rssKiB, sleep, startPeer, stopPeer } from "./lib/peers.mjs";
import { fmt } from "./lib/table.mjs";
import { parseWrk, wrk } from "./lib/wrk.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const appDir = join(root, "test/bench/hello");
const TARGET = Number(process.env.SOAK_REQUESTS || 1_000_000);
const STRETCH_SEC = 20;

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "balloon-soak-"));
  const record = join(dir, "soak.jsonl");
  const peer = {
    id: "balloon", label: "Balloon, 2 workers, --record", cwd: appDir, stopSignal: "SIGINT",
    command: () => [process.execPath, [join(root, "bin/balloon.js"), "run", "--app", "app:application", "--cwd", appDir, "--python", "/usr/bin/python3", "--workers", "2", "--port", "0", "--record", record]],
  };
  const proc = await startPeer(peer);
  const rss = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      rss.push({ t: Date.now(), kib: rssKiB(proc.child.pid) });
      await sleep(1000);
    }
  })();
  let answered = 0;
  let warmKiB = 0;
  let errors = 0;
  try {
    while (answered < TARGET) {
      const result = parseWrk(await wrk(proc.port, { seconds: STRETCH_SEC, connections: 8, threads: 1 }));
      answered += result.requests;
      errors += result.non2xx + result.socketErrorCount;
      if (warmKiB === 0) warmKiB = rssKiB(proc.child.pid);
      process.stderr.write(`soak: ${answered} requests, supervisor RSS ${fmt(rssKiB(proc.child.pid) / 1024, 1)} MiB, ${fmt(result.rps)} req/s\n`);
    }
    const endKiB = rssKiB(proc.child.pid);
    sampling = false;
    await sampler;
    await stopPeer(proc);
    const bytes = statSync(record).size;
    const reported = spawnSync(process.execPath, [join(root, "bin/balloon.js"), "report", record, "--json"], { encoding: "utf8", maxBuffer: 64 << 20 });
    const totals = JSON.parse(reported.stdout).totals;
    const peakKiB = Math.max(...rss.map((r) => r.kib));
    process.stdout.write(`\n${answered} requests answered (${errors} errors)\n`);
    process.stdout.write(`supervisor RSS: ${fmt(warmKiB / 1024, 1)} MiB after the first ${STRETCH_SEC} s, ${fmt(endKiB / 1024, 1)} MiB at the end ` +
      `(${fmt(((endKiB - warmKiB) / warmKiB) * 100, 1)} %), highest ${fmt(peakKiB / 1024, 1)} MiB (target: flat within 10 %)\n`);
    process.stdout.write(`recording: ${fmt(bytes / (1 << 20), 1)} MiB, ${fmt(bytes / totals.requests, 0)} bytes per request; ` +
      `balloon report counts ${totals.requests} requests (${totals.errors} errors)\n`);
    return Math.abs(endKiB - warmKiB) <= 0.1 * warmKiB && errors === 0 ? 0 : 1;
  } finally {
    sampling = false;
    await stopPeer(proc).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
