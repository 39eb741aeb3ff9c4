// The report as a whole: per-route figures, thresholds, errors, workers, app and settings,
// route order. The verdict rules have their own file (verdicts.test.mjs), the incremental
// Analyzer too (analyzer.test.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyze, DEFAULT_THRESHOLDS } from "../../out/test-build/analysis/analyze.js";
import { noise, Simulation } from "./helpers/recording.mjs";
import { routeOf, verdictsOf } from "./helpers/report.mjs";

test("figures per route: peak, first and per-request retained, durations", () => {
  const sim = new Simulation({ 1: 30, 2: 30 });
  sim.repeat(1, "/leak", 5, (i) => ({ peak: 2 + i, retained: 1.5, durationMs: 10 + i }));
  sim.repeat(2, "/leak", 4, { peak: 2, retained: 1.5, durationMs: 30 });
  const route = routeOf(analyze(sim.lines), "/leak");
  assert.deepEqual(route.peakMiB, { median: 2, max: 6 });
  assert.deepEqual(route.retainedMiB, { first: 1.5, perRequest: 1.5 });
  // 9 calls: 10..14 and 4 × 30 ms; nearest rank p90 and p99 are the 9th value.
  assert.deepEqual(route.durationMs, { median: 14, p90: 30, p99: 30, max: 30 });
  assert.deepEqual(route.flags, ["leak"]);
  assert.match(route.reasons[0], /7 repeat calls in 2 workers/);
  assert.deepEqual(route.handler, { qualname: "views.leak", file: "views.py", line: 10 });
  assert.deepEqual([route.shared, route.extra, route.samplePaths], [0, 0, ["/leak"]]);
});

test("ok routes are never flagged under ±0.3 MiB noise, at small and big baselines", async (t) => {
  for (const baseline of [15, 30, 60]) {
    await t.test(`baseline ${baseline} MiB`, () => {
      const jitter = noise(baseline, 0.3);
      const sim = new Simulation({ 1: baseline, 2: baseline });
      for (let i = 0; i < 40; i++) {
        for (const route of ["/", "/users", "/search"]) {
          // First calls import modules and fill caches: up to 2 MiB kept, below the inflate bar.
          const retained = i < 2 ? 1.5 + jitter() : jitter();
          sim.call(1 + (i % 2), route, { peak: 0.8 + jitter(), retained });
        }
      }
      const report = analyze(sim.lines);
      assert.deepEqual(verdictsOf(report), { "/": "", "/users": "", "/search": "" });
    });
  }
});

test("thresholds scale with the baseline RSS and can be overridden", async (t) => {
  const cases = [
    { name: "defaults, baseline 16: a 6 MiB peak is no balloon", baseline: 16, peak: 6, thresholds: undefined, flag: "" },
    { name: "absolute override", baseline: 16, peak: 6, thresholds: { balloonMiB: 5 }, flag: "balloon" },
    { name: "fraction dominates at baseline 100 (25 MiB)", baseline: 100, peak: 20, thresholds: undefined, flag: "" },
    { name: "fraction override", baseline: 100, peak: 20, thresholds: { balloonFraction: 0.1 }, flag: "balloon" },
    { name: "undefined options keep the defaults", baseline: 16, peak: 9, thresholds: { balloonMiB: undefined }, flag: "balloon" },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const sim = new Simulation({ 1: c.baseline }).repeat(1, "/r", 5, { peak: c.peak });
      const report = analyze(sim.lines, c.thresholds);
      assert.equal(routeOf(report, "/r").flags.join(","), c.flag);
      assert.equal(report.thresholds.balloonMiB, c.thresholds?.balloonMiB ?? DEFAULT_THRESHOLDS.balloonMiB);
    });
  }
  await t.test("limits resolved from the median baseline over workers", () => {
    const sim = new Simulation({ 1: 20, 2: 60, 3: 64 }).call(1, "/").call(2, "/").call(3, "/");
    assert.deepEqual(analyze(sim.lines).limits, { baselineMiB: 60, balloonMiB: 15, inflateMiB: 6, leakMiB: 0.6 });
  });
  await t.test("a 1 MiB leak clears the bar at a 60 MiB baseline", () => {
    const sim = new Simulation({ 1: 60 }).repeat(1, "/leak", 6, { peak: 1, retained: 1 });
    assert.deepEqual(routeOf(analyze(sim.lines), "/leak").flags, ["leak"]);
  });
});

