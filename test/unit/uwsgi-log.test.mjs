// uWSGI's log read as Balloon's recording lines: every line below was captured from Debian's
// uWSGI 2.0.21 (--memory-report, --log-micros, --harakiri, threads, a segfault, a kill -9,
// reload-on-rss and max-requests recycles) serving the fixture apps; a few are given a syslog
// prefix, as journald or rsyslog would write them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { UwsgiLogConverter, parseCtime, parseUwsgiLine } from "../../out/test-build/record/uwsgi-log.js";

const REQUEST_MEM = "{address space usage: 64475136 bytes/61MB} {rss usage: 14192640 bytes/13MB} [pid: 12384|app: 0|req: 2/2] 127.0.0.1 () {24 vars in 266 bytes} [Tue Dec  1 23:59:04 2026] GET /leak/small => generated 13 bytes in 1 msecs (HTTP/1.1 200) 2 headers in 71 bytes (1 switches on core 0)";
const T_0459 = Date.UTC(2026, 11, 1, 23, 59, 4);

const LINES = [
  ["a request with --memory-report", REQUEST_MEM,
    { kind: "request", pid: 12384, addressSpaceBytes: 64475136, rssBytes: 14192640, t: T_0459, method: "GET", uri: "/leak/small", durationMs: 1, status: 200 }],
  ["an app error (500, no headers)", "{address space usage: 138649600 bytes/132MB} {rss usage: 13119488 bytes/12MB} [pid: 12194|app: 0|req: 2/2] 127.0.0.1 () {24 vars in 256 bytes} [Tue Dec  1 23:58:48 2026] GET /raise => generated 0 bytes in 0 msecs (HTTP/1.1 500) 0 headers in 0 bytes (0 switches on core 1)",
    { kind: "request", pid: 12194, addressSpaceBytes: 138649600, rssBytes: 13119488, t: Date.UTC(2026, 11, 1, 23, 58, 48), method: "GET", uri: "/raise", durationMs: 0, status: 500 }],
  ["--log-micros, an escaped query string", "{address space usage: 62976000 bytes/60MB} {rss usage: 12734464 bytes/12MB} [pid: 14550|app: 0|req: 1/1] 127.0.0.1 () {24 vars in 269 bytes} [Wed Dec  2 00:40:41 2026] GET /ok?x=%41%20b => generated 2 bytes in 280 micros (HTTP/1.1 200) 2 headers in 79 bytes (1 switches on core 0)",
    { kind: "request", pid: 14550, addressSpaceBytes: 62976000, rssBytes: 12734464, t: Date.UTC(2026, 11, 2, 0, 40, 41), method: "GET", uri: "/ok?x=%41%20b", durationMs: 0.28, status: 200 }],
  ["a POST, a 404", "{address space usage: 64610304 bytes/61MB} {rss usage: 14385152 bytes/13MB} [pid: 11423|app: 0|req: 4/7] 127.0.0.1 () {24 vars in 254 bytes} [Tue Dec  1 23:58:05 2026] POST /nope => generated 10 bytes in 0 msecs (HTTP/1.1 404) 1 headers in 52 bytes (1 switches on core 0)",
    { kind: "request", pid: 11423, addressSpaceBytes: 64610304, rssBytes: 14385152, t: Date.UTC(2026, 11, 1, 23, 58, 5), method: "POST", uri: "/nope", durationMs: 0, status: 404 }],
  ["without --memory-report", "[pid: 11422|app: 0|req: 1/1] 127.0.0.1 () {24 vars in 256 bytes} [Tue Dec  1 23:58:05 2026] GET /hello => generated 6 bytes in 0 msecs (HTTP/1.1 200) 2 headers in 64 bytes (1 switches on core 0)",
    { kind: "request", pid: 11422, addressSpaceBytes: null, rssBytes: null, t: Date.UTC(2026, 11, 1, 23, 58, 5), method: "GET", uri: "/hello", durationMs: 0, status: 200 }],
  ["behind a syslog prefix", `Dec  1 23:59:04 vm uwsgi[12382]: ${REQUEST_MEM}`,
    { kind: "request", pid: 12384, addressSpaceBytes: 64475136, rssBytes: 14192640, t: T_0459, method: "GET", uri: "/leak/small", durationMs: 1, status: 200 }],
  ["a worker spawned", "spawned uWSGI worker 2 (pid: 11423, cores: 1)", { kind: "spawned", worker: 2, pid: 11423, cores: 1 }],
  ["threads (cores)", "spawned uWSGI worker 1 (pid: 12193, cores: 2)", { kind: "spawned", worker: 1, pid: 12193, cores: 2 }],
  ["a worker respawned", "Respawned uWSGI worker 1 (new pid: 12474)", { kind: "spawned", worker: 1, pid: 12474, cores: 0 }],
  ["killed (kill -9, harakiri)", "DAMN ! worker 1 (pid: 12193) died, killed by signal 9 :( trying respawn ...", { kind: "died", worker: 1, pid: 12193, signal: 9 }],
  ["a segfault", "DAMN ! worker 2 (pid: 12194) died :( trying respawn ...", { kind: "died", worker: 2, pid: 12194, signal: null }],
  ["max-requests or reload-on-rss", "...The work of process 12384 is done. Seeya!", { kind: "done", pid: 12384 }],
  ["harakiri", "Wed Dec  2 00:40:44 2026 - *** HARAKIRI ON WORKER 1 (pid: 14550, try: 1) ***", { kind: "harakiri", worker: 1, pid: 14550 }],
  ["shutdown", "worker 1 buried after 1 seconds", { kind: "buried", worker: 1 }],
  ["start", "*** Starting uWSGI 2.0.21-debian (64bit) on [Tue Dec  1 23:58:02 2026] ***", { kind: "starting", version: "2.0.21-debian", t: Date.UTC(2026, 11, 1, 23, 58, 2) }],
  ["the host", "nodename: vm", { kind: "setting", name: "host", value: "vm" }],
  ["the app's directory", "chdir() to /work/wt/prodrec/test/fixtures/apps/wsgi_app", { kind: "setting", name: "cwd", value: "/work/wt/prodrec/test/fixtures/apps/wsgi_app" }],
  ["Python", "Python version: 3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]", { kind: "setting", name: "python", value: "3.11.2" }],
  ["a traceback line", '  File "/work/wt/prodrec/test/fixtures/apps/faults/app.py", line 44, in application', null],
  ["the app's exception", "ValueError: planted failure in /raise", null],
  ["harakiri's status lines", "Wed Dec  2 00:40:44 2026 - HARAKIRI [core 0] 127.0.0.1 - GET /hang since 1796172041", null],
  ["a killed worker's confirmation", "worker 1 killed successfully (pid: 12384)", null],
  ["a request line cut short", REQUEST_MEM.slice(0, 150), null],
];

