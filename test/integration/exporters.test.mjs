// Exported files checked by the real servers (Debian's gunicorn, uWSGI, Apache + mod_wsgi,
// systemd-analyze, /usr/bin/python3): each file is accepted, serves the wsgi_app fixture, and
// the recycling it sets up fires on the leaking route (/leak/small keeps 2 MiB per call). A
// missing server fails these tests: `npm test` installs them (scripts/system-deps.mjs).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { EXPORT_OPTIONS, VARIANTS, baseRecommendation } from "../unit/helpers/recommendations.mjs";
import { faultsDir, killAll, python, repoRoot, runCli, scratchDir, sleep, startBalloon, waitFor } from "./helpers/balloon.mjs";
import { freePort, loadExporters, startServer, stopAllServers } from "./helpers/servers.mjs";

const appDir = path.join(repoRoot, "test/fixtures/apps/wsgi_app");
const MiB = 1024 * 1024;
/** The recycle limit sits this far above the worker's measured RSS: 3 calls of /leak/small. */
const HEADROOM_MIB = 5;

let exporters;
before(async () => {
  exporters = await loadExporters();
});
after(async () => {
  stopAllServers();
  await killAll();
});

/** Writes `recommendation` exported as `format` into `dir`; returns the file's path and text. */
function exportTo(dir, format, recommendation, options = {}) {
  const file = exporters.EXPORTERS[format](recommendation, { ...EXPORT_OPTIONS, appDir, python, ...options });
  const filePath = path.join(dir, file.fileName);
  writeFileSync(filePath, file.text);
  return { path: filePath, text: file.text };
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 60_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" }, ...options });
  if (result.error) throw new Error(`${command}: ${result.error.message} (is it installed? npm test installs it)`);
  return result;
}

/** Resident set of a process in MiB, from /proc. */
function rssMiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** One fixed worker, recycling only by RSS (limit MiB; 0 off), the fixture's app. */
function leakTestRecommendation(reloadOnRssMiB) {
  return baseRecommendation({ workers: 1, maxRequests: 0, maxRequestsJitter: 0, reloadOnRssMiB, timeoutSec: 30 });
}

/**
 * Sends /leak/small until the worker (`workerOf()`) changes; every response must be 200.
 * Returns the old worker's pid, the new one, and how many requests it took.
 */
async function leakUntilRecycled(server, workerOf, maxRequests) {
  const first = workerOf();
  for (let sent = 1; sent <= maxRequests; sent++) {
    const response = await server.get("/leak/small");
    assert.equal(response.status, 200, `request ${sent} to /leak/small: ${response.body}`);
    const next = await waitFor(() => {
      const now = workerOf();
      return now && now !== first ? now : null;
    }, { timeoutMs: 400, intervalMs: 20 }).catch(() => null);
    server.notice();
    if (next) return { first, next, sent };
  }
  throw server.fail(`worker ${first} still serving after ${maxRequests} requests to /leak/small`);
}

