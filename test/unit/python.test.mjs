// Interpreter choice (profiler/supervisor/python.ts) with an injected probe; the last test runs
// the real probes on stand-in interpreters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  asyncSystemProbe, choosePython, choosePythonAsync, guessFramework, hintForImportError, importHint, interpretersOnMachine,
  missingModule, systemProbe,
} from "../../out/test-build/supervisor/python.js";

/** files: path → content ("" for any file); finds: interpreter → {module: origin}; links: path →
 * what it resolves to; calls: every finds() asked. */
function fakeProbe({ files = {}, finds = {}, env = {}, dirs = {}, links = {} } = {}) {
  const calls = [];
  const answer = (python, cwd, modules) => {
    calls.push({ python, cwd, modules: [...modules] });
    return new Map(modules.filter((m) => m in (finds[python] ?? {})).map((m) => [m, finds[python][m]]));
  };
  const base = {
    exists: (p) => p in files,
    read: (p) => (p in files ? files[p] : null),
    list: (d) => dirs[d] ?? [],
    realpath: (p) => links[p] ?? p,
    env: { PATH: "/opt/py/bin:/usr/bin", ...env },
  };
  return { calls, sync: { ...base, finds: answer }, async: { ...base, finds: async (...a) => answer(...a) } };
}

/** `{path: ""}` for each path. */
const present = (...paths) => Object.fromEntries(paths.map((p) => [p, ""]));
const PATH_PY = "/opt/py/bin/python3";
const SYS_PY = "/usr/bin/python3";

const SITE = "/site/shopapp/__init__.py";
const cases = [
  { name: "--python wins, nothing probed", request: { explicit: "/x/python", target: "app:app", framework: "flask" }, probe: {}, want: "/x/python", probed: 0 },
  { name: "$VIRTUAL_ENV first", request: { target: "app:app", framework: null }, probe: { files: present("/venv/bin/python", "/app/app.py"), env: { VIRTUAL_ENV: "/venv" } }, want: "/venv/bin/python", probed: 0 },
  { name: "./.venv before ./venv", request: { target: "app:app", framework: "wsgi" }, probe: { files: present("/app/.venv/bin/python", "/app/venv/bin/python", "/app/app.py") }, want: "/app/.venv/bin/python", probed: 0 },
  { name: "plain WSGI in --cwd: the first python3, no probe", request: { target: "app:application", framework: "wsgi" }, probe: { files: present(PATH_PY, SYS_PY, "/app/app.py") }, want: PATH_PY, probed: 0 },
  { name: "the first that finds the framework", request: { target: "app:app", framework: "flask" }, probe: { files: present(PATH_PY, SYS_PY, "/app/app.py"), finds: { [SYS_PY]: { flask: "" } } }, want: SYS_PY, why: /the first interpreter that imports flask; \/opt\/py\/bin\/python3 does not/, probed: 2 },
  { name: "a venv without the framework gives way", request: { target: ".", framework: "django" }, probe: { files: present("/app/.venv/bin/python", SYS_PY), finds: { [SYS_PY]: { django: "" } } }, want: SYS_PY, probed: 2 },
  { name: "an installed app: the module is looked for too", request: { target: "shopapp.wsgi:application", framework: null }, probe: { files: present(PATH_PY, SYS_PY), finds: { [SYS_PY]: { shopapp: "" } } }, want: SYS_PY, probed: 2 },
  {
    name: "an installed Flask app: found by both, but only one has flask",
    request: { target: "shopapp.wsgi:app", framework: null },
    probe: { files: { ...present(PATH_PY, SYS_PY), "/site/shopapp/wsgi.py": "from flask import Flask\n" }, finds: { [PATH_PY]: { shopapp: SITE }, [SYS_PY]: { shopapp: SITE, flask: "" } } },
    want: SYS_PY, why: /imports shopapp and flask/, probed: 4,
  },
  { name: "both the module and a given framework", request: { target: "shopapp.wsgi:app", framework: "flask" }, probe: { files: present(PATH_PY, SYS_PY), finds: { [PATH_PY]: { flask: "" }, [SYS_PY]: { flask: "", shopapp: SITE } } }, want: SYS_PY, probed: 2 },
  { name: "a package under --cwd needs no module probe", request: { target: "shopapp.wsgi:app", framework: "flask" }, probe: { files: present(PATH_PY, "/app/shopapp"), finds: { [PATH_PY]: { flask: "" } } }, want: PATH_PY, probed: 1 },
  { name: "nobody finds it: the first candidate, said so", request: { target: "app:app", framework: "django" }, probe: { files: present(PATH_PY, "/app/app.py") }, want: PATH_PY, why: /no interpreter here imports django/, probed: 1 },
  { name: "no interpreter at all", request: { target: "app:app", framework: null }, probe: { files: present("/app/app.py") }, want: SYS_PY, probed: 0 },
];

