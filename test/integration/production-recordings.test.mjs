// What a fleet already writes, read into Balloon's analysis, with the real servers (Debian's
// gunicorn and uWSGI, /usr/bin/python3; a missing server fails these tests, npm test installs
// them):
// - gunicorn serving the Flask fixture from `balloon recommend --format gunicorn --record-to`:
//   `balloon report DIR` on the files its workers wrote flags the planted handlers as the
//   manifest (balloon profile's figures) says; several files, directories and hosts at once;
// - the recorder never breaks a request (the app raising, an unwritable directory, the cap);
// - uWSGI with --memory-report serving the plain WSGI fixture: `balloon report LOG` flags what
//   its figures can show (inflations, leaks) and says why balloons cannot be shown.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { isDeepStrictEqual } from "node:util";

import { FOLDS } from "../unit/helpers/paths.mjs";
import { EXPORT_OPTIONS, baseRecommendation } from "../unit/helpers/recommendations.mjs";
import { faultsDir, killAll, python, readRecord, repoRoot, request, runCli, scratchDir } from "./helpers/balloon.mjs";
import { FIXTURE_APPS, memoryEntries, readManifest, requestPlan } from "./helpers/fixture-apps.mjs";
import { freePort, loadExporters, startServer, stopAllServers } from "./helpers/servers.mjs";

/** Calls of each planted route, one of each route per round: 12 as the fixtures' requests files. */
const CALLS = 12;

after(async () => {
  stopAllServers();
  await killAll();
});

async function sendPlan(server, plan) {
  for (const { method, path: urlPath } of plan) {
    const response = await request(server.port, urlPath, { method, timeoutMs: 60_000 });
    assert.equal(response.status, 200, `${method} ${urlPath}: ${response.body.slice(0, 300)}`);
  }
}