describe("gunicorn.conf.py", () => {
  test("passes --check-config for each variant (gthread with threads, preload)", () => {
    const dir = scratchDir();
    for (const [name, variant] of Object.entries(VARIANTS)) {
      const file = exportTo(dir, "gunicorn", variant());
      const result = run(python, ["-m", "gunicorn", "--check-config", "-c", file.path]);
      assert.equal(result.status, 0, `${name}: gunicorn --check-config failed:\n${result.stderr}\n${file.text}`);
    }
  });

  test("serves the fixture, and its post_request hook retires a worker over the RSS limit after a 200", async () => {
    const dir = scratchDir();
    // First with the hook far away: the worker's RSS once the app has loaded sets the limit.
    let port = await freePort();
    let file = exportTo(dir, "gunicorn", leakTestRecommendation(100_000), { bind: `127.0.0.1:${port}` });
    let server = await startServer({ label: "gunicorn", command: python, args: ["-m", "gunicorn", "-c", file.path], cwd: dir, port });
    assert.equal((await server.get("/hello")).body, "hello\n");
    const baseline = rssMiB(server.children()[0]);
    let stopped = await server.stop("SIGTERM");
    assert.deepEqual(stopped.left, [], "gunicorn left processes behind");

    const limit = Math.ceil(baseline) + HEADROOM_MIB;
    port = await freePort();
    file = exportTo(dir, "gunicorn", leakTestRecommendation(limit), { bind: `127.0.0.1:${port}` });
    assert.match(file.text, new RegExp(`^RELOAD_ON_RSS_MIB = ${limit}$`, "m"));
    server = await startServer({ label: "gunicorn", command: python, args: ["-m", "gunicorn", "-c", file.path], cwd: dir, port });
    const { first, next, sent } = await leakUntilRecycled(server, () => server.children()[0], 20);
    // 2 MiB per call: over the limit within HEADROOM / 2 calls, plus one for pymalloc's slack.
    assert.ok(sent <= Math.ceil(HEADROOM_MIB / 2) + 2, `took ${sent} requests`);
    const line = new RegExp(`balloon: worker ${first} RSS ([\\d.]+) MiB is over reload-on-rss ${limit} MiB: retiring it after this response`);
    const logged = await waitFor(() => line.exec(server.output), { what: "the hook's log line" }).catch(() => null);
    assert.ok(logged, server.fail("did not log the hook's line").message);
    assert.ok(Number(logged[1]) > limit);
    await waitFor(() => server.output.includes(`Worker exiting (pid: ${first})`) && server.output.includes(`Booting worker with pid: ${next}`), { what: "gunicorn's exit and boot lines" });
    assert.equal((await server.get("/hello")).status, 200, "the new worker serves");
    stopped = await server.stop("SIGTERM");
    assert.deepEqual(stopped.left, [], "gunicorn left processes behind");
  });
});

