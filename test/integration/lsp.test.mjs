// The language server over stdio, as the extension drives it, on the plain WSGI fixture app:
// run → traffic → warnings at the planted handlers' lines → code lenses (Deep dive among them) →
// a deep dive (each call told as it ends) → hover → recommend → export gunicorn → stop (warnings
// cleared, no Python process left); a requests file profiled and its recording opened read-only
// (a deep dive refused); an app that fails to import; and a crash of the app's Python master,
// which the session reports while the server goes on answering.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { descendants, killAll, parentOf, pidAlive, python, repoRoot, request, scratchDir, waitFor } from "./helpers/balloon.mjs";
import { LspClient, uriOf } from "./helpers/lsp-client.mjs";

const appDir = path.join(repoRoot, "test/fixtures/apps/wsgi_app");
const appFile = path.join(appDir, "app.py");
const appUri = uriOf(appFile);
const manifest = JSON.parse(readFileSync(path.join(appDir, "manifest.json"), "utf8"));
const planted = (route) => manifest.find((entry) => entry.route === route);
const BALLOON = planted("/balloon/large");
const INFLATE = planted("/inflate/large");
const HELLO = planted("/hello");

const runParams = (settings = {}) => ({
  app: { target: "app:application", cwd: appDir, framework: "auto", python, pythonWhy: "the test's" },
  settings: { workers: 2, port: 0, ...settings },
});

async function send(url, paths) {
  for (const p of paths) {
    const response = await request(Number(new URL(url).port), p);
    assert.equal(response.status, 200, `${p}: ${response.status}`);
  }
}

const repeat = (p, n) => Array.from({ length: n }, () => p);

/** Python processes under the server (the app's master and workers). */
const pythonsUnder = (pid) => descendants(pid).filter((child) => {
  try {
    return /python/.test(readFileSync(`/proc/${child}/cmdline`, "latin1"));
  } catch {
    return false;
  }
});

