// The editor's call: Session.deepDive on a running session (what `balloon run` holds), with
// ordinary traffic going on. The pool's workers keep answering it during the dive, the deep
// worker is a process of its own that is gone once the dive is done, and the ordinary
// requests' latency (p50/p99) is measured before, during and after the dive in the same run.
// Needs scripts/build-tests.mjs (npm test runs it): the engine is driven in-process.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { get, latency, latencyWords, ordinaryTraffic } from "./helpers/ordinary-traffic.mjs";
import path from "node:path";
import { descendants, killAll, parentOf, pidAlive, python, readRecord, repoRoot, scratchDir, sleep, waitFor } from "./helpers/balloon.mjs";

after(killAll);

const { Session, planSession } = await import(path.join(repoRoot, "out/test-build/session.js"));
const { DeepDiveError } = await import(path.join(repoRoot, "out/test-build/analysis/deep.js"));
const appDir = path.join(repoRoot, "test/fixtures/apps/wsgi_app");
const PHASE_MS = 3000;
/** Ordinary traffic: two clients, each a request then a 5 ms pause (about 300 requests a second). */
const LANES = 2;
const PAUSE_MS = 5;
const traffic = (port) => ordinaryTraffic(port, { lanes: LANES, pauseMs: PAUSE_MS });

test("a deep dive on a running session: the pool keeps serving, the deep worker leaves", { timeout: 180_000 }, async () => {
  const recordPath = path.join(scratchDir(), "record.jsonl");
  const plan = planSession({ app: "app:application", cwd: appDir, python, port: "0", workers: "2", record: recordPath });
  const session = new Session(plan, path.join(repoRoot, "profiler/shim"), { log: () => undefined });
  try {
    const port = await session.supervisor.start();
    await waitFor(() => session.supervisor.readyWorkers === 2, { timeoutMs: 30_000, what: "2 workers" });
    const agent = new http.Agent({ keepAlive: true });
    for (let i = 0; i < 4; i++) assert.equal((await get(agent, port, "/balloon/large")).status, 200);
    agent.destroy();
    await assert.rejects(session.deepDive({ route: "/nope" }), (error) => error instanceof DeepDiveError && error.problem === "unknown-route");

    let load = traffic(port);
    await sleep(PHASE_MS);
    const before = await load.stop();

    load = traffic(port);
    const diveStarted = Date.now();
    const dive = session.deepDive({ method: "GET", route: "/balloon/large", calls: 15 });
    await assert.rejects(session.deepDive({ route: "/hello" }), (error) => error instanceof DeepDiveError && error.problem === "unavailable", "one dive at a time");
    const ready = await waitFor(() => readRecord(recordPath).find((line) => line.type === "deep" && line.event === "ready"), { timeoutMs: 30_000, what: "the deep worker" });
    const master = parentOf(ready.pid);
    assert.ok(pidAlive(ready.pid), "the deep worker runs during the dive");
    const result = await dive;
    const diveMs = Date.now() - diveStarted;
    const during = await load.stop();

    load = traffic(port);
    await sleep(PHASE_MS);
    const afterDive = await load.stop();

    assert.equal(result.top[0].line, 39, `the planted balloon line: ${JSON.stringify(result.top[0])}`);
    assert.equal(result.calls, 15);
    assert.equal(pidAlive(ready.pid), false, "the deep worker is gone once the dive is done");
    const pythons = descendants(process.pid).filter((pid) => pid === master || parentOf(pid) === master);
    assert.equal(pythons.length, 3, "the master and the pool's 2 workers, nothing more");
    assert.equal(session.supervisor.readyWorkers, 2);

    for (const [name, answers] of [["before", before], ["during", during], ["after", afterDive]]) {
      assert.ok(answers.length > 50, `${name}: ${answers.length} requests`);
      assert.deepEqual([...new Set(answers.map((a) => a.status))], [200], `${name}: every ordinary request answered`);
    }
    const lines = readRecord(recordPath);
    const poolPids = new Set(lines.filter((line) => line.type === "worker" && line.event === "ready").map((line) => line.pid));
    const served = lines.filter((line) => line.type === "request" && line.path === "/hello");
    assert.equal(served.length, before.length + during.length + afterDive.length, "the deep dive's calls are not request lines");
    assert.ok(served.every((line) => poolPids.has(line.pid) && line.pid !== ready.pid), "every ordinary request was served by a pool worker");
    assert.equal(session.report().deepDive.route, "/balloon/large");

    const [b, d, a] = [latency(before), latency(during), latency(afterDive)];
    console.log(`ordinary GET /hello, 2 workers, ${LANES} clients with ${PAUSE_MS} ms pauses:\n  before the dive: ${latencyWords(b)}\n` +
      `  during the dive (${result.calls} calls of GET /balloon/large in ${(diveMs / 1000).toFixed(1)} s, median ${result.durationMs.median} ms each): ${latencyWords(d)}\n  after: ${latencyWords(a)}`);
    // The dive shares the machine's 2 cores with the pool at the lowest priority: ordinary
    // latency may move with the machine's noise, not by the dive's own CPU time per call.
    const calm = Math.max(b.p99, a.p99);
    assert.ok(d.p99 <= Math.max(3 * calm, calm + 20), `p99 during ${d.p99.toFixed(2)} ms against ${calm.toFixed(2)} ms without a dive`);
  } finally {
    await session.stop("test done");
  }
});
