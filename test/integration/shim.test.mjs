// The Python shim (profiler/shim/balloon_shim) against a fake supervisor socket:
// real /usr/bin/python3 processes, frames checked against shim-protocol.ts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { ExitCode, FakeSupervisor, Frame, fixturesDir, shimConfig, spawnShim, startWorker, stopWorker } from "./helpers/frames.mjs";

const MiB = 1024;

describe("shim worker, plain WSGI", () => {
  let supervisor, worker;
  before(async () => {
    supervisor = await FakeSupervisor.start();
    worker = await startWorker(supervisor);
  });
  after(async () => {
    worker.child.kill("SIGKILL");
    await supervisor.close();
  });

  test("Hello carries the pid, the app and a memory snapshot", () => {
    const { hello, child } = worker;
    assert.equal(hello.role, "worker");
    assert.equal(hello.workerId, 1);
    assert.equal(hello.pid, child.pid);
    assert.equal(hello.app.framework, "wsgi");
    assert.equal(hello.app.target, "app:application");
    assert.match(hello.app.pythonVersion, /^3\.\d+\.\d+/);
    assert.ok(hello.memory.rssKiB > 1000 && hello.memory.vmSizeKiB >= hello.memory.rssKiB);
    assert.ok(hello.memory.pssKiB > 0 && hello.memory.ussKiB > 0);
    assert.equal(typeof hello.stackLimitKiB, "number");
    assert.equal(hello.threadStackKiB, 0);
  });

  test("plain WSGI: a view reached through a routing table is the handler; helpers called by name are not", async () => {
    const routed = await worker.conn.request(90, "GET", "/routed");
    assert.equal(routed.body.toString(), "routed");
    assert.deepEqual(routed.stats.handler, { qualname: "app.routed_view", file: "app.py", line: 85 });
    const again = await worker.conn.request(91, "GET", "/routed");
    assert.deepEqual(again.stats.handler, routed.stats.handler, "cached after the first call");
    const helper = await worker.conn.request(92, "GET", "/pid");
    assert.deepEqual(helper.stats.handler, { qualname: "app.application", file: "app.py", line: 5 }, "_text() is a helper, not a view");
  });

  test("a list response comes as one FullResponse with stats", async () => {
    const res = await worker.conn.request(1, "GET", "/hello");
    assert.equal(res.streamed, false);
    assert.equal(res.status, "200 OK");
    assert.deepEqual(res.headers, [["Content-Type", "text/plain"]]);
    assert.equal(res.body.toString(), "Hello, world!");
    const s = res.stats;
    assert.equal(s.route, "/hello");
    assert.deepEqual(s.handler, { qualname: "app.application", file: "app.py", line: 5 });
    for (const key of ["rssBeforeKiB", "peakKiB", "rssAfterKiB", "vmSizeKiB", "ussKiB", "pssKiB"]) {
      assert.ok(s[key] > 0, `${key} = ${s[key]}`);
    }
    assert.ok(s.peakKiB >= s.rssAfterKiB);
    assert.equal(s.concurrent, 1);
    assert.ok(s.durationMs >= 0);
    assert.equal(s.error, undefined);
  });

  test("the peak of a transient 40 MiB balloon is seen, and given back", async () => {
    const res = await worker.conn.request(2, "GET", "/big");
    const s = res.stats;
    const balloon = s.peakKiB - s.rssBeforeKiB;
    assert.ok(Math.abs(balloon - 40 * MiB) < 4 * MiB, `peak - rssBefore = ${balloon} KiB`);
    assert.ok(s.rssAfterKiB - s.rssBeforeKiB < 4 * MiB, `kept ${s.rssAfterKiB - s.rssBeforeKiB} KiB`);
    // The next request starts from a reset high-water mark.
    const next = await worker.conn.request(3, "GET", "/hello");
    assert.ok(next.stats.peakKiB - next.stats.rssBeforeKiB < 4 * MiB);
  });

  test("a generator response is streamed: ResponseStart, Body, ResponseEnd", async () => {
    const res = await worker.conn.request(4, "GET", "/stream");
    assert.equal(res.streamed, true);
    assert.equal(res.status, "200 OK");
    assert.equal(res.body.toString(), "chunk 0\nchunk 1\nchunk 2\n");
    assert.equal(res.bodyFrames, 3, "each chunk goes out as the app yields it (no holding back a slow stream)");
    assert.equal(res.stats.route, "/stream");
    assert.ok(res.stats.peakKiB > 0);
  });

  test("an exception before the headers gives a 500, the error in stats and a Log frame", async () => {
    const res = await worker.conn.request(5, "GET", "/boom");
    assert.equal(res.status, "500 Internal Server Error");
    assert.equal(res.body.toString(), "Internal Server Error");
    assert.equal(res.stats.error.type, "ValueError");
    assert.match(res.stats.error.traceback, /planted failure/);
    const log = (await worker.conn.next(Frame.Log)).json();
    assert.equal(log.level, "error");
    assert.equal(log.id, 5);
    assert.match(log.message, /ValueError: planted failure/);
    // and the worker keeps serving
    assert.equal((await worker.conn.request(6, "GET", "/hello")).status, "200 OK");
  });

  test("an exception mid-stream ends the stream with the error", async () => {
    const res = await worker.conn.request(7, "GET", "/late-boom");
    assert.equal(res.streamed, true);
    assert.equal(res.body.length, 100 << 10);
    assert.equal(res.stats.error.type, "RuntimeError");
    await worker.conn.next(Frame.Log);
  });

  test("the write() callable streams, exc_info replaces headers not yet sent", async () => {
    const written = await worker.conn.request(12, "GET", "/write");
    assert.equal(written.streamed, true);
    assert.equal(written.body.toString(), "written then returned");
    const replaced = await worker.conn.request(13, "GET", "/exc-info");
    assert.equal(replaced.status, "503 Service Unavailable");
    assert.deepEqual(replaced.headers, [["Retry-After", "1"]]);
    assert.equal(replaced.stats.error, undefined);
  });

  test("body, percent-decoded path, query and content length reach the app", async () => {
    const body = Buffer.from("é payload \n with newline");
    const res = await worker.conn.request(8, "POST", "/ech%6F", {
      query: "a=1&b=%20",
      headers: [["Content-Length", String(body.length)], ["Content-Type", "text/plain"]],
      body,
    });
    assert.deepEqual(res.body, body);
    const headers = Object.fromEntries(res.headers);
    assert.equal(headers["X-Path"], "/echo");
    assert.equal(headers["X-Query"], "a=1&b=%20");
    assert.equal(headers["X-Length"], String(body.length));
  });

  test("a body larger than the read buffer arrives whole, and requests may be pipelined", async () => {
    const body = Buffer.alloc(3 << 20, "abc");
    const [big, small] = await Promise.all([
      worker.conn.request(14, "PUT", "/echo", { body }),
      worker.conn.request(15, "GET", "/hello"),
    ]);
    assert.ok(big.body.equals(body));
    assert.equal(small.body.toString(), "Hello, world!");
  });

  test("the environ follows PEP 3333", async () => {
    const res = await worker.conn.request(9, "GET", "/environ", {
      headers: [["Host", "example.test"], ["X-Dup", "a"], ["x-dup", "b"], ["X_Sneaky", "1"], ["Content-Type", "text/x"]],
    });
    const env = Object.fromEntries(res.body.toString("latin1").split("\n").map((l) => l.split(/=(.*)/s).slice(0, 2)));
    assert.equal(env.REQUEST_METHOD, "GET");
    assert.equal(env.SCRIPT_NAME, "");
    assert.equal(env.SERVER_NAME, "127.0.0.1");
    assert.equal(env.SERVER_PORT, "8123");
    assert.equal(env.SERVER_PROTOCOL, "HTTP/1.1");
    assert.equal(env.REMOTE_ADDR, "127.0.0.1");
    assert.equal(env.REMOTE_PORT, "50000");
    assert.equal(env.HTTP_HOST, "example.test");
    assert.equal(env.HTTP_X_DUP, "a,b");
    assert.equal(env.CONTENT_TYPE, "text/x");
    assert.equal(env.HTTP_CONTENT_TYPE, undefined);
    assert.equal(env.HTTP_X_SNEAKY, undefined);
    assert.equal(env.multithread, "False");
  });

  test("wsgi.errors lines become Log frames", async () => {
    await worker.conn.request(10, "GET", "/log");
    const first = (await worker.conn.next(Frame.Log)).json();
    const second = (await worker.conn.next(Frame.Log)).json();
    assert.deepEqual([first.message, second.message], ["first line", "second line"]);
    assert.equal(first.id, 10);
  });

  test("plain WSGI routes fold ids", async () => {
    const res = await worker.conn.request(11, "GET", "/users/42/orders/123e4567-e89b-12d3-a456-426614174000");
    assert.equal(res.stats.route, "/users/<int>/orders/<id>");
  });

  test("Stop makes the worker exit 0", async () => {
    assert.deepEqual(await stopWorker(worker), { code: ExitCode.Ok, signal: null });
  });
});

