// Exporters (profiler/recommend/exporters): each server's file from the Recommendation
// fixtures (fixed pool, dynamic pool, threads, recycling off, preload), line by line. The real
// servers check the same files in test/integration/exporters.test.mjs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";

import { EXPORTERS, EXPORT_FORMATS, ExportError, isExportFormat } from "../../out/test-build/recommend/exporters/index.js";
import { FLUP_KEYWORDS } from "../../out/test-build/recommend/exporters/flup.js";
import { hardRssCeilingMiB, parseBind } from "../../out/test-build/recommend/exporters/common.js";
import { EXPORT_OPTIONS, VARIANTS, baseRecommendation } from "./helpers/recommendations.mjs";

const exported = (format, recommendation, options = {}) => EXPORTERS[format](recommendation, { ...EXPORT_OPTIONS, ...options });
const lines = (text) => text.split("\n");

/** Each line must be in the text as a whole line; `absent` lines must not be. */
function assertLines(text, present, absent = [], label = "") {
  const all = new Set(lines(text).map((line) => line.trim()));
  for (const line of present) assert.ok(all.has(line), `${label}: missing line "${line}" in:\n${text}`);
  for (const line of absent) {
    const found = line instanceof RegExp ? lines(text).some((l) => line.test(l)) : all.has(line);
    assert.ok(!found, `${label}: unexpected line ${line} in:\n${text}`);
  }
}

// [format, variant, lines present, lines absent]
const CASES = [
  ["gunicorn", "fixed", ["workers = 3", "threads = 1", "max_requests = 100", "max_requests_jitter = 10", "timeout = 30", "preload_app = False", "threading.stack_size(512 * 1024)", "RELOAD_ON_RSS_MIB = 160", "def post_request(worker, req, environ, resp):", "worker.alive = False", 'wsgi_app = "app:application"', 'bind = "127.0.0.1:8000"', 'chdir = "/srv/app"'], ['worker_class = "gthread"']],
  ["gunicorn", "dynamic", ["workers = 6"], [/^cheaper/]],
  ["gunicorn", "threaded", ["workers = 2", "threads = 4", 'worker_class = "gthread"', "# SQLAlchemy: create_engine(url, pool_size=4, max_overflow=2)"], []],
  ["gunicorn", "recyclingOff", ["max_requests = 0", "# Recycling by RSS is off (reloadOnRssMiB 0): no post_request hook."], [/^max_requests_jitter/, /^RELOAD_ON_RSS_MIB/, /^def post_request/]],
  ["gunicorn", "preload", ["preload_app = True"], []],

  ["uwsgi", "fixed", ["[uwsgi]", "plugins = python3", "master = true", "module = app:application", "chdir = /srv/app", "http-socket = 127.0.0.1:8000", "processes = 3", "threads = 1", "max-requests = 100", "reload-on-rss = 160", "evil-reload-on-rss = 282", "min-worker-lifetime = 10", "harakiri = 30", "lazy-apps = true", "die-on-term = true"], [/^cheaper/, /^enable-threads/, /^thread-stacksize/, /^max-requests-delta/]],
  ["uwsgi", "dynamic", ["processes = 6", "cheaper = 1", "cheaper-initial = 1", "cheaper-step = 1"], []],
  ["uwsgi", "threaded", ["processes = 2", "threads = 4", "enable-threads = true", "thread-stacksize = 512"], [/^cheaper/]],
  ["uwsgi", "recyclingOff", ["# Recycling by request count is off (maxRequests 0).", "# Recycling by RSS is off (reloadOnRssMiB 0)."], [/^max-requests/, /^reload-on-rss/, /^evil-reload-on-rss/, /^min-worker-lifetime/]],
  ["uwsgi", "preload", [], [/^lazy-apps/]],

  ["mod_wsgi", "fixed", ["WSGIDaemonProcess app \\", "processes=3 \\", "threads=1 \\", "maximum-requests=100 \\", "inactivity-timeout=300 \\", "request-timeout=30 \\", "stack-size=524288 \\", "python-path=/srv/app", "WSGIProcessGroup app", "WSGIScriptAlias / /srv/app/app.py process-group=app application-group=%{GLOBAL}", "<Directory /srv/app>", "Require all granted"], [/^\s*memory-limit=/, /graceful-timeout/, /^WSGICallableObject/]],
  ["mod_wsgi", "dynamic", ["processes=6 \\"], []],
  ["mod_wsgi", "threaded", ["processes=2 \\", "threads=4 \\", "graceful-timeout=30 \\"], []],
  ["mod_wsgi", "recyclingOff", [], [/maximum-requests=/, /memory-limit=\d/]],

  ["apache", "fixed", ["<IfModule mpm_prefork_module>", "StartServers            3", "MinSpareServers         1", "MaxSpareServers         3", "MaxRequestWorkers       3", "MaxConnectionsPerChild  100"], [/mpm_event_module/, /^\s*ThreadStackSize/, /^\s*ServerLimit/]],
  ["apache", "dynamic", ["StartServers            1", "MinSpareServers         1", "MaxSpareServers         3", "MaxRequestWorkers       6"], []],
  ["apache", "threaded", ["<IfModule mpm_event_module>", "<IfModule mpm_worker_module>", "StartServers            2", "ServerLimit             16", "ThreadsPerChild         4", "MinSpareThreads         4", "MaxSpareThreads         9", "MaxRequestWorkers       8", "ThreadStackSize         524288"], [/mpm_prefork_module/]],
  ["apache", "recyclingOff", ["MaxConnectionsPerChild  0"], []],

  ["flup", "fixed", ["#!/usr/bin/python3", "from flup.server.fcgi_fork import WSGIServer  # noqa: E402", 'sys.path.insert(0, "/srv/app")', 'bindAddress=("127.0.0.1", 8000),', "minSpare=3,", "maxSpare=3,", "maxChildren=3,", "maxRequests=100,", "timeout=30,", "def application(environ, start_response):", "threading.stack_size(512 * 1024)"], [/^from app import/]],
  ["flup", "dynamic", ["minSpare=1,", "maxSpare=3,", "maxChildren=6,"], []],
  ["flup", "threaded", ["maxChildren=2,"], []],
  ["flup", "recyclingOff", ["maxRequests=0,", "# 0: never recycle a child by count."], []],
  ["flup", "preload", ["from app import application as application"], [/^def application/]],

  ["systemd", "fixed", ["[Service]", "MemoryHigh=600M", "MemoryMax=720M", "LimitSTACK=512K"], []],
  ["kubernetes", "fixed", ["resources:", "requests:", "limits:", "memory: 600Mi", "memory: 720Mi"], []],
];

