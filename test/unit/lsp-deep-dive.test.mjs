// The server's side of a deep dive on a session that cannot run one (profiler/lsp/session-host.ts,
// live-session.ts): a saved recording opened read-only refuses it in words the user reads, and its
// handlers get no Deep dive lens; an unknown session says so. No Python: the open job is a fake.
// (A live session's dive, with a real app, is in test/integration/lsp.test.mjs.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { SessionHost } from "../../out/test-build/lsp/session-host.js";
import { lensActions, marksByFile } from "../../out/test-build/lsp/code-view.js";

const route = {
  route: "/export", method: "GET", handler: { qualname: "app.export", file: "app.py", line: 21 }, requests: 12, errors: 0,
  peakMiB: { median: 20, max: 20.7 }, retainedMiB: { first: 20.5, perRequest: 0 }, durationMs: { median: 1, max: 2 },
  flags: ["inflates"], reasons: [], verdicts: [], shared: 0, extra: 0, samplePaths: ["/export"],
};
const report = {
  app: { target: "app:app", cwd: "/srv/shop", python: "/usr/bin/python3", framework: "flask" },
  settings: { memoryBudgetMiB: 0 }, totals: { requests: 12, errors: 0 }, routes: [route],
};

function openedHost() {
  const told = [];
  const listener = { status: (s) => told.push(["status", s]), timeline: () => undefined, report: (r) => told.push(["report", r]), log: () => undefined, deepDiveCall: (e) => told.push(["call", e]) };
  const runJob = async (job) => {
    assert.equal(job.kind, "open");
    return { report, timeline: { sessionId: job.sessionId, samples: [], events: [], budgetMiB: null } };
  };
  return { host: new SessionHost({ shimDir: "/nowhere", tempDir: "/nowhere", listener, runJob }), told };
}

test("deep dive: a saved recording refuses it, saying why and what to do", async () => {
  const { host } = openedHost();
  const opened = await host.openRecord({ path: "/srv/shop/run.balloon.jsonl" });
  assert.deepEqual([opened.state, opened.readOnly], ["stopped", true]);
  await assert.rejects(host.deepDive({ sessionId: opened.sessionId, method: "GET", route: "/export" }), {
    message: "a deep dive needs the app running: Run App with Balloon first (this is a saved recording)",
  });
});

test("deep dive: a recording's handlers get their figures' lens, no Deep dive", async () => {
  const { host } = openedHost();
  await host.openRecord({ path: "/srv/shop/run.balloon.jsonl" });
  const shown = host.shownReports(true);
  assert.deepEqual(shown.map((s) => s.running), [false]);
  const [mark] = marksByFile(shown).get("/srv/shop/app.py");
  assert.equal(mark.deepDive, null);
  assert.deepEqual(lensActions(mark, false).map((action) => action.command), ["balloon.showPanel"]);
});

test("deep dive: an unknown session is named", async () => {
  const { host } = openedHost();
  await assert.rejects(host.deepDive({ sessionId: "gone", route: "/export" }), { message: "no session gone (it ended, or the server restarted)" });
});