describe("balloon lsp --stdio", () => {
  let client;
  before(async () => {
    client = new LspClient({ diagnostics: { severity: "warning" }, keepResultsAfterStop: false });
    const init = await client.initialize();
    assert.equal(init.capabilities.hoverProvider, true);
    assert.ok(init.capabilities.codeLensProvider);
  });
  after(async () => {
    client?.kill();
    await killAll(); // the scratch dirs
  });

  test("run, traffic, warnings, lenses, deep dive, hover, recommend, export, stop", async () => {
    const started = Date.now();
    const status = await client.request("balloon/run", runParams());
    assert.equal(status.state, "starting");
    assert.match(status.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(status.pythonWhy, "the test's");
    await client.waitFor("balloon/statusChanged", (s) => s.sessionId === status.sessionId && s.state === "running");

    await send(status.url, [...repeat("/hello", 4), ...repeat(BALLOON.path, 12), ...repeat(INFLATE.path, 12)]);
    // A panel asking for the report between batches (as it does when it opens) must not swallow the next batch.
    assert.equal((await client.request("balloon/routes", { sessionId: status.sessionId })).totals.requests, 28);

    // Warnings come with the report batches (every 2 s): wait for both planted lines.
    const diagnostics = await client.waitFor("textDocument/publishDiagnostics", (p) => p.uri === appUri &&
      [BALLOON, INFLATE].every((entry) => p.diagnostics.some((d) => d.range.start.line === entry.handler.line - 1)));
    const at = (entry) => diagnostics.diagnostics.find((d) => d.range.start.line === entry.handler.line - 1);
    assert.equal(at(BALLOON).severity, 2, "a warning (the setting)");
    assert.match(at(BALLOON).message, /^GET \/balloon\/large balloons by \d+ MiB a call \(max \d+ MiB\) and keeps [\d.]+ MiB; peak \d+ MiB over 12 calls$/);
    assert.match(at(INFLATE).message, /^GET \/inflate\/large inflates each worker by [\d.]+ MiB; peak [\d.]+ MiB over 12 calls$/);
    assert.equal(diagnostics.diagnostics.some((d) => d.range.start.line === HELLO.handler.line - 1), false, "an ok route gets no warning");
    const peak = Number(/peak (\d+) MiB/.exec(at(BALLOON).message)[1]);
    assert.ok(peak >= 90 && peak <= 110, `the 96 MiB balloon's peak, got ${peak}`);

    const lenses = await client.request("textDocument/codeLens", { textDocument: { uri: appUri } });
    const lensAt = (entry) => lenses.find((lens) => lens.range.start.line === entry.handler.line - 1);
    assert.match(lensAt(BALLOON).command.title, /^peak \d+ MiB · retained [\d.]+ MiB · 12 calls · balloon$/);
    assert.match(lensAt(HELLO).command.title, /^peak [\d.]+ MiB · retained [\d.]+ MiB · 4 calls$/, "every observed handler has a lens");
    assert.equal(lensAt(BALLOON).command.command, "balloon.showPanel");
    // While the app runs, each handler's second lens dives into its route.
    const dives = lenses.filter((lens) => lens.command.command === "balloon.deepDive");
    assert.deepEqual(dives.find((lens) => lens.range.start.line === BALLOON.handler.line - 1)?.command.title, "Deep dive");
    assert.deepEqual(dives.find((lens) => lens.range.start.line === BALLOON.handler.line - 1).command.arguments, [{ sessionId: status.sessionId, method: "GET", route: BALLOON.route }]);
    assert.equal(dives.length, lenses.length / 2, "one Deep dive per observed handler");

    // The deep dive the lens asks for: the planted line on top, the report with it sent before the answer.
    const beforeDive = client.notifications.length;
    const dive = await client.request("balloon/deepDive", { sessionId: status.sessionId, method: "GET", route: BALLOON.route, calls: 3, frames: 40 });
    assert.deepEqual([dive.route, dive.calls, dive.orderedBy], [BALLOON.route, 3, "peak"]);
    assert.deepEqual({ file: dive.top[0].file, line: dive.top[0].line }, BALLOON.allocates, `the planted line first: ${JSON.stringify(dive.top[0])}`);
    assert.match(dive.top[0].code, /b"\\x01" \* \(96 \* MiB\)/);
    const withDive = client.notifications.slice(beforeDive).find((n) => n.method === "balloon/reportChanged" && n.params.report.deepDive);
    assert.equal(withDive?.params.report.deepDive.route, BALLOON.route, "the report with the dive came before the answer");
    const ended = client.notifications.slice(beforeDive).filter((n) => n.method === "balloon/deepDiveCall").map((n) => n.params);
    assert.deepEqual(ended.map((e) => [e.sessionId, e.method, e.route, e.done, e.total, e.status]), [1, 2, 3].map((done) => [status.sessionId, "GET", BALLOON.route, done, 3, 200]));
    assert.ok(ended.every((e) => e.durationMs > 0), "each call's time");
    await assert.rejects(client.request("balloon/deepDive", { sessionId: status.sessionId, route: "/nope" }),
      (error) => error.data?.problem === "unknown-route" && /\/nope/.test(error.message));

    const hover = await client.request("textDocument/hover", { textDocument: { uri: appUri }, position: { line: INFLATE.handler.line - 1, character: 4 } });
    assert.equal(hover.contents.kind, "markdown");
    assert.match(hover.contents.value, /`GET \/inflate\/large` — `app\.inflate_large`/);
    assert.match(hover.contents.value, /\*\*inflates\*\*: /);
    const nothing = await client.request("textDocument/hover", { textDocument: { uri: appUri }, position: { line: 0, character: 0 } });
    assert.equal(nothing, null);

    const routes = await client.request("balloon/routes", { sessionId: status.sessionId });
    assert.ok(routes.routes.find((r) => r.route === BALLOON.route).flags.includes("balloon"));
    const samples = await client.request("balloon/samples", { sessionId: status.sessionId });
    assert.ok(samples.samples.length > 0 && samples.events.some((e) => e.kind === "ready"));
    assert.ok(client.notifications.some((n) => n.method === "balloon/timeline" && n.params.samples.length > 0));

    // The replay runs in a worker thread: a status asked after it is answered before it.
    const order = [];
    const [recommendation] = await Promise.all([
      client.request("balloon/recommend", { sessionId: status.sessionId, budgetMiB: 1024 }).then((r) => (order.push("recommend"), r)),
      client.request("balloon/status", {}).then((r) => (order.push("status"), r)),
    ]);
    assert.deepEqual(order, ["status", "recommend"]);
    assert.equal(recommendation.budgetMiB, 1024);
    assert.ok(recommendation.settings.workers >= 1);
    const exported = await client.request("balloon/export", { sessionId: status.sessionId, budgetMiB: 1024, format: "gunicorn" });
    assert.equal(exported.fileName, "gunicorn.conf.py");
    assert.match(exported.text, new RegExp(`^workers = ${recommendation.settings.workers}$`, "m"));
    assert.match(exported.text, /^wsgi_app = "app:application"$/m);

    const pythons = pythonsUnder(client.pid);
    assert.ok(pythons.length >= 3, `master and 2 workers run, found ${pythons}`);
    const mark = client.notifications.length;
    const stopped = await client.request("balloon/stop", { sessionId: status.sessionId });
    assert.equal(stopped.state, "stopped");
    assert.deepEqual(pythonsUnder(client.pid), []);
    for (const pid of pythons) assert.equal(pidAlive(pid), false, `pid ${pid} left`);
    // keepResultsAfterStop false: the warnings go with the run.
    await client.waitFor("textDocument/publishDiagnostics", (p) => p.uri === appUri && p.diagnostics.length === 0, { from: mark });
    const after = await client.request("textDocument/codeLens", { textDocument: { uri: appUri } });
    assert.deepEqual(after, []);
    process.stdout.write(`# lsp round trip ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });

  test("profile a requests file, then open its recording read-only (no deep dive there)", async () => {
    const workspace = path.join(repoRoot, "test/fixtures/workspace");
    const recordPath = path.join(scratchDir(), "shop.balloon.jsonl");
    const profiled = await client.request("balloon/profileRequests", {
      app: { target: "app:app", cwd: workspace, framework: "auto", python, pythonWhy: "the test's" },
      settings: { workers: 2, port: 0 },
      requestsPath: path.join(workspace, "requests.txt"),
      recordPath,
    });
    assert.equal(profiled.state, "stopped");
    assert.equal(profiled.requests, 24);
    assert.equal(profiled.errors, 0);
    const opened = await client.request("balloon/openRecord", { path: recordPath });
    assert.deepEqual([opened.state, opened.readOnly, opened.requests, opened.url], ["stopped", true, 24, null]);
    const report = await client.request("balloon/routes", { sessionId: opened.sessionId });
    assert.deepEqual(report.routes.find((r) => r.route === "/export").flags, ["inflates"]);
    const timeline = await client.request("balloon/samples", { sessionId: opened.sessionId });
    assert.ok(timeline.events.filter((e) => e.kind === "ready").length >= 2);
    // Nothing runs a saved recording's calls again: a deep dive is refused, saying why.
    await assert.rejects(client.request("balloon/deepDive", { sessionId: opened.sessionId, method: "GET", route: "/export" }),
      /a deep dive needs the app running: Run App with Balloon first \(this is a saved recording\)$/);
    const exported = await client.request("balloon/export", { sessionId: opened.sessionId, format: "uwsgi" });
    assert.match(exported.text, /^module = app:app$/m);
  });

  test("a bad setting is refused with its name", async () => {
    await assert.rejects(client.request("balloon/run", runParams({ workers: 0 })), /workers must be between 1 and 256, got 0/);
  });

  test("an app that fails to import: the status says why, with the traceback, and nothing keeps running", async () => {
    const faults = path.join(repoRoot, "test/fixtures/apps/faults");
    const status = await client.request("balloon/run", { app: { target: "broken:application", cwd: faults, framework: "wsgi", python, pythonWhy: "the test's" }, settings: { workers: 1, port: 0 } });
    const failed = await client.waitFor("balloon/statusChanged", (s) => s.sessionId === status.sessionId && s.state === "failed" && s.failure);
    assert.match(failed.failure.message, /^the app failed to load: .*planted import failure in broken\.py/);
    assert.match(failed.failure.traceback, /Traceback[\s\S]*broken\.py/);
    await client.waitFor("balloon/statusChanged", (s) => s.sessionId === status.sessionId && s.state === "failed" && s.url === null && s.workers === 0);
    await waitFor(() => pythonsUnder(client.pid).length === 0, { what: "the failed app's processes gone" });
  });

  test("the app's master killed: the session says so, the server goes on", async () => {
    const status = await client.request("balloon/run", runParams({ workers: 1 }));
    const ready = await client.waitFor("balloon/timeline", (b) => b.sessionId === status.sessionId && b.events.some((e) => e.kind === "ready"));
    const worker = ready.events.find((e) => e.kind === "ready").pid;
    const master = parentOf(worker);
    assert.ok(pythonsUnder(client.pid).includes(master));
    const mark = client.notifications.length;
    process.kill(master, "SIGKILL");
    const log = await client.waitFor("balloon/log", (l) => l.sessionId === status.sessionId && l.level === "error" && /master/.test(l.message), { from: mark });
    assert.match(log.message, new RegExp(`pid ${master}.*SIGKILL|signal 9`));
    await client.waitFor("balloon/timeline", (b) => b.sessionId === status.sessionId && b.events.some((e) => e.kind === "crash" && e.pid === worker), { from: mark });
    // The pool brings a new master and worker up; the server answered all along.
    await client.waitFor("balloon/timeline", (b) => b.sessionId === status.sessionId && b.events.some((e) => e.kind === "ready" && e.pid !== worker), { from: mark });
    const statuses = await client.request("balloon/status", {});
    assert.equal(statuses.find((s) => s.sessionId === status.sessionId).state, "running");

    // shutdown stops every session before the server exits, cleanly.
    const running = pythonsUnder(client.pid);
    assert.ok(running.length >= 2, `the new master and worker, found ${running}`);
    const exit = await client.shutdown();
    assert.deepEqual(exit, { code: 0, signal: null });
    await waitFor(() => running.every((pid) => !pidAlive(pid)), { what: "no Python process left" });
  });
});