test("each exporter maps each pool shape to its server's lines", () => {
  for (const [format, variant, present, absent] of CASES) {
    assertLines(exported(format, VARIANTS[variant]()).text, present, absent, `${format}/${variant}`);
  }
});

test("every file but the JSON starts with what it was measured from, as comments", () => {
  for (const format of EXPORT_FORMATS.filter((f) => f !== "json")) {
    for (const [variant, make] of Object.entries(VARIANTS)) {
      const { text } = exported(format, make());
      const head = lines(text).slice(format === "flup" ? 1 : 0, 6);
      assert.ok(head.every((line) => line.startsWith("#")), `${format}/${variant}: header lines are comments:\n${head.join("\n")}`);
      const header = head.join(" ");
      for (const needle of ["app:application", "/tmp/record.jsonl", "1200 requests", "2026-07-01T10:00:00.000Z", "Memory budget 768 MiB (--memory-budget)", "worst case 612 MiB: fits"]) {
        assert.ok(header.includes(needle), `${format}/${variant}: header lacks "${needle}":\n${header}`);
      }
      assert.match(text, /Warning: \/balloon\/large peaks at 96 MiB: fix it first\./);
    }
  }
  assert.match(exported("systemd", { ...VARIANTS.fixed(), fits: false }).text, /worst case 612 MiB: DOES NOT FIT/);
});

