import { test } from "node:test";
import assert from "node:assert/strict";
import { analyze, DEFAULT_THRESHOLDS } from "../../out/test-build/analysis/analyze.js";
import { noise, Simulation } from "./helpers/recording.mjs";

const routeOf = (report, route, method = "GET") => {
  const found = report.routes.find((r) => r.route === route && r.method === method);
  assert.ok(found, `route ${method} ${route} in report`);
  return found;
};

/** Every route with its flags, for whole-report assertions. */
const flagsOf = (report) => Object.fromEntries(report.routes.map((r) => [r.route, r.flags.join(",")]));

test("each flag on a clean series, interleaved with an ok route", async (t) => {
  const cases = [
    { name: "leak", figures: () => ({ peak: 1.2, retained: 1 }), flag: "leak", reason: /retains 1\.0 MiB per call.*median of 9 repeat calls/ },
    { name: "inflates", figures: (i) => ({ peak: 12, retained: i === 0 ? 12 : 0 }), flag: "inflates", reason: /first call retains 12\.0 MiB.*repeat calls then retain 0\.0 MiB/ },
    { name: "balloon", figures: () => ({ peak: 50, retained: 0 }), flag: "balloon", reason: /peaks 50\.0 MiB.*balloon threshold 8\.0 MiB/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const sim = new Simulation({ 1: 30 });
      for (let i = 0; i < 10; i++) sim.call(1, `/${c.name}`, c.figures(i)).call(1, "/ok", { peak: 0.3 });
      const report = analyze(sim.lines);
      assert.deepEqual(flagsOf(report), { [`/${c.name}`]: c.flag, "/ok": "" });
      const route = routeOf(report, `/${c.name}`);
      assert.equal(route.requests, 10);
      assert.match(route.reasons[0], c.reason);
      assert.equal(report.routes[0].route, `/${c.name}`, "flagged routes come first");
    });
  }
});

test("figures per route: peak, first and per-request retained, durations", () => {
  const sim = new Simulation({ 1: 30, 2: 30 });
  sim.repeat(1, "/leak", 5, (i) => ({ peak: 2 + i, retained: 1.5, durationMs: 10 + i }));
  sim.repeat(2, "/leak", 4, { peak: 2, retained: 1.5, durationMs: 30 });
  const route = routeOf(analyze(sim.lines), "/leak");
  assert.deepEqual(route.peakMiB, { median: 2, max: 6 });
  assert.deepEqual(route.retainedMiB, { first: 1.5, perRequest: 1.5 });
  assert.deepEqual(route.durationMs, { median: 14, max: 30 });
  assert.deepEqual(route.flags, ["leak"]);
  assert.match(route.reasons[0], /7 repeat calls in 2 workers/);
  assert.deepEqual(route.handler, { qualname: "views.leak", file: "views.py", line: 10 });
});

test("allocator tricks: a leak reading ~0 after a balloon, a balloon reading +1 MiB after a leak", () => {
  const sim = new Simulation({ 1: 25, 2: 25 });
  for (const worker of [1, 2]) {
    sim.call(worker, "/leak", { peak: 1, retained: 1 });
    for (let i = 0; i < 6; i++) {
      // The balloon right after a leak call keeps +1 MiB once; the leak after a balloon reads ~0 once.
      sim.call(worker, "/balloon", { peak: 40, retained: i === 1 ? 1 : 0 });
      sim.call(worker, "/leak", { peak: 1, retained: i === 0 ? 0.02 : 1 });
    }
  }
  const report = analyze(sim.lines);
  assert.deepEqual(flagsOf(report), { "/leak": "leak", "/balloon": "balloon" });
  assert.equal(routeOf(report, "/balloon").retainedMiB.perRequest, 0);
  assert.equal(routeOf(report, "/leak").retainedMiB.perRequest, 1);
});

test("an inflation whose first call lands in memory a balloon left is still found by the median over workers", () => {
  const sim = new Simulation({ 1: 30, 2: 30, 3: 30 });
  sim.call(1, "/balloon", { peak: 40 }).call(1, "/inflate", { peak: 10, retained: 0.5 });
  sim.call(2, "/inflate", { peak: 10, retained: 10 }).call(3, "/inflate", { peak: 10, retained: 9 });
  for (const worker of [1, 2, 3]) sim.repeat(worker, "/inflate", 3, { peak: 1, retained: 0 });
  const route = routeOf(analyze(sim.lines), "/inflate");
  assert.equal(route.retainedMiB.first, 9);
  assert.deepEqual(route.flags, ["inflates"]);
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
      assert.deepEqual(flagsOf(report), { "/": "", "/users": "", "/search": "" });
    });
  }
});