describe("shim worker, lifecycle", () => {
  let supervisor;
  before(async () => (supervisor = await FakeSupervisor.start()));
  after(() => supervisor.close());

  test("an app that fails to import gives Fatal and exit code AppLoadError", async () => {
    const child = spawnShim("worker", supervisor, shimConfig({ target: "broken:application" }));
    const conn = await supervisor.nextConnection();
    const fatal = (await conn.next(Frame.Fatal)).json();
    assert.equal(fatal.stage, "import");
    assert.equal(fatal.message, "ImportError: planted import failure");
    assert.match(fatal.traceback, /broken\.py/);
    assert.equal((await child.exited).code, ExitCode.AppLoadError);
  });

  test("a missing callable gives Fatal and exit code AppLoadError", async () => {
    const child = spawnShim("worker", supervisor, shimConfig({ target: "app:nothing_here" }));
    const conn = await supervisor.nextConnection();
    assert.match((await conn.next(Frame.Fatal)).json().message, /has no nothing_here/);
    assert.equal((await child.exited).code, ExitCode.AppLoadError);
  });

  test("closing the socket makes the worker exit SupervisorGone", async () => {
    const { child, conn } = await startWorker(supervisor);
    conn.close();
    assert.equal((await child.exited).code, ExitCode.SupervisorGone);
  });

  test("bad environment exits Usage", async () => {
    const child = spawnShim("worker", supervisor, shimConfig({}), { env: { BALLOON_CONFIG: "{" } });
    assert.equal((await child.exited).code, ExitCode.Usage);
    assert.match(child.stderrText, /not JSON/);
  });

  test("stackKiB sets RLIMIT_STACK before start and the thread stack size", async () => {
    const worker = await startWorker(supervisor, { stackKiB: 512 });
    assert.equal(worker.hello.stackLimitKiB, 512);
    assert.equal(worker.hello.threadStackKiB, 512);
    assert.equal(worker.hello.pid, worker.child.pid, "re-exec keeps the pid");
    const limits = readFileSync(`/proc/${worker.child.pid}/limits`, "utf8");
    assert.match(limits, /^Max stack size\s+524288\s/m);
    assert.equal((await stopWorker(worker)).code, ExitCode.Ok);
  });

  test("accounting off leaves the memory figures out", async () => {
    const worker = await startWorker(supervisor, { accounting: false });
    const { stats } = await worker.conn.request(1, "GET", "/hello");
    assert.equal(stats.rssBeforeKiB, undefined);
    assert.equal(stats.peakKiB, undefined);
    assert.equal(stats.route, "/hello");
    assert.equal(stats.concurrent, 1);
    assert.equal((await stopWorker(worker)).code, ExitCode.Ok);
  });

  test("threads > 1 serve requests concurrently and say so", async () => {
    const worker = await startWorker(supervisor, { threads: 2 });
    const [a, b] = await Promise.all([worker.conn.request(1, "GET", "/slow"), worker.conn.request(2, "GET", "/slow")]);
    assert.deepEqual([a.stats.concurrent, b.stats.concurrent], [2, 2]);
    assert.ok(a.stats.durationMs >= 190 && b.stats.durationMs >= 190);
    const env = (await worker.conn.request(3, "GET", "/environ")).body.toString();
    assert.match(env, /multithread=True/);
    assert.equal((await stopWorker(worker)).code, ExitCode.Ok);
  });
});

