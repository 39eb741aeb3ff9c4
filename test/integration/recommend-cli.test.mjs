// balloon recommend and balloon check from the command line, on a real recording of the
// plain WSGI fixture (balloon profile), as a user or a CI job runs them.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { killAll, python, repoRoot, runCli, scratchDir } from "./helpers/balloon.mjs";

const appDir = path.join(repoRoot, "test/fixtures/apps/wsgi_app");
after(killAll);

describe("recommend and check on a recording", () => {
  let dir;
  let record;
  let reportFile;
  before(async () => {
    dir = scratchDir();
    record = path.join(dir, "run.jsonl");
    reportFile = path.join(dir, "report.json");
    const profiled = await runCli(["profile", "--app", "app:application", "--cwd", appDir, "--python", python, "--requests", path.join(appDir, "requests.txt"),
      "--record", record, "--report", reportFile], { timeoutMs: 120_000 });
    assert.equal(profiled.code, 0, profiled.stderr);
  });

  test("the summary gives every setting a reason, the replay's prediction and the alternatives", async () => {
    const result = await runCli(["recommend", record, "--memory-budget", "1024"]);
    assert.equal(result.code, 0, result.stderr);
    for (const words of [/^Recommended settings for app:application/m, /Budget 1024\.0 MiB \(--memory-budget\)/, /max-requests\s+│/, /reload-on-rss/, /Replayed on the recorded traffic: peak \d+\.\d MiB RSS/, /Alternatives \(each replayed on the same traffic\)/, /max-requests 50/]) {
      assert.match(result.stdout, words);
    }
  });

  test("--format json is the contract: version, budget, settings, reasons, prediction, alternatives; a report works too", async () => {
    const out = path.join(dir, "rec.json");
    const written = await runCli(["recommend", record, "--format", "json", "--memory-budget", "512", "--out", out]);
    assert.equal(written.code, 0, written.stderr);
    const rec = JSON.parse(readFileSync(out, "utf8"));
    assert.equal(rec.version, 1);
    assert.equal(rec.budgetMiB, 512);
    for (const key of ["workers", "threads", "maxRequests", "maxRequestsJitter", "reloadOnRssMiB", "timeoutSec", "stackKiB", "preload"]) assert.ok(key in rec.settings, key);
    assert.ok(rec.reasons.workers && rec.reasons.maxRequests);
    assert.ok(rec.predicted.peakTotalMiB > 0 && "recyclesPer1000" in rec.predicted && "waitedShare" in rec.predicted);
    assert.ok(rec.alternatives.length >= 4);
    // The fixture leaks 2 and 4 MiB per call: recycling must be on.
    assert.ok(rec.settings.maxRequests > 0 || rec.settings.reloadOnRssMiB > 0, JSON.stringify(rec.settings));
    const fromReport = await runCli(["recommend", reportFile, "--format", "json", "--memory-budget", "512"]);
    assert.equal(fromReport.code, 0, fromReport.stderr);
    assert.equal(JSON.parse(fromReport.stdout).source.requests, rec.source.requests);
    const bad = await runCli(["recommend", record, "--memory-budget", "lots"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--memory-budget needs a number above 0, got "lots"/);
  });

  test("check: exit 1 with a table naming each offender, exit 0 within the limits, limits from balloon.json", async () => {
    const failing = await runCli(["check", record, "--max-peak", "50", "--max-retained", "30"]);
    assert.equal(failing.code, 1, failing.stderr);
    assert.match(failing.stdout, /GET \/balloon\/large\s+│ peak\s+│\s+9\d\.\d/);
    assert.match(failing.stderr, /check failed: \d+ figures? over the limit/);
    assert.doesNotMatch(failing.stdout, /\/hello/);
    const passing = await runCli(["check", reportFile, "--max-peak", "500", "--max-retained", "100"]);
    assert.equal(passing.code, 0, passing.stderr);
    assert.match(passing.stdout, /within their limits/);
    const config = path.join(dir, "balloon.json");
    writeFileSync(config, JSON.stringify({ check: { maxPeakMiB: 500, routes: [{ route: "/balloon/*", maxPeakMiB: 60 }] } }));
    const fromFile = await runCli(["check", record, "--config", config]);
    assert.equal(fromFile.code, 1);
    assert.match(fromFile.stdout, /GET \/balloon\/large/);
    assert.doesNotMatch(fromFile.stdout, /\/balloon\/small/, "48 MiB is within the route's 60");
    assert.match(fromFile.stderr, /limits from .*balloon\.json/);
    const none = await runCli(["check", record]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no limit to check/);
  });
});