async function reportJson(inputs) {
  const result = await runCli(["report", ...inputs, "--json"], { timeoutMs: 60_000 });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

/** Manifest entries the report does not flag as the manifest says, with the route's verdicts. */
function flagMismatches(report, entries, { handlers = true, canShow = () => true } = {}) {
  const problems = [];
  for (const entry of entries) {
    const route = report.routes.find((r) => r.route === entry.route && r.method === entry.method);
    if (!route) {
      problems.push(`${entry.method} ${entry.route}: not in the report (routes: ${report.routes.map((r) => r.route).join(", ")})`);
      continue;
    }
    const verdicts = route.verdicts.map((v) => `${v.flag}: ${v.reason}`).join(" | ") || "no verdict";
    const want = entry.flag && canShow(entry.flag) ? [entry.flag] : [];
    if (!isDeepStrictEqual(route.flags, want)) problems.push(`${entry.method} ${entry.route}: flags [${route.flags}], want [${want}] (${verdicts})`);
    if (handlers && !isDeepStrictEqual(route.handler, entry.handler)) problems.push(`${entry.route}: handler ${JSON.stringify(route.handler)}, manifest ${JSON.stringify(entry.handler)}`);
  }
  return problems;
}

const recordingFiles = (dir) => readdirSync(dir).filter((name) => name.endsWith(".jsonl")).map((name) => path.join(dir, name));

describe("gunicorn with the exported recorder (--record-to), serving the Flask fixture", () => {
  const app = FIXTURE_APPS.find((a) => a.name === "flask_app");
  const entries = memoryEntries(readManifest(app));
  let dir;
  let recordTo;
  let config;

  before(async () => {
    dir = scratchDir();
    recordTo = path.join(dir, "recorded");
    // A short local profile to recommend from (one call of each route), as a user would start.
    const requests = path.join(dir, "requests.txt");
    writeFileSync(requests, entries.map((e) => `${e.method} ${e.path}`).join("\n"));
    const first = path.join(dir, "first.jsonl");
    const profiled = await runCli(["profile", "--app", app.target, "--cwd", app.dir, "--python", python, "--workers", "1", "--requests", requests, "--no-adaptive", "--record", first], { timeoutMs: 120_000 });
    assert.equal(profiled.code, 0, profiled.stderr);
    const port = await freePort();
    config = path.join(dir, "gunicorn.conf.py");
    const exported = await runCli(["recommend", first, "--format", "gunicorn", "--record-to", recordTo, "--memory-budget", "4000", "--bind", `127.0.0.1:${port}`, "--out", config]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(readFileSync(config, "utf8"), new RegExp(`^RECORD_TO = "${recordTo.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"$`, "m"));
    // Two workers and no recycling by count, whatever the short profile recommended: a request
    // script of 12 calls a route then leaves each worker several repeats (the command line wins over the file).
    const server = await startServer({ label: "gunicorn", command: python, args: ["-m", "gunicorn", "-c", config, "--workers", "2", "--max-requests", "0"], cwd: dir, port });
    await sendPlan(server, requestPlan(entries, CALLS, "interleaved"));
    const stopped = await server.stop("SIGTERM");
    assert.deepEqual(stopped.left, [], "gunicorn left processes behind");
    assert.doesNotMatch(server.output, /balloon recorder/, "the recorder logged a failure");
  });

  test("one file per worker, each starting with the recorder's start line and ending with its exit", () => {
    const files = recordingFiles(recordTo);
    assert.equal(files.length, 2, `files: ${files.join(", ")}`);
    for (const file of files) {
      assert.match(path.basename(file), /^balloon-\d{8}T\d{6}Z-[A-Za-z0-9._]+-\d+\.jsonl$/);
      const lines = readRecord(file);
      assert.equal(lines[0].type, "start");
      assert.equal(lines[0].recorder.server, "gunicorn");
      assert.deepEqual([lines[0].settings.workers, lines[0].settings.maxRequests, lines[0].run.framework], [2, 0, "flask"]);
      assert.deepEqual(lines.slice(-2).map((l) => l.type + (l.event ? ` ${l.event} ${l.reason}` : "")), ["worker exit shutdown", "stop"]);
      assert.equal(lines.at(-1).hookErrors, 0);
      for (const line of lines.filter((l) => l.type === "request")) {
        assert.ok(line.peakKiB >= Math.max(line.rssBeforeKiB, line.rssAfterKiB), JSON.stringify(line));
        assert.equal(line.query, undefined, "no query strings recorded");
      }
    }
  });

  test("balloon report DIR flags the planted handlers as the manifest says, with the handlers' file:line", async () => {
    const report = await reportJson([recordTo]);
    // The probe's GET /hello, then the script.
    assert.equal(report.totals.requests, 1 + entries.length * CALLS);
    const peakReset = readRecord(recordingFiles(recordTo)[0])[0].recorder.peakReset;
    // Where /proc/self/clear_refs is not writable a balloon shows only when it sets a new high.
    const problems = flagMismatches(report, entries, { canShow: (flag) => flag !== "balloon" || peakReset });
    assert.deepEqual(problems, [], JSON.stringify(report.routes.map((r) => [r.route, r.peakMiB, r.retainedMiB, r.flags])));
    const host = readRecord(recordingFiles(recordTo)[0])[0].recorder.host;
    assert.deepEqual(report.workers.map((w) => w.host), [host, host], "each worker's host, from its file's start line");
    const text = await runCli(["report", recordTo]);
    assert.match(text.stdout, /│ Worker │ +PID │/, "one host: no Host column");
    assert.match(text.stdout, /│ \/balloon\/large\s+│ GET\s+│\s+12 │.*│ balloon\s+│ app\.py:45\s+│/);
  });

  test("the files named one by one read as the directory does; check and recommend read them too", async () => {
    const files = recordingFiles(recordTo);
    const fromDir = await reportJson([recordTo]);
    const fromFiles = await reportJson(files);
    assert.deepEqual(fromFiles.routes.map((r) => [r.route, r.flags]), fromDir.routes.map((r) => [r.route, r.flags]));
    assert.deepEqual(fromFiles.totals, fromDir.totals);
    const check = await runCli(["check", recordTo, "--max-peak", "50"]);
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.match(check.stdout, /GET \/balloon\/large/);
    assert.doesNotMatch(check.stdout, /GET \/balloon\/small/);
    const recommended = await runCli(["recommend", ...files, "--memory-budget", "1000"], { timeoutMs: 60_000 });
    assert.equal(recommended.code, 0, recommended.stderr);
    assert.match(recommended.stdout, /from \d+ requests in 2 files/);
  });

  test("a second host with the same pids: kept apart, named in the worker table, totals over both; recommend replays one host's share", async () => {
    const other = path.join(dir, "web-2");
    mkdirSync(other);
    for (const file of recordingFiles(recordTo)) {
      const lines = readFileSync(file, "utf8").split("\n");
      const start = JSON.parse(lines[0]);
      start.recorder.host = "web-2";
      lines[0] = JSON.stringify(start);
      writeFileSync(path.join(other, path.basename(file).replace(/-[^-]+-(\d+)\.jsonl$/, "-web-2-$1.jsonl")), lines.join("\n"));
    }
    const one = await reportJson([recordTo]);
    const both = await reportJson([recordTo, other]);
    assert.equal(both.totals.requests, 2 * one.totals.requests);
    assert.equal(both.workers.length, 4);
    const host = readRecord(recordingFiles(recordTo)[0])[0].recorder.host;
    for (const worker of one.workers) {
      assert.deepEqual(both.workers.filter((w) => w.pid === worker.pid).map((w) => [w.host, w.requests]).sort(), [[host, worker.requests], ["web-2", worker.requests]].sort());
    }
    assert.deepEqual(both.routes.map((r) => [r.route, r.flags]), one.routes.map((r) => [r.route, r.flags]));
    const text = await runCli(["report", recordTo, other]);
    assert.match(text.stdout, /│ Worker │ Host\s+│ +PID │/);
    const recommended = await runCli(["recommend", recordTo, other, "--memory-budget", "1000"], { timeoutMs: 60_000 });
    assert.equal(recommended.code, 0, recommended.stderr);
    assert.match(recommended.stdout, /the traffic comes from 2 hosts \([^)]*web-2\): these settings are for one of them, replaying its even share \(--speed 0\.5/);
  });
});

describe("the recorder never breaks a request", () => {
  let exporters;
  before(async () => {
    exporters = await loadExporters();
  });

  /** An app (the faults fixture) under gunicorn, one worker, the recorder writing to `recordTo`; `edit` changes the file's text. */
  async function serve(recordTo, { appDir = faultsDir, probePath = "/ok", edit = (text) => text } = {}) {
    const dir = scratchDir();
    const port = await freePort();
    const recommendation = baseRecommendation({ workers: 1, maxRequests: 0, reloadOnRssMiB: 0, stackKiB: 0 });
    const file = exporters.EXPORTERS.gunicorn(recommendation, { ...EXPORT_OPTIONS, appDir, python, bind: `127.0.0.1:${port}`, recordTo });
    const config = path.join(dir, "gunicorn.conf.py");
    writeFileSync(config, edit(file.text));
    return startServer({ label: "gunicorn", command: python, args: ["-m", "gunicorn", "-c", config], cwd: dir, port, probePath });
  }

  test("the app raising is recorded as app-error; at the cap a stop line ends the file and requests go on", async () => {
    const recordTo = path.join(scratchDir(), "capped");
    const capBytes = 16 * 1024;
    const server = await serve(recordTo, { edit: (text) => text.replace(/^RECORD_MAX_BYTES = .*$/m, `RECORD_MAX_BYTES = ${capBytes}`) });
    assert.equal((await server.get("/raise")).status, 500);
    for (let i = 0; i < 80; i++) assert.equal((await server.get("/ok")).status, 200);
    await server.stop("SIGTERM");
    const [file] = recordingFiles(recordTo);
    assert.ok(statSync(file).size <= capBytes, `${statSync(file).size} bytes`);
    const lines = readRecord(file);
    const raised = lines.find((l) => l.path === "/raise");
    assert.deepEqual([raised.status, raised.outcome, raised.error], [500, "app-error", "ValueError"]);
    const stop = lines.find((l) => l.type === "stop");
    assert.match(stop.reason, /reached RECORD_MAX_BYTES \(16384\)/);
    assert.equal(lines.at(-1).type, "worker", "the worker's exit still closes the file");
    const requests = lines.filter((l) => l.type === "request").length;
    assert.ok(requests > 20 && requests < 82, `${requests} request lines`);
    assert.doesNotMatch(server.output, /Exception in (pre|post)_request hook/);
  });

  test("a directory it cannot write: the worker says so once and serves unrecorded", async () => {
    const blocker = path.join(scratchDir(), "a-file");
    writeFileSync(blocker, "");
    const server = await serve(path.join(blocker, "recorded"));
    for (let i = 0; i < 5; i++) assert.equal((await server.get("/ok")).status, 200);
    await server.stop("SIGTERM");
    assert.equal(server.output.match(/balloon recorder: cannot record in/g)?.length, 1, server.output);
  });

  test("where clear_refs cannot be written: a balloon shows when it sets a new high, and the report says what it misses", async () => {
    const recordTo = path.join(scratchDir(), "no-reset");
    const wsgiApp = FIXTURE_APPS.find((a) => a.name === "wsgi_app");
    // As under gVisor or WSL1: the file cannot be opened for writing.
    const edit = (text) => text.replace('os.open("/proc/self/clear_refs"', 'os.open("/proc/self/no-clear_refs"');
    const server = await serve(recordTo, { appDir: wsgiApp.dir, probePath: "/hello", edit });
    for (let i = 0; i < 4; i++) assert.equal((await server.get("/balloon/small")).status, 200);
    await server.stop("SIGTERM");
    const lines = readRecord(recordingFiles(recordTo)[0]);
    assert.equal(lines[0].recorder.peakReset, false);
    const peaks = lines.filter((l) => l.path === "/balloon/small").map((l) => (l.peakKiB - l.rssBeforeKiB) / 1024);
    // The first call set the worker's high (48 MiB seen); a later one that peaks a page higher is
    // seen again (measured: 48.0, 48.0, 0.0), one that stays under that high reads as 0.
    assert.ok(peaks[0] > 40 && peaks.every((p) => p > 40 || p < 2) && peaks.some((p) => p < 2), `peaks ${peaks.map((p) => p.toFixed(1))} MiB`);
    const report = await reportJson([recordTo]);
    assert.ok(report.approximations.some((a) => /clear_refs was not writable .*a peak shows only when it set a new high/.test(a)), report.approximations.join("\n"));
  });

  test("its path folding is the one balloon report applies to uWSGI's paths", () => {
    const file = exporters.EXPORTERS.gunicorn(baseRecommendation(), { ...EXPORT_OPTIONS, recordTo: "/tmp/unused" });
    const config = path.join(scratchDir(), "gunicorn_conf.py");
    writeFileSync(config, file.text);
    const script = `import importlib.util, json, sys\nspec = importlib.util.spec_from_file_location("conf", sys.argv[1])\nconf = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(conf)\nprint(json.dumps([conf._fold_path(p) for p in json.load(sys.stdin)]))`;
    const result = spawnSync(python, ["-c", script, config], { input: JSON.stringify(FOLDS.map(([p]) => p)), encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), FOLDS.map(([, folded]) => folded));
  });

  test("and the profiler's shim folds a plain WSGI app's paths the same way", () => {
    const shim = path.join(repoRoot, "profiler", "shim");
    const script = "import json, sys\nfrom balloon_shim.routes import fold_path\nprint(json.dumps([fold_path(p) for p in json.load(sys.stdin)]))";
    const result = spawnSync(python, ["-c", script], { input: JSON.stringify(FOLDS.map(([p]) => p)), encoding: "utf8", env: { ...process.env, PYTHONPATH: shim } });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), FOLDS.map(([, folded]) => folded));
  });
});

