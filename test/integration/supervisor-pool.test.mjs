// Pool policy with real workers: recycling by request count, RSS and the memory budget, the
// dynamic (spare-server) pool, stack size limits and threads per worker.
// Real `balloon run` processes on the faults fixture app (test/fixtures/apps/faults).
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { killAll, pidAlive, stackLimitBytes, startBalloon, waitFor } from "./helpers/balloon.mjs";

afterEach(killAll);

const recycles = (balloon, reason) => balloon.workerEvents("recycle").filter((l) => !reason || l.reason === reason);

describe("recycling", () => {
  test("--max-requests 3: a new worker every 3 requests, no request lost", async () => {
    const balloon = await startBalloon(["--workers", "1", "--max-requests", "3"]);
    await balloon.waitForWorkers(1);
    const pids = [];
    for (let i = 0; i < 10; i++) {
      const res = await balloon.get("/pid");
      assert.equal(res.status, 200, `request ${i + 1}: ${res.body}`);
      pids.push(Number(res.body));
    }
    // [a a a b b b c c c d]
    for (let i = 0; i < 10; i++) {
      if (i % 3 === 0) assert.ok(i === 0 || pids[i] !== pids[i - 1], `request ${i + 1} should be on a new worker: ${pids}`);
      else assert.equal(pids[i], pids[i - 1], `request ${i + 1} should be on the same worker: ${pids}`);
    }
    const lines = await waitFor(() => (recycles(balloon, "max-requests").length >= 3 ? recycles(balloon, "max-requests") : null), { what: "3 recycle lines" });
    assert.deepEqual(lines.map((l) => l.pid).slice(0, 3), [pids[0], pids[3], pids[6]]);
    for (const line of lines) assert.match(line.detail, /served 3 requests \(limit 3\)/);
    assert.ok(balloon.requestLines().every((l) => l.outcome === "ok"));
    const exits = await waitFor(() => (balloon.workerEvents("exit").length >= 3 ? balloon.workerEvents("exit") : null), { what: "3 exit lines" });
    assert.ok(exits.every((l) => l.reason === "max-requests" && l.exitCode === 0), JSON.stringify(exits));
    assert.equal(balloon.workerEvents("crash").length, 0);
  });

  test("--max-requests-jitter: each worker's limit is in [N, N+J] and the limits vary", async () => {
    const [n, jitter] = [2, 3];
    const balloon = await startBalloon(["--workers", "2", "--max-requests", String(n), "--max-requests-jitter", String(jitter)]);
    await balloon.waitForWorkers(2);
    for (let i = 0; i < 40; i++) assert.equal((await balloon.get("/ok")).status, 200);
    const lines = await waitFor(() => (recycles(balloon, "max-requests").length >= 8 ? recycles(balloon, "max-requests") : null), { what: "8 recycle lines" });
    const limits = lines.map((l) => Number(/limit (\d+)/.exec(l.detail)[1]));
    for (const limit of limits) assert.ok(limit >= n && limit <= n + jitter, `limit ${limit} outside [${n}, ${n + jitter}]`);
    assert.ok(new Set(limits).size > 1, `limits never varied: ${limits}`);
    for (const line of lines) {
      const served = Number(/served (\d+)/.exec(line.detail)[1]);
      assert.equal(served, Number(/limit (\d+)/.exec(line.detail)[1]));
    }
  });

  test("--reload-on-rss 60: the request that grows the worker over it succeeds, then the worker recycles", async () => {
    const balloon = await startBalloon(["--workers", "1", "--reload-on-rss", "60"]);
    await balloon.waitForWorkers(1);
    const before = Number((await balloon.get("/pid")).body);
    const big = await balloon.get("/big?mb=80");
    assert.equal(big.status, 200);
    assert.match(big.body, /holding 80 MiB/);
    const line = await waitFor(() => recycles(balloon, "rss-limit")[0], { what: "rss-limit recycle" });
    assert.equal(line.pid, before);
    assert.match(line.detail, /over --reload-on-rss 60 MiB/);
    assert.ok(line.rssKiB > 60 * 1024, `rssKiB ${line.rssKiB}`);
    const after = Number((await balloon.get("/pid")).body);
    assert.notEqual(after, before);
  });

  test("--memory-budget: over it, the biggest idle worker retires with reason budget", async () => {
    // Two fresh workers hold ~14 MiB each; one growing by 70 MiB takes the pool over 80.
    const balloon = await startBalloon(["--workers", "2", "--memory-budget", "80"]);
    await balloon.waitForWorkers(2);
    const big = await balloon.get("/big?mb=70");
    assert.equal(big.status, 200);
    const grown = balloon.requestLines().find((l) => l.path === "/big")
      ?? (await waitFor(() => balloon.requestLines().find((l) => l.path === "/big"), { what: "/big line" }));
    const line = await waitFor(() => recycles(balloon, "budget")[0], { what: "budget recycle" });
    assert.equal(line.pid, grown.pid, "the biggest worker is the one retired");
    assert.match(line.detail, /over --memory-budget 80 MiB/);
    assert.equal(recycles(balloon, "budget").length, 1, "only the one over-budget worker retires");
    // The pool is whole again, and under budget.
    await waitFor(() => {
      const ready = balloon.workerEvents("ready").length;
      return ready >= 3 && balloon.workerProcesses().length === 2;
    }, { what: "a replacement worker" });
    assert.equal((await balloon.get("/ok")).status, 200);
  });
});

