// The deep dive's pure parts: which route and paths (planDeepDive, parseDeepRoute), the calls'
// figures merged into the report's deepDive (summarizeDeepDive), the analysis leaving the dive's
// lines out, its JSON and its text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyze } from "../../out/test-build/analysis/analyze.js";
import { DEFAULT_DEEP_CALLS, DEFAULT_DEEP_FRAMES, DeepDiveError, TOP_SITES, parseDeepRoute, planDeepDive, summarizeDeepDive } from "../../out/test-build/analysis/deep.js";
import { RecordLineParser } from "../../out/test-build/record/reader.js";
import { toReportJson } from "../../out/test-build/report/json.js";
import { failedCallsNote } from "../../out/test-build/analysis/deep-failure.js";
import { formatDeepDive, formatReport } from "../../out/test-build/report/text.js";
import { Simulation } from "./helpers/recording.mjs";

const KiB = 1024;
const MiB = 1024 * KiB;

/** A run with a balloon, a leak, an inflation, an ok route on two methods, one on two raw paths. */
function runReport() {
  const sim = new Simulation({ 1: 30, 2: 30 });
  for (const worker of [1, 2]) {
    sim.repeat(worker, "/export", 4, { peak: 48 });
    sim.repeat(worker, "/leak", 5, { peak: 2, retained: 2 });
    sim.repeat(worker, "/cache", 4, (i) => ({ peak: i === 0 ? 12 : 0.1, retained: i === 0 ? 12 : 0 }));
    sim.repeat(worker, "/items", 2, { method: "GET" }).repeat(worker, "/items", 2, { method: "POST" });
    sim.call(worker, "/users/<int>", { path: `/users/${worker * 7}` });
  }
  return analyze(sim.lines);
}

const problemOf = (run) => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof DeepDiveError, String(error));
    return { problem: error.problem, message: error.message };
  }
  assert.fail("no DeepDiveError");
};

test("--deep as typed: a method is optional, a route must be a path", () => {
  assert.deepEqual(parseDeepRoute("GET /export"), { method: "GET", route: "/export" });
  assert.deepEqual(parseDeepRoute("post /items"), { method: "POST", route: "/items" });
  assert.deepEqual(parseDeepRoute("/users/<int>"), { route: "/users/<int>" });
  assert.equal(problemOf(() => parseDeepRoute("export")).problem, "bad-request");
  assert.equal(problemOf(() => parseDeepRoute("GET /a /b")).problem, "bad-request");
});

test("the route is found as the report names it, or by a path seen for it, with its flag and paths", () => {
  const report = runReport();
  const cases = [
    [{ route: "/export" }, { method: "GET", route: "/export", flag: "balloon", paths: ["/export"] }],
    [{ method: "get", route: "/leak" }, { method: "GET", route: "/leak", flag: "leak", paths: ["/leak"] }],
    [{ route: "/cache" }, { method: "GET", route: "/cache", flag: "inflates", paths: ["/cache"] }],
    [{ method: "POST", route: "/items" }, { method: "POST", route: "/items", flag: null, paths: ["/items"] }],
    [{ route: "/users/14" }, { method: "GET", route: "/users/<int>", flag: null, paths: ["/users/7", "/users/14"] }],
    [{ route: "/users/<int>", path: "/users/99?full=1" }, { method: "GET", route: "/users/<int>", flag: null, paths: ["/users/99?full=1"] }],
    // Not in the report, but a path to call: the caller knows where it is.
    [{ method: "PUT", route: "/new", path: "/new" }, { method: "PUT", route: "/new", flag: null, paths: ["/new"] }],
  ];
  for (const [request, want] of cases) {
    const target = planDeepDive(report, request);
    assert.deepEqual({ method: target.method, route: target.route, flag: target.flag, paths: [...target.paths].sort() }, { ...want, paths: [...want.paths].sort() }, JSON.stringify(request));
    assert.equal(target.calls, DEFAULT_DEEP_CALLS);
    assert.equal(target.frames, DEFAULT_DEEP_FRAMES);
  }
});

