// Several inputs in one analysis: formats told by content, worker processes kept apart per
// input (the same worker id and pid on two hosts), totals over all; and raw paths folded the
// same way by the TypeScript side (uWSGI logs) and the gunicorn recorder's Python.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Analyzer } from "../../out/test-build/analysis/analyzer.js";
import { foldPath, uriPath } from "../../out/test-build/record/fold-path.js";
import { SourceMerger, detectFormat } from "../../out/test-build/record/sources.js";
import { FOLDS } from "./helpers/paths.mjs";
import { Simulation } from "./helpers/recording.mjs";

for (const [path, folded] of FOLDS) {
  test(`foldPath ${JSON.stringify(path)}`, () => assert.equal(foldPath(path), folded));
}

test("uriPath: the query cut off, escapes decoded as PATH_INFO has them, a bad escape kept", () => {
  assert.deepEqual(uriPath("/ok?x=%41%20b"), { path: "/ok", query: "x=%41%20b" });
  assert.deepEqual(uriPath("/caf%C3%A9/a%20b"), { path: "/caf\u00e9/a b", query: "" });
  assert.deepEqual(uriPath("/bad%zz"), { path: "/bad%zz", query: "" });
  assert.deepEqual(uriPath("/a?"), { path: "/a", query: "" });
});

const RECORDING = new Simulation({ 1: 30 }).call(1, "/x").lines.map((line) => JSON.stringify(line)).join("\n") + "\n";
const FORMATS = [
  ["a recording", RECORDING, "recording"],
  ["a compact report", '{"version":2,"app":{}}\n', "report"],
  ["a pretty report", '{\n  "version": 2\n}\n', "report"],
  ["a uWSGI log (its banner first)", "*** Starting uWSGI 2.0.21-debian (64bit) on [Tue Dec  1 23:58:02 2026] ***\ncompiled with version: 12.2.0\n", "uwsgi-log"],
  ["a uWSGI log cut mid-line", "*** Starting uWSGI 2.0.21-debian (64bit) on [Tue Dec  1 23:58:02 2026] ***\nspawned uWSGI worker 1 (pid: 1", "uwsgi-log"],
  ["an nginx access log", '127.0.0.1 - - [01/Dec/2026:23:58:05 +0000] "GET / HTTP/1.1" 200 6\n', "unknown"],
  ["empty", "", "unknown"],
  ["a JSON array", "[1,2]\n", "unknown"],
];
for (const [name, head, format] of FORMATS) test(`detectFormat: ${name}`, () => assert.equal(detectFormat(head), format));

/** Two hosts' recordings with the same worker id and pid: worker 1, pid 1001, a leak of 2 MiB a call. */
function hostRecording(host, leakMiB) {
  const sim = new Simulation({ 1: 30 });
  sim.lines[0] = { ...sim.lines[0], recorder: { server: "gunicorn", serverVersion: "20.1.0", host, peakReset: true } };
  return sim.repeat(1, "/leak", 6, { peak: leakMiB, retained: leakMiB }).lines;
}

function analyse(inputs) {
  const analyzer = new Analyzer();
  const merger = new SourceMerger(analyzer, inputs.length > 1);
  for (const [label, lines] of inputs) {
    const sink = merger.input(label);
    for (const line of lines) sink.add(line);
    sink.warn("a warning");
  }
  return { merger, report: merger.labelWorkers(analyzer.report()) };
}

test("SourceMerger: the same worker id and pid on two hosts stay two processes, with their hosts; totals over both", () => {
  const { merger, report } = analyse([["a.jsonl", hostRecording("web-1", 2)], ["b.jsonl", hostRecording("web-2", 2)]]);
  assert.deepEqual(report.workers.map((w) => [w.id, w.pid, w.host, w.requests]), [[1, 1001, "web-1", 6], [2, 1001, "web-2", 6]]);
  assert.equal(report.totals.requests, 12);
  const leak = report.routes.find((r) => r.route === "/leak");
  assert.deepEqual(leak.flags, ["leak"]);
  // Two series of 5 repeats each, not one worker interleaving two.
  const figures = leak.verdicts[0].figures;
  assert.deepEqual([figures.workers, figures.repeats, figures.growthPerCallMiB], [2, 10, 2]);
  assert.deepEqual(merger.hosts(), ["web-1", "web-2"]);
  assert.deepEqual(report.warnings, ["a.jsonl: a warning", "b.jsonl: a warning"]);
});

test("SourceMerger: merged without renumbering, one process's two halves would read as another's first call", () => {
  // The control: both files' lines straight into one analysis, as a naive concatenation would.
  const analyzer = new Analyzer();
  for (const line of [...hostRecording("web-1", 2), ...hostRecording("web-2", 2)]) analyzer.add(line);
  const report = analyzer.report();
  assert.equal(report.workers.length, 1, "one key for both hosts' worker");
  assert.notDeepEqual(report.routes.find((r) => r.route === "/leak").verdicts[0].figures.repeats, 10);
});

test("SourceMerger: one input is passed through as it is (ids, warnings, no host column)", () => {
  const lines = hostRecording("web-1", 2);
  const { report, merger } = analyse([["a.jsonl", lines]]);
  assert.deepEqual(report.workers.map((w) => [w.id, w.pid, w.host]), [[1, 1001, undefined]]);
  assert.deepEqual(report.warnings, ["a warning"]);
  assert.deepEqual(merger.hosts(), ["web-1"]);
});

test("SourceMerger: one host's worker files count as one host; Balloon's own recordings name none; worker 0 stays 0", () => {
  const first = hostRecording("web-1", 2);
  const second = new Simulation({ 2: 30 }, { t0: 1_700_000_100_000 }).call(2, "/x").lines;
  second[0] = { ...second[0], recorder: { ...first[0].recorder } };
  const own = new Simulation({ 1: 30 }).call(1, "/x").lines;
  own.push({ type: "request", t: own.at(-1).t + 1, worker: 0, pid: 0, seq: 1, method: "GET", path: "/x", route: "/x", handler: null, status: 503, outcome: "rejected", durationMs: 0, concurrent: 1 });
  const { merger, report } = analyse([["w1.jsonl", first], ["w2.jsonl", second], ["run.jsonl", own]]);
  assert.deepEqual(merger.hosts(), ["web-1"]);
  assert.deepEqual(report.workers.map((w) => [w.id, w.pid, w.host]), [[1, 1001, "web-1"], [2, 1002, "web-1"], [3, 1001, "run.jsonl"]]);
  assert.equal(report.totals.errors, 1, "the supervisor's own 503 is counted, with no worker");
});
