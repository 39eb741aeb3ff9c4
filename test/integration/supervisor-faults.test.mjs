// The supervisor against an app that fails in every way it can: import errors, exceptions,
// workers dying mid-request, hangs, bad clients, and the supervisor's own stop and death.
// Real `balloon run` processes on the faults fixture app (test/fixtures/apps/faults).
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import http from "node:http";
import path from "node:path";
import { after, afterEach, before, describe, test } from "node:test";

import { faultsDir, killAll, parentOf, pidAlive, python, rawExchange, runCli, scratchDir, sleep, startBalloon, waitFor } from "./helpers/balloon.mjs";

after(killAll);

describe("the app fails to import", () => {
  test("balloon profile exits non-zero with the traceback on stderr", async () => {
    const dir = scratchDir();
    const requests = path.join(dir, "requests.txt");
    writeFileSync(requests, "GET /ok x2\n");
    const result = await runCli(["profile", "--app", "broken:application", "--cwd", faultsDir, "--python", python, "--requests", requests, "--report", path.join(dir, "out.json"), "--boot-timeout", "20"]);
    assert.notEqual(result.code, 0, result.stderr);
    assert.match(result.stderr, /Traceback \(most recent call last\)/);
    assert.match(result.stderr, /ImportError: planted import failure in broken\.py/);
    assert.match(result.stderr, /^balloon: .*ImportError/m, "a one-line balloon: error names the cause");
  });

  for (const preload of [false, true]) {
    const flags = preload ? ["--preload"] : [];
    test(`balloon run${preload ? " --preload" : ""} retries with growing backoff, answers 503 meanwhile, stops on SIGINT`, async () => {
      const balloon = await startBalloon(["--workers", "1", ...flags], { app: "broken:application" });
      balloon.trackProcesses();
      const failures = await waitFor(() => {
        const lines = balloon.workerEvents("boot-failed");
        return lines.length >= 4 ? lines : null;
      }, { timeoutMs: 15_000, what: "4 boot-failed lines" });
      for (const line of failures) assert.match(line.detail, /ImportError: planted import failure/);
      const gaps = failures.slice(1).map((line, i) => line.t - failures[i].t);
      for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i] > gaps[i - 1] * 1.3, `gaps between boot attempts should grow: ${gaps.join(", ")} ms`);

      // While the app cannot load, a request is told so at once (not held until the next retry).
      const res = await balloon.get("/ok");
      assert.equal(res.status, 503);
      assert.match(res.body, /ImportError: planted import failure in broken\.py/);
      assert.ok(res.ms < 1500, `503 took ${Math.round(res.ms)} ms`);

      const { code, signal } = await balloon.stop("SIGINT");
      assert.equal(signal, null);
      assert.equal(code, 0, balloon.stderr);
      assert.ok(balloon.seen.size >= 1, "the master (and the workers that came and went) were seen");
      assert.deepEqual(balloon.processesLeft(), []);
      assert.equal(balloon.records("stop").length, 1);
    });
  }
});