describe("uwsgi.ini", () => {
  /** uWSGI's workers are the master's children (master = true). */
  const uwsgi = (file, port) => startServer({ label: "uwsgi", command: "uwsgi", args: ["--ini", file.path, "--memory-report"], cwd: path.dirname(file.path), port });

  test("starts uWSGI, serves, and reload-on-rss replaces the leaking worker", async () => {
    const dir = scratchDir();
    let port = await freePort();
    let file = exportTo(dir, "uwsgi", leakTestRecommendation(100_000), { bind: `127.0.0.1:${port}` });
    let server = await uwsgi(file, port);
    assert.equal((await server.get("/hello")).body, "hello\n");
    const baseline = rssMiB(server.children()[0]);
    let stopped = await server.stop("SIGTERM");
    assert.deepEqual(stopped.left, [], "uWSGI left processes behind");

    const limit = Math.ceil(baseline) + HEADROOM_MIB;
    port = await freePort();
    file = exportTo(dir, "uwsgi", leakTestRecommendation(limit), { bind: `127.0.0.1:${port}` });
    assert.match(file.text, new RegExp(`^reload-on-rss = ${limit}$`, "m"));
    const lifetime = Number(/^min-worker-lifetime = (\d+)$/m.exec(file.text)[1]);
    server = await uwsgi(file, port);
    // uWSGI recycles only workers older than min-worker-lifetime.
    await sleep(lifetime * 1000 + 500);
    const { first, next, sent } = await leakUntilRecycled(server, () => server.children()[0], 20);
    assert.ok(sent <= Math.ceil(HEADROOM_MIB / 2) + 2, `took ${sent} requests`);
    await waitFor(() => server.output.includes(`...The work of process ${first} is done. Seeya!`) && server.output.includes(`(new pid: ${next})`), {
      what: `uWSGI's log of worker ${first} ending and ${next} replacing it`,
    });
    // --memory-report: the RSS after the last request of the old worker was over the limit.
    const reports = [...server.output.slice(0, server.output.indexOf(`process ${first} is done`)).matchAll(/\{rss usage: (\d+) bytes/g)];
    assert.ok(reports.length > 0 && Number(reports.at(-1)[1]) >= limit * MiB, server.fail("no memory report over the limit before the recycle").message);
    assert.doesNotMatch(server.output, /EVIL RELOAD/);
    assert.equal((await server.get("/hello")).status, 200, "the new worker serves");
    stopped = await server.stop("SIGTERM");
    assert.deepEqual(stopped.left, [], "uWSGI left processes behind");
  });

  test("a dynamic pool (cheaper) with threads (thread-stacksize) starts and serves", async () => {
    const dir = scratchDir();
    const port = await freePort();
    const recommendation = baseRecommendation({ workers: 3, minSpare: 1, maxSpare: 2, threads: 2 });
    const file = exportTo(dir, "uwsgi", recommendation, { bind: `127.0.0.1:${port}` });
    assert.match(file.text, /^cheaper = 1$/m);
    const server = await uwsgi(file, port);
    assert.equal((await server.get("/hello")).body, "hello\n");
    assert.match(server.output, /threads stack size set to 512k/);
    assert.equal(server.children().length, 1, "cheaper-initial 1: one worker at first");
    const stopped = await server.stop("SIGTERM");
    assert.deepEqual(stopped.left, [], "uWSGI left processes behind");
  });
});

describe("Apache: the mod_wsgi block and the MPM block", () => {
  const MPM_MODULES = { prefork: "mpm_prefork_module", event: "mpm_event_module", worker: "mpm_worker_module" };
  const modules = "/usr/lib/apache2/modules";

  /** A private ServerRoot in a temp dir: its own Listen, PidFile, logs, runtime dir; the exported blocks included. */
  function apacheConfig(recommendation, mpm, port) {
    const dir = scratchDir();
    // Apache's children and mod_wsgi's daemon run as www-data: they must reach the sockets here,
    // and the app, so it is served from a copy here (a checkout under a 0700 directory, as
    // `mktemp -d` makes, is out of www-data's reach: Apache never answered).
    chmodSync(dir, 0o755);
    const servedApp = path.join(dir, "apps", path.basename(appDir));
    cpSync(appDir, servedApp, { recursive: true });
    cpSync(path.join(appDir, "..", "thread_probe.py"), path.join(dir, "apps", "thread_probe.py")); // app.py imports it from beside its directory
    const mpmFile = exportTo(dir, "apache", recommendation, { appDir: servedApp });
    const wsgiFile = exportTo(dir, "mod_wsgi", recommendation, { appDir: servedApp });
    mkdirSync(path.join(dir, "run"), { mode: 0o755 });
    const conf = path.join(dir, "httpd.conf");
    writeFileSync(conf, [
      `ServerRoot ${dir}`,
      `LoadModule ${MPM_MODULES[mpm]} ${modules}/mod_mpm_${mpm}.so`,
      `LoadModule authz_core_module ${modules}/mod_authz_core.so`,
      `LoadModule wsgi_module ${modules}/mod_wsgi.so`,
      `Listen 127.0.0.1:${port}`,
      "ServerName 127.0.0.1",
      "User www-data",
      "Group www-data",
      `PidFile ${dir}/run/httpd.pid`,
      `DefaultRuntimeDir ${dir}/run`,
      `ErrorLog ${dir}/error.log`,
      "LogLevel info",
      `WSGISocketPrefix ${dir}/run/wsgi`,
      `Include ${mpmFile.path}`,
      "<VirtualHost 127.0.0.1:" + port + ">",
      `    Include ${wsgiFile.path}`,
      "</VirtualHost>",
      "",
    ].join("\n"));
    return { dir, conf, errorLog: path.join(dir, "error.log"), mpmFile, wsgiFile };
  }

  const cases = [
    ["prefork", "fixed pool, one thread", VARIANTS.fixed()],
    ["event", "threads and a dynamic pool", baseRecommendation({ workers: 4, minSpare: 1, maxSpare: 2, threads: 4 })],
    ["worker", "threads, a fixed pool", VARIANTS.threaded()],
  ];
  for (const [mpm, what, recommendation] of cases) {
    test(`${mpm} (${what}): apache2 -t says Syntax OK, and Apache serves the fixture through the mod_wsgi daemon`, async () => {
      const port = await freePort();
      const config = apacheConfig(recommendation, mpm, port);
      assert.match(config.mpmFile.text, new RegExp(`<IfModule ${MPM_MODULES[mpm]}>`));
      const check = run("/usr/sbin/apache2", ["-f", config.conf, "-t"]);
      assert.equal(check.status, 0, `apache2 -t failed:\n${check.stderr}\n${config.wsgiFile.text}\n${config.mpmFile.text}`);
      assert.match(check.stderr, /Syntax OK/);
      assert.doesNotMatch(check.stderr, /AH\d+/, "apache2 -t warned");

      const server = await startServer({ label: `apache2 (${mpm})`, command: "/usr/sbin/apache2", args: ["-f", config.conf, "-DFOREGROUND"], cwd: config.dir, port });
      const response = await server.get("/hello");
      assert.equal(response.body, "hello\n");
      // The app ran in the daemon process group (display-name=%{GROUP} → "(wsgi:app)").
      const daemons = server.notice().filter((pid) => existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("(wsgi:app)"));
      assert.ok(daemons.length >= 1, `no (wsgi:app) daemon process under Apache:\n${readFileSync(config.errorLog, "utf8")}`);
      const stopped = await server.stop("SIGTERM");
      assert.deepEqual(stopped.left, [], "Apache left processes behind");
      const errorLog = readFileSync(config.errorLog, "utf8");
      assert.match(errorLog, /mod_wsgi \(pid=\d+\): Starting process 'app'/);
      assert.doesNotMatch(errorLog, /\[(error|crit|alert|emerg)\]|:error\]|:crit\]/, errorLog);
    });
  }
});