describe("uWSGI with --memory-report, serving the plain WSGI fixture", () => {
  const app = FIXTURE_APPS.find((a) => a.name === "wsgi_app");
  const entries = memoryEntries(readManifest(app));
  let log;

  before(async () => {
    const dir = scratchDir();
    log = path.join(dir, "uwsgi.log");
    const port = await freePort();
    const server = await startServer({
      label: "uwsgi",
      command: "uwsgi",
      args: ["--plugin", "python3", "--http-socket", `127.0.0.1:${port}`, "--chdir", app.dir, "--module", app.target, "--master", "--processes", "2", "--memory-report", "--logto", log],
      cwd: dir,
      port,
    });
    await sendPlan(server, requestPlan(entries, CALLS, "interleaved"));
    const stopped = await server.stop("SIGINT");
    assert.deepEqual(stopped.left, [], "uWSGI left processes behind");
  });

  test("balloon report LOG flags the inflations and leaks; balloons cannot show, and the report says why", async () => {
    const report = await reportJson([log]);
    assert.equal(report.totals.requests, 1 + entries.length * CALLS);
    // Routes are the raw paths folded (no handler: uWSGI's log names none); the manifest's are the same.
    const problems = flagMismatches(report, entries, { handlers: false, canShow: (flag) => flag !== "balloon" });
    assert.deepEqual(problems, [], JSON.stringify(report.routes.map((r) => [r.route, r.peakMiB, r.retainedMiB, r.flags])));
    for (const route of report.routes.filter((r) => r.route.startsWith("/balloon/"))) {
      assert.ok(route.peakMiB.max < 2, `${route.route}: the peak read as RSS before/after, ${route.peakMiB.max} MiB`);
    }
    assert.equal(report.workers.length, 2);
    assert.ok(report.approximations.some((a) => /uwsgi\.log: a uWSGI 2\.0\.\S+ log \(--memory-report\).*balloons that give their memory back cannot/.test(a)), report.approximations.join("\n"));
    assert.deepEqual(report.warnings, []);
  });

  test("a directory: its uWSGI log read by its content, a file that is neither skipped with a warning", async () => {
    const dir = scratchDir();
    copyFileSync(log, path.join(dir, "web-3-uwsgi.log"));
    writeFileSync(path.join(dir, "notes.log"), "not a log balloon reads\n");
    const report = await reportJson([dir]);
    assert.equal(report.workers.length, 2);
    assert.deepEqual(report.warnings, ["notes.log: neither a recording nor a uWSGI log, skipped"]);
  });
});