describe("dynamic pool (--min-spare 1 --max-spare 2 --max-workers 4)", () => {
  test("grows to meet demand, then retires idle workers above --max-spare", async () => {
    const balloon = await startBalloon(["--min-spare", "1", "--max-spare", "2", "--max-workers", "4"]);
    await balloon.waitForWorkers(1);
    const atRest = balloon.workerProcesses().length;
    assert.ok(atRest >= 1 && atRest <= 2, `${atRest} workers at rest`);

    const results = await Promise.all([0, 1, 2, 3].map(() => balloon.get("/slow")));
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200]);
    const slowPids = new Set(balloon.requestLines().filter((l) => l.path === "/slow").map((l) => l.pid));
    assert.ok(slowPids.size >= 3 && slowPids.size <= 4, `/slow ran on ${slowPids.size} workers (1 s each: the pool should grow)`);
    assert.ok(balloon.workerEvents("spawn").length <= 4 + recycles(balloon).length, "never more than --max-workers at once");

    await waitFor(() => balloon.workerProcesses().length <= 2, { timeoutMs: 8000, what: "idle workers above --max-spare to retire" });
    const scaleDown = recycles(balloon, "scale-down");
    assert.ok(scaleDown.length >= 1 && scaleDown.length <= slowPids.size - 1, `recycles: ${JSON.stringify(recycles(balloon))}`);
    // Each line names a worker that was really up, and that worker really leaves.
    const readyPids = new Set(balloon.readyPids());
    for (const line of scaleDown) assert.ok(readyPids.has(line.pid), `scale-down of pid ${line.pid}, not a ready worker's (${[...readyPids]})`);
    for (const line of scaleDown) assert.match(line.detail, /--max-spare/);
    const retired = scaleDown.map((l) => l.pid).sort();
    const exits = await waitFor(() => {
      const lines = balloon.workerEvents("exit").filter((l) => l.reason === "scale-down");
      return lines.length >= retired.length ? lines : null;
    }, { what: `exit lines for the retired pids ${retired}` });
    assert.deepEqual(exits.map((l) => l.pid).sort(), retired);
    assert.ok(retired.every((pid) => !pidAlive(pid)), `retired workers still running: ${retired.filter(pidAlive)}`);
    assert.ok(balloon.workerProcesses().length >= 1, "--min-spare 1 keeps one");
  });
});

describe("stack size", () => {
  const vmSizes = {};

  for (const kib of [512, 8192]) {
    test(`--stack-size ${kib}: RLIMIT_STACK in /proc/PID/limits and the threads' virtual size`, async () => {
      const args = ["--workers", "1", ...(kib === 512 ? [] : ["--stack-size", String(kib)])];
      const balloon = await startBalloon(args);
      await balloon.waitForWorkers(1);
      const pid = Number((await balloon.get("/pid")).body);
      assert.equal(stackLimitBytes(pid), kib * 1024);
      const ready = balloon.workerEvents("ready")[0];
      assert.equal(ready.stackLimitKiB, kib);
      assert.equal(ready.threadStackKiB, kib);
      const res = await balloon.get("/threads");
      assert.equal(res.status, 200);
      vmSizes[kib] = JSON.parse(res.body).vmSizeKiB;
      console.log(`--stack-size ${kib} KiB: VmSize with 50 threads waiting = ${vmSizes[kib]} KiB (${(vmSizes[kib] / 1024).toFixed(1)} MiB)`);
    });
  }

  test("8 MiB stacks cost ~50 × 7.5 MiB more virtual memory than 512 KiB ones", () => {
    assert.ok(vmSizes[512] && vmSizes[8192], "both measurements ran");
    const extraMiB = (vmSizes[8192] - vmSizes[512]) / 1024;
    console.log(`VmSize difference, 50 threads, 8192 vs 512 KiB stacks: ${extraMiB.toFixed(1)} MiB`);
    assert.ok(extraMiB >= 300, `only ${extraMiB.toFixed(1)} MiB more`);
  });
});

describe("threads per worker", () => {
  test("--threads 4: four concurrent 1 s requests on one worker take ~1 s", async () => {
    const balloon = await startBalloon(["--workers", "1", "--threads", "4"]);
    await balloon.waitForWorkers(1);
    const started = performance.now();
    const results = await Promise.all([0, 1, 2, 3].map(() => balloon.get("/slow")));
    const elapsed = performance.now() - started;
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200]);
    assert.ok(elapsed < 2500, `took ${Math.round(elapsed)} ms (serial would be 4000)`);
    const lines = await waitFor(() => {
      const slow = balloon.requestLines().filter((l) => l.path === "/slow");
      return slow.length === 4 ? slow : null;
    }, { what: "4 /slow lines" });
    assert.equal(new Set(lines.map((l) => l.pid)).size, 1, "all on the one worker");
    assert.ok(lines.some((l) => l.concurrent >= 2), `concurrent: ${lines.map((l) => l.concurrent)}`);
  });
});