describe("systemd drop-in", () => {
  /** A service unit running the exported gunicorn.conf.py, with `dropIn` as APP.service.d/balloon.conf beside it. */
  function unitWithDropIn(dropIn) {
    const dir = scratchDir();
    const gunicorn = exportTo(dir, "gunicorn", VARIANTS.fixed());
    const unit = path.join(dir, "balloon-app.service");
    writeFileSync(unit, ["[Unit]", "Description=the wsgi_app fixture under gunicorn", "", "[Service]", `ExecStart=${python} -m gunicorn -c ${gunicorn.path}`, ""].join("\n"));
    mkdirSync(path.join(dir, "balloon-app.service.d"));
    const dropInPath = path.join(dir, "balloon-app.service.d", "balloon.conf");
    writeFileSync(dropInPath, dropIn);
    return { unit, dropInPath };
  }

  test("systemd-analyze verify accepts the unit with the drop-in, and does read drop-ins from there", () => {
    for (const [name, variant] of Object.entries(VARIANTS)) {
      const file = exporters.EXPORTERS.systemd(variant(), EXPORT_OPTIONS);
      assert.equal(file.fileName, "balloon.conf");
      const { unit } = unitWithDropIn(file.text);
      const result = run("systemd-analyze", ["verify", unit]);
      assert.equal(result.status, 0, `${name}: ${result.stderr}`);
      // verify exits 0 even over unknown keys or bad values: it must have said nothing at all.
      assert.equal(result.stderr.trim(), "", `${name}: systemd-analyze verify warned:\n${result.stderr}\n${file.text}`);
    }
    // The control: the same place with a bad line is read and complained about.
    const { unit, dropInPath } = unitWithDropIn("[Service]\nMemoryMax=lots\n");
    const control = run("systemd-analyze", ["verify", unit]);
    assert.match(control.stderr, new RegExp(`${dropInPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2: Invalid memory limit 'lots'`));
  });
});