test("a balloon is dived on the target that peaked, query string and all", () => {
  const sim = new Simulation({ 1: 30, 2: 30 });
  // graphite's /render: a small query is cheap, a wide one (months of data) peaks 150-200 MiB.
  for (const worker of [1, 2]) {
    sim.call(worker, "/render", { peak: 0.5, query: "target=a&from=-1h" })
      .call(worker, "/render", { peak: worker === 1 ? 200 : 150, query: worker === 1 ? "target=a.*&from=-1y" : "target=b.*&from=-6mon" })
      .repeat(worker, "/render", 3, { peak: 0.5, query: "target=a&from=-1h" });
  }
  const report = analyze(sim.lines);
  const render = report.routes.find((r) => r.route === "/render");
  assert.deepEqual(render.flags, ["balloon"]);
  assert.equal(render.peakPath, "/render?target=a.*&from=-1y");
  assert.ok(render.samplePaths.includes("/render?target=b.*&from=-6mon"), JSON.stringify(render.samplePaths));
  const target = planDeepDive(report, { route: "/render" });
  assert.deepEqual(target.paths, ["/render?target=a.*&from=-1y"]);
  // A raw path without its query still finds the route.
  assert.equal(planDeepDive(report, { route: "/render", path: "/render?x=1" }).paths[0], "/render?x=1");
});

test("unknown, ambiguous and uncallable routes, and calls or frames out of range, say so", () => {
  const report = runReport();
  const unknown = problemOf(() => planDeepDive(report, { route: "/nope" }));
  assert.equal(unknown.problem, "unknown-route");
  assert.match(unknown.message, /^no route \/nope in this run; routes: /);
  for (const name of ["GET /export", "GET /leak", "POST /items", "GET /users/<int>"]) assert.ok(unknown.message.includes(name), name);
  const ambiguous = problemOf(() => planDeepDive(report, { route: "/items" }));
  assert.equal(ambiguous.problem, "unknown-route");
  assert.match(ambiguous.message, /served by 2 methods \(GET \/items, POST \/items\): name one/);
  const empty = analyze(new Simulation({ 1: 30 }).lines);
  assert.match(problemOf(() => planDeepDive(empty, { route: "/x" })).message, /routes: none yet/);
  // A route seen only in a rejected request has no path a worker resolved.
  const noPaths = { ...report, routes: report.routes.map((r) => (r.route === "/leak" ? { ...r, samplePaths: [] } : r)) };
  const noPath = problemOf(() => planDeepDive(noPaths, { route: "/leak" }));
  assert.equal(noPath.problem, "no-path");
  assert.match(noPath.message, /GET \/leak has no recorded path to call/);
  for (const request of [{ calls: 0 }, { calls: 1.5 }, { calls: 1001 }, { frames: 0 }, { frames: 70000 }]) {
    assert.equal(problemOf(() => planDeepDive(report, { route: "/leak", ...request })).problem, "bad-request", JSON.stringify(request));
  }
});

const site = (line, bytes, count = 1, code = `line_${line}()`) => ({ file: "app.py", line, code, bytes, count });

/** One call's figures: peak sites (null: no peak snapshot), retained sites. */
function call({ peak = null, retained = [], captured = 0, exact = captured, outside = [0, 0], truncated = [0, 0], status = 200, durationMs = 10 }) {
  return {
    path: "/leak", status, durationMs,
    figures: {
      id: 1,
      peak: { capturedBytes: captured, observedBytes: captured, exactBytes: exact, snapshots: peak ? 1 : 0, snapshotMs: 0.5 },
      peakSites: peak ?? [], retainedSites: retained,
      outside: { peakBytes: outside[0], retainedBytes: outside[1] }, truncated: { peakBytes: truncated[0], retainedBytes: truncated[1] },
    },
  };
}

