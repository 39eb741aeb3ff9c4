// The webview's reducer (webview/state.ts): every message and UI action, what it changes, what it
// keeps (by identity, which is how views know to skip a redraw), and what a reload restores.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_UI, initialState, isToWebview, reduce, restoreUi, savedState } from "../../out/test-build/webview/state.js";
import { baseRecommendation } from "./helpers/recommendations.mjs";

const status = { sessionId: "s1", state: "running", url: "http://127.0.0.1:8000", python: "python3", pythonWhy: "python3", workers: 2, requests: 10, errors: 0, totalRssMiB: 80, failure: null, readOnly: false };
const report = { version: 2, routes: [] };
const batch = (ms, rssMiB) => ({ sessionId: "s1", samples: [{ t: 1_000_000 + ms, worker: 1, pid: 7, rssKiB: rssMiB * 1024 }], events: [], budgetMiB: 0 });
const run = (actions, state = initialState()) => actions.reduce(reduce, state);

const cases = [
  { name: "status is kept as sent", actions: [{ type: "status", status }], check: (s) => assert.equal(s.status, status) },
  { name: "a report replaces the last one", actions: [{ type: "report", report: { ...report, version: 1 } }, { type: "report", report }], check: (s) => assert.equal(s.report, report) },
  { name: "a timeline batch appends", actions: [{ type: "timeline", batch: batch(0, 40) }, { type: "timeline", batch: batch(250, 41) }], check: (s) => assert.equal(s.timeline.workers[0].count, 2) },
  { name: "a timelineReset replaces the timeline", actions: [{ type: "timeline", batch: batch(0, 40) }, { type: "timelineReset", batch: batch(500, 42) }], check: (s) => assert.deepEqual([s.timeline.workers[0].count, s.timeline.epoch, s.timeline.origin], [1, 1, 1_000_500]) },
  { name: "asking for a recommendation keeps the budget asked and marks it pending", actions: [{ type: "ui/requestRecommendation", budgetMiB: 900 }], check: (s) => assert.deepEqual([s.ui.budgetMiB, s.recommendPending], [900, true]) },
  { name: "the recommendation ends the wait", actions: [{ type: "ui/requestRecommendation", budgetMiB: null }, { type: "recommendation", recommendation: baseRecommendation() }], check: (s) => assert.deepEqual([s.recommendPending, s.recommendation.budgetMiB], [false, 768]) },
  { name: "an error ends the wait too, and shows", actions: [{ type: "ui/requestRecommendation", budgetMiB: 900 }, { type: "error", message: "replay failed" }], check: (s) => assert.deepEqual([s.recommendPending, s.error], [false, "replay failed"]) },
  { name: "dismissing the error clears it", actions: [{ type: "error", message: "x" }, { type: "ui/dismissError" }], check: (s) => assert.equal(s.error, null) },
  { name: "a tab is selected", actions: [{ type: "ui/selectTab", tab: "recommendations" }], check: (s) => assert.equal(s.ui.tab, "recommendations") },
  { name: "sorting by a new numeric column starts from the largest", actions: [{ type: "ui/sortBy", column: "peakMax" }], check: (s) => assert.deepEqual(s.ui.sort, { column: "peakMax", direction: "desc" }) },
  { name: "sorting by a text column starts from A", actions: [{ type: "ui/sortBy", column: "route" }], check: (s) => assert.deepEqual(s.ui.sort, { column: "route", direction: "asc" }) },
  { name: "the same column again flips the direction", actions: [{ type: "ui/sortBy", column: "peakMax" }, { type: "ui/sortBy", column: "peakMax" }], check: (s) => assert.deepEqual(s.ui.sort, { column: "peakMax", direction: "asc" }) },
  { name: "the default sort is by flags, most at stake first; clicking it flips", actions: [{ type: "ui/sortBy", column: "flags" }], check: (s) => assert.deepEqual(s.ui.sort, { column: "flags", direction: "asc" }) },
  { name: "a route opens", actions: [{ type: "ui/toggleRoute", key: "GET /export" }], check: (s) => assert.equal(s.ui.selectedRoute, "GET /export") },
  { name: "the same route again closes", actions: [{ type: "ui/toggleRoute", key: "GET /export" }, { type: "ui/toggleRoute", key: "GET /export" }], check: (s) => assert.equal(s.ui.selectedRoute, null) },
  { name: "another route opens instead", actions: [{ type: "ui/toggleRoute", key: "GET /a" }, { type: "ui/toggleRoute", key: "GET /b" }], check: (s) => assert.equal(s.ui.selectedRoute, "GET /b") },
  { name: "the filter is set", actions: [{ type: "ui/filterRoutes", filter: "flagged" }], check: (s) => assert.equal(s.ui.filter, "flagged") },
  { name: "the extension shows a tab (a deep dive finished)", actions: [{ type: "showTab", tab: "deep" }], check: (s) => assert.equal(s.ui.tab, "deep") },
  { name: "a deep dive under way is held until it ends", actions: [{ type: "deepDiveRunning", running: { method: "GET", route: "/export", calls: 5 } }], check: (s) => assert.deepEqual(s.deepDiveRunning, { method: "GET", route: "/export", calls: 5 }) },
  { name: "a deep dive that ended is no longer shown running", actions: [{ type: "deepDiveRunning", running: { method: "GET", route: "/export", calls: 5 } }, { type: "deepDiveRunning", running: null }], check: (s) => assert.equal(s.deepDiveRunning, null) },
  { name: "nothing runs at first", actions: [], check: (s) => assert.equal(s.deepDiveRunning, null) },
];
for (const { name, actions, check } of cases) test(name, () => check(run(actions)));