test("choosePython: table", () => {
  for (const c of cases) {
    const probe = fakeProbe(c.probe);
    const choice = choosePython({ cwd: "/app", ...c.request }, probe.sync);
    assert.equal(choice.python, c.want, c.name);
    if (c.why) assert.match(choice.why, c.why, c.name);
    assert.equal(probe.calls.length, c.probed, `${c.name}: interpreters probed`);
    for (const call of probe.calls) assert.equal(call.cwd, "/app", "modules are looked for from --cwd");
  }
});

test("choosePythonAsync decides as choosePython does", async () => {
  for (const c of cases) {
    const [sync, async] = [fakeProbe(c.probe), fakeProbe(c.probe)];
    const request = { cwd: "/app", ...c.request };
    assert.deepEqual(await choosePythonAsync(request, async.async), choosePython(request, sync.sync), c.name);
    assert.deepEqual(async.calls, sync.calls, c.name);
  }
});

test("missingModule reads a ModuleNotFoundError", () => {
  assert.equal(missingModule("ModuleNotFoundError: No module named 'shopapp.wsgi'"), "shopapp");
  assert.equal(missingModule("ModuleNotFoundError: No module named 'flask'"), "flask");
  assert.equal(missingModule("ImportError: cannot import name 'x' from 'y'"), null);
});

test("importHint says who imports the module and the exact --python", () => {
  assert.equal(importHint("shopapp", PATH_PY, [SYS_PY], [SYS_PY, "/usr/bin/python3.11"]),
    `${PATH_PY} cannot import shopapp; ${SYS_PY} imports it: pass --python ${SYS_PY}`);
  assert.match(importHint("shopapp", PATH_PY, [SYS_PY, "/usr/local/bin/python3.12"], []),
    /these import it: \/usr\/bin\/python3, \/usr\/local\/bin\/python3\.12: pass --python \/usr\/bin\/python3$/);
  assert.match(importHint("shopapp", PATH_PY, [], [SYS_PY]), /no interpreter on this machine imports shopapp .*tried \/usr\/bin\/python3.*pip install shopapp/);
});

test("hintForImportError probes every interpreter on the machine but the one that failed", () => {
  const probe = fakeProbe({
    files: present(PATH_PY, SYS_PY),
    dirs: { "/usr/bin": ["python3", "python3.11", "python3-config", "pythonista"], "/usr/local/bin": ["python3.12"] },
    finds: { [SYS_PY]: { shopapp: SITE }, "/usr/bin/python3.11": { shopapp: SITE } },
  });
  assert.deepEqual(interpretersOnMachine("/app", probe.sync), [PATH_PY, SYS_PY, "/usr/bin/python3.11", "/usr/local/bin/python3.12"]);
  const hint = hintForImportError("ModuleNotFoundError: No module named 'shopapp'", PATH_PY, "/app", probe.sync);
  assert.equal(hint, `${PATH_PY} cannot import shopapp; these import it: ${SYS_PY}, /usr/bin/python3.11: pass --python ${SYS_PY}`);
  assert.ok(!probe.calls.some((call) => call.python === PATH_PY), "the interpreter that failed is not asked again");
  assert.equal(hintForImportError("ValueError: boom", PATH_PY, "/app", probe.sync), null);
});

