import { test } from "node:test";
import assert from "node:assert/strict";
import { analyze } from "../../out/test-build/analysis/analyze.js";
import { formatReport, formatRouteTable, formatSummary, formatWorkerTable } from "../../out/test-build/report/text.js";
import { parseReport, toReportJson } from "../../out/test-build/report/json.js";
import { Simulation } from "./helpers/recording.mjs";

const ANSI = /\u001b\[/;

/** Two workers: a balloon, a leak, a route that both balloons and leaks, an ok route with an error, a route called once. */
function sampleReport() {
  const sim = new Simulation({ 1: 30, 2: 32 });
  for (const worker of [1, 2]) {
    sim.repeat(worker, "/export/<int:id>", 4, { peak: 48.5, retained: 0, handler: { qualname: "views.export", file: "app/views.py", line: 42 } });
    sim.repeat(worker, "/leak", 5, { peak: 1.5, retained: 1.2 });
    sim.repeat(worker, "/report", 4, { peak: 120, retained: 2 });
    sim.repeat(worker, "/", 2, { peak: 0.3, outcome: worker === 2 ? "app-error" : "ok", handler: null });
  }
  sim.call(1, "/once", { peak: 0.1 });
  sim.end(1, "crash", "crash", "killed by signal 9 (SIGKILL) — out of memory?");
  return analyze(sim.lines, {}, ["line 9: truncated (Unexpected end of JSON input)"]);
}

/** --threads: /ok's calls overlap /big's, and an adaptive phase sent /ok again. */
function threadedReport() {
  const sim = new Simulation({ 1: 30 });
  sim.lines[0].settings = { ...sim.lines[0].settings, threads: 4 };
  for (let i = 0; i < 6; i++) {
    sim.call(1, "/big", { peak: 80 });
    sim.call(1, "/ok", { peak: 0.2, concurrent: 2, reads: { peak: 80, retained: 0 } });
  }
  sim.adaptive(["GET /ok"], 100).repeat(1, "/ok", 3, { peak: 0.2 });
  return analyze(sim.lines);
}

test("route table: numbers, every verdict primary first, handlers, no colour unless asked", () => {
  const report = sampleReport();
  const plain = formatRouteTable(report);
  assert.doesNotMatch(plain, ANSI);
  for (const text of ["Route", "Peak MiB (median / max)", "Retained/req", "/export/<int:id>", "48.5 / 48.5", "app/views.py:42", "/leak", "1.2", "4 (2 err)", "—"]) {
    assert.ok(plain.includes(text), `table has ${text}\n${plain}`);
  }
  const row = (route) => plain.split("\n").find((line) => line.includes(` ${route} `));
  assert.match(row("/export/<int:id>"), /│\s+8\s+│\s+48\.5 \/ 48\.5\s+│\s+0\.0\s+│\s+0\.0\s+│ balloon\s+│/);
  assert.match(row("/report"), /│ leak, balloon\s+│/, "a 2 MiB-a-call leak (≈ 500 MiB at stake) before its 120 MiB balloon");
  assert.match(row("/leak"), /│ leak\s+│/);
  assert.match(row("/once"), /│ undecided\s+│/);
  assert.doesNotMatch(plain, /Shared/, "no Shared column without threads");
  const colored = formatRouteTable(report, { color: true });
  assert.match(colored, ANSI);
  assert.ok(colored.includes("\u001b[31mleak\u001b[0m, \u001b[35mballoon\u001b[0m"));
});

test("route table fits a narrow terminal: compact columns first, then route and handler truncated; 80 columns", () => {
  const report = sampleReport();
  const natural = Math.max(...formatRouteTable(report).split("\n").map((row) => row.length));
  const compact = formatRouteTable(report, { width: natural - 8 });
  for (const row of compact.split("\n")) assert.ok(row.length <= natural - 8, `${row.length} > ${natural - 8}: ${row}`);
  assert.match(compact, /│ Route\s+│\s+Reqs │\s+Peak MiB │/, "two-line headers");
  assert.match(compact, /│ GET \/report\s+│\s+8 │ 120\.0 \/ 120\.0 │\s+2\.0 │\s+2\.0 │ leak\s+│/);
  assert.match(compact, /│\s+│\s+│\s+│\s+│\s+│ balloon\s+│/, "the second verdict on a line of its own");
  assert.match(compact, /│\s+│ 2 err │/, "errors under the request count");
  assert.ok(formatRouteTable(report, { width: 80 }).includes("GET /export…"), "at 80 columns the route gives way");
  for (const output of [formatRouteTable(report, { width: 80 }), formatRouteTable(threadedReport(), { width: 80 })]) {
    for (const row of output.split("\n")) assert.ok(row.length <= 80, `${row.length} > 80: ${row}`);
    assert.match(output, /leak|undecided|balloon/);
  }
  assert.ok(formatRouteTable(report, { width: 20 }).includes("/leak"), "too narrow a terminal still gets a table");
});

test("worker table and summary: verdicts with reasons, open questions with what settles them", () => {
  const report = sampleReport();
  const workers = formatWorkerTable(report);
  assert.doesNotMatch(workers, ANSI);
  assert.match(workers, /│\s+1\s+│\s+1001\s+│\s+16\s+│\s+30\.0\s+│/);
  assert.ok(workers.includes("crash: killed by signal 9 (SIGKILL)"));
  assert.ok(workers.includes("running"));

  const summary = formatSummary(report);
  assert.doesNotMatch(summary, ANSI);
  assert.match(summary, /^31 requests \(2 errors\) over \d+\.\d s, 2 workers\./);
  assert.match(summary, /Thresholds \(baseline 31\.0 MiB\): balloon ≥ 8\.0 MiB peak, inflate ≥ 4\.0 MiB on the first call, leak ≥ 0\.5 MiB per repeat call \(a steady fit, R² ≥ 0\.95, and ≥ 1\.5 % of the route's peak\)\./);
  assert.match(summary, /3 routes flagged:\n {2}leak GET \/report: held memory grows 2\.00 MiB per call .*\n {2}balloon GET \/report: peaks 120\.0 MiB/);
  assert.match(summary, /leak GET \/leak: held memory grows 1\.20 MiB per call \(R² 1\.000 over 8 repeat calls in 2 workers/);
  assert.match(summary, /balloon GET \/export\/<int:id>: peaks 48\.5 MiB/);
  assert.match(summary, /1 route undecided, call them again to settle:\n {2}undecided GET \/once: only 1 call ran alone with memory figures: 2 more to decide/);
  assert.match(summary, /1 warning:\n {2}line 9: truncated/);
  assert.doesNotMatch(summary, /Adaptive|overlapped|Held in part/);
  assert.match(formatSummary(report, { color: true }), ANSI);
});

test("threads and the adaptive phase: a Shared column, a note for each", () => {
  const report = threadedReport();
  const table = formatRouteTable(report);
  assert.match(table, /│ Route │ Method │ Reqs │ Shared │/);
  assert.match(table.split("\n").find((line) => line.includes("/ok")), /│\s+9\s+│\s+6\s+│\s+0\.2 \/ 0\.2\s+│/);
  const summary = formatSummary(report);
  assert.match(summary, /6 calls overlapped another call in their worker \(threads\): their figures are shared and left out of the verdicts \(Shared column\)\./);
  assert.match(summary, /Adaptive phase: 3 extra calls \(--max-extra 100\): GET \/ok ×3\./);
  assert.match(summary, /balloon GET \/big/);
  assert.doesNotMatch(summary, /\/ok:/, "the ok route is not flagged by the balloon it overlapped");
});

test("partial figures are said in the summary", () => {
  const report = { ...sampleReport(), approximations: ["GET /leak: medians from a uniform sample of 10000 of its 25000 calls"] };
  assert.match(formatReport(report), /Held in part: GET \/leak: medians from a uniform sample of 10000 of its 25000 calls\./);
});

test("JSON report: round trip, sorted keys, two-space indent, version check", async (t) => {
  const report = sampleReport();
  const json = toReportJson(report);
  await t.test("round trip", () => assert.deepEqual(parseReport(json), report));
  await t.test("stable text", () => {
    assert.equal(toReportJson(parseReport(json)), json);
    assert.ok(json.startsWith('{\n  "adaptive": null,\n  "app": {\n    "cwd": '));
    const shuffled = Object.fromEntries(Object.entries(report).reverse());
    assert.equal(toReportJson(shuffled), json);
  });
  const errors = [
    { name: "another version", text: json.replace('"version": 2', '"version": 1'), error: /report version 1; this balloon reads version 2/ },
    { name: "no version", text: "{}", error: /report version undefined/ },
    { name: "bad JSON", text: "{", error: /not a balloon report: invalid JSON/ },
    { name: "not an object", text: "[]", error: /not a JSON object/ },
    { name: "missing part", text: JSON.stringify({ ...report, routes: undefined }), error: /"routes" is missing/ },
  ];
  for (const c of errors) await t.test(c.name, () => assert.throws(() => parseReport(c.text), c.error));
});
