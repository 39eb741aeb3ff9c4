// `balloon profile` with its defaults (2 workers) on each fixture app flags exactly the planted
// handlers, each with its one right flag and file:line, and no ok route; its peaks agree within
// 10% with VmHWM measured independently under gunicorn in the same run.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureUnderGunicorn } from "./helpers/gunicorn-peak.mjs";
import { FIXTURE_APPS, median, memoryEntries, readManifest } from "./helpers/fixture-apps.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const GUNICORN_CALLS = 4;

function profile(app) {
  const dir = mkdtempSync(join(tmpdir(), "balloon-profile-"));
  try {
    const reportPath = join(dir, "report.json");
    // A Django project is profiled as a project directory, the way users name it.
    const target = app.name === "django_project" ? "." : app.target;
    const result = spawnSync("node", [
      "bin/balloon.js", "profile", "--app", target, "--cwd", app.dir, "--python", "/usr/bin/python3",
      "--requests", join(app.dir, "requests.txt"), "--report", reportPath,
    ], { cwd: ROOT, encoding: "utf8", timeout: 180_000 });
    assert.equal(result.status, 0, `balloon profile failed:\n${result.stderr}`);
    return { report: JSON.parse(readFileSync(reportPath, "utf8")), stdout: result.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Peak above the RSS before, per call, under gunicorn: route → [MiB…] in call order. */
async function gunicornPeaks(app, entries) {
  const requests = entries.flatMap((e) => Array.from({ length: GUNICORN_CALLS }, () => ({ method: e.method, path: e.path })));
  const results = await measureUnderGunicorn({ appDir: app.dir, target: app.target, requests });
  return new Map(entries.map((e) => [e, results.filter((r) => r.path === e.path).map((r) => (r.peakKiB - r.rssBeforeKiB) / 1024)]));
}

const within = (actual, expected, share) => Math.abs(actual - expected) <= share * expected;

for (const app of FIXTURE_APPS) {
  describe(`balloon profile ${app.name}`, () => {
    const manifest = readManifest(app);
    let report;

    test("flags exactly the planted handlers, with their file:line", () => {
      ({ report } = profile(app));
      for (const entry of manifest) {
        const route = report.routes.find((r) => r.route === entry.route && r.method === entry.method);
        assert.ok(route, `${entry.method} ${entry.route} is in the report (routes: ${report.routes.map((r) => r.route).join(", ")})`);
        assert.deepEqual(route.flags, entry.flag ? [entry.flag] : [], `${entry.route}: ${route.reasons.join("; ")}`);
        assert.deepEqual(route.handler, entry.handler, `${entry.route} handler`);
      }
      const unexpected = report.routes.filter((r) => r.flags.length > 0 && !manifest.some((e) => e.route === r.route && e.flag));
      assert.deepEqual(unexpected.map((r) => `${r.route} ${r.flags}`), [], "no other route is flagged");
      const undecided = report.routes.filter((r) => r.verdicts.some((v) => v.flag === "undecided"));
      assert.deepEqual(undecided.map((r) => `${r.route}: ${r.verdicts.at(-1).reason}`), [], "no route left undecided");
      assert.equal(report.workers.length, 2, "the default pool has 2 workers");
      assert.equal(report.totals.errors, 0);
    });

    test("peaks within 10% of VmHWM under gunicorn", async () => {
      assert.ok(report, "the profile ran");
      const planted = memoryEntries(manifest).filter((e) => e.flag);
      const peaks = await gunicornPeaks(app, planted);
      const lines = [];
      for (const entry of planted) {
        const route = report.routes.find((r) => r.route === entry.route && r.method === entry.method);
        // Inflation peaks only on a worker's first call: compare that call (the max).
        const ours = entry.flag === "inflates" ? route.peakMiB.max : route.peakMiB.median;
        const theirs = entry.flag === "inflates" ? peaks.get(entry)[0] : median(peaks.get(entry));
        lines.push(`${entry.route}: balloon ${ours} MiB, gunicorn VmHWM ${theirs.toFixed(1)} MiB`);
        assert.ok(within(ours, theirs, 0.1), `${entry.route}: ${ours} vs ${theirs.toFixed(2)} MiB`);
      }
      console.log(`${app.name}:\n  ${lines.join("\n  ")}`);
    });
  });
}