describe("the app's import hangs (--boot-timeout 1)", () => {
  test("an app that crashes the interpreter at import: profile exits 1 after --boot-timeout, saying every attempt failed", async () => {
    const requests = path.join(scratchDir(), "requests.txt");
    writeFileSync(requests, "GET / x2\n");
    const result = await runCli(["profile", "--app", "segv_import:application", "--cwd", faultsDir, "--python", python, "--workers", "1", "--boot-timeout", "2", "--requests", requests]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /killed by signal 11 \(SIGSEGV\)/);
    assert.match(result.stderr, /^balloon: no worker is ready after 2 s: every attempt failed \(see the log above\) \(--boot-timeout 2 s\)$/m);
  });

  after(killAll);
  const hanging = ["--app", "sleepy_import:application", "--cwd", faultsDir, "--python", python, "--workers", "1", "--boot-timeout", "1"];

  for (const preload of [false, true]) {
    const flags = preload ? ["--preload"] : [];
    const who = preload ? /the master \(pid \d+\) is still importing it \(--preload\)/ : /worker 1 \(pid \d+\) is still importing it/;

    test(`balloon profile${preload ? " --preload" : ""} exits 1 naming the process still importing`, async () => {
      const requests = path.join(scratchDir(), "requests.txt");
      writeFileSync(requests, "GET / x2\n");
      const started = performance.now();
      const result = await runCli(["profile", ...hanging, ...flags, "--requests", requests]);
      assert.equal(result.code, 1, result.stderr);
      const errors = result.stderr.split("\n").filter((line) => line.startsWith("balloon: "));
      assert.equal(errors.length, 1, result.stderr);
      assert.match(errors[0], /^balloon: the app is still loading after 1 s: /);
      assert.match(errors[0], who);
      assert.match(errors[0], /--boot-timeout 1 s/);
      assert.ok(performance.now() - started < 8000, `took ${Math.round(performance.now() - started)} ms`);
    });

    test(`balloon run${preload ? " --preload" : ""} answers 503 saying what is still loading, logs it, and stops`, async () => {
      const balloon = await startBalloon(["--workers", "1", "--boot-timeout", "1", ...flags], { app: "sleepy_import:application" });
      balloon.trackProcesses();
      const queued = balloon.get("/"); // before the timeout: waits for a worker, then is told
      await waitFor(() => /\[balloon\] boot: the app is still loading after 1 s: /.test(balloon.stderr), { timeoutMs: 5000, what: "the boot-timeout log line" });
      assert.match(balloon.stderr, who);
      for (const res of [await queued, await balloon.get("/")]) {
        assert.equal(res.status, 503);
        assert.match(res.body, /^503 Service Unavailable: the app is still loading after \d+ s: /);
        assert.match(res.body, who);
      }
      assert.deepEqual(await balloon.stop("SIGINT"), { code: 0, signal: null }, balloon.stderr);
      assert.deepEqual(balloon.processesLeft(), []);
    });
  }
});