for (const [name, line, want] of LINES) {
  test(`parseUwsgiLine: ${name}`, () => assert.deepEqual(parseUwsgiLine(line), want));
}

test("parseCtime: ctime's padded day, and not a date", () => {
  assert.equal(parseCtime("Tue Dec  1 23:58:05 2026"), Date.UTC(2026, 11, 1, 23, 58, 5));
  assert.equal(parseCtime("Wed Dec 24 01:02:03 2025"), Date.UTC(2025, 11, 24, 1, 2, 3));
  assert.ok(Number.isNaN(parseCtime("Tue Foo  1 23:58:05 2026")));
  assert.ok(Number.isNaN(parseCtime("yesterday")));
});

/** Request lines of one worker process: rss (MiB after), path, status. */
const request = (pid, rssMiB, uri, t = 0, status = 200) =>
  `{address space usage: ${(rssMiB + 50) * 1048576} bytes/1MB} {rss usage: ${rssMiB * 1048576} bytes/${rssMiB}MB} [pid: ${pid}|app: 0|req: 1/1] 127.0.0.1 () {24 vars in 256 bytes} [Tue Dec  1 23:58:0${t} 2026] GET ${uri} => generated 6 bytes in 3 msecs (HTTP/1.1 ${status}) 2 headers in 64 bytes (1 switches on core 0)`;

function convert(lines) {
  const out = [];
  const warnings = [];
  const converter = new UwsgiLogConverter({ add: (line) => out.push(line), warn: (text) => warnings.push(text) });
  for (const line of lines) {
    const event = parseUwsgiLine(line);
    if (event) converter.event(event);
  }
  return { out, warnings, summary: converter.summary(), requests: out.filter((l) => l.type === "request") };
}