describe("shim route resolution", () => {
  let supervisor;
  before(async () => (supervisor = await FakeSupervisor.start()));
  after(() => supervisor.close());

  test("Flask: rule templates and view functions", async () => {
    const worker = await startWorker(supervisor, { target: "app:app", cwd: path.join(fixturesDir, "shim_flask") });
    assert.equal(worker.hello.app.framework, "flask");
    assert.match(worker.hello.app.frameworkVersion, /^\d+\./);
    const res = await worker.conn.request(1, "GET", "/users/42");
    assert.equal(res.body.toString(), "user 42");
    assert.equal(res.stats.route, "/users/<int:uid>");
    assert.deepEqual(res.stats.handler, { qualname: "app.user_detail", file: "app.py", line: 16 });
    const wrapped = await worker.conn.request(2, "GET", "/wrapped");
    assert.deepEqual(wrapped.stats.handler, { qualname: "app.wrapped_view", file: "app.py", line: 22 });
    const missing = await worker.conn.request(3, "GET", "/nope");
    assert.equal(missing.status, "404 NOT FOUND");
    assert.equal(missing.stats.route, "<unmatched>");
    assert.equal(missing.stats.handler, null);
    assert.equal((await stopWorker(worker)).code, ExitCode.Ok);
  });

  test("Flask: an app factory target", async () => {
    const worker = await startWorker(supervisor, { target: "app:create_app()", cwd: path.join(fixturesDir, "shim_flask") });
    const res = await worker.conn.request(1, "GET", "/items/pear");
    assert.equal(res.stats.route, "/items/<name>");
    assert.deepEqual(res.stats.handler, { qualname: "create_app.item", file: "app.py", line: 30 });
    assert.equal((await stopWorker(worker)).code, ExitCode.Ok);
  });

  test("Django: a project directory, function and class-based views", async () => {
    const worker = await startWorker(supervisor, { target: ".", cwd: path.join(fixturesDir, "shim_django") });
    assert.equal(worker.hello.app.framework, "django");
    assert.match(worker.hello.app.frameworkVersion, /^\d+\./);
    const user = await worker.conn.request(1, "GET", "/users/7/", { headers: [["Host", "localhost"]] });
    assert.equal(user.body.toString(), "user 7");
    assert.equal(user.stats.route, "/users/<int:uid>/");
    assert.deepEqual(user.stats.handler, { qualname: "views.user_detail", file: "shop/views.py", line: 5 });
    const things = await worker.conn.request(2, "GET", "/things/", { headers: [["Host", "localhost"]] });
    assert.deepEqual(things.stats.handler, { qualname: "ThingView.get", file: "shop/views.py", line: 10 });
    const article = await worker.conn.request(3, "GET", "/articles/2024/", { headers: [["Host", "localhost"]] });
    assert.equal(article.stats.route, "/articles/<year>/");
    const item = await worker.conn.request(4, "GET", "/shop/items/pear/", { headers: [["Host", "localhost"]] });
    assert.equal(item.stats.route, "/shop/items/<slug:slug>/");
    assert.equal(item.stats.handler.qualname, "views.item");
    const missing = await worker.conn.request(5, "GET", "/nope/", { headers: [["Host", "localhost"]] });
    assert.equal(missing.stats.route, "<unmatched>");
    assert.equal((await stopWorker(worker)).code, ExitCode.Ok);
  });

  test("Pyramid: route patterns and views by request method", async () => {
    const worker = await startWorker(supervisor, { target: "app:app", cwd: path.join(fixturesDir, "shim_pyramid") });
    assert.equal(worker.hello.app.framework, "pyramid");
    const hello = await worker.conn.request(1, "GET", "/hello/bob");
    assert.equal(hello.body.toString(), "hello bob");
    assert.equal(hello.stats.route, "/hello/{name}");
    assert.deepEqual(hello.stats.handler, { qualname: "app.hello", file: "app.py", line: 5 });
    const post = await worker.conn.request(2, "POST", "/things");
    assert.equal(post.body.toString(), "created");
    assert.deepEqual(post.stats.handler, { qualname: "Things.post", file: "app.py", line: 16 });
    const get = await worker.conn.request(3, "GET", "/things");
    assert.equal(get.stats.handler.qualname, "Things.get");
    assert.equal((await stopWorker(worker)).code, ExitCode.Ok);
  });
});

