// The recommendation engine on table-driven figures: settings, reasons, the worst case
// against the budget, and the alternatives the replay predicts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { recommend } from "../../out/test-build/recommend/recommend.js";
import { WorkloadBuilder } from "../../out/test-build/recommend/workload.js";

const source = { app: "app:application", framework: "wsgi", python: "/usr/bin/python3", recordedAt: "2026-12-01T00:00:00Z", requests: 0, file: "test" };

function route(name, { peak = 0.1, peakMedian = peak, first = 0, perRequest = 0, flags = [], requests = 20, ms = 20, msMax = ms } = {}) {
  return {
    route: name, method: "GET", handler: { qualname: `app.${name.slice(1)}`, file: "app.py", line: 10 }, requests, errors: 0,
    peakMiB: { median: peakMedian, max: peak }, retainedMiB: { first, perRequest }, durationMs: { median: ms, max: msMax },
    flags, reasons: flags.map((f) => `${f} planted`),
  };
}

function report(routes, { baseline = 20, durationSec = 10 } = {}) {
  const requests = routes.reduce((sum, r) => sum + r.requests, 0);
  return {
    version: 1, app: { target: "app:application", cwd: "/app", python: "/usr/bin/python3", framework: "wsgi" },
    settings: { workers: 2, threads: 1, preload: false },
    thresholds: {}, limits: { baselineMiB: baseline, balloonMiB: 8, inflateMiB: 4, leakMiB: 0.5 },
    routes, workers: [{ id: 1, pid: 1, requests, rssMiB: { start: baseline, max: baseline, end: baseline }, exit: null }],
    totals: { requests, errors: 0, durationSec }, warnings: [],
  };
}

const run = (r, budgetMiB, extra = {}) => recommend({ report: r, workload: null, budgetMiB, budgetSource: "--memory-budget", cpuCount: 2, source, ...extra });

test("a 4 GB box with 3 GB for the app and ~1 GB requests: at most 3 workers, and a plain warning naming the route", () => {
  const r = report([route("/hello"), route("/export", { peak: 980, peakMedian: 980, flags: ["balloon"], ms: 2000 })]);
  const rec = run(r, 3072, { targetConcurrency: 9 });
  assert.ok(rec.settings.workers <= 3, `${rec.settings.workers} workers`);
  assert.equal(rec.settings.workers, 3, "3 × (20 + 980) = 3000 MiB fits in 3072");
  assert.ok(rec.fits);
  assert.match(rec.warnings.join("\n"), /only 3 simultaneous requests fit in 3072\.0 MiB, 9 wanted/);
  assert.match(rec.reasons.workers, /only 3 workers of 20\.0 MiB fresh \+ 0\.0 MiB kept \+ 980\.0 MiB biggest request = 1000\.0 MiB fit/);
  const tighter = run(r, 2048, { targetConcurrency: 9 });
  assert.equal(tighter.settings.workers, 2);
  const none = run(r, 900);
  assert.equal(none.fits, false);
  assert.match(none.warnings[0], /Does not fit: 1 worker at worst need 1000\.0 MiB .* over the 900\.0 MiB budget; at most 0 such requests fit at once\. Fix GET \/export \(app\.py:10\) first/);
});

test("max-requests follows the leak and the headroom it has to fill; none without a leak", () => {
  const cases = [
    { name: "no leak", routes: [route("/a"), route("/b", { peak: 50, flags: ["balloon"] })], budget: 1024, want: 0 },
    // 2 workers of 20 + 10 (peak): 512 each, 482 headroom; 1 MiB per request over half the traffic: 964 → 500.
    { name: "a 1 MiB/call leak on half the traffic", routes: [route("/a"), route("/leak", { peak: 10, first: 1, perRequest: 1, flags: ["leak"] })], budget: 1024, target: 2, want: 500 },
    { name: "a 4 MiB/call leak", routes: [route("/a"), route("/leak", { peak: 10, first: 4, perRequest: 4, flags: ["leak"] })], budget: 1024, target: 2, want: 100 },
    { name: "no headroom: the smallest", routes: [route("/leak", { peak: 500, first: 4, perRequest: 4, flags: ["leak", "balloon"] })], budget: 600, target: 1, want: 25 },
  ];
  for (const { name, routes, budget, target, want } of cases) {
    const rec = run(report(routes), budget, { targetConcurrency: target });
    assert.equal(rec.settings.maxRequests, want, `${name}: ${rec.reasons.maxRequests}`);
    assert.equal(rec.settings.maxRequestsJitter, want === 0 ? 0 : Math.max(1, Math.round(want / 10)), name);
  }
});

