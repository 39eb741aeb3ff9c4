// The app's own child processes (a handler's subprocess.Popen) end with their worker: when the
// worker recycles, when `balloon run` stops, and when the supervisor or the master is killed.
// None is left running, none is ever re-parented to init, and a stop never waits on them.
// Real `balloon run` processes on test/fixtures/apps/faults/children.py.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { killAll, parentOf, pidAlive, startBalloon, waitFor } from "./helpers/balloon.mjs";

afterEach(killAll);

const app = { app: "children:application" };

async function started(balloon, route) {
  const res = await balloon.get(route);
  assert.equal(res.status, 200, res.body);
  const pid = Number(res.body);
  assert.ok(pidAlive(pid), `${route} started pid ${pid}`);
  return pid;
}

/** Polls the parents of `pids` until they are all gone; returns every parent pid seen. */
function watchParents(pids) {
  const parents = new Set();
  const timer = setInterval(() => {
    for (const pid of pids) if (pidAlive(pid)) parents.add(parentOf(pid));
  }, 10);
  return { parents, stop: () => clearInterval(timer) };
}

describe("a worker's own processes end with it", () => {
  test("recycled worker (--max-requests 3): a plain child, one that ignores SIGTERM, and one in its own session", async () => {
    const balloon = await startBalloon(["--workers", "1", "--max-requests", "3"], app);
    await balloon.waitForWorkers(1);
    const plain = await started(balloon, "/sleep");
    const stubborn = await started(balloon, "/stubborn");
    const daemon = await started(balloon, "/daemon");
    const children = [plain, stubborn, daemon];
    const watch = watchParents(children);
    const exit = await waitFor(() => balloon.workerEvents("exit").find((l) => l.reason === "max-requests"), { what: "the recycled worker's exit" });
    const exitedAt = performance.now();
    // SIGTERM ends the plain and the daemon at once; the stubborn one gets SIGKILL after the 2 s grace.
    await waitFor(() => !pidAlive(plain) && !pidAlive(daemon), { timeoutMs: 1500, what: "the plain and the daemon child gone" });
    await waitFor(() => !pidAlive(stubborn), { timeoutMs: 4000, what: "the stubborn child gone" });
    const stubbornMs = performance.now() - exitedAt;
    watch.stop();
    assert.ok(stubbornMs > 1000, `the SIGTERM-proof child got its grace period (${Math.round(stubbornMs)} ms)`);
    assert.ok(!watch.parents.has(1), `re-parented to init: ${[...watch.parents]}`);
    assert.ok(exit.pid > 0);
    assert.equal((await balloon.get("/pid")).status, 200, "the replacement serves");
  });

  for (const signal of ["SIGINT", "SIGTERM"]) {
    test(`${signal} of balloon run with children running: stops in under 5 s, none left`, async () => {
      const balloon = await startBalloon(["--workers", "2"], app);
      await balloon.waitForWorkers(2);
      const children = [await started(balloon, "/sleep"), await started(balloon, "/stubborn"), await started(balloon, "/daemon")];
      const watch = watchParents(children);
      const before = performance.now();
      assert.deepEqual(await balloon.stop(signal), { code: 0, signal: null }, balloon.stderr);
      const stopMs = performance.now() - before;
      watch.stop();
      console.log(`${signal} with a sleeping, a SIGTERM-proof and a daemonized child: stopped in ${Math.round(stopMs)} ms`);
      assert.ok(stopMs < 5000, `stop took ${Math.round(stopMs)} ms`);
      assert.deepEqual(children.filter(pidAlive), [], "children left running");
      assert.ok(!watch.parents.has(1), `re-parented to init: ${[...watch.parents]}`);
      assert.deepEqual(balloon.processesLeft(), []);
    });
  }
});

describe("the app's processes when the supervisor or the master is killed", () => {
  test("SIGKILL of the supervisor: the master (PDEATHSIG SIGTERM) ends its workers and their children", async () => {
    const balloon = await startBalloon(["--workers", "1"], app);
    await balloon.waitForWorkers(1);
    const children = [await started(balloon, "/sleep"), await started(balloon, "/daemon")];
    const pids = balloon.pythonProcesses();
    process.kill(balloon.pid, "SIGKILL");
    await balloon.exited;
    await waitFor(() => [...pids, ...children].every((pid) => !pidAlive(pid)), { timeoutMs: 3000, what: `${[...pids, ...children]} gone` });
  });

  test("SIGKILL of the master: the supervisor ends the app's processes it leaves, and a new master serves", async () => {
    const balloon = await startBalloon(["--workers", "1"], app);
    await balloon.waitForWorkers(1);
    const children = [await started(balloon, "/sleep"), await started(balloon, "/daemon")];
    const master = balloon.pythonProcesses().find((pid) => parentOf(pid) === balloon.pid);
    process.kill(master, "SIGKILL");
    await waitFor(() => children.every((pid) => !pidAlive(pid)), { timeoutMs: 3000, what: `children ${children} gone` });
    await balloon.waitForWorkers(1);
    assert.equal((await balloon.get("/pid")).status, 200);
    const before = performance.now();
    assert.deepEqual(await balloon.stop("SIGINT"), { code: 0, signal: null }, balloon.stderr);
    assert.ok(performance.now() - before < 5000);
  });

  test("one that escaped everything (own session, no environment) outlives a SIGKILLed master, but a stop does not wait on the pipes it holds", async () => {
    const balloon = await startBalloon(["--workers", "1"], app);
    await balloon.waitForWorkers(1);
    const escapee = await started(balloon, "/escapee");
    try {
      const master = balloon.pythonProcesses().find((pid) => parentOf(pid) === balloon.pid);
      process.kill(master, "SIGKILL");
      await balloon.waitForWorkers(1);
      assert.ok(pidAlive(escapee), "nothing can tell it is the app's (known limit)");
      const before = performance.now();
      assert.deepEqual(await balloon.stop("SIGINT"), { code: 0, signal: null }, balloon.stderr);
      assert.ok(performance.now() - before < 5000, `stop took ${Math.round(performance.now() - before)} ms`);
    } finally {
      process.kill(escapee, "SIGKILL");
    }
  });
});