describe("shim preload master", () => {
  let supervisor;
  before(async () => (supervisor = await FakeSupervisor.start()));
  after(() => supervisor.close());

  test("MasterReady, Fork -> Forked + Hello from the child, ChildExit on kill, Stop", async () => {
    const master = spawnShim("master", supervisor, shimConfig({}));
    const conn = await supervisor.nextConnection();
    const ready = (await conn.next(Frame.MasterReady)).json();
    assert.equal(ready.role, "master");
    assert.equal(ready.workerId, 0);
    assert.equal(ready.pid, master.pid);

    conn.send(Frame.Fork, { workerId: 7 });
    const forked = (await conn.next(Frame.Forked)).json();
    assert.equal(forked.workerId, 7);
    assert.notEqual(forked.pid, master.pid);
    const workerConn = await supervisor.nextConnection();
    const hello = (await workerConn.next(Frame.Hello)).json();
    assert.equal(hello.role, "worker");
    assert.equal(hello.workerId, 7);
    assert.equal(hello.pid, forked.pid);
    const res = await workerConn.request(1, "GET", "/pid");
    assert.equal(res.body.toString(), String(forked.pid));
    assert.ok(res.stats.pssKiB > 0, "the child reads its own /proc, not the master's");
    assert.ok(res.stats.pssKiB < res.stats.rssAfterKiB, "pages shared with the master count in PSS at a fraction");

    process.kill(forked.pid, "SIGKILL");
    assert.deepEqual((await conn.next(Frame.ChildExit)).json(), { pid: forked.pid, exitCode: null, signal: 9 });

    conn.send(Frame.Fork, { workerId: 8 });
    const second = (await conn.next(Frame.Forked)).json();
    await (await supervisor.nextConnection()).next(Frame.Hello);
    conn.send(Frame.Stop, { reason: "shutdown" });
    assert.deepEqual((await conn.next(Frame.ChildExit)).json(), { pid: second.pid, exitCode: null, signal: 15 });
    assert.deepEqual(await master.exited, { code: ExitCode.Ok, signal: null });
  });

  test("closing the master's socket takes the master and its workers down", async () => {
    const master = spawnShim("master", supervisor, shimConfig({}));
    const conn = await supervisor.nextConnection();
    await conn.next(Frame.MasterReady);
    conn.send(Frame.Fork, { workerId: 1 });
    const { pid } = (await conn.next(Frame.Forked)).json();
    await (await supervisor.nextConnection()).next(Frame.Hello);
    conn.close();
    assert.equal((await master.exited).code, ExitCode.SupervisorGone);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});