const unchangedCases = [
  { name: "selecting the tab already shown", action: { type: "ui/selectTab", tab: DEFAULT_UI.tab } },
  { name: "dismissing when there is no error", action: { type: "ui/dismissError" } },
  { name: "the filter already set", action: { type: "ui/filterRoutes", filter: "all" } },
  { name: "showing the tab already shown", action: { type: "showTab", tab: DEFAULT_UI.tab } },
  { name: "no deep dive ending when none ran", action: { type: "deepDiveRunning", running: null } },
  { name: "an empty timeline batch of the session held", action: { type: "timeline", batch: { ...batch(0, 1), samples: [] } }, from: [{ type: "timeline", batch: batch(0, 40) }] },
];
for (const { name, action, from = [] } of unchangedCases) {
  test(`nothing changes (the same state object) on ${name}`, () => {
    const before = run(from);
    assert.equal(reduce(before, action), before);
  });
}

test("each action changes only its own slice: the others keep their identity", () => {
  const full = run([{ type: "status", status }, { type: "report", report }, { type: "timeline", batch: batch(0, 40) }, { type: "recommendation", recommendation: baseRecommendation() }]);
  const sorted = reduce(full, { type: "ui/sortBy", column: "requests" });
  assert.equal(sorted.timeline, full.timeline);
  assert.equal(sorted.report, full.report);
  assert.equal(sorted.recommendation, full.recommendation);
  const appended = reduce(full, { type: "timeline", batch: batch(250, 41) });
  assert.equal(appended.ui, full.ui);
  assert.equal(appended.report, full.report);
  assert.notEqual(appended.timeline, full.timeline);
});

test("the saved state is the UI only, and a reload restores it", () => {
  const state = run([{ type: "ui/selectTab", tab: "routes" }, { type: "ui/sortBy", column: "requests" }, { type: "ui/toggleRoute", key: "GET /x" }, { type: "timeline", batch: batch(0, 40) }]);
  const saved = JSON.parse(JSON.stringify(savedState(state)));
  assert.deepEqual(Object.keys(saved), ["v", "ui"], "no timeline, report or recommendation in it");
  const restored = reduce(initialState(), { type: "ui/restore", saved });
  assert.deepEqual(restored.ui, state.ui);
});

const restoreCases = [
  { name: "nothing saved", saved: undefined, expected: DEFAULT_UI },
  { name: "another version", saved: { v: 2, ui: { tab: "routes" } }, expected: DEFAULT_UI },
  { name: "a tab since removed", saved: { v: 1, ui: { tab: "flames" } }, expected: DEFAULT_UI },
  { name: "a column since removed", saved: { v: 1, ui: { tab: "routes", sort: { column: "cpu", direction: "asc" } } }, expected: { ...DEFAULT_UI, tab: "routes" } },
  { name: "a bad direction", saved: { v: 1, ui: { sort: { column: "requests", direction: "up" } } }, expected: DEFAULT_UI },
  { name: "a bad budget", saved: { v: 1, ui: { budgetMiB: -5, filter: "flagged" } }, expected: { ...DEFAULT_UI, filter: "flagged" } },
  { name: "everything valid", saved: { v: 1, ui: { tab: "recommendations", sort: { column: "route", direction: "desc" }, filter: "flagged", selectedRoute: "GET /a", budgetMiB: 512 } }, expected: { tab: "recommendations", sort: { column: "route", direction: "desc" }, filter: "flagged", selectedRoute: "GET /a", budgetMiB: 512 } },
];
for (const { name, saved, expected } of restoreCases) test(`restore: ${name}`, () => assert.deepEqual(restoreUi(saved), expected));

const messageCases = [
  [{ type: "status", status }, true],
  [{ type: "timelineReset", batch: batch(0, 1) }, true],
  [{ type: "showTab", tab: "deep" }, true],
  [{ type: "deepDiveRunning", running: null }, true],
  [{ type: "toString" }, false],
  [{ type: "ui/selectTab", tab: "routes" }, false],
  [{ type: "openHandler" }, false],
  [null, false],
  ["status", false],
  [{ kind: "status" }, false],
];
for (const [data, expected] of messageCases) test(`isToWebview(${JSON.stringify(data)?.slice(0, 40)}) is ${expected}`, () => assert.equal(isToWebview(data), expected));
