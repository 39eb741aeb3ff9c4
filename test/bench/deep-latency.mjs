// What a deep dive costs the pool's ordinary traffic, measured in one run:
//   node scripts/build-tests.mjs && node test/bench/deep-latency.mjs
// One session on the plain WSGI fixture (2 workers). Each round measures GET /hello (p50/p99)
// with no dive, during a dive (20 calls of GET /balloon/large, the deep worker at SCHED_IDLE as
// it starts), and during the same dive moved back to the normal policy (chrt --other), under a
// paced load (2 clients, 5 ms pauses) and a saturating one (4 clients, no pause). Medians of
// DEEP_BENCH_ROUNDS rounds (3). The load comes from this process, which is also the supervisor
// (Session in-process), as the editor's language server will hold it.
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { descendants } from "../integration/helpers/balloon.mjs";
import { latency, ordinaryTraffic } from "../integration/helpers/ordinary-traffic.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { Session, planSession } = await import(join(root, "out/test-build/session.js"));
const ROUNDS = Number(process.env.DEEP_BENCH_ROUNDS || 3);
const CALM_MS = 3000;
const LOADS = [{ name: "paced (2 clients, 5 ms pauses)", lanes: 2, pauseMs: 5 }, { name: "saturating (4 clients)", lanes: 4, pauseMs: 0 }];
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function diveUnder(session, load, normalPriority) {
  const before = new Set(descendants(process.pid));
  const traffic = ordinaryTraffic(session.supervisor.port, load);
  const started = Date.now();
  const dive = session.deepDive({ route: "/balloon/large", calls: 20 });
  if (normalPriority) {
    // The new process is the deep worker (the pool does not change meanwhile).
    let pid;
    while (!(pid = descendants(process.pid).find((child) => !before.has(child)))) await sleep(5);
    spawnSync("chrt", ["--other", "-p", "0", String(pid)]);
  }
  await dive;
  const seconds = (Date.now() - started) / 1000;
  return { ...latency(await traffic.stop()), seconds };
}

async function calm(session, load) {
  const traffic = ordinaryTraffic(session.supervisor.port, load);
  await sleep(CALM_MS);
  return { ...latency(await traffic.stop()), seconds: CALM_MS / 1000 };
}

const plan = planSession({ app: "app:application", cwd: join(root, "test/fixtures/apps/wsgi_app"), python: "/usr/bin/python3", port: "0", workers: "2" });
const session = new Session(plan, join(root, "profiler/shim"), { log: () => undefined });
try {
  await session.supervisor.start();
  while (session.supervisor.readyWorkers < 2) await sleep(50);
  await ordinaryTraffic(session.supervisor.port, { lanes: 1, urlPath: "/balloon/large" }).stop(); // the route, for the dive to find
  for (const load of LOADS) {
    const phases = { "no dive": [], "dive, SCHED_IDLE": [], "dive, normal priority": [] };
    for (let round = 0; round < ROUNDS; round++) {
      phases["no dive"].push(await calm(session, load));
      phases["dive, SCHED_IDLE"].push(await diveUnder(session, load, false));
      phases["dive, normal priority"].push(await diveUnder(session, load, true));
    }
    console.log(`GET /hello, ${load.name}, medians of ${ROUNDS} rounds:`);
    for (const [name, rounds] of Object.entries(phases)) {
      const pick = (key) => median(rounds.map((r) => r[key]));
      console.log(`  ${name.padEnd(22)} p50 ${pick("p50").toFixed(2).padStart(6)} ms  p99 ${pick("p99").toFixed(2).padStart(6)} ms  ` +
        `${Math.round(median(rounds.map((r) => r.requests / r.seconds)))} req/s  (phase ${pick("seconds").toFixed(1)} s)`);
    }
  }
} finally {
  await session.stop("bench done");
}