describe("flup launcher", () => {
  /**
   * flup is not in Debian: a stand-in flup.server.fcgi_fork whose WSGIServer has the signature
   * read in flup's source (fcgi_fork.WSGIServer's own keywords plus PreforkServer's, which takes
   * no **kw, so an unknown name is a TypeError) and its two ValueError checks; run() prints the
   * keywords and the app's answer to GET /hello.
   */
  const STAND_IN = [
    "import json",
    "class WSGIServer:",
    "    def __init__(self, application, environ=None, bindAddress=None, umask=None, multiplexed=False, debug=False,",
    "                 roles=(1,), forceCGI=False, timeout=None, minSpare=1, maxSpare=5, maxChildren=50, maxRequests=0, sockTimeout=0):",
    "        if minSpare < 1: raise ValueError('minSpare must be at least 1!')",
    "        if maxSpare < minSpare: raise ValueError('maxSpare must be greater than, or equal to, minSpare!')",
    "        self.application = application",
    "        self.keywords = dict(bindAddress=bindAddress, minSpare=minSpare, maxSpare=maxSpare, maxChildren=maxChildren, maxRequests=maxRequests, timeout=timeout)",
    "    def run(self):",
    "        status = []",
    "        body = b''.join(self.application({'PATH_INFO': '/hello', 'REQUEST_METHOD': 'GET'}, lambda s, h: status.append(s)))",
    "        print(json.dumps({'keywords': self.keywords, 'status': status[0], 'body': body.decode()}))",
    "",
  ].join("\n");

  function standInFlup() {
    const dir = scratchDir();
    mkdirSync(path.join(dir, "flup", "server"), { recursive: true });
    writeFileSync(path.join(dir, "flup", "__init__.py"), "");
    writeFileSync(path.join(dir, "flup", "server", "__init__.py"), "");
    writeFileSync(path.join(dir, "flup", "server", "fcgi_fork.py"), STAND_IN);
    return dir;
  }

  test("compiles with /usr/bin/python3 for each variant, and passes flup's keywords with the values", () => {
    const dir = scratchDir();
    const flupDir = standInFlup();
    for (const [name, variant] of Object.entries(VARIANTS)) {
      const recommendation = variant();
      const file = exportTo(dir, "flup", recommendation);
      const compiled = run(python, ["-m", "py_compile", file.path]);
      assert.equal(compiled.status, 0, `${name}: ${compiled.stderr}\n${file.text}`);
      const launched = run(python, [file.path], { cwd: dir, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", PYTHONPATH: flupDir } });
      assert.equal(launched.status, 0, `${name}: ${launched.stderr}\n${file.text}`);
      const { keywords, status, body } = JSON.parse(launched.stdout);
      assert.deepEqual([status, body], ["200 OK", "hello\n"], name);
      const { settings } = recommendation;
      assert.deepEqual(keywords.bindAddress, ["127.0.0.1", 8000], name);
      assert.equal(keywords.maxChildren, settings.workers, name);
      assert.equal(keywords.maxRequests, settings.maxRequests, name);
      assert.equal(keywords.timeout, settings.timeoutSec, name);
      assert.deepEqual([keywords.minSpare, keywords.maxSpare], settings.minSpare === null ? [settings.workers, settings.workers] : [settings.minSpare, settings.maxSpare], name);
    }
  });
});

describe("balloon run / profile --settings: the JSON export taken back", () => {
  test("run uses the file's pool settings, the options typed win", async () => {
    const dir = scratchDir();
    const file = exportTo(dir, "json", baseRecommendation({ workers: 3, minSpare: 1, maxSpare: 2, maxRequests: 50, reloadOnRssMiB: 300, stackKiB: 256 }));
    const balloon = await startBalloon(["--settings", file.path, "--threads", "2"]);
    const start = await waitFor(() => balloon.records("start")[0], { what: "the recording's start line" });
    const { settings } = start;
    assert.deepEqual(
      [settings.workers, settings.minSpare, settings.maxSpare, settings.maxWorkers, settings.threads, settings.maxRequests, settings.maxRequestsJitter, settings.reloadOnRssMiB, settings.timeoutSec, settings.stackKiB, settings.preload],
      [null, 1, 2, 3, 2, 50, 10, 300, 30, 256, false],
    );
    assert.equal((await balloon.get("/ok")).status, 200);
    await balloon.stop();
  });

  test("a bad file stops run and profile before anything starts, naming the field", async () => {
    const dir = scratchDir();
    const bad = exportTo(dir, "json", baseRecommendation({ workers: 0 }));
    const requests = path.join(dir, "requests.txt");
    writeFileSync(requests, "GET /ok\n");
    for (const command of [["run"], ["profile", "--requests", requests]]) {
      const result = await runCli([...command, "--app", "app:application", "--cwd", faultsDir, "--python", python, "--settings", bad.path]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`balloon: --settings ${bad.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: settings\\.workers must be between 1 and 256, got 0`));
    }
    const missing = await runCli(["run", "--app", "app:application", "--cwd", faultsDir, "--settings", path.join(dir, "nope.json")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--settings .*nope\.json: no such file/);
  });
});