const target = (flag, calls = 4) => ({ method: "GET", route: "/leak", flag, paths: ["/leak"], calls, frames: 40 });

test("a leak: lines by retained over the dive, growth per call over the repeats only", () => {
  // Call 1 also fills a cache (line 5); line 9 keeps 2 MiB every call; line 3 is a transient balloon.
  const calls = [
    call({ peak: [site(3, 8 * MiB, 2), site(9, 2 * MiB)], captured: 10 * MiB + 4096, exact: 10 * MiB + 8192, retained: [site(5, 3 * MiB, 300), site(9, 2 * MiB)] }),
    ...[0, 1, 2].map(() => call({ peak: [site(3, 8 * MiB, 2), site(9, 2 * MiB)], captured: 10 * MiB, exact: 10 * MiB, retained: [site(9, 2 * MiB), site(12, 100)] })),
  ];
  const dive = summarizeDeepDive(target("leak"), calls);
  assert.equal(dive.orderedBy, "retained");
  assert.deepEqual(dive.top.map((s) => [s.line, s.retainedKiB, s.peakKiB, s.count]), [[9, 8192, 2048, 4], [5, 3072, 0, 300], [3, 0, 8192, 0]]);
  assert.deepEqual(dive.growth.map((s) => [s.line, s.kibPerCall]), [[9, 2048]], "the cache of call 1 is no growth; 100 B a call is under the floor");
  assert.equal(dive.top[0].code, "line_9()");
  assert.deepEqual(dive.peak, { capturedKiB: 10240, exactKiB: 10240, coverage: 1, capturedCalls: 4, snapshots: 4 });
});

test("a balloon and a route with no flag: lines by peak, the median over the calls that captured one", () => {
  const calls = [
    call({ peak: [site(3, 48 * MiB, 1), site(4, 2 * KiB, 3)], captured: 48 * MiB, exact: 50 * MiB, outside: [MiB, 0], truncated: [2 * MiB, 512 * KiB] }),
    call({ peak: [site(3, 46 * MiB, 1)], captured: 46 * MiB, exact: 46 * MiB, outside: [MiB, 0], truncated: [2 * MiB, 0] }),
    call({ peak: [site(3, 47 * MiB, 1)], captured: 47 * MiB, exact: 47 * MiB, outside: [3 * MiB, 0], truncated: [0, 0], status: 500 }),
    call({ captured: 0, exact: 40 * MiB, retained: [site(4, -KiB)] }), // below the previous call's level: no snapshot
  ];
  for (const flag of ["balloon", null]) {
    const dive = summarizeDeepDive(target(flag), calls);
    assert.equal(dive.orderedBy, "peak");
    assert.deepEqual(dive.top.map((s) => [s.line, s.peakKiB, s.retainedKiB, s.count]), [[3, 47 * KiB, 0, 1]], "line 4: 2 KiB in one of 3 peaks, -1 KiB kept");
    assert.deepEqual(dive.peak, { capturedKiB: 47 * KiB, exactKiB: 47 * KiB, coverage: 1, capturedCalls: 3, snapshots: 3 });
    assert.deepEqual(dive.outsideApp, { peakKiB: 3 * KiB, retainedKiB: 512, truncatedPeakKiB: 2 * KiB, truncatedRetainedKiB: 512 });
    assert.deepEqual(dive.statuses, { 200: 3, 500: 1 });
  }
  const oneCall = summarizeDeepDive(target("balloon", 1), calls.slice(0, 1));
  assert.deepEqual(oneCall.growth, [], "growth needs repeats");
  assert.equal(oneCall.peak.coverage, 0.96);
  const before39 = summarizeDeepDive(target("balloon"), calls.map((c) => ({ ...c, figures: { ...c.figures, peak: { ...c.figures.peak, exactBytes: null } } })));
  assert.deepEqual([before39.peak.exactKiB, before39.peak.coverage], [null, null], "Python 3.8 has no exact peak");
});