// The settings each server has a place for: their reasons must be in its file.
const REASONS_CARRIED = {
  gunicorn: ["workers", "threads", "maxRequests", "maxRequestsJitter", "timeoutSec", "preload", "stackKiB", "reloadOnRssMiB", "dbPoolSize", "dbMaxOverflow"],
  uwsgi: ["workers", "threads", "maxRequests", "reloadOnRssMiB", "timeoutSec", "preload", "dbPoolSize", "dbMaxOverflow"],
  mod_wsgi: ["workers", "threads", "maxRequests", "timeoutSec", "stackKiB"],
  apache: ["workers", "maxRequests"],
  flup: ["workers", "maxRequests", "timeoutSec", "stackKiB", "preload"],
  systemd: ["memoryHighMiB", "memoryMaxMiB", "stackKiB"],
  kubernetes: ["memoryHighMiB", "memoryMaxMiB"],
};

test("each value carries its reason as a comment", () => {
  for (const [format, settings] of Object.entries(REASONS_CARRIED)) {
    const recommendation = VARIANTS.fixed();
    const comments = lines(exported(format, recommendation).text).filter((line) => line.trim().startsWith("#")).map((line) => line.trim().replace(/^#\s?/, "")).join(" ");
    for (const setting of settings) {
      assert.ok(comments.includes(recommendation.reasons[setting]), `${format}: no comment with the reason for ${setting} ("${recommendation.reasons[setting]}")`);
    }
  }
  const dynamic = VARIANTS.dynamic();
  for (const format of ["uwsgi", "apache", "flup"]) {
    const text = exported(format, dynamic).text.replace(/\n\s*#\s?/g, " ");
    for (const setting of ["minSpare", "maxSpare"]) assert.ok(text.includes(dynamic.reasons[setting]), `${format}: no reason for ${setting}`);
  }
  assert.ok(exported("uwsgi", VARIANTS.threaded()).text.includes(VARIANTS.threaded().reasons.stackKiB));
  assert.ok(exported("apache", VARIANTS.threaded()).text.includes(VARIANTS.threaded().reasons.stackKiB));
});

test("what a server cannot do is said, not written as a setting", () => {
  const fixed = VARIANTS.fixed();
  assert.match(exported("uwsgi", fixed).text, /# Not applied: a jitter of up to 10 requests \(uWSGI 2\.0 has no max-requests-delta/);
  const modWsgi = exported("mod_wsgi", fixed).text;
  assert.match(modWsgi, /# memory-limit is not set: mod_wsgi passes it to setrlimit\(RLIMIT_DATA\)/);
  assert.match(modWsgi, new RegExp(`# A hard cap where a failed allocation is acceptable: memory-limit=${hardRssCeilingMiB(fixed) * 1024 * 1024} `));
  assert.match(modWsgi, /no jitter in\s+(# )?mod_wsgi/);
  assert.match(exported("apache", fixed).text, /# Apache has no RSS-based recycle/);
  const flup = exported("flup", VARIANTS.threaded()).text;
  assert.match(flup, /# Not applied: 4 threads per worker/);
  assert.match(flup, /# Not applied: recycling at 160 MiB RSS/);
  assert.match(exported("gunicorn", VARIANTS.dynamic()).text, /# gunicorn's pool is fixed/);
});

test("uWSGI's hard ceiling sits above reload-on-rss by the biggest request, plus 10%", () => {
  assert.equal(hardRssCeilingMiB(VARIANTS.fixed()), Math.ceil((160 + 96) * 1.1));
  assert.equal(hardRssCeilingMiB(VARIANTS.recyclingOff()), 0);
  const dynamicTiny = baseRecommendation({ workers: 1, minSpare: 1, maxSpare: 1 });
  assertLines(exported("uwsgi", dynamicTiny).text, ["processes = 1"], [/^cheaper/], "uwsgi: a dynamic pool of 1");
});

test("flup: the keywords are the ones read in flup's source (fcgi_fork.py, preforkserver.py) and all are passed", () => {
  // flup-py3 (pquentin/flup-py3 at bde686eb): WSGIServer(application, environ=None, bindAddress=None,
  // umask=None, multiplexed=False, debug=False, roles=..., forceCGI=False, timeout=None, **kw) and
  // PreforkServer(minSpare=1, maxSpare=5, maxChildren=50, maxRequests=0, sockTimeout=0, ...).
  assert.deepEqual([...FLUP_KEYWORDS], ["bindAddress", "minSpare", "maxSpare", "maxChildren", "maxRequests", "timeout"]);
  const text = exported("flup", VARIANTS.fixed()).text;
  const passed = [...text.matchAll(/^ {8}(\w+)=/gm)].map((match) => match[1]);
  assert.deepEqual(passed, [...FLUP_KEYWORDS]);
  // minSpare 0 is refused by flup ("minSpare must be at least 1!"): written as 1.
  assertLines(exported("flup", baseRecommendation({ workers: 4, minSpare: 0, maxSpare: 2 })).text, ["minSpare=1,", "maxSpare=2,", "# flup needs at least 1."]);
  assertLines(exported("flup", VARIANTS.fixed(), { bind: "unix:/run/app.sock" }).text, ['bindAddress="/run/app.sock",']);
  assertLines(exported("flup", VARIANTS.fixed(), { bind: "[::1]:9000" }).text, ['bindAddress=("::1", 9000, 0, 0),']);
});

test("kubernetes: the YAML parses and carries requests.memory / limits.memory in Mi", () => {
  for (const [variant, make] of Object.entries(VARIANTS)) {
    const recommendation = make();
    const doc = parse(exported("kubernetes", recommendation).text);
    assert.deepEqual(doc, { resources: { requests: { memory: `${recommendation.settings.memoryHighMiB}Mi` }, limits: { memory: `${recommendation.settings.memoryMaxMiB}Mi` } } }, variant);
  }
  const fractional = parse(exported("kubernetes", baseRecommendation({ memoryHighMiB: 600.7, memoryMaxMiB: 0 })).text);
  assert.deepEqual(fractional, { resources: { requests: { memory: "600Mi" } } });
});

test("json: the Recommendation itself, keys in the model's order whatever the order built in", () => {
  const recommendation = VARIANTS.dynamic();
  const { fileName, text } = exported("json", recommendation);
  assert.equal(fileName, "recommendation.json");
  assert.deepEqual(JSON.parse(text), recommendation);
  const shuffled = Object.fromEntries(Object.entries({ ...recommendation, settings: Object.fromEntries(Object.entries(recommendation.settings).reverse()) }).reverse());
  assert.equal(exported("json", shuffled).text, text);
  assert.deepEqual(Object.keys(JSON.parse(text)).slice(0, 4), ["version", "source", "budgetMiB", "budgetSource"]);
  assert.deepEqual(Object.keys(JSON.parse(text).settings).slice(0, 3), ["workers", "minSpare", "maxSpare"]);
  // A field the model does not name is kept, after the named ones.
  assert.deepEqual(Object.keys(JSON.parse(exported("json", { ...recommendation, extra: 1 }).text)).slice(-2), ["measured", "extra"]);
});

test("text from the recording cannot leave its comment, and bad options are refused", () => {
  for (const format of EXPORT_FORMATS.filter((f) => f !== "json")) {
    const recommendation = VARIANTS.fixed();
    recommendation.reasons[REASONS_CARRIED[format][0]] = "3 workers\nworkers = 99\r\n[uwsgi]";
    recommendation.source.app = "app\nbind = 0.0.0.0:80";
    const text = exported(format, recommendation).text;
    const settingLines = lines(text).filter((line) => !line.trim().startsWith("#"));
    assert.ok(!settingLines.some((line) => /workers = 99|bind = 0\.0\.0\.0/.test(line)), `${format}:\n${text}`);
    assert.ok(settingLines.filter((line) => line === "[uwsgi]").length <= 1, `${format}:\n${text}`);
    assert.match(text, /3 workers\\x0aworkers = 99/);
  }
  const refused = [
    [{ app: "app" }, /"module:callable"/],
    [{ app: "app:create_app()" }, /"module:callable"/],
    [{ app: "my app:application" }, /"module:callable"/],
    [{ bind: "0.0.0.0" }, /HOST:PORT or unix:PATH/],
    [{ bind: "127.0.0.1:70000" }, /HOST:PORT or unix:PATH/],
    [{ bind: "unix:relative.sock" }, /absolute path/],
    [{ appDir: "/srv/app\nplugins = evil" }, /control characters/],
  ];
  for (const [options, message] of refused) {
    for (const format of ["gunicorn", "uwsgi", "flup"]) {
      assert.throws(() => exported(format, VARIANTS.fixed(), options), (error) => error instanceof ExportError && message.test(error.message), `${format} ${JSON.stringify(options)}`);
    }
  }
  assert.deepEqual(parseBind("[::1]:8000"), { kind: "tcp", host: "::1", port: 8000 });
  assert.equal(isExportFormat("gunicorn"), true);
  assert.equal(isExportFormat("toString"), false);
});

test("mod_wsgi: a callable not named application, a package module, a path with spaces", () => {
  const text = exported("mod_wsgi", VARIANTS.fixed(), { app: "mysite.wsgi:app", appDir: "/srv/my site/" }).text;
  assertLines(text, ["WSGIDaemonProcess mysite \\", '"python-path=/srv/my site"', 'WSGIScriptAlias / "/srv/my site/mysite/wsgi.py" process-group=mysite application-group=%{GLOBAL}', "WSGICallableObject app", '<Directory "/srv/my site">']);
});

test("every format has an exporter, and each exporter is deterministic", () => {
  assert.deepEqual(EXPORT_FORMATS, ["gunicorn", "uwsgi", "mod_wsgi", "apache", "flup", "systemd", "kubernetes", "json"]);
  for (const format of EXPORT_FORMATS) assert.equal(exported(format, VARIANTS.threaded()).text, exported(format, VARIANTS.threaded()).text);
});

test("gunicorn --record-to: the recorder's hooks and constants, one post_request that records and then checks the RSS limit", () => {
  const hooks = ["def post_worker_init(worker):", "def pre_request(worker, req):", "def worker_abort(worker):", "def worker_exit(server, worker):", "def post_request(worker, req, environ, resp):"];
  const withLimit = exported("gunicorn", VARIANTS.fixed(), { recordTo: "/var/log/balloon" }).text;
  assertLines(withLimit, [...hooks, 'RECORD_TO = "/var/log/balloon"', "RECORD_MAX_BYTES = 64 * 1048576", "RELOAD_ON_RSS_MIB = 160", "rss_kib = _recorder.end(req, environ, resp) if _recorder is not None else None", '_recorder.exit_reason = "rss-limit"', "worker.alive = False"], [], "fixed + recorder");
  assert.equal(withLimit.split("\n").filter((line) => line.startsWith("def post_request(")).length, 1, "one post_request");
  assert.equal(withLimit.split("\n").filter((line) => line.startsWith("RELOAD_ON_RSS_MIB = ")).length, 1);
  // The request line's format names every field the reader requires of a request line.
  for (const field of ["type", "t", "worker", "pid", "seq", "method", "route", "outcome", "durationMs"]) assert.match(withLimit, new RegExp(`_REQUEST_LINE = \\([^)]*"${field}":`), field);

  const recordOnly = exported("gunicorn", VARIANTS.recyclingOff(), { recordTo: "rec" }).text;
  assertLines(recordOnly, [...hooks, 'RECORD_TO = "rec"', "# Recycling by RSS is off (reloadOnRssMiB 0): post_request only records.", "_recorder.end(req, environ, resp)"], [/^RELOAD_ON_RSS_MIB/, /rss-limit/], "recyclingOff + recorder");

  const without = exported("gunicorn", VARIANTS.fixed()).text;
  assertLines(without, ["def post_request(worker, req, environ, resp):"], [/^RECORD_TO/, /^def pre_request/, /^def post_worker_init/, /_recorder/], "fixed, no recorder");
});

test("gunicorn --record-to: a directory with control characters cannot break out of its string", () => {
  assert.throws(() => exported("gunicorn", VARIANTS.fixed(), { recordTo: "/tmp/x\nimport os; os.system('id')" }), (error) => error instanceof ExportError && /--record-to directory holds control characters/.test(error.message));
  assertLines(exported("gunicorn", VARIANTS.fixed(), { recordTo: '/tmp/a "b" \\c' }).text, ['RECORD_TO = "/tmp/a \\"b\\" \\\\c"']);
});
