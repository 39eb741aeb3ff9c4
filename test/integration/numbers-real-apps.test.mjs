// Numbers you can trust on real apps (issue 6). Each fixture below is profiled by real Balloon
// processes with 1, 2 and 4 workers (bodies_wsgi also with --threads 4), its interleaved
// requests file measured once under gunicorn (1 sync worker) in the same test, and checked:
// the handler's file:line is the view's, planted peaks are within 10% of gunicorn's VmHWM,
// routes whose memory is their body retain ~0, no ok route is charged. Then the flags: each
// planted behaviour gets exactly its flags (manifest.json) and no ok route is flagged.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { measureUnderGunicorn } from "./helpers/gunicorn-peak.mjs";
import { killAll } from "./helpers/balloon.mjs";
import { appsDir, profileApp, readManifest, readPlan, routeFigure, runApp, soloCalls, withBodies, withRoutes } from "./helpers/real-apps.mjs";

const INSTALLED_SITE = path.join(appsDir, "installed_app", "site");

const APPS = [
  // Threads: 3 lanes on 2 workers x 4 threads, so calls are partly alone, partly overlapping.
  { name: "bodies_wsgi", target: "app:application", threaded: { workers: 2, threads: 4, concurrency: 3 } },
  { name: "upload_wsgi", target: "app:application", needsBodies: true },
  { name: "churn_flask", target: "app:app" },
  { name: "decorated_flask", target: "app:app" },
  { name: "decorated_django", target: ".", gunicornTarget: "portal.wsgi:application" },
  // Installed where only one interpreter sees it, run from an empty directory, the
  // interpreter left to Balloon.
  { name: "installed_app", target: "shopapp.wsgi:application", installed: true },
];

const f1 = (x) => x.toFixed(1);
const within = (ours, theirs, share) => Math.abs(ours - theirs) <= share * theirs;

/** For installed_app: a venv of /usr/bin/python3 (its Django included) with the package linked
 * into its site-packages by a .pth file, last on PATH, so the python3 before it cannot import
 * the app; and an empty directory to run from. */
function installedSetup() {
  const dir = mkdtempSync(path.join(tmpdir(), "balloon-installed-"));
  const venv = path.join(dir, "venv");
  const made = spawnSync("/usr/bin/python3", ["-m", "venv", "--without-pip", "--system-site-packages", venv], { encoding: "utf8" });
  assert.equal(made.status, 0, made.stderr);
  const venvPython = path.join(venv, "bin", "python3");
  const site = spawnSync(venvPython, ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], { encoding: "utf8" }).stdout.trim();
  writeFileSync(path.join(site, "shopapp-fixture.pth"), `${INSTALLED_SITE}\n`);
  const cwd = path.join(dir, "elsewhere");
  mkdirSync(cwd);
  return { dir, cwd, venvPython, env: { ...process.env, PATH: `${process.env.PATH}:${path.join(venv, "bin")}` } };
}

/** The handler a manifest entry names, as the report gives it (absolute outside --cwd). */
const expectedHandler = (app, entry) => (app.installed ? { ...entry.handler, file: path.join(appsDir, app.name, entry.handler.file) } : entry.handler);