test("top keeps the TOP_SITES biggest, ties in file:line order", () => {
  const many = Array.from({ length: 30 }, (_, i) => site(100 - i, (i < 25 ? 6 : 30 - i) * KiB));
  const dive = summarizeDeepDive(target("balloon"), [call({ peak: many, captured: MiB })]);
  assert.equal(dive.top.length, TOP_SITES);
  assert.deepEqual(dive.top.slice(0, 3).map((s) => s.line), [76, 77, 78]);
});

function reportWithDive() {
  const sim = new Simulation({ 1: 30 });
  sim.repeat(1, "/leak", 4, { peak: 2, retained: 2 });
  const code = "_leaked.append(b'\u001b[31m' * n)";
  const calls = [0, 1, 2].map(() => call({ peak: [site(9, 2 * MiB, 1, code)], captured: 2 * MiB, retained: [site(9, 2 * MiB, 1, code)] }));
  const result = summarizeDeepDive(target("leak", 3), calls);
  sim.lines.push(
    { type: "deep", t: sim.tick(), event: "start", worker: -1, method: "GET", route: "/leak", paths: ["/leak"], calls: 3, frames: 40 },
    { type: "deep", t: sim.tick(), event: "ready", worker: -1, pid: 4242, rssKiB: 40_000 },
    ...[0, 1, 2].map(() => ({ type: "deep", t: sim.tick(60_000), event: "call", worker: -1, pid: 4242, method: "GET", path: "/leak", status: 200, durationMs: 50, capturedPeakKiB: 2048 })),
    { type: "deep", t: sim.tick(), event: "exit", worker: -1, pid: 4242, detail: "stopped" },
    { type: "deep", t: sim.tick(), event: "result", result },
  );
  return { lines: sim.lines, result };
}

test("the analysis leaves the dive's calls and worker out and keeps its result", () => {
  const { lines, result } = reportWithDive();
  const withDive = analyze(lines);
  const without = analyze(lines.filter((line) => line.type !== "deep"));
  assert.deepEqual(withDive.deepDive, result);
  assert.equal(without.deepDive, undefined);
  assert.deepEqual({ ...withDive, deepDive: undefined }, { ...without, deepDive: undefined }, "totals, duration, workers, routes unchanged");
  // The recording reader takes deep lines as they are.
  const read = [];
  const parser = new RecordLineParser({ add: (line) => read.push(line), warn: (text) => assert.fail(text) });
  lines.forEach((line, index) => parser.line(JSON.stringify(line), index + 1, false));
  assert.equal(read.filter((line) => line.type === "deep").length, 7);
});

test("the report JSON carries deepDive with the issue's fields", () => {
  const { lines } = reportWithDive();
  const json = JSON.parse(toReportJson(analyze(lines)));
  const dive = json.deepDive;
  for (const key of ["route", "method", "calls", "top", "growth", "orderedBy"]) assert.ok(key in dive, key);
  assert.deepEqual(Object.keys(dive.top[0]).filter((k) => ["file", "line", "code", "peakKiB", "retainedKiB", "count"].includes(k)).sort(), ["code", "count", "file", "line", "peakKiB", "retainedKiB"]);
  assert.deepEqual(Object.keys(dive.growth[0]).sort(), ["code", "file", "kibPerCall", "line"]);
  assert.deepEqual([dive.route, dive.method, dive.calls, dive.orderedBy, dive.top[0].line, dive.growth[0].kibPerCall], ["/leak", "GET", 3, "retained", 9, 2048]);
});