test("converter: RSS before is the worker's previous RSS after, peak the larger; a worker's first request has none", () => {
  const { out, requests, summary } = convert([
    "nodename: web-1",
    "chdir() to /srv/app",
    "spawned uWSGI worker 1 (pid: 100, cores: 1)",
    "spawned uWSGI worker 2 (pid: 200, cores: 1)",
    request(100, 12, "/hello", 1),
    request(200, 12, "/hello", 1),
    request(100, 14, "/users/42?tab=x", 2),
    request(100, 13, "/users/9f86d081884c7d65", 3),
    request(200, 20, "/cache%20warm", 4, 500),
  ]);
  assert.deepEqual(out.slice(0, 4).map((l) => `${l.type}${l.event ? ` ${l.event} ${l.worker}/${l.pid}` : ""}`), ["start", "app", "worker forked 1/100", "worker forked 2/200"]);
  const start = out[0];
  assert.equal(start.run.cwd, "/srv/app");
  assert.equal(start.settings.workers, 2);
  assert.deepEqual(
    requests.map((l) => [l.worker, l.pid, l.seq, l.route, l.path, l.status, l.outcome, l.rssBeforeKiB, l.peakKiB, l.rssAfterKiB, l.concurrent]),
    [
      [1, 100, 1, "/hello", "/hello", 200, "ok", undefined, undefined, undefined, 1],
      [2, 200, 1, "/hello", "/hello", 200, "ok", undefined, undefined, undefined, 1],
      [1, 100, 2, "/users/<int>", "/users/42", 200, "ok", 12 * 1024, 14 * 1024, 14 * 1024, 1],
      [1, 100, 3, "/users/<id>", "/users/9f86d081884c7d65", 200, "ok", 14 * 1024, 14 * 1024, 13 * 1024, 1],
      [2, 200, 2, "/cache warm", "/cache warm", 500, "app-error", 12 * 1024, 20 * 1024, 20 * 1024, 1],
    ],
  );
  assert.equal(requests[2].vmSizeKiB, 64 * 1024);
  assert.equal(requests[2].durationMs, 3);
  assert.deepEqual(summary, { requests: 5, measured: 3, host: "web-1", version: "", threadedWorkers: 0 });
});

test("converter: a recycled, a crashed and a timed-out worker end with their reasons; the new pid starts a new series", () => {
  const { out, requests } = convert([
    "spawned uWSGI worker 1 (pid: 100, cores: 1)",
    request(100, 12, "/leak", 1),
    request(100, 14, "/leak", 2),
    "...The work of process 100 is done. Seeya!",
    "Respawned uWSGI worker 1 (new pid: 101)",
    request(101, 12, "/leak", 3),
    "DAMN ! worker 1 (pid: 101) died, killed by signal 9 :( trying respawn ...",
    "Respawned uWSGI worker 1 (new pid: 102)",
    "*** HARAKIRI ON WORKER 1 (pid: 102, try: 1) ***",
    "DAMN ! worker 1 (pid: 102) died, killed by signal 9 :( trying respawn ...",
  ]);
  const ends = out.filter((l) => l.type === "worker" && l.event !== "forked").map((l) => [l.event, l.pid, l.reason]);
  assert.deepEqual(ends, [["exit", 100, "shutdown"], ["crash", 101, "crash"], ["crash", 102, "timeout"]]);
  assert.equal(out.find((l) => l.pid === 100 && l.event === "exit").rssKiB, 14 * 1024);
  // 101's first request has no RSS before: it is not 100's.
  assert.deepEqual(requests.map((l) => [l.pid, l.rssBeforeKiB]), [[100, undefined], [100, 12 * 1024], [101, undefined]]);
});

test("converter: threaded workers' requests are shared; a log without spawn lines numbers its pids from 1001", () => {
  const { requests, summary } = convert([
    "spawned uWSGI worker 1 (pid: 100, cores: 2)",
    request(100, 12, "/a", 1),
    request(100, 13, "/b", 2),
    "DAMN ! worker 1 (pid: 100) died, killed by signal 9 :( trying respawn ...",
    "Respawned uWSGI worker 1 (new pid: 101)",
    request(101, 12, "/a", 3),
    request(300, 12, "/a", 3),
    request(400, 12, "/a", 4),
  ]);
  // The respawned worker 1 keeps its 2 threads (the respawn line does not repeat them).
  assert.deepEqual(requests.map((l) => [l.worker, l.pid, l.concurrent]), [[1, 100, 2], [1, 100, 2], [1, 101, 2], [1001, 300, 1], [1002, 400, 1]]);
  assert.equal(summary.threadedWorkers, 2, "processes 100 and 101");
});