for (const preload of [false, true]) {
  describe(`faults in requests (--workers 1${preload ? " --preload" : ""})`, () => {
    let balloon;
    before(async () => {
      balloon = await startBalloon(["--workers", "1", "--max-body", "0.001", ...(preload ? ["--preload"] : [])]);
      await balloon.waitForWorkers(1);
    });
    after(() => balloon?.kill());

    const pidNow = async () => {
      const res = await balloon.get("/pid");
      assert.equal(res.status, 200);
      return Number(res.body);
    };

    test("an exception in the app: 500, traceback logged, same worker serves the next request", async () => {
      const before = await pidNow();
      const res = await balloon.get("/raise");
      assert.equal(res.status, 500);
      assert.equal(await pidNow(), before);
      await waitFor(() => /ValueError: planted failure in \/raise/.test(balloon.stderr), { what: "the traceback in stderr" });
      assert.match(balloon.stderr, /Traceback \(most recent call last\)/);
      const line = balloon.requestLines().find((l) => l.path === "/raise");
      assert.equal(line.outcome, "app-error");
      assert.equal(line.error, "ValueError");
    });

    const deaths = [
      { route: "/exit", cause: /exited with code 1\b/, exitCode: 1, signal: null },
      { route: "/segv", cause: /killed by signal 11 \(SIGSEGV\)/, exitCode: null, signal: "SIGSEGV" },
      { route: "/selfkill", cause: /killed by signal 9 \(SIGKILL\) — out of memory\?/, exitCode: null, signal: "SIGKILL" },
      { route: "/escape", cause: /exited with code 1\b/, exitCode: 1, signal: null },
      { route: "/sys-exit", cause: /the app called sys\.exit\(\) during a request/, exitCode: 6, signal: null, log: /the app called sys\.exit\(3\) during GET \/sys-exit/ },
    ];
    for (const { route, cause, exitCode, signal, log } of deaths) {
      test(`worker dies mid-request (${route}): 502 naming the cause, replaced, crash recorded`, async () => {
        const victim = await pidNow();
        const res = await balloon.get(route);
        assert.equal(res.status, 502);
        assert.match(res.body, cause);
        assert.match(res.body, new RegExp(`pid ${victim}\\b`));
        const next = await pidNow();
        assert.notEqual(next, victim);
        assert.ok(!pidAlive(victim));
        const crash = await waitFor(() => balloon.workerEvents("crash").find((l) => l.pid === victim), { what: `crash line for pid ${victim}` });
        assert.match(crash.detail, cause);
        assert.equal(crash.reason, "crash");
        assert.equal(crash.exitCode, exitCode);
        assert.equal(crash.signal, signal);
        const line = balloon.requestLines().find((l) => l.pid === victim && l.path === route);
        assert.equal(line.outcome, "worker-died");
        assert.equal(line.status, 502);
        if (log) await waitFor(() => log.test(balloon.stderr), { what: `${log} in stderr` });
      });
    }

    test("an idle worker killed from outside (OOM killer) is replaced and recorded", async () => {
      const victim = await pidNow();
      process.kill(victim, "SIGKILL");
      const crash = await waitFor(() => balloon.workerEvents("crash").find((l) => l.pid === victim), { what: `crash line for pid ${victim}` });
      assert.match(crash.detail, /killed by signal 9 \(SIGKILL\) — out of memory\?/);
      assert.notEqual(await pidNow(), victim);
    });

    test("the master killed (OOM killer): its workers go with it, the request in flight gets 502 naming the cause, a new master serves", async () => {
      const [master] = balloon.pythonProcesses().filter((pid) => !balloon.workerProcesses().includes(pid));
      const workers = balloon.workerProcesses();
      const { pending } = await inFlightSlow(balloon);
      process.kill(master, "SIGKILL");
      const res = await pending;
      assert.equal(res.status, 502);
      assert.match(res.body, /died with its master: the Python master \(pid \d+\) killed by signal 9 \(SIGKILL\) — out of memory\?/);
      await waitFor(() => workers.every((pid) => !pidAlive(pid)), { timeoutMs: 3000, what: `workers ${workers} gone with the master` });
      assert.equal((await balloon.get("/ok")).status, 200, "a new master and worker serve");
      assert.ok(!workers.includes(await pidNow()));
    });

    test("malformed HTTP gets 400 and the server keeps serving", async () => {
      const answer = await rawExchange(balloon.port, "GARBAGE\r\n\r\n");
      assert.match(answer, /^HTTP\/1\.1 400 /);
      assert.equal((await balloon.get("/ok")).status, 200);
    });

    test("client gone mid-request: the worker finishes, is recorded client-gone, and serves again", async () => {
      const victimPid = await pidNow();
      await new Promise((resolve) => {
        const req = http.get({ host: "127.0.0.1", port: balloon.port, path: "/slow", agent: false });
        req.on("error", resolve);
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100);
      });
      const line = await waitFor(() => balloon.requestLines().find((l) => l.path === "/slow" && l.outcome === "client-gone"), { timeoutMs: 5000, what: "a client-gone line" });
      assert.equal(line.pid, victimPid);
      const res = await balloon.get("/pid");
      assert.equal(res.status, 200);
      assert.equal(Number(res.body), victimPid, "the same worker went back to the pool");
      assert.ok(res.ms < 1000, `next request took ${Math.round(res.ms)} ms`);
    });

    test("a body over --max-body gets 413 (declared length and chunked)", async () => {
      const big = "x".repeat(5000);
      const declared = await balloon.get("/echo", { method: "POST", body: big, headers: { "Content-Type": "text/plain" } });
      assert.equal(declared.status, 413);
      assert.match(declared.body, /--max-body/);
      const chunked = await balloon.get("/echo", { method: "POST", chunks: [big, big] }).catch((error) => ({ status: 0, error }));
      // The server may cut the connection after the 413 while the client still sends.
      assert.ok(chunked.status === 413 || chunked.error?.code === "ECONNRESET" || chunked.error?.code === "EPIPE", `chunked: ${chunked.status} ${chunked.error}`);
      assert.equal((await balloon.get("/ok")).status, 200);
    });

    test("a chunked POST body is echoed", async () => {
      const res = await balloon.get("/echo", { method: "POST", chunks: ["hello ", "chunked ", "world"] });
      assert.equal(res.status, 200);
      assert.equal(res.body, "hello chunked world");
    });

    test("HEAD gets the headers and no body", async () => {
      const res = await balloon.get("/ok", { method: "HEAD" });
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-length"], "2");
      assert.equal(res.body, "");
      assert.equal((await balloon.get("/ok")).body, "ok", "the connection state survived the HEAD");
    });

    test("the app sees a PEP 3333 environ with the real address and port", async () => {
      const res = await balloon.get("/environ?x=1&y=%20", { headers: { "X-Probe": "yes" } });
      assert.deepEqual(JSON.parse(res.body), {
        SERVER_NAME: "127.0.0.1", SERVER_PORT: String(balloon.port), REMOTE_ADDR: "127.0.0.1",
        SCRIPT_NAME: "", PATH_INFO: "/environ", QUERY_STRING: "x=1&y=%20", HTTP_X_PROBE: "yes",
      });
    });

    test("keep-alive: two requests on one socket", async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const first = await balloon.get("/ok", { agent });
        const second = await balloon.get("/pid", { agent });
        assert.equal(first.status, 200);
        assert.equal(second.status, 200);
        assert.equal(first.socket, second.socket, "the second request reused the socket");
      } finally {
        agent.destroy();
      }
    });

    test("a streamed response arrives in full", async () => {
      const res = await balloon.get("/stream");
      assert.equal(res.status, 200);
      assert.equal(res.body, [0, 1, 2, 3, 4].map((i) => `chunk ${i}\n`).join(""));
      assert.equal(res.headers["transfer-encoding"], "chunked");
    });
  });
}

