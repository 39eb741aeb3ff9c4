// What the Deep Dive command says (extension/deep-dive-words.ts): the palette's routes, flagged
// first and most at stake first (the panel's order) with their flags and figures, never the merge
// of routes past the limit; the progress title; the top line of a finished dive, by what its
// route is flagged for, with the file as the report gives it (for Go to line).
import { test } from "node:test";
import assert from "node:assert/strict";
import { diveCallWords, diveProgressTitle, routePicks, topSiteMessage } from "../../out/test-build/extension/deep-dive-words.js";

const verdict = (flag, atStakeMiB) => ({ flag, reason: `${flag} reason`, atStakeMiB, figures: {} });
const route = (method, name, overrides = {}) => ({
  route: name, method, handler: { qualname: `app.${name.slice(1) || "index"}`, file: "pkg/app.py", line: 21 }, requests: 12, errors: 0,
  peakMiB: { median: 1, max: 20.7 }, retainedMiB: { first: 0.4, perRequest: 0 }, durationMs: { median: 1, max: 2 },
  flags: [], reasons: [], verdicts: [], shared: 0, extra: 0, samplePaths: [name], ...overrides,
});

test("picks: flagged first, most at stake first, then open questions, then the rest; flags and figures beside each", () => {
  const report = {
    routes: [
      route("GET", "/hello", { requests: 1, handler: null }),
      route("GET", "/search", { verdicts: [verdict("undecided", 0)] }),
      route("GET", "/export", { flags: ["inflates"], verdicts: [verdict("inflates", 41)] }),
      route("POST", "/render", { flags: ["balloon", "leak"], verdicts: [verdict("balloon", 300), verdict("leak", 90)], peakMiB: { median: 150, max: 152.4 } }),
      route("*", "(other routes)"),
    ],
  };
  const picks = routePicks(report);
  assert.deepEqual(picks.map((p) => p.label), ["POST /render", "GET /export", "GET /search", "GET /hello"]);
  assert.deepEqual(picks[0], { label: "POST /render", description: "balloon, leak · peak 152 MiB · kept 0.4 MiB · 12 calls", detail: "app.py:21 app.render", method: "POST", route: "/render" });
  assert.equal(picks[3].description, "peak 21 MiB · kept 0.4 MiB · 1 call");
  assert.equal(picks[3].detail, "no handler known");
});

test("progress: the route and the calls; then each call as it ends", () => {
  assert.equal(diveProgressTitle("GET", "/export", 5), "Balloon: deep dive on GET /export, 5 calls under tracemalloc");
  assert.equal(diveProgressTitle("GET", "/export", 1), "Balloon: deep dive on GET /export, 1 call under tracemalloc");
  assert.equal(diveCallWords({ done: 2, total: 5, status: 200, durationMs: 41_234 }), "call 2 of 5 answered 200 in 41.2 s");
  assert.equal(diveCallWords({ done: 1, total: 1, status: 500, durationMs: 4 }), "call 1 of 1 answered 500 in 4 ms");
});

const dive = (overrides = {}) => ({
  route: "/export", method: "GET", calls: 5, paths: ["/export"], frames: 40, flag: "inflates", orderedBy: "retained",
  top: [{ file: "app.py", line: 23, code: "_export_cache.extend(\"row-%08d\" % i for i in range(300_000))", peakKiB: 21000, retainedKiB: 20480, count: 300_001, peakCount: 300_001, retainedCount: 300_001 }],
  growth: [], peak: { capturedKiB: 1, exactKiB: 1, coverage: 1, capturedCalls: 5, snapshots: 3 },
  outsideApp: { peakKiB: 0, retainedKiB: 0, truncatedPeakKiB: 0, truncatedRetainedKiB: 0 }, statuses: { 200: 5 }, durationMs: { median: 900, max: 1200 },
  ...overrides,
});

test("top site: retained for an inflation, peak for a balloon; its file and line to go to", () => {
  assert.deepEqual(topSiteMessage(dive()), {
    text: "Balloon: deep dive on GET /export: app.py:23 kept 20 MiB — _export_cache.extend(\"row-%08d\" % i for i in range(300_000))",
    site: { file: "app.py", line: 23 },
  });
  assert.match(topSiteMessage(dive({ flag: "balloon", orderedBy: "peak" })).text, /: app\.py:23 held 21 MiB at the peak — /);
});

test("top site: none when no line of the app held 1 KiB", () => {
  assert.deepEqual(topSiteMessage(dive({ top: [] })), {
    text: "Balloon: deep dive on GET /export: no line of the app held 1 KiB or more during its 5 calls (the Deep dive tab says what lay outside the app).",
    site: null,
  });
});
