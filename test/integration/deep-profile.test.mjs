// `balloon profile --deep ROUTE` on the fixture apps: the deep dive names the planted line of a
// leak and of a balloon (file:line from the manifest's "allocates"), ordered by what the route
// is flagged for; its calls stay out of the run's figures; clear errors for a route the run does
// not have and for a Python without tracemalloc.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { killAll, pidAlive, python, readRecord, runCli, scratchDir } from "./helpers/balloon.mjs";
import { FIXTURE_APPS, readManifest } from "./helpers/fixture-apps.mjs";

after(killAll);

const appOf = (name) => FIXTURE_APPS.find((app) => app.name === name);
const MiB_KiB = 1024;

/** Profiles `app` with `lines` as the requests file and `--deep` options; the report, recording and output. */
async function profile(app, lines, deepArgs, { env = {} } = {}) {
  const dir = scratchDir();
  const requests = path.join(dir, "requests.txt");
  writeFileSync(requests, lines.join("\n") + "\n");
  const reportPath = path.join(dir, "report.json");
  const recordPath = path.join(dir, "record.jsonl");
  const result = await runCli([
    "profile", "--app", app.target, "--cwd", app.dir, "--python", python, "--requests", requests,
    "--report", reportPath, "--record", recordPath, "--no-adaptive", ...deepArgs,
  ], { timeoutMs: 180_000, env });
  const report = existsSync(reportPath) ? JSON.parse(readFileSync(reportPath, "utf8")) : null;
  return { ...result, report, record: readRecord(recordPath) };
}

function planted(app, route) {
  const entry = readManifest(app).find((e) => e.route === route);
  assert.ok(entry?.allocates, `${route} has its planted line in the manifest`);
  return entry;
}

const siteName = (site) => `${site.file}:${site.line}`;