describe("a hanging handler (--timeout 1)", () => {
  after(killAll);

  for (const preload of [false, true]) {
    test(`504 within ~1-3 s, the worker killed and replaced, timeout recorded${preload ? " (--preload)" : ""}`, async () => {
      const balloon = await startBalloon(["--workers", "1", "--timeout", "1", ...(preload ? ["--preload"] : [])]);
      await balloon.waitForWorkers(1);
      const victim = Number((await balloon.get("/pid")).body);
      const res = await balloon.get("/hang");
      assert.equal(res.status, 504);
      assert.match(res.body, /--timeout/);
      assert.ok(res.ms >= 900 && res.ms < 3000, `504 after ${Math.round(res.ms)} ms`);
      const next = Number((await balloon.get("/pid")).body);
      assert.notEqual(next, victim);
      await waitFor(() => !pidAlive(victim), { timeoutMs: 3000, what: `pid ${victim} gone` });
      const line = balloon.requestLines().find((l) => l.path === "/hang");
      assert.equal(line.outcome, "timeout");
      assert.equal(line.status, 504);
      const exit = await waitFor(() => balloon.workerEvents().find((l) => l.pid === victim && (l.event === "exit" || l.event === "crash")), { what: "exit line" });
      assert.equal(exit.event, "exit");
      assert.equal(exit.reason, "timeout");
      assert.match(exit.detail, /\/hang/);
    });
  }
});

describe("a BaseException with --threads 2", () => {
  after(killAll);

  test("/escape in a pool thread: 502 at once, like the single-thread case", async () => {
    const balloon = await startBalloon(["--workers", "1", "--threads", "2", "--timeout", "3"]);
    await balloon.waitForWorkers(1);
    const res = await balloon.get("/escape");
    assert.equal(res.status, 502, res.body);
    assert.ok(res.ms < 2000, `answered after ${Math.round(res.ms)} ms`);
  });
});

describe("the queue (--workers 1 --queue 1)", () => {
  after(killAll);

  test("one busy worker, one queued request, the third gets 503", async () => {
    const balloon = await startBalloon(["--workers", "1", "--queue", "1"]);
    await balloon.waitForWorkers(1);
    const results = await Promise.all([balloon.get("/slow"), balloon.get("/ok"), balloon.get("/ok")]);
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 503]);
    assert.match(results.find((r) => r.status === 503).body, /--queue/);
  });
});

/** Starts `/slow` and waits until the worker has it; returns { pending } (not a bare promise: await would wait for it). */
async function inFlightSlow(balloon) {
  const pending = balloon.get("/slow").catch((error) => ({ status: 0, body: String(error) }));
  // The request is in the worker once the supervisor wrote it; 300 ms is ample on a loaded box,
  // and /slow runs 1 s, so it is still running when the signal comes.
  await sleep(300);
  return { pending };
}