for (const app of APPS) {
  describe(app.name, () => {
    const manifest = readManifest(app);
    const plan = withBodies(readPlan(app), manifest);
    const runs = new Map(); // label -> { report, calls }
    let gunicorn = null;
    let setup = null;

    before(async () => {
      if (app.installed) setup = installedSetup();
      gunicorn = await measureUnderGunicorn({
        appDir: setup?.cwd ?? path.join(appsDir, app.name), target: app.gunicornTarget ?? app.target, requests: plan,
        ...(setup ? { python: setup.venvPython } : {}),
      });
    });
    after(async () => {
      await killAll();
      if (setup) rmSync(setup.dir, { recursive: true, force: true });
    });

    const shapes = [1, 2, 4].map((workers) => ({ workers, threads: 1 }));
    if (app.threaded) shapes.push(app.threaded);
    for (const shape of shapes) {
      const label = `${shape.workers} worker${shape.workers > 1 ? "s" : ""}${shape.threads > 1 ? ` x ${shape.threads} threads, ${shape.concurrency} lanes` : ""}`;

      test(`${label}: handlers at the view, peaks as gunicorn's, bodies retained ~0, ok routes not charged`, async () => {
        const target = { ...app, ...(setup ? { cwd: setup.cwd, python: null } : {}) };
        const run = app.needsBodies ? await runApp(target, plan, shape) : await profileApp(target, { ...shape, env: setup?.env });
        runs.set(label, run);
        if (setup) assert.ok(run.stderr.includes(`with ${setup.venvPython} (the first interpreter that imports shopapp and django`), run.stderr.split("\n")[0]);
        const theirs = withRoutes(gunicorn, run.calls);
        const lines = [];
        let compared = 0;
        for (const entry of manifest) {
          const route = run.report.routes.find((r) => r.route === entry.route && r.method === entry.method);
          assert.ok(route, `${entry.method} ${entry.route} in the report (${run.report.routes.map((r) => r.route).join(", ")})`);
          assert.deepEqual(route.handler, expectedHandler(app, entry), `${entry.route}: handler`);
          const ours = routeFigure(entry, run.calls);
          const reference = routeFigure(entry, theirs);
          if (shape.threads > 1 && ours === null) continue; // every call shared: nothing solo to compare
          assert.ok(ours && reference, `${entry.route}: figures on both sides`);
          lines.push(`${entry.route}: peak ${f1(ours.peak)} MiB (gunicorn ${f1(reference.peak)}), retained ${f1(ours.retained)} (gunicorn ${f1(reference.retained)}), ${ours.calls} calls`);
          const solo = soloCalls(entry, run.calls);
          if (entry.flags.length === 0) {
            // A worker's first request may pay the framework's lazy start-up (Django: ~1.3 MiB);
            // gunicorn's side skips it with a warm-up request.
            assert.ok(solo.every((c) => c.peak < 2 && c.retained < 2) && Math.abs(ours.retained) < 0.5, `ok route ${entry.route} charged: ${JSON.stringify(solo)}`);
            continue;
          }
          assert.ok(within(ours.peak, reference.peak, 0.1), `${entry.route}: peak ${f1(ours.peak)} MiB vs gunicorn's VmHWM ${f1(reference.peak)} MiB`);
          compared += 1;
          if (entry.flags.join() === "balloon" && entry.retainedMiB === 0) {
            assert.ok(Math.abs(ours.retained) < 0.5 && solo.every((c) => c.retained < 2), `${entry.route} keeps its body: ${solo.map((c) => f1(c.retained))}`);
          }
        }
        if (shape.threads > 1) {
          const shared = run.calls.filter((c) => c.concurrent > 1).length;
          lines.push(`${shared} of ${run.calls.length} calls shared a worker with another`);
          assert.ok(shared > 0, "with threads, calls overlap and say so");
        }
        assert.ok(compared > 0, "at least one planted route was compared with gunicorn");
        console.log(`${app.name}, ${label}:\n  ${lines.join("\n  ")}`);
      });

      test(`${label}: flags, exactly the planted ones`, () => {
        const run = runs.get(label);
        assert.ok(run, "the profile ran");
        const got = [];
        const want = [];
        for (const entry of manifest) {
          const route = run.report.routes.find((r) => r.route === entry.route && r.method === entry.method);
          got.push(`${entry.route}: [${[...route.flags].sort()}]${route.flags.length ? ` (${route.reasons.join("; ")})` : ""}`);
          want.push(`${entry.route}: [${[...entry.flags].sort()}]`);
        }
        const unplanned = run.report.routes.filter((r) => r.flags.length > 0 && !manifest.some((e) => e.route === r.route && e.method === r.method));
        assert.deepEqual(got.map((line) => line.replace(/ \(.*$/, "")), want, got.join("\n"));
        assert.deepEqual(unplanned.map((r) => `${r.route} ${r.flags}`), [], "no route outside the manifest is flagged");
      });
    }

    if (manifest.some((e) => e.status)) {
      test("redirects are answered and recorded as what they are", () => {
        for (const [label, run] of runs) {
          for (const entry of manifest.filter((e) => e.status)) {
            const calls = run.calls.filter((c) => c.route === entry.route);
            assert.ok(calls.length > 0 && calls.every((c) => c.status === entry.status && c.outcome === "ok"),
              `${label} ${entry.route}: ${JSON.stringify(calls.map((c) => [c.status, c.outcome]))}`);
          }
          assert.equal(run.report.totals.errors, 0, `${label}: errors`);
        }
      });
    }
  });
}

describe("installed_app: the hint when the interpreter cannot import the app", () => {
  let setup;
  before(() => (setup = installedSetup()));
  after(() => rmSync(setup.dir, { recursive: true, force: true }));

  test("ModuleNotFoundError names the interpreters that import it and the --python to pass", () => {
    const result = spawnSync(process.execPath, [
      path.join(appsDir, "../../../bin/balloon.js"), "profile", "--app", "shopapp.wsgi:application", "--cwd", setup.cwd,
      "--python", "/usr/bin/python3", "--requests", path.join(appsDir, "installed_app", "requests.txt"), "--workers", "1",
    ], { encoding: "utf8", env: setup.env, timeout: 120_000 });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /ModuleNotFoundError: No module named 'shopapp'/);
    assert.ok(result.stderr.includes(`/usr/bin/python3 cannot import shopapp; ${setup.venvPython} imports it: pass --python ${setup.venvPython}`), result.stderr.slice(-600));
  });
});