test("interpretersOnMachine: one name per interpreter, a venv apart from its base", () => {
  const probe = fakeProbe({
    files: present("/venv/bin/python3", SYS_PY, "/bin/python3"),
    env: { PATH: "/venv/bin:/usr/bin:/bin" },
    dirs: { "/usr/bin": ["python3", "python3.11"], "/bin": ["python3", "python3.11"], "/venv/bin": ["python3"] },
    links: { "/bin": "/usr/bin", [SYS_PY]: "/usr/bin/python3.11", "/bin/python3": "/usr/bin/python3.11", "/bin/python3.11": "/usr/bin/python3.11", "/venv/bin/python3": "/usr/bin/python3.11" },
  });
  assert.deepEqual(interpretersOnMachine("/app", probe.sync), ["/venv/bin/python3", SYS_PY]);
});

test("guessFramework reads the target's source", () => {
  const probe = fakeProbe({ files: { "/d/app.py": "import flask\n", "/d/pkg/__init__.py": "from pyramid.config import Configurator\n", "/d/site/manage.py": "" } }).sync;
  assert.equal(guessFramework("app:app", "/d", probe), "flask");
  assert.equal(guessFramework("pkg:main", "/d", probe), "pyramid");
  assert.equal(guessFramework("site", "/d", probe), "django");
  assert.equal(guessFramework("nothere:app", "/d", probe), null);
});

// The real probes, on stand-in interpreters: shell scripts that log each start and run
// /usr/bin/python3, or hang. 1.5 s bound: a loaded 2-core machine took over 300 ms to start python3.
test("systemProbe and asyncSystemProbe: find_spec from --cwd, one start per (interpreter, cwd, module), time-bounded", async () => {
  const dir = mkdtempSync(join(tmpdir(), "balloon-probe-"));
  try {
    const log = join(dir, "starts.log");
    const python = join(dir, "python3");
    writeFileSync(python, `#!/bin/sh\necho start >> ${log}\nexec /usr/bin/python3 "$@"\n`);
    const hang = join(dir, "hang");
    writeFileSync(hang, "#!/bin/sh\nexec sleep 5\n");
    chmodSync(python, 0o755);
    chmodSync(hang, 0o755);
    const cwd = join(dir, "app");
    mkdirSync(cwd);
    writeFileSync(join(cwd, "localmod.py"), "raise SystemExit('find_spec must not run me')\n");
    const starts = () => readFileSync(log, "utf8").split("\n").filter(Boolean).length;
    for (const [name, probe] of [["sync", systemProbe({ timeoutMs: 1500 })], ["async", asyncSystemProbe({ timeoutMs: 1500 })]]) {
      writeFileSync(log, "");
      const found = await probe.finds(python, cwd, ["localmod", "json", "no_such_module_here"]);
      assert.deepEqual([...found.keys()].sort(), ["json", "localmod"], name);
      assert.equal(found.get("localmod"), join(cwd, "localmod.py"), `${name}: the origin, from --cwd`);
      await probe.finds(python, cwd, ["json", "localmod"]);
      assert.equal(starts(), 1, `${name}: answered from the cache`);
      await probe.finds(python, cwd, ["json", "email"]);
      assert.equal(starts(), 2, `${name}: only the new module is asked for`);
      const started = Date.now();
      assert.equal((await probe.finds(hang, cwd, ["json"])).size, 0, `${name}: a hanging interpreter finds nothing`);
      assert.ok(Date.now() - started < 4000, `${name}: and is not waited for (it sleeps 5 s)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