test("the alternatives table trades recycles for memory: fewer max-requests, more recycles, less peak", () => {
  const rec = run(report([route("/a", { requests: 200 }), route("/leak", { peak: 2, first: 2, perRequest: 2, flags: ["leak"], requests: 200 })]), 2048, { targetConcurrency: 2 });
  // The recommendation is one of the rows; the table lists the others.
  const rows = Object.fromEntries([...rec.alternatives.map((a) => [a.label, a]), [`max-requests ${rec.settings.maxRequests || "none"}`, { predicted: rec.predicted, fits: rec.fits }]]);
  for (const label of ["max-requests 50", "max-requests 100", "max-requests 500", "max-requests none"]) assert.ok(rows[label], `${label} in ${Object.keys(rows)}`);
  const fifty = rows["max-requests 50"].predicted;
  const none = rows["max-requests none"].predicted;
  assert.ok(fifty.recyclesPer1000 > rows["max-requests 100"].predicted.recyclesPer1000, "50 recycles more often than 100");
  assert.equal(rows["max-requests 500"].predicted.recyclesPer1000, 0, "400 requests over 2 workers never reach 500");
  assert.ok(fifty.peakTotalMiB < none.peakTotalMiB, `peak ${fifty.peakTotalMiB} (50) < ${none.peakTotalMiB} (none)`);
  assert.equal(rows["max-requests none"].fits, false, "a leak never recycled has no bound");
  assert.ok(rec.alternatives.some((a) => a.label === "reload-on-rss off"));
  assert.ok(rec.fits);
});

test("every setting has a reason naming a figure, and the prediction is the replay's", () => {
  const rec = run(report([route("/a"), route("/cache", { peak: 30, first: 30, flags: ["inflates"] }), route("/big", { peak: 200, flags: ["balloon"], msMax: 4000 })]), 2048);
  // preload needs master readings, which a report alone does not carry (see the next test).
  assert.match(rec.reasons.preload, /no USS reading/);
  for (const name of ["workers", "threads", "maxRequests", "maxRequestsJitter", "reloadOnRssMiB", "timeoutSec", "stackKiB", "dbPoolSize", "dbMaxOverflow", "memoryHighMiB", "memoryMaxMiB"]) {
    assert.match(rec.reasons[name] ?? "", /\d/, `${name} has a reason with a figure: ${rec.reasons[name]}`);
  }
  assert.equal(rec.measured.keptMiB, 30);
  assert.equal(rec.measured.biggestPeakMiB, 200);
  assert.equal(rec.settings.timeoutSec, 30, "p99 4 s × 3 = 12 s: the 30 s floor");
  assert.match(rec.reasons.reloadOnRssMiB, /minus the biggest request \(200\.0 MiB, GET \/big/);
  assert.ok(rec.predicted.peakTotalMiB > 0 && rec.predicted.peakTotalMiB <= 2048);
  assert.equal(rec.settings.memoryHighMiB, Math.ceil(rec.predicted.peakTotalMiB * 1.1));
  assert.equal(rec.worstCaseMiB, rec.settings.workers * (20 + 30 + 200));
});

test("database pool follows threads; too many connections in all is a warning", () => {
  const rec = run(report([route("/a")]), 4096, { targetConcurrency: 150, dbMaxConnections: 100 });
  assert.equal(rec.settings.dbPoolSize, rec.settings.threads);
  assert.equal(rec.settings.dbMaxOverflow, 0);
  assert.ok(rec.settings.workers > 100, `${rec.settings.workers} workers`);
  assert.match(rec.warnings.join("\n"), /database connections .* exceed the database's 100/);
});

test("preload advice comes from the workers' USS at start (and, with --preload, what they share)", () => {
  const cases = [
    { name: "big app imported in every worker", preload: false, workerMiB: 80, ussMiB: 70, want: true, words: /holds 70\.0 MiB of private memory at start \(USS\).* share up to 210\.0 MiB over 4 workers/ },
    { name: "small app: not worth it", preload: false, workerMiB: 15, ussMiB: 4, want: false, words: /under 32 MiB/ },
    { name: "measured with --preload: shared pages", preload: true, workerMiB: 82, ussMiB: 6, want: true, words: /shares 76\.0 MiB with the master/ },
  ];
  for (const { name, preload, workerMiB, ussMiB, want, words } of cases) {
    const builder = new WorkloadBuilder();
    builder.add({ type: "start", version: 1, t: 0, run: {}, settings: { preload } });
    builder.add({ type: "worker", t: 2, event: "ready", worker: 1, pid: 10, rssKiB: workerMiB * 1024, ussKiB: ussMiB * 1024 });
    builder.add({ type: "request", t: 3, worker: 1, pid: 10, seq: 1, method: "GET", path: "/a", route: "/a", handler: null, status: 200, outcome: "ok",
      durationMs: 5, rssBeforeKiB: workerMiB * 1024, peakKiB: workerMiB * 1024, rssAfterKiB: workerMiB * 1024, concurrent: 1 });
    const rec = run(report([route("/a")], { baseline: workerMiB }), 4096, { workload: builder.build(), targetConcurrency: 4 });
    assert.equal(rec.settings.preload, want, `${name}: ${rec.reasons.preload}`);
    assert.match(rec.reasons.preload, words, name);
  }
});
