// The CI budget gate: limits per route and per worker, globs, balloon.json's "check" object.
import { test } from "node:test";
import assert from "node:assert/strict";
import { check, globToRegExp, parseCheckConfig } from "../../out/test-build/check/check.js";

const route = (method, name, peak, first, perRequest) => ({
  route: name, method, handler: { qualname: "v", file: "views.py", line: 3 }, requests: 5, errors: 0,
  peakMiB: { median: peak, max: peak }, retainedMiB: { first, perRequest }, durationMs: { median: 1, max: 1 }, flags: [], reasons: [],
});
const report = {
  routes: [route("GET", "/export", 300, 0, 0), route("GET", "/api/users", 20, 12, 0), route("POST", "/api/cart", 2, 1, 1.5), route("GET", "/health", 0, 0, 0)],
  workers: [{ id: 1, pid: 10, requests: 10, rssMiB: { start: 20, max: 330, end: 25 }, exit: null }, { id: 2, pid: 11, requests: 10, rssMiB: { start: 20, max: 60, end: 60 }, exit: null }],
};
const subjects = (violations) => violations.map((v) => `${v.subject} ${v.figure}`);

test("limits per figure, each offender named once per figure", () => {
  const cases = [
    { config: { maxPeakMiB: 100 }, want: ["GET /export peak"] },
    { config: { maxRetainedMiB: 1 }, want: ["GET /api/users retained first", "POST /api/cart retained per call"] },
    { config: { maxWorkerMiB: 100 }, want: ["worker 1 (pid 10) worker RSS"] },
    { config: { maxPeakMiB: 1000, maxRetainedMiB: 100, maxWorkerMiB: 1000 }, want: [] },
    { config: { maxPeakMiB: 10, route: "/api/*" }, want: ["GET /api/users peak"] },
    { config: { maxPeakMiB: 10, route: "POST /api/*" }, want: [] },
    { config: { maxPeakMiB: 10, routes: [{ route: "/export", maxPeakMiB: 500 }] }, want: ["GET /api/users peak"] },
  ];
  for (const { config, want } of cases) assert.deepEqual(subjects(check(report, config)), want, JSON.stringify(config));
  const [v] = check(report, { maxPeakMiB: 100 });
  assert.deepEqual([v.valueMiB, v.limitMiB, v.where], [300, 100, "views.py:3"]);
});

test("globs: * is one segment, ** anything, ? one character", () => {
  const cases = [["/api/*", "/api/users", true], ["/api/*", "/api/users/7", false], ["/api/**", "/api/users/<int:id>", true], ["/u?", "/us", true], ["/a.b", "/axb", false]];
  for (const [glob, path, want] of cases) assert.equal(globToRegExp(glob).test(path), want, `${glob} ~ ${path}`);
});

test("balloon.json check objects: good ones read, wrong ones named", () => {
  assert.deepEqual(parseCheckConfig({ maxPeakMiB: 100, routes: [{ route: "/export", maxPeakMiB: 900 }] }, "b.json check"), { maxPeakMiB: 100, routes: [{ route: "/export", maxPeakMiB: 900 }] });
  assert.deepEqual(parseCheckConfig(undefined, "x"), {});
  const bad = [
    [{ maxPeak: 1 }, /unknown key "maxPeak"/],
    [{ maxPeakMiB: "10" }, /maxPeakMiB must be a number of MiB ≥ 0, got "10"/],
    [{ routes: {} }, /routes must be a list/],
    [{ routes: [{ maxPeakMiB: 1 }] }, /routes\[0\] needs a "route" glob/],
    [[1], /"check" must be an object/],
  ];
  for (const [value, message] of bad) assert.throws(() => parseCheckConfig(value, "b.json check"), message);
});
