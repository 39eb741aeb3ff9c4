// The what-if replay on synthetic recordings: memory, recycles and waits it must predict.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkloadBuilder } from "../../out/test-build/recommend/workload.js";
import { replay } from "../../out/test-build/recommend/replay.js";

const MiB = 1024;
const arbiterSettings = {
  workers: 2, minSpare: null, maxSpare: null, maxWorkers: 2, threads: 1, maxRequests: 0, maxRequestsJitter: 0,
  reloadOnRssMiB: 0, memoryBudgetMiB: 0, timeoutSec: 30, queueSize: 2048,
};

/**
 * A recording: workers ready at 20 MiB, then requests `[route, peakMiB, retainedMiB, durationMs]`
 * every `gapMs`, alternating between recorded workers 1 and 2 (each worker's own seq).
 */
function recording(calls, { gapMs = 100, workers = 2, baselineMiB = 20 } = {}) {
  const lines = [{ type: "start", version: 1, t: 0, run: { target: "app:app", cwd: "/app", python: "python3", framework: "wsgi" }, settings: {} }];
  const rss = new Map();
  const seq = new Map();
  for (let w = 1; w <= workers; w++) {
    lines.push({ type: "worker", t: 0, event: "spawn", worker: w, pid: 0 });
    lines.push({ type: "worker", t: 200, event: "ready", worker: w, pid: 100 + w, rssKiB: baselineMiB * MiB, ussKiB: (baselineMiB - 8) * MiB });
    rss.set(w, baselineMiB * MiB);
    seq.set(w, 0);
  }
  calls.forEach(([route, peak, retained, duration], i) => {
    const w = (i % workers) + 1;
    const before = rss.get(w);
    const after = before + retained * MiB;
    rss.set(w, after);
    seq.set(w, seq.get(w) + 1);
    const t = 1000 + i * gapMs;
    lines.push({
      type: "request", t, arrivedAt: t, waitMs: 0, worker: w, pid: 100 + w, seq: seq.get(w), method: "GET", path: route, route,
      handler: null, status: 200, outcome: "ok", durationMs: duration ?? 10, rssBeforeKiB: before, peakKiB: before + peak * MiB,
      rssAfterKiB: after, concurrent: 1,
    });
  });
  return lines;
}

function workloadOf(lines) {
  const builder = new WorkloadBuilder();
  for (const line of lines) builder.add(line);
  return builder.build();
}

test("workload: first calls, route models, baseline and boot time", () => {
  const w = workloadOf(recording([["/a", 30, 10, 10], ["/a", 30, 10, 10], ["/a", 1, 0, 10], ["/a", 1, 0, 10]]));
  assert.equal(w.baselineRssKiB, 20 * MiB);
  assert.equal(w.baselineUssKiB, 12 * MiB);
  assert.equal(w.spawnToReadyMs, 200);
  assert.deepEqual(w.requests.firstCall, [true, true, false, false]);
  assert.deepEqual(w.routes.map((r) => [r.key, r.firstRetainedKiB / MiB, r.repeatRetainedKiB / MiB]), [["GET /a", 10, 0]]);
  assert.deepEqual(w.requests.arrivalMs, [0, 100, 200, 300]);
});

test("replay: a balloon's peak counts while it runs; what it gives back does not stay", () => {
  const w = workloadOf(recording([["/big", 100, 0, 50], ["/ok", 0, 0, 10], ["/big", 100, 0, 50], ["/ok", 0, 0, 10]]));
  const r = replay(w, arbiterSettings);
  assert.equal(r.peakTotalMiB, 20 + 20 + 100, "two baselines and one 100 MiB balloon at a time (sequential traffic)");
  assert.equal(r.recycles, 0);
  assert.equal(r.waitedShare, 0);
});

test("replay: an inflation is paid once per worker that serves the route, on any worker", () => {
  const calls = Array.from({ length: 8 }, () => ["/cache", 50, 0, 10]).map((c, i) => (i < 2 ? ["/cache", 50, 50, 10] : c));
  const w = workloadOf(recording(calls));
  const four = replay(w, { ...arbiterSettings, workers: 4, maxWorkers: 4 }, { concurrency: 4 });
  // 4 workers each keep the 50 MiB step; the last calls peak 50 above that.
  assert.ok(four.peakTotalMiB >= 4 * (20 + 50) && four.peakTotalMiB <= 4 * (20 + 50) + 4 * 50, `peak ${four.peakTotalMiB}`);
  const two = replay(w, arbiterSettings);
  assert.ok(two.peakTotalMiB < four.peakTotalMiB, "fewer workers, fewer copies of the step");
});

test("replay: a leak recycles under max-requests and under an RSS limit, exactly as the arbiter decides", () => {
  const calls = Array.from({ length: 40 }, () => ["/leak", 2, 2, 10]);
  const w = workloadOf(recording(calls));
  const none = replay(w, arbiterSettings);
  assert.equal(none.recycles, 0);
  assert.equal(none.peakTotalMiB, 2 * 20 + 39 * 2 + 2, "every call keeps 2 MiB; the last one peaks 2 above the 39 before it");
  const byCount = replay(w, { ...arbiterSettings, maxRequests: 10 });
  assert.equal(byCount.recycles, 4, "40 requests over workers that recycle every 10");
  assert.equal(byCount.recyclesBy["max-requests"], 4);
  assert.equal(byCount.recyclesPer1000, 100);
  const byRss = replay(w, { ...arbiterSettings, reloadOnRssMiB: 30 });
  assert.ok(byRss.recycles >= 6 && byRss.recyclesBy["rss-limit"] === byRss.recycles, JSON.stringify(byRss.recyclesBy));
  assert.ok(byRss.peakTotalMiB < none.peakTotalMiB);
});

test("replay: twice the traffic on one worker makes requests wait", () => {
  const calls = Array.from({ length: 20 }, () => ["/slow", 0, 0, 80]);
  const w = workloadOf(recording(calls, { gapMs: 100 }));
  const one = { ...arbiterSettings, workers: 1, maxWorkers: 1 };
  assert.equal(replay(w, one).waitedShare, 0, "80 ms requests every 100 ms: one worker keeps up");
  assert.ok(replay(w, one, { speed: 2 }).waitedShare > 0.5, "every 50 ms: most wait");
});

test("replay: a timeout kills the worker and is counted; a budget that cannot hold the pool is refused", () => {
  const w = workloadOf(recording([["/hang", 0, 0, 5000], ["/ok", 0, 0, 10]]));
  const timed = replay(w, { ...arbiterSettings, timeoutSec: 1 });
  assert.equal(timed.timedOut, 1);
  const refused = replay(w, { ...arbiterSettings, memoryBudgetMiB: 30 });
  assert.equal(refused.refused, true);
  assert.match(refused.messages[0], /cannot hold 2 idle workers/);
});

test("replay: the same seed gives the same jitter, so the same prediction", () => {
  const w = workloadOf(recording(Array.from({ length: 60 }, () => ["/leak", 1, 1, 5])));
  const settings = { ...arbiterSettings, maxRequests: 10, maxRequestsJitter: 5 };
  assert.deepEqual(replay(w, settings, { seed: 7 }), replay(w, settings, { seed: 7 }));
});
