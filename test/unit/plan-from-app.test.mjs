// planFromApp (profiler/session.ts): the editor's AppTarget and RunSettings planned with the
// CLI's checks, errors in setting names, and the interpreter chosen by the async probe.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { planFromApp } from "../../out/test-build/session.js";

const dir = mkdtempSync(path.join(tmpdir(), "balloon-plan-"));
writeFileSync(path.join(dir, "app.py"), "from flask import Flask\napp = Flask(__name__)\n");
mkdirSync(path.join(dir, "site"));
writeFileSync(path.join(dir, "site", "manage.py"), "");

const app = (more = {}) => ({ target: "app:app", cwd: dir, framework: "auto", python: "/usr/bin/python3", pythonWhy: "balloon.pythonPath", ...more });

test("planFromApp: settings as numbers, the interpreter as given with its reason", async () => {
  const plan = await planFromApp(app(), { workers: 3, threads: 2, maxRequests: 100, stackKiB: 256, timeoutSec: 2.5, preload: true, port: 0 });
  assert.deepEqual(plan.run, { target: "app:app", cwd: dir, python: "/usr/bin/python3", framework: "auto" });
  assert.equal(plan.pythonWhy, "balloon.pythonPath");
  assert.deepEqual([plan.settings.workers, plan.settings.threads, plan.settings.maxRequests, plan.settings.stackKiB, plan.settings.timeoutSec, plan.settings.preload], [3, 2, 100, 256, 2.5, true]);
  assert.equal(plan.port, 0);
  assert.equal(plan.recordPath, null);
});

test("planFromApp: a Django project directory becomes the app directory", async () => {
  const plan = await planFromApp(app({ target: "site" }), {});
  assert.deepEqual([plan.run.target, plan.run.cwd], [".", path.join(dir, "site")]);
  assert.equal(plan.port, 0, "the editor's default: a free port");
});

const refused = [
  [{ workers: 0 }, /^workers must be between 1 and 256, got 0$/],
  [{ stackKiB: 32 }, /^stackKiB 32 KiB is too small for Python/],
  [{ reloadOnRssMiB: -1 }, /^reloadOnRssMiB must be between 0 and 10000000, got -1$/],
  [{ port: 70000 }, /^port needs 0-65535, got "70000"$/],
];
for (const [settings, message] of refused) {
  test(`planFromApp: ${JSON.stringify(settings)} refused in the setting's name`, async () => {
    await assert.rejects(planFromApp(app(), settings), { message });
  });
}

test("planFromApp: a directory that is not there, a target that is neither", async () => {
  await assert.rejects(planFromApp(app({ cwd: path.join(dir, "nope") }), {}), { message: /^the app's directory .*nope: no such directory$/ });
  await assert.rejects(planFromApp(app({ target: "app" }), {}), { message: /^the app app: expected module:callable, or a Django project directory holding manage\.py$/ });
});

test("planFromApp: no interpreter given → the async probe picks one that imports the framework", async () => {
  const asked = [];
  const probe = {
    env: { PATH: "/a:/b" },
    exists: (p) => ["/a/python3", "/b/python3", "/usr/bin/python3", path.join(dir, "app.py")].includes(p),
    read: (p) => (p === path.join(dir, "app.py") ? "from flask import Flask\n" : null),
    list: () => [],
    realpath: (p) => p,
    finds: async (python, _cwd, modules) => {
      asked.push(python);
      return new Map(python === "/b/python3" ? modules.map((m) => [m, ""]) : []);
    },
  };
  const plan = await planFromApp(app({ python: null, pythonWhy: undefined }), {}, { probe });
  assert.equal(plan.run.python, "/b/python3");
  assert.match(plan.pythonWhy, /the first interpreter that imports flask; \/a\/python3 does not/);
  assert.deepEqual(asked, ["/a/python3", "/b/python3"]);
});