test("text: the lines table in the ordering's order, growth, the peak check, escapes, warnings", () => {
  const { lines } = reportWithDive();
  const text = formatReport(analyze(lines));
  assert.match(text, /Deep dive GET \/leak \(leak, lines by retained\): 3 calls in a worker of its own, tracemalloc with 40 frames/);
  assert.match(text, /│ Line +│ Code +│ Retained KiB │ Peak KiB │ Blocks │/);
  assert.match(text, /│ app\.py:9 +│ _leaked\.append\(b'\\x1b\[31m' \* n\) +│ +6144\.0 │ +2048\.0 │ +3 │/, "the code line's escape sequence is shown, not sent");
  assert.doesNotMatch(text, /\u001b/);
  assert.match(text, /Growth per call over the repeats: app\.py:9 2048\.0 KiB/);
  assert.match(text, /Peak snapshot at 2048\.0 KiB above the call's start \(median of 3\), tracemalloc's own peak 2048\.0 KiB \(100\.0 % captured\)/);

  const balloon = summarizeDeepDive(target("balloon", 2), [
    call({ peak: [site(3, 48 * MiB, 1, "blob = make_the_whole_export(rows, columns, totals)")], captured: 48 * MiB, exact: null, truncated: [3 * MiB, 0], status: 404 }),
    call({ peak: [site(3, 48 * MiB, 1, "blob = make_the_whole_export(rows, columns, totals)")], captured: 48 * MiB, exact: null, truncated: [3 * MiB, 0] }),
  ]);
  assert.match(formatDeepDive(balloon, { color: true }), /\(\u001b\[35mballoon\u001b\[0m, lines by peak\)/);
  const small = formatDeepDive(balloon, { width: 70 });
  assert.match(small, /lines by peak/);
  assert.match(small, /Peak KiB │ Retained KiB/);
  assert.ok(small.split("\n").filter((line) => /^[│┌├└]/.test(line)).every((line) => line.length <= 70), small);
  assert.match(small, /│ blob = make_the_who…/, "the code column gives way");
  assert.match(small, /tracemalloc's own peak needs Python 3\.9\+/);
  assert.match(small, /3072\.0 KiB had no app frame within 40 frames: raise --deep-frames/);
  assert.match(small, /Calls answered 404 ×1: the figures are those of the error path/);
  const nothing = formatDeepDive(summarizeDeepDive(target(null, 1), [call({})]));
  assert.match(nothing, /no line of the app's own code held 1 KiB or more/);
  assert.match(nothing, /No call rose 64 KiB above its start: no peak snapshot/);
});

test("failed dive calls: the note says so, and says the app's timeout may have fired when the pool served the route", () => {
  const dive = (statuses, median) => ({ method: "GET", statuses, durationMs: { median, max: median } });
  const route = (requests, errors, median) => ({ method: "GET", route: "/render", requests, errors, durationMs: { median, max: median } });
  const cases = [
    { dive: dive({ 200: 5 }, 900), route: route(10, 0, 100), want: null },
    { dive: dive({ 304: 2, 200: 1 }, 90), route: undefined, want: null },
    { dive: dive({ 500: 5 }, 15000), route: undefined, want: /^Calls answered 500 ×5: the figures are those of the error path\.$/ },
    { dive: dive({ 500: 5 }, 15000), route: route(3, 3, 100), want: /^Calls answered 500 ×5: the figures are those of the error path\.$/ },
    { dive: dive({ 500: 4, 200: 1 }, 15000), route: route(15, 0, 1300), want: /500 ×4: .* The pool served GET \/render \(median 1300 ms\); under tracemalloc a call took 15000 ms \(11\.5× slower\): an app timeout may have fired\. Fewer frames/ },
    { dive: dive({ 502: 1 }, 110), route: route(4, 1, 100), want: /The pool served GET \/render \(median 100 ms\); under tracemalloc a call took 110 ms: an app timeout/ },
    { dive: { ...dive({ 400: 3 }, 5), method: "POST" }, route: undefined, want: /^Calls answered 400 ×3 \(the calls are sent again without the request's body\): the figures/ },
  ];
  for (const { dive: d, route: r, want } of cases) {
    const note = failedCallsNote(d, r);
    if (want === null) assert.equal(note, null, JSON.stringify(d));
    else assert.match(note, want, JSON.stringify(d));
  }
});
