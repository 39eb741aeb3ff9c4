// What the language server puts on a handler's line (profiler/lsp/code-view.ts): the warning's
// words from every verdict (primary first), the lens, the hover, and where each goes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { diagnosticMessage, handlerPath, hoverMarkdown, lensActions, marksByFile, mib } from "../../out/test-build/lsp/code-view.js";

function route(overrides = {}) {
  return {
    route: "/export", method: "GET", handler: { qualname: "views.export", file: "views.py", line: 14 },
    requests: 14, errors: 0, peakMiB: { median: 150.2, max: 152.4 }, retainedMiB: { first: 148.3, perRequest: 0.1 },
    durationMs: { median: 12, p90: 20, p99: 40, max: 41 }, flags: [], reasons: [], verdicts: [], shared: 0, extra: 0, samplePaths: ["/export"],
    ...overrides,
  };
}

const inflates = { flag: "inflates", reason: "first call keeps 148.3 MiB", atStakeMiB: 296, figures: { stepMiB: 148.3, workers: 2, allowanceMiB: 1, repeats: 12, repeatRetainedMedianMiB: 0.1 } };
const balloon = { flag: "balloon", reason: "peaks 152 MiB", atStakeMiB: 152, figures: { peakMedianMiB: 150.2, peakMaxMiB: 152.4, retainedMedianMiB: 0.1, calls: 12, limitMiB: 8 } };
const leak = { flag: "leak", reason: "grows 4 MiB per call", atStakeMiB: 4000, figures: { growthPerCallMiB: 4.02, r2: 1, stepConsistency: 1, repeats: 6, workers: 2, noiseFloorMiB: 0.5, workerSupport: 1, horizonCalls: 1000 } };
const undecided = { flag: "undecided", reason: "too few calls", atStakeMiB: 0, figures: { questions: ["too-few-calls"], moreCalls: 3 } };

test("warning: the issue's example, in its words", () => {
  assert.equal(diagnosticMessage(route({ flags: ["inflates"], verdicts: [inflates] })), "GET /export inflates each worker by 148 MiB; peak 152 MiB over 14 calls");
});

test("warning: every verdict, primary first; an open question is no part of it", () => {
  const message = diagnosticMessage(route({ flags: ["leak", "balloon"], verdicts: [leak, balloon, undecided] }));
  assert.equal(message, "GET /export leaks 4 MiB per call; balloons by 150 MiB a call (max 152 MiB) and keeps 0.1 MiB; peak 152 MiB over 14 calls");
});

test("warning: none for an unflagged route, even an undecided one", () => {
  assert.equal(diagnosticMessage(route()), null);
  assert.equal(diagnosticMessage(route({ verdicts: [undecided] })), null);
});

const stopped = (r) => ({ route: r, deepDive: null });
const live = (r) => ({ route: r, deepDive: { sessionId: "s1", method: r.method, route: r.route } });

test("lens: figures and flags; the route named when several share the handler; it opens the panel", () => {
  assert.deepEqual(lensActions(stopped(route({ flags: ["inflates"], verdicts: [inflates] })), false), [{ title: "peak 152 MiB · retained 148 MiB · 14 calls · inflates", command: "balloon.showPanel", arguments: [] }]);
  assert.equal(lensActions(stopped(route({ requests: 1, peakMiB: { median: 0.2, max: 0.24 }, retainedMiB: { first: 0, perRequest: 0 } })), true)[0].title, "GET /export: peak 0.2 MiB · retained 0 MiB · 1 call");
});

test("lens: while the app runs, a second lens runs balloon.deepDive on the route (named, one per method, when several share the handler)", () => {
  const actions = lensActions(live(route({ flags: ["inflates"], verdicts: [inflates] })), false);
  assert.deepEqual(actions.map((a) => a.command), ["balloon.showPanel", "balloon.deepDive"]);
  assert.deepEqual(actions[1], { title: "Deep dive", command: "balloon.deepDive", arguments: [{ sessionId: "s1", method: "GET", route: "/export" }] });
  const post = lensActions(live(route({ method: "POST" })), true);
  assert.deepEqual(post.map((a) => a.title), ["POST /export: peak 152 MiB · retained 148 MiB · 14 calls", "Deep dive POST /export"]);
  assert.deepEqual(post[1].arguments, [{ sessionId: "s1", method: "POST", route: "/export" }]);
});

test("hover: each route's figures, then each verdict's reason", () => {
  const text = hoverMarkdown([route({ flags: ["inflates"], verdicts: [inflates, undecided] })]);
  assert.match(text, /^\*\*Balloon\*\* · `GET \/export` — `views\.export`/);
  assert.match(text, /\| peak above the RSS before \| 150 MiB \| 152 MiB \|/);
  assert.match(text, /Retained: 148 MiB on a worker's first call, 0\.1 MiB per repeat call\. 14 calls\./);
  assert.match(text, /- \*\*inflates\*\*: first call keeps 148\.3 MiB\n\n- \*\*undecided\*\*: too few calls$/);
});

test("marks: relative files under the app's directory, absolute ones as they are, no handler or no file: nothing", () => {
  const report = {
    app: { cwd: "/srv/app" },
    routes: [
      route(),
      route({ route: "/abs", handler: { qualname: "lib.view", file: "/usr/lib/python3/dist-packages/lib.py", line: 3 } }),
      route({ route: "/none", handler: null }),
      route({ route: "/nofile", handler: { qualname: "x", file: "", line: 0 } }),
      route({ route: "/export", method: "POST" }),
    ],
  };
  const marks = marksByFile([{ report, sessionId: "s1", running: false }]);
  assert.deepEqual([...marks.keys()], ["/srv/app/views.py", "/usr/lib/python3/dist-packages/lib.py"]);
  assert.deepEqual(marks.get("/srv/app/views.py").map((m) => [m.line, m.route.method, m.deepDive]), [[13, "GET", null], [13, "POST", null]]);
  assert.equal(handlerPath("/srv/app", "pkg/views.py"), "/srv/app/pkg/views.py");
});

test("marks: a running session's routes carry the deep dive's arguments, but not \"* (other routes)\" (the merge past the route limit)", () => {
  const report = { app: { cwd: "/srv/app" }, routes: [route(), route({ route: "(other routes)", method: "*", handler: { qualname: "app", file: "app.py", line: 1 } })] };
  const marks = marksByFile([{ report, sessionId: "s9", running: true }]);
  assert.deepEqual(marks.get("/srv/app/views.py")[0].deepDive, { sessionId: "s9", method: "GET", route: "/export" });
  assert.equal(marks.get("/srv/app/app.py")[0].deepDive, null);
});

test("MiB: one decimal under 10, whole above", () => {
  assert.deepEqual([0, 0.04, 2.55, 9.94, 10.4, 148.3].map(mib), ["0", "0", "2.6", "9.9", "10", "148"]);
});
