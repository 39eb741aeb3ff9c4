import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_MAX_EXTRA, planExtraCalls } from "../../out/test-build/analysis/adaptive.js";
import { analyze } from "../../out/test-build/analysis/analyze.js";
import { Simulation } from "./helpers/recording.mjs";

/** A report with: /export undecided (inflation, 2 more calls), /cart undecided (leak, 1 more), /ok decided, /shared unsettleable. */
function reportWithQuestions() {
  const sim = new Simulation({ 1: 30, 2: 30 });
  sim.call(1, "/export", { peak: 30, retained: 30, path: "/export?year=2023" });
  sim.call(2, "/export", { peak: 30, retained: 30, path: "/export?year=2024" });
  sim.repeat(1, "/cart", 4, { peak: 1, retained: 1, path: "/cart/7" });
  sim.repeat(1, "/ok", 5, { peak: 0.1 });
  for (const worker of [1, 2]) sim.call(worker, "/shared", { peak: 40, retained: 40, concurrent: 2 }).repeat(worker, "/shared", 3, { peak: 0.1 });
  return analyze(sim.lines);
}

test("extra calls: the undecided routes, as many as each asks, interleaved, on paths seen for them", () => {
  const report = reportWithQuestions();
  const shared = report.routes.find((r) => r.route === "/shared").verdicts.find((v) => v.flag === "undecided");
  assert.deepEqual(shared.figures, { questions: ["shared-first-call"], moreCalls: 0 });
  const plan = planExtraCalls(report, DEFAULT_MAX_EXTRA);
  // In report order (undecided routes by peak); /shared's question cannot be settled by calls.
  assert.deepEqual(plan.routes.map((r) => [r.route, r.calls]), [["/export", 2], ["/cart", 1]]);
  assert.match(plan.routes[0].reason, /2 more calls to tell an inflation from a leak/);
  assert.deepEqual(plan.calls, [
    { method: "GET", route: "/export", path: "/export?year=2023" },
    { method: "GET", route: "/cart", path: "/cart/7" },
    { method: "GET", route: "/export", path: "/export?year=2024" },
  ]);
});

test("the budget bounds the extra calls and is shared in turn", async (t) => {
  const report = reportWithQuestions();
  const cases = [
    { budget: 0, routes: [] },
    { budget: 1, routes: [["/export", 1]] },
    { budget: 2, routes: [["/export", 1], ["/cart", 1]] },
  ];
  for (const c of cases) {
    await t.test(`budget ${c.budget}`, () => {
      const plan = planExtraCalls(report, c.budget);
      assert.deepEqual(plan.routes.map((r) => [r.route, r.calls]), c.routes);
      assert.equal(plan.calls.length, c.routes.reduce((sum, [, calls]) => sum + calls, 0));
    });
  }
});

test("nothing undecided, nothing to send", () => {
  const sim = new Simulation({ 1: 30 }).repeat(1, "/ok", 5, { peak: 0.1 });
  assert.deepEqual(planExtraCalls(analyze(sim.lines), 100), { routes: [], calls: [] });
});
