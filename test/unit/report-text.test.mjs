import { test } from "node:test";
import assert from "node:assert/strict";
import { analyze } from "../../out/test-build/analysis/analyze.js";
import { formatRouteTable, formatSummary, formatWorkerTable } from "../../out/test-build/report/text.js";
import { parseReport, toReportJson } from "../../out/test-build/report/json.js";
import { Simulation } from "./helpers/recording.mjs";

const ANSI = /\u001b\[/;

function sampleReport() {
  const sim = new Simulation({ 1: 30, 2: 32 });
  for (const worker of [1, 2]) {
    sim.repeat(worker, "/export/<int:id>", 4, { peak: 48.5, retained: 0, handler: { qualname: "views.export", file: "app/views.py", line: 42 } });
    sim.repeat(worker, "/leak", 5, { peak: 1.5, retained: 1.2 });
    sim.call(worker, "/", { peak: 0.3, outcome: worker === 2 ? "app-error" : "ok", handler: null });
  }
  sim.end(1, "crash", "crash", "killed by signal 9 (SIGKILL) — out of memory?");
  return analyze(sim.lines, {}, ["line 9: truncated (Unexpected end of JSON input)"]);
}

test("route table: numbers, flags, handlers, no colour unless asked", () => {
  const report = sampleReport();
  const plain = formatRouteTable(report);
  assert.doesNotMatch(plain, ANSI);
  for (const text of ["Route", "Peak MiB (median / max)", "Retained/req", "/export/<int:id>", "48.5 / 48.5", "balloon", "app/views.py:42", "/leak", "leak", "1.2", "2 (1 err)", "—"]) {
    assert.ok(plain.includes(text), `table has ${text}\n${plain}`);
  }
  const exportRow = plain.split("\n").find((row) => row.includes("/export/<int:id>"));
  assert.match(exportRow, /│\s+8\s+│\s+48\.5 \/ 48\.5\s+│\s+0\.0\s+│\s+0\.0\s+│ balloon/);
  const colored = formatRouteTable(report, { color: true });
  assert.match(colored, ANSI);
  assert.ok(colored.includes("\u001b[31mleak\u001b[0m"));
});

test("route table fits a narrow terminal by truncating route and handler", () => {
  const report = sampleReport();
  const natural = Math.max(...formatRouteTable(report).split("\n").map((row) => row.length));
  const width = natural - 8;
  const table = formatRouteTable(report, { width });
  for (const row of table.split("\n")) assert.ok(row.length <= width, `${row.length} > ${width}: ${row}`);
  assert.ok(table.includes("…"));
  assert.ok(formatRouteTable(report, { width: 20 }).includes("/leak"), "too narrow a terminal still gets a table");
});

test("worker table and summary", () => {
  const report = sampleReport();
  const workers = formatWorkerTable(report);
  assert.doesNotMatch(workers, ANSI);
  assert.match(workers, /│\s+1\s+│\s+1001\s+│\s+10\s+│\s+30\.0\s+│/);
  assert.ok(workers.includes("crash: killed by signal 9 (SIGKILL)"));
  assert.ok(workers.includes("running"));

  const summary = formatSummary(report);
  assert.doesNotMatch(summary, ANSI);
  assert.match(summary, /^20 requests \(1 error\) over \d+\.\d s, 2 workers\./);
  assert.match(summary, /Thresholds \(baseline 31\.0 MiB\): balloon ≥ 8\.0 MiB peak, inflate ≥ 4\.0 MiB on the first call, leak ≥ 0\.5 MiB/);
  assert.match(summary, /2 routes flagged:\n {2}balloon GET \/export\/<int:id>: peaks 48\.5 MiB/);
  assert.match(summary, /leak GET \/leak: retains 1\.2 MiB per call/);
  assert.match(summary, /1 warning:\n {2}line 9: truncated/);
  assert.match(formatSummary(report, { color: true }), ANSI);
});

test("JSON report: round trip, sorted keys, two-space indent, version check", async (t) => {
  const report = sampleReport();
  const json = toReportJson(report);
  await t.test("round trip", () => assert.deepEqual(parseReport(json), report));
  await t.test("stable text", () => {
    assert.equal(toReportJson(parseReport(json)), json);
    assert.ok(json.startsWith('{\n  "app": {\n    "cwd": '));
    const shuffled = Object.fromEntries(Object.entries(report).reverse());
    assert.equal(toReportJson(shuffled), json);
  });
  const errors = [
    { name: "another version", text: json.replace('"version": 1', '"version": 2'), error: /report version 2; this balloon reads version 1/ },
    { name: "no version", text: "{}", error: /report version undefined/ },
    { name: "bad JSON", text: "{", error: /not a balloon report: invalid JSON/ },
    { name: "not an object", text: "[]", error: /not a JSON object/ },
    { name: "missing part", text: JSON.stringify({ ...report, routes: undefined }), error: /"routes" is missing/ },
  ];
  for (const c of errors) await t.test(c.name, () => assert.throws(() => parseReport(c.text), c.error));
});