describe("balloon profile --deep on the plain WSGI fixture", () => {
  const app = appOf("wsgi_app");
  const traffic = ["GET /leak/large x6", "GET /balloon/small x6", "GET /hello x4"];

  test("a leak: its allocating line first by retained, with its growth per call", async () => {
    const leak = planted(app, "/leak/large");
    const { code, stderr, stdout, report, record } = await profile(app, traffic, ["--deep", "GET /leak/large"]);
    assert.equal(code, 0, stderr);
    const dive = report.deepDive;
    assert.equal(dive.route, "/leak/large");
    assert.equal(dive.method, "GET");
    assert.equal(dive.flag, "leak");
    assert.equal(dive.orderedBy, "retained");
    assert.equal(dive.calls, 5);
    assert.deepEqual(dive.statuses, { 200: 5 });
    assert.equal(siteName(dive.top[0]), `${leak.allocates.file}:${leak.allocates.line}`, JSON.stringify(dive.top.slice(0, 3)));
    assert.match(dive.top[0].code, /_leaked\.append\(b"\\x04" \* \(4 \* MiB\)\)/);
    assert.ok(Math.abs(dive.top[0].retainedKiB - 5 * 4 * MiB_KiB) < 0.02 * 5 * 4 * MiB_KiB, `kept 4 MiB a call: ${dive.top[0].retainedKiB} KiB`);
    assert.equal(siteName(dive.growth[0]), siteName(dive.top[0]));
    assert.ok(Math.abs(dive.growth[0].kibPerCall - 4 * MiB_KiB) < 0.02 * 4 * MiB_KiB, `${dive.growth[0].kibPerCall} KiB per call`);
    // The text report prints it.
    assert.match(stdout, /Deep dive GET \/leak\/large \(leak, lines by retained\): 5 calls/);
    assert.match(stdout, new RegExp(`${leak.allocates.file}:${leak.allocates.line} +│ _leaked\\.append`));
    // Its calls are not the run's requests, its worker not the pool's; it is gone at the end.
    assert.equal(report.totals.requests, 16);
    assert.equal(report.routes.find((r) => r.route === "/leak/large").requests, 6);
    assert.deepEqual(report.workers.map((w) => w.id), [1, 2]);
    const deep = record.filter((line) => line.type === "deep");
    assert.deepEqual(deep.map((line) => line.event), ["start", "ready", "call", "call", "call", "call", "call", "exit", "result"]);
    const { pid } = deep.find((line) => line.event === "ready");
    assert.ok(!report.workers.some((w) => w.pid === pid), "the deep worker is not one of the pool's");
    assert.equal(deep.find((line) => line.event === "exit").detail, "stopped");
    assert.equal(pidAlive(pid), false, "the deep worker is gone");
  });

  test("a balloon: its allocating line first by peak, the peak captured whole", async () => {
    const balloon = planted(app, "/balloon/small");
    const { code, stderr, report } = await profile(app, traffic, ["--deep", "/balloon/small", "--deep-calls", "3", "--deep-frames", "10"]);
    assert.equal(code, 0, stderr);
    const dive = report.deepDive;
    assert.equal(dive.orderedBy, "peak");
    assert.equal(dive.flag, "balloon");
    assert.equal(dive.calls, 3);
    assert.equal(dive.frames, 10);
    for (const done of [1, 2, 3]) assert.match(stderr, new RegExp(`deep dive: call ${done}/3 answered 200 in [\\d.]+ s`), "each call's end is said as it comes");
    assert.equal(siteName(dive.top[0]), `${balloon.allocates.file}:${balloon.allocates.line}`, JSON.stringify(dive.top.slice(0, 3)));
    assert.ok(Math.abs(dive.top[0].peakKiB - 48 * MiB_KiB) < 0.01 * 48 * MiB_KiB, `${dive.top[0].peakKiB} KiB at the peak`);
    assert.ok(dive.top[0].retainedKiB < 1, "given back");
    assert.deepEqual(dive.growth, []);
    assert.equal(dive.peak.capturedCalls, 3);
    assert.ok(dive.peak.coverage >= 0.99, `captured ${dive.peak.capturedKiB} of ${dive.peak.exactKiB} KiB`);
  });

  test("a route the run does not have is named with the ones it has; the report is still written", async () => {
    const { code, stderr, report } = await profile(app, ["GET /hello x2", "GET /about x2"], ["--deep", "GET /export"]);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /--deep GET \/export: no route GET \/export in this run; routes: GET \/(hello|about), GET \/(hello|about)/);
    assert.equal(report.deepDive, undefined);
    assert.equal(report.totals.requests, 4);
  });

  test("a Python without tracemalloc says so", async () => {
    const dir = scratchDir();
    // Poisons the import of _tracemalloc for every Python process of the run.
    writeFileSync(path.join(dir, "sitecustomize.py"), "import sys\nsys.modules['_tracemalloc'] = None\n");
    const { code, stderr, report } = await profile(app, ["GET /hello x2"], ["--deep", "/hello"], { env: { PYTHONPATH: dir } });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /--deep \/hello: the deep worker could not start: tracemalloc is not available in this Python/);
    assert.equal(report.deepDive, undefined, "the profile's report is written without it");
  });
});

describe("balloon profile --deep through Flask", () => {
  test("a leak's line is found behind the framework's frames", async () => {
    const app = appOf("flask_app");
    const leak = planted(app, "/leak/small");
    const { code, stderr, report } = await profile(app, ["GET /leak/small x4", "GET /hello x2"], ["--deep", "GET /leak/small", "--deep-calls", "3"]);
    assert.equal(code, 0, stderr);
    assert.equal(siteName(report.deepDive.top[0]), `${leak.allocates.file}:${leak.allocates.line}`, JSON.stringify(report.deepDive.top.slice(0, 3)));
    assert.ok(Math.abs(report.deepDive.growth[0].kibPerCall - 2 * MiB_KiB) < 0.02 * 2 * MiB_KiB);
  });
});

