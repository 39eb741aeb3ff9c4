// The incremental Analyzer: the same report as analyze() of the whole recording, totals over
// every request ever added, bounded memory, worker recycling, the adaptive phase marker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Analyzer, analyze } from "../../out/test-build/analysis/analyze.js";
import { MAX_ROUTES } from "../../out/test-build/analysis/analyzer.js";
import { SAMPLE_CAPACITY } from "../../out/test-build/analysis/evidence.js";
import { parseRecording } from "../../out/test-build/record/reader.js";
import { noise, Simulation } from "./helpers/recording.mjs";
import { routeOf, verdictsOf } from "./helpers/report.mjs";

function mixedRecording() {
  const sim = new Simulation({ 1: 30, 2: 32 });
  const jitter = noise(3, 0.05);
  for (let i = 0; i < 30; i++) {
    const worker = 1 + (i % 2);
    sim.call(worker, "/export", { peak: 60 + jitter(), retained: jitter() });
    sim.call(worker, "/cart", { peak: 1, retained: 1 + jitter() });
    sim.call(worker, "/search", { peak: i < 2 ? 20 : 0.5, retained: i < 2 ? 20 : jitter() });
    sim.call(worker, "/", { peak: 0.2, outcome: i % 10 === 0 ? "app-error" : "ok" });
  }
  return sim;
}

test("analyze() of a recording equals the Analyzer fed line by line, asked for reports along the way", () => {
  const sim = mixedRecording();
  const text = sim.lines.map((line) => JSON.stringify(line)).join("\n") + "\n";
  const { lines, warnings } = parseRecording(text);
  const whole = analyze(lines, {}, warnings);
  const analyzer = new Analyzer();
  lines.forEach((line, index) => {
    analyzer.add(line);
    if (index % 7 === 0) analyzer.report(); // cached evidence must not go stale
  });
  assert.deepEqual(analyzer.report(), whole);
  assert.deepEqual(verdictsOf(whole), { "/cart": "leak", "/export": "balloon", "/search": "inflates", "/": "" });
});

test("totals count every request ever added, past any sample size", () => {
  const analyzer = new Analyzer();
  const sim = new Simulation({ 1: 30, 2: 30 });
  for (const line of sim.lines) analyzer.add(line);
  const calls = 208_929;
  let errors = 0;
  for (let i = 0; i < calls; i++) {
    const outcome = i % 9497 === 0 ? "app-error" : "ok";
    if (outcome !== "ok") errors += 1;
    sim.call(1 + (i % 2), `/r${i % 5}`, { peak: 0.3, outcome });
    analyzer.add(sim.lines.pop());
  }
  const report = analyzer.report();
  assert.deepEqual([report.totals.requests, report.totals.errors], [calls, errors]);
  assert.equal(errors, 22);
  assert.equal(report.routes.reduce((sum, route) => sum + route.requests, 0), calls);
  assert.equal(report.workers.reduce((sum, worker) => sum + worker.requests, 0), calls);
  // 41 786 calls per route: medians come from a sample, and the report says so.
  assert.equal(report.approximations.length, 5);
  assert.match(report.approximations[0], new RegExp(`^GET /r\\d: medians from a uniform sample of ${SAMPLE_CAPACITY} of its 4178[56] calls$`));
});

test("held memory stays bounded over a million lines", () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc");
  const analyzer = new Analyzer();
  const sim = new Simulation({ 1: 30, 2: 30, 3: 30, 4: 30 });
  for (const line of sim.lines) analyzer.add(line);
  const feed = (count) => {
    for (let i = 0; i < count; i++) {
      sim.call(1 + (i % 4), `/r${i % 10}`, { peak: (i % 10) * 5, retained: i % 10 === 3 ? 0.001 : 0 });
      analyzer.add(sim.lines.pop());
    }
  };
  feed(200_000); // every sample is full by now
  gc();
  const before = process.memoryUsage().heapUsed;
  feed(800_000);
  analyzer.report();
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  // 800 000 more lines kept would be hundreds of MiB; the analyzer's state does not grow with them.
  assert.ok(grown < 4 * 1024 * 1024, `heap grew ${(grown / 1048576).toFixed(1)} MiB over 800 000 lines`);
  assert.equal(analyzer.report().totals.requests, 1_000_000);
});

test("report() stays cheap enough for a live table (well under 50 ms with 40 routes of full samples)", () => {
  const analyzer = new Analyzer();
  const sim = new Simulation({ 1: 30, 2: 30 });
  for (const line of sim.lines) analyzer.add(line);
  for (let i = 0; i < 400_000; i++) {
    sim.call(1 + (i % 2), `/r${i % 40}`, { peak: i % 7, retained: 0 });
    analyzer.add(sim.lines.pop());
  }
  analyzer.report();
  sim.call(1, "/r0", { peak: 1 }); // one route changed since: only its evidence is recomputed
  analyzer.add(sim.lines.pop());
  const started = performance.now();
  analyzer.report();
  const tookMs = performance.now() - started;
  assert.ok(tookMs < 50, `report() took ${tookMs.toFixed(1)} ms`);
});

test("a recycled worker's series still counts: repeats pool over the processes a worker id had", () => {
  const sim = new Simulation({ 1: 30 });
  sim.repeat(1, "/leak", 4, { peak: 1, retained: 1 });
  sim.end(1, "recycle", "max-requests", "served 4 requests");
  sim.spawn(1, 30, 2001);
  sim.repeat(1, "/leak", 4, { peak: 1, retained: 1 });
  const route = routeOf(analyze(sim.lines), "/leak");
  assert.deepEqual(route.flags, ["leak"]);
  assert.match(route.reasons[0], /over 6 repeat calls in 2 workers/);
  assert.equal(route.retainedMiB.first, 1);
});

test("the adaptive phase: calls after its marker are counted as extra, per route and in all", () => {
  const sim = new Simulation({ 1: 30 });
  sim.repeat(1, "/export", 2, { peak: 50, retained: 0 }).repeat(1, "/ok", 4, { peak: 0.1 });
  const before = analyze(sim.lines);
  assert.deepEqual([before.adaptive, routeOf(before, "/export").extra], [null, 0]);
  sim.adaptive(["GET /export"], 100).repeat(1, "/export", 3, { peak: 50, retained: 0, path: "/export?page=2" });
  const report = analyze(sim.lines);
  assert.deepEqual(report.adaptive, { extraCalls: 3, budget: 100, routes: [{ method: "GET", route: "/export", calls: 3 }] });
  const route = routeOf(report, "/export");
  assert.deepEqual([route.requests, route.extra, route.samplePaths], [5, 3, ["/export", "/export?page=2"]]);
});

test(`past ${MAX_ROUTES} distinct routes the rest share one row, and the report says so`, () => {
  const sim = new Simulation({ 1: 30 });
  for (let i = 0; i < MAX_ROUTES + 5; i++) sim.call(1, `/scan/${i}.php`, { peak: 0.1 });
  const report = analyze(sim.lines);
  assert.equal(report.routes.length, MAX_ROUTES + 1);
  assert.equal(routeOf(report, "(other routes)", "*").requests, 5);
  assert.deepEqual(report.approximations, [`5 routes beyond the first ${MAX_ROUTES} are counted together as "(other routes)"`]);
  assert.equal(report.totals.requests, MAX_ROUTES + 5);
});