test("leak detection: repeats, steadiness and growth", async (t) => {
  const cases = [
    { name: "two repeats are too few for a leak; the first call's step says inflates", series: [5, 1, 1], flag: "inflates", reason: /only 2 repeat calls/ },
    { name: "three repeats of 1 MiB are a leak", series: [1, 1, 1, 1], flag: "leak" },
    { name: "a leak every other call, big enough, grows steadily", series: [0, 1.6, 0, 1.6, 0, 1.6, 0.1, 1.6, 0, 1.6], flag: "leak" },
    { name: "+1 then −1 alternately gives memory back: not a leak", series: [0, 1, -1, 1, -1, 1, -1, 1, -1, 1], flag: "" },
    { name: "mostly +1 but −2 every third call: held memory does not grow", series: [0, 1, 1, -2, 1, 1, -2, 1, 1, -2], flag: "" },
    { name: "one step then flat is not a leak", series: [0, 0, 0, 6, 0, 0, 0, 0], flag: "" },
    { name: "a slow leak below the threshold is not flagged", series: Array(10).fill(0.3), flag: "" },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const sim = new Simulation({ 1: 30 });
      for (const retained of c.series) sim.call(1, "/r", { peak: Math.max(0.5, retained), retained }).call(1, "/ok");
      const route = routeOf(analyze(sim.lines), "/r");
      assert.equal(route.flags.join(","), c.flag);
      if (c.reason) assert.match(route.reasons[0], c.reason);
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

test("requests without memory figures count but do not feed memory figures", () => {
  const sim = new Simulation({ 1: 30 });
  sim.repeat(1, "/off", 4, { accounting: false, durationMs: 8 });
  sim.call(1, "/mixed", { accounting: false }).repeat(1, "/mixed", 4, { peak: 2, retained: 1 });
  const report = analyze(sim.lines);
  const off = routeOf(report, "/off");
  assert.equal(off.requests, 4);
  assert.deepEqual([off.peakMiB, off.retainedMiB, off.flags], [{ median: 0, max: 0 }, { first: 0, perRequest: 0 }, []]);
  assert.equal(off.durationMs.median, 8);
  const mixed = routeOf(report, "/mixed");
  assert.equal(mixed.requests, 5);
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
  sim.call(1, "/item", { method: "POST", peak: 3 });
  const report = analyze(sim.lines);
  const get = routeOf(report, "/item");
  assert.equal(get.requests, 6);
  assert.equal(get.retainedMiB.first, 11);
  assert.deepEqual(get.flags, ["inflates"]);
  assert.match(get.reasons[0], /median over 2 workers/);
  assert.equal(routeOf(report, "/item", "POST").requests, 1);
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
    { id: 1, pid: 1001, requests: 2, rssMiB: { start: 20, max: 50, end: 23 }, exit: { reason: "max-requests", detail: "served 2 requests" } },
    { id: 1, pid: 2001, requests: 1, rssMiB: { start: 21, max: 21.2, end: 21 }, exit: null },
    { id: 2, pid: 1002, requests: 1, rssMiB: { start: 25, max: 26, end: 26 }, exit: null },
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
  const headless = analyze(sim.lines.filter((line) => line.type !== "start" && line.type !== "app"));
  assert.equal(headless.app.target, "");
  assert.equal(headless.totals.requests, 1);
});

test("routes sort flagged first, then by peak median", () => {
  const sim = new Simulation({ 1: 30 });
  sim.repeat(1, "/small", 3, { peak: 0.1 }).repeat(1, "/mid", 3, { peak: 5 }).repeat(1, "/leak", 4, { peak: 1, retained: 1 });
  sim.repeat(1, "/big", 3, { peak: 60 });
  assert.deepEqual(analyze(sim.lines).routes.map((r) => r.route), ["/big", "/leak", "/mid", "/small"]);
});