test("requests without memory figures count but do not feed memory figures or verdicts", () => {
  const sim = new Simulation({ 1: 30 });
  sim.repeat(1, "/off", 4, { accounting: false, durationMs: 8 });
  sim.call(1, "/mixed", { accounting: false }).repeat(1, "/mixed", 5, { peak: 2, retained: 1 });
  const report = analyze(sim.lines);
  const off = routeOf(report, "/off");
  assert.equal(off.requests, 4);
  assert.deepEqual([off.peakMiB, off.retainedMiB, off.verdicts], [{ median: 0, max: 0 }, { first: 0, perRequest: 0 }, []]);
  assert.equal(off.durationMs.median, 8);
  const mixed = routeOf(report, "/mixed");
  assert.equal(mixed.requests, 6);
  // The figure-less call was the worker's first: the measured calls are all repeats.
  assert.deepEqual(mixed.retainedMiB, { first: 0, perRequest: 1 });
  assert.deepEqual(mixed.flags, ["leak"]);
});

test("a recording with accounting off throughout falls back to absolute thresholds", () => {
  const sim = new Simulation({});
  sim.lines.push({ type: "worker", t: sim.tick(), event: "ready", worker: 1, pid: 1001 });
  sim.workers.set(1, { pid: 1001, seq: 0, rssKiB: 0 });
  sim.repeat(1, "/", 3, { accounting: false });
  const report = analyze(sim.lines);
  assert.deepEqual(report.limits, { baselineMiB: 0, balloonMiB: 8, inflateMiB: 4, leakMiB: 0.5 });
  assert.equal(report.totals.requests, 3);
  assert.deepEqual(routeOf(report, "/").verdicts, [], "nothing to decide: not undecided either");
});

test("errors are counted per route and in totals", () => {
  const sim = new Simulation({ 1: 30 });
  sim.call(1, "/x").call(1, "/x", { outcome: "app-error" }).call(1, "/x", { outcome: "timeout", accounting: false });
  sim.call(1, "/y", { outcome: "worker-died", accounting: false }).call(1, "/y");
  const report = analyze(sim.lines);
  assert.deepEqual([routeOf(report, "/x").errors, routeOf(report, "/y").errors], [2, 1]);
  assert.deepEqual([report.totals.requests, report.totals.errors], [5, 3]);
});

test("a route seen in two workers: first call per worker, methods kept apart", () => {
  const sim = new Simulation({ 1: 30, 2: 40 });
  sim.call(1, "/item", { peak: 10, retained: 10 }).call(2, "/item", { peak: 12, retained: 12 });
  sim.call(1, "/item", { retained: 0 }).call(2, "/item", { retained: 0.1 }).call(1, "/item").call(2, "/item");
  sim.repeat(1, "/item", 3, { method: "POST", peak: 3 });
  const report = analyze(sim.lines);
  const get = routeOf(report, "/item");
  assert.equal(get.requests, 6);
  assert.equal(get.retainedMiB.first, 11);
  assert.deepEqual(get.flags, ["inflates"]);
  assert.match(get.reasons[0], /median over 2 workers/);
  assert.equal(routeOf(report, "/item", "POST").requests, 3);
});

test("workers: start, max, end, exit, and (id, pid) kept apart", () => {
  const sim = new Simulation({ 1: 20, 2: 25 });
  sim.call(1, "/", { peak: 30, retained: 2 }).call(1, "/", { retained: 1 });
  sim.end(1, "recycle", "max-requests", "served 2 requests");
  sim.spawn(1, 21, 2001);
  sim.call(1, "/").call(2, "/");
  sim.lines.push({ type: "sample", t: sim.tick(), worker: 2, pid: 1002, rssKiB: 26 * 1024, cpu: 3 });
  sim.lines.push({ type: "stop", t: sim.tick(2000), reason: "done" });
  const report = analyze(sim.lines);
  assert.deepEqual(report.workers, [
    { id: 1, pid: 1001, requests: 2, rssMiB: { start: 20, max: 50, end: 23 }, ussMiB: { start: null }, vmSizeMiB: { start: null, max: 0 }, exit: { reason: "max-requests", detail: "served 2 requests" } },
    { id: 1, pid: 2001, requests: 1, rssMiB: { start: 21, max: 21.2, end: 21 }, ussMiB: { start: null }, vmSizeMiB: { start: null, max: 0 }, exit: null },
    { id: 2, pid: 1002, requests: 1, rssMiB: { start: 25, max: 26, end: 26 }, ussMiB: { start: null }, vmSizeMiB: { start: null, max: 0 }, exit: null },
  ]);
  assert.equal(report.totals.durationSec, 2.1);
});