for (const preload of [false, true]) {
  const flags = preload ? ["--preload"] : [];
  const label = preload ? " (--preload)" : "";
  describe(`stopping the supervisor${label}`, () => {
    afterEach(killAll);

    for (const signal of ["SIGINT", "SIGTERM"]) {
      test(`${signal}: in-flight request completes, exit 0, no worker left`, async () => {
        const balloon = await startBalloon(["--workers", "2", ...flags]);
        await balloon.waitForWorkers(2);
        const pids = balloon.pythonProcesses();
        assert.equal(pids.length, 3, `python processes (master and 2 workers): ${pids}`);
        const { pending: slow } = await inFlightSlow(balloon);
        const [res, status] = await Promise.all([slow, balloon.stop(signal)]);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.body, "slow ok");
        assert.deepEqual(status, { code: 0, signal: null }, balloon.stderr);
        for (const pid of pids) assert.ok(!pidAlive(pid), `pid ${pid} survived`);
        const exits = balloon.workerEvents("exit");
        assert.ok(exits.length >= 2 && exits.every((l) => l.reason === "shutdown"), JSON.stringify(exits));
        assert.equal(balloon.workerEvents("crash").length, 0);
        assert.equal(balloon.records("stop")[0]?.reason, signal);
      });
    }

    test("Ctrl-C in a terminal (SIGINT to the whole process group): in-flight request completes", async () => {
      const balloon = await startBalloon(["--workers", "1", ...flags], { detached: true });
      await balloon.waitForWorkers(1);
      const pids = balloon.pythonProcesses();
      const { pending: slow } = await inFlightSlow(balloon);
      process.kill(-balloon.pid, "SIGINT");
      const [res, status] = await Promise.all([slow, balloon.exited]);
      assert.equal(res.status, 200, `in-flight /slow: ${res.body}`);
      assert.deepEqual(status, { code: 0, signal: null }, balloon.stderr);
      for (const pid of pids) assert.ok(!pidAlive(pid), `pid ${pid} survived`);
    });

    test("SIGINT while the app is still importing: exit 0 within seconds, nothing left behind", async () => {
      const balloon = await startBalloon(["--workers", "2", ...flags], { app: "sleepy_import:application", env: { IMPORT_SLEEP_SEC: "30" } });
      const master = await waitFor(() => balloon.pythonProcesses().find((pid) => parentOf(pid) === balloon.pid), { what: "the master" });
      if (preload) {
        assert.deepEqual(balloon.workerEvents("forked"), [], "the master is importing: nothing forked yet");
      } else {
        // The recorded pids are the processes the master really forked, and they are importing.
        const forked = await waitFor(() => (balloon.workerEvents("forked").length === 2 ? balloon.workerEvents("forked") : null), { what: "2 forked lines" });
        const children = balloon.pythonProcesses().filter((pid) => parentOf(pid) === master);
        assert.deepEqual(forked.map((l) => l.pid).sort(), children.sort());
        assert.deepEqual(balloon.workerEvents("ready"), []);
      }
      const started = performance.now();
      const status = await balloon.stop("SIGINT");
      assert.deepEqual(status, { code: 0, signal: null }, balloon.stderr);
      assert.ok(performance.now() - started < 5000, `stop took ${Math.round(performance.now() - started)} ms`);
      assert.equal(balloon.seen.size, preload ? 1 : 3, "the master and its workers were seen");
      assert.deepEqual(balloon.processesLeft(), []);
    });

    test("SIGKILL of the supervisor: no worker survives it", async () => {
      const balloon = await startBalloon(["--workers", "2", ...flags]);
      await balloon.waitForWorkers(2);
      const pids = balloon.pythonProcesses();
      assert.equal(pids.length, 3, "the master and 2 workers");
      process.kill(balloon.pid, "SIGKILL");
      await balloon.exited;
      await waitFor(() => pids.every((pid) => !pidAlive(pid)), { timeoutMs: 2500, what: `workers ${pids} gone` });
      // Its private socket directory outlives it, until the next supervisor clears it.
      const leftovers = () => readdirSync(tmpdir()).filter((name) => name.startsWith(`balloon-${balloon.pid}-`));
      assert.equal(leftovers().length, 1);
      const next = await startBalloon(["--workers", "1", ...flags]);
      await next.waitForWorkers(1);
      assert.deepEqual(leftovers(), []);
    });
  });
}