test("app and settings come from the start and app lines; warnings pass through", () => {
  const sim = new Simulation({ 1: 30 }).call(1, "/");
  const report = analyze(sim.lines, {}, ["line 7: truncated"]);
  assert.deepEqual(report.app, {
    target: "app:app", cwd: "/srv/app", python: "/usr/bin/python3", framework: "flask", pythonVersion: "3.12.1", frameworkVersion: "3.0.0",
  });
  assert.equal(report.settings.workers, 2);
  assert.deepEqual(report.warnings, ["line 7: truncated"]);
  assert.deepEqual([report.approximations, report.adaptive], [[], null]);
  const headless = analyze(sim.lines.filter((line) => line.type !== "start" && line.type !== "app"));
  assert.equal(headless.app.target, "");
  assert.equal(headless.totals.requests, 1);
});

test("routes sort flagged first by the MiB at stake of their primary verdict, then undecided, then by peak", () => {
  const sim = new Simulation({ 1: 30 });
  sim.repeat(1, "/small", 5, { peak: 0.1 }).repeat(1, "/mid", 5, { peak: 5 }).repeat(1, "/leak", 5, { peak: 1, retained: 1 });
  sim.repeat(1, "/big", 5, { peak: 60 }).call(1, "/once", { peak: 0.2 });
  const report = analyze(sim.lines);
  // /leak: 1 MiB per call × 1000 requests × 5/21 of the traffic ≈ 238 MiB at stake, over /big's 60 MiB peak.
  assert.deepEqual(report.routes.map((r) => r.route), ["/leak", "/big", "/once", "/mid", "/small"]);
  assert.deepEqual(report.routes.map((r) => r.verdicts[0]?.atStakeMiB ?? null), [238.1, 60, 0, null, null]);
});

test("pool figures for a recommender: concurrency seen, spawn to ready, the master, USS and VmSize at start", () => {
  const lines = [
    { type: "worker", t: 1000, event: "spawn", worker: 1, pid: 0 },
    { type: "worker", t: 1050, event: "master-ready", worker: 0, pid: 9, rssKiB: 40 * 1024, ussKiB: 38 * 1024, pssKiB: 39 * 1024 },
    { type: "worker", t: 1250, event: "ready", worker: 1, pid: 10, rssKiB: 45 * 1024, ussKiB: 4 * 1024, vmSizeKiB: 60 * 1024 },
    ...[1, 3, 2].map((inFlight, i) => ({
      type: "request", t: 2000 + i, worker: 1, pid: 10, seq: i + 1, method: "GET", path: "/", route: "/", handler: null, status: 200, outcome: "ok",
      durationMs: 5, inFlight, waitMs: i, rssBeforeKiB: 45 * 1024, peakKiB: 45 * 1024, rssAfterKiB: 45 * 1024, vmSizeKiB: (61 + i) * 1024, concurrent: 1,
    })),
    { type: "request", t: 2100, worker: 0, pid: 0, seq: 0, method: "GET", path: "/", route: "/", handler: null, status: 503, outcome: "rejected", durationMs: 0 },
  ];
  const report = analyze(lines);
  assert.deepEqual(report.pool, { concurrencySeen: 3, spawnToReadyMs: { median: 250, max: 250 }, master: { rssMiB: 40, ussMiB: 38, pssMiB: 39 } });
  assert.equal(report.workers.length, 1, "worker 0 (master, supervisor) is nobody's process");
  assert.deepEqual([report.workers[0].ussMiB, report.workers[0].vmSizeMiB], [{ start: 4 }, { start: 60, max: 63 }]);
  assert.deepEqual([report.totals.requests, report.totals.errors], [4, 1], "the 503 counts as a request that failed");
  assert.equal(report.routes[0].waitMs.p99, 2);
});
