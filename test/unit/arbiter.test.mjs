// The arbiter core: event sequences in, actions out (a fake clock, no I/O).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Arbiter, QUEUE_BODY_LIMIT_BYTES } from "../../out/test-build/supervisor/arbiter.js";
import { planBudget, BUDGET_RETIRE_INTERVAL_MS } from "../../out/test-build/supervisor/budget.js";

const MiB = 1024;
const base = {
  workers: 2, minSpare: null, maxSpare: null, maxWorkers: 2, threads: 1, maxRequests: 0, maxRequestsJitter: 0,
  reloadOnRssMiB: 0, memoryBudgetMiB: 0, timeoutSec: 30, queueSize: 2048,
};

/** An arbiter on a clock the test moves; `step` applies events and returns the actions as short strings. */
function arbiter(settings = {}, { random = () => 0 } = {}) {
  const clock = { t: 0, now: () => clock.t, random };
  const core = new Arbiter({ ...base, ...settings }, clock);
  const step = (...events) => events.flatMap((event) => core.handle(event)).map(short);
  return { core, clock, step };
}

function short(action) {
  switch (action.type) {
    case "dispatch": return `dispatch ${action.id}→w${action.worker}${action.ahead ? " ahead" : ""}`;
    case "started": return `started ${action.id}`;
    case "reject": return `reject ${action.id}`;
    case "spawn": return `spawn w${action.worker}`;
    case "retire": return `retire w${action.worker} ${action.reason}`;
    case "stop": return `stop w${action.worker} ${action.reason}`;
    case "kill": return `kill w${action.worker} [${action.expired}]`;
    case "exited": return `exited w${action.worker} ${action.reason}${action.requeued.length > 0 ? ` requeued [${action.requeued}]` : ""}`;
    default: return `${action.type}: ${action.message}`;
  }
}

/** Two workers up at 20 MiB. */
function upAndRunning(settings) {
  const a = arbiter(settings);
  assert.deepEqual(a.step({ type: "tick" }), ["spawn w1", "spawn w2"]);
  a.step({ type: "ready", worker: 1, rssKiB: 20 * MiB }, { type: "ready", worker: 2, rssKiB: 20 * MiB });
  return a;
}

test("dispatch: the longest idle worker first, then the queue in order", () => {
  const a = upAndRunning();
  a.clock.t = 10;
  assert.deepEqual(a.step({ type: "arrive", id: 1, bodyBytes: 0 }), ["dispatch 1→w1"]);
  assert.deepEqual(a.step({ type: "arrive", id: 2, bodyBytes: 0 }), ["dispatch 2→w2"]);
  assert.deepEqual(a.step({ type: "arrive", id: 3, bodyBytes: 0 }, { type: "arrive", id: 4, bodyBytes: 0 }), []);
  assert.equal(a.core.queued, 2);
  a.clock.t = 20;
  assert.deepEqual(a.step({ type: "done", worker: 2, id: 2 }), ["dispatch 3→w2"]);
  assert.deepEqual(a.step({ type: "done", worker: 1, id: 1 }), ["dispatch 4→w1"]);
});

test("queue: count and body-bytes limits answer 503; an abandoned request leaves the queue", () => {
  const a = upAndRunning({ queueSize: 2 });
  a.step({ type: "arrive", id: 1, bodyBytes: 0 }, { type: "arrive", id: 2, bodyBytes: 0 });
  assert.deepEqual(a.step({ type: "arrive", id: 3, bodyBytes: 0 }, { type: "arrive", id: 4, bodyBytes: 0 }), []);
  assert.deepEqual(a.step({ type: "arrive", id: 5, bodyBytes: 0 }), ["reject 5"]);
  a.step({ type: "abandon", id: 3 });
  assert.deepEqual(a.step({ type: "arrive", id: 6, bodyBytes: 0 }), [], "room again");
  assert.deepEqual(a.step({ type: "done", worker: 1, id: 1 }), ["dispatch 4→w1"], "3 is gone, 4 is next");

  const b = upAndRunning();
  b.step({ type: "arrive", id: 1, bodyBytes: 0 }, { type: "arrive", id: 2, bodyBytes: 0 });
  assert.deepEqual(b.step({ type: "arrive", id: 3, bodyBytes: QUEUE_BODY_LIMIT_BYTES - 10 }), []);
  const [reject] = b.core.handle({ type: "arrive", id: 4, bodyBytes: 100 });
  assert.equal(reject.type, "reject");
  assert.match(reject.message, /hold 256\.0 MiB of bodies/);
});

test("max-requests with jitter: the replacement starts first, the old one stops when idle", () => {
  const a = arbiter({ workers: 1, maxWorkers: 1, maxRequests: 2, maxRequestsJitter: 3 }, { random: () => 0.5 });
  a.step({ type: "tick" }, { type: "ready", worker: 1, rssKiB: 20 * MiB });
  assert.equal(a.core.view()[0].requestLimit, 2 + Math.floor(0.5 * 4), "2 + jitter in [0, 3]");
  const actions = [];
  for (let id = 1; id <= 4; id++) actions.push(...a.step({ type: "arrive", id, bodyBytes: 0 }, { type: "done", worker: 1, id }));
  assert.deepEqual(actions.slice(-4), ["dispatch 4→w1", "retire w1 max-requests", "spawn w2", "stop w1 max-requests"]);
  assert.deepEqual(a.step({ type: "exit", worker: 1, clean: true }), ["exited w1 max-requests"]);
});

test("reload-on-rss: the request that took the worker over the limit is answered, then it recycles", () => {
  const a = upAndRunning({ reloadOnRssMiB: 60 });
  a.step({ type: "arrive", id: 1, bodyBytes: 0 });
  assert.deepEqual(a.step({ type: "done", worker: 1, id: 1, rssAfterKiB: 50 * MiB }), []);
  assert.deepEqual(a.step({ type: "arrive", id: 2, bodyBytes: 0 }), ["dispatch 2→w1"], "ties go to the first worker");
  assert.deepEqual(a.step({ type: "done", worker: 1, id: 2, rssAfterKiB: 61 * MiB }), ["retire w1 rss-limit", "spawn w3", "stop w1 rss-limit"]);
});

test("timeout: a tick past the deadline kills the worker; its exit counts as timeout, not crash", () => {
  const a = upAndRunning({ timeoutSec: 1 });
  a.step({ type: "arrive", id: 1, bodyBytes: 0 });
  a.clock.t = 1000;
  assert.deepEqual(a.step({ type: "tick" }), [], "not over yet");
  a.clock.t = 1001;
  assert.deepEqual(a.step({ type: "tick" }), ["kill w1 [1]", "spawn w3"]);
  assert.deepEqual(a.step({ type: "tick" }), [], "killed once");
  assert.deepEqual(a.step({ type: "exit", worker: 1, clean: false }), ["exited w1 timeout"]);
});

test("a crash while starting backs the next boot off; a load error answers waiting requests at once", () => {
  const a = arbiter({ workers: 1, maxWorkers: 1 });
  a.step({ type: "tick" });
  a.step({ type: "arrive", id: 1, bodyBytes: 0 });
  assert.deepEqual(a.step({ type: "unavailable", message: "the app failed to load: ImportError: x" }), ["reject 1"]);
  assert.deepEqual(a.step({ type: "exit", worker: 1, clean: false }), ["exited w1 crash"], "no respawn within the backoff");
  assert.deepEqual(a.step({ type: "arrive", id: 2, bodyBytes: 0 }), ["reject 2"], "told at once while nothing is up");
  a.clock.t = 500;
  assert.deepEqual(a.step({ type: "tick" }), ["spawn w2"]);
});

test("dynamic pool: grows for waiting requests, retires idle workers above max-spare, one decision at a time", () => {
  const a = arbiter({ workers: null, minSpare: 1, maxSpare: 1, maxWorkers: 3 });
  assert.deepEqual(a.step({ type: "tick" }), ["spawn w1"]);
  a.step({ type: "ready", worker: 1, rssKiB: 20 * MiB });
  assert.deepEqual(a.step({ type: "arrive", id: 1, bodyBytes: 0 }), ["dispatch 1→w1", "spawn w2"], "busy: a spare starts");
  assert.deepEqual(a.step({ type: "arrive", id: 2, bodyBytes: 0 }), [], "waits for the spare");
  assert.deepEqual(a.step({ type: "ready", worker: 2, rssKiB: 20 * MiB }), ["dispatch 2→w2", "spawn w3"], "takes the waiting one, then keeps a spare");
  a.step({ type: "ready", worker: 3, rssKiB: 20 * MiB });
  a.step({ type: "done", worker: 1, id: 1 }, { type: "done", worker: 2, id: 2 });
  assert.deepEqual(a.step({ type: "tick" }), ["retire w1 scale-down", "stop w1 scale-down", "retire w2 scale-down", "stop w2 scale-down"],
    "3 idle, --max-spare 1: exactly two go (re-entry would retire a third)");
  assert.deepEqual(a.core.view().map((w) => w.phase), ["stopping", "stopping", "idle"]);
});

test("shutdown: waiting requests get 503, idle workers stop now, busy ones after their request", () => {
  const a = upAndRunning();
  a.step({ type: "arrive", id: 1, bodyBytes: 0 }, { type: "arrive", id: 2, bodyBytes: 0 }, { type: "arrive", id: 3, bodyBytes: 0 });
  a.step({ type: "done", worker: 2, id: 2 }); // 3 goes to w2
  a.step({ type: "arrive", id: 4, bodyBytes: 0 });
  assert.deepEqual(a.step({ type: "shutdown" }), ["reject 4"]);
  assert.deepEqual(a.step({ type: "done", worker: 1, id: 1 }), ["stop w1 shutdown"]);
  assert.deepEqual(a.step({ type: "arrive", id: 5, bodyBytes: 0 }), ["reject 5"]);
  assert.deepEqual(a.step({ type: "exit", worker: 1, clean: true }), ["exited w1 shutdown"], "no replacement while stopping");
});

test("memory budget: a 3 GiB request does not make the idle worker recycle; the big one goes after its response", () => {
  const a = upAndRunning({ memoryBudgetMiB: 1024 });
  a.step({ type: "arrive", id: 1, bodyBytes: 0 });
  const log = [];
  for (let t = 250; t <= 5000; t += 250) {
    a.clock.t = t;
    log.push(...a.step({ type: "rss", worker: 1, rssKiB: 3 * 1024 * MiB }, { type: "rss", worker: 2, rssKiB: 20 * MiB }));
  }
  assert.deepEqual(log, [], "nothing to do while the only worker that can help is busy");
  assert.deepEqual(a.step({ type: "done", worker: 1, id: 1, rssAfterKiB: 3 * 1024 * MiB }), ["retire w1 budget", "spawn w3", "stop w1 budget"]);
  a.clock.t = 5100;
  assert.deepEqual(a.step({ type: "rss", worker: 2, rssKiB: 20 * MiB }), [], "one at a time");
});

test("memory budget: a balloon that gave its memory back is not recycled for it", () => {
  const a = upAndRunning({ memoryBudgetMiB: 200 });
  a.step({ type: "arrive", id: 1, bodyBytes: 0 });
  a.clock.t = 250;
  assert.deepEqual(a.step({ type: "rss", worker: 1, rssKiB: 320 * MiB }), []);
  assert.deepEqual(a.step({ type: "done", worker: 1, id: 1, rssAfterKiB: 21 * MiB }), [], "back under: nothing to reclaim");
  a.step({ type: "arrive", id: 2, bodyBytes: 0 });
  a.clock.t = 500;
  a.step({ type: "rss", worker: 2, rssKiB: 320 * MiB });
  assert.deepEqual(a.step({ type: "done", worker: 2, id: 2, rssAfterKiB: 300 * MiB }), ["retire w2 budget", "spawn w3", "stop w2 budget"], "still over after its request: recycled");
});

test("memory budget below workers × baseline is refused with the numbers", () => {
  const a = arbiter({ memoryBudgetMiB: 30 });
  a.step({ type: "tick" });
  const [refuse] = a.core.handle({ type: "ready", worker: 1, rssKiB: 20 * MiB });
  assert.equal(refuse.type, "refuse");
  assert.match(refuse.message, /--memory-budget 30 MiB cannot hold 2 idle workers: each starts at 20\.0 MiB \(2 × 20\.0 = 40\.0 MiB\)/);
});

test("planBudget: who goes, when, and when nobody can help", () => {
  const w = (id, mib, idle = true, retiring = false) => ({ id, rssKiB: mib * MiB, idle, retiring });
  const cases = [
    { name: "under budget", workers: [w(1, 100), w(2, 20)], budget: 200, want: "none" },
    { name: "biggest idle covers it", workers: [w(1, 150), w(2, 120), w(3, 20)], budget: 250, want: "retire-now 1" },
    { name: "busy big one: after its request", workers: [w(1, 150, false), w(2, 20)], budget: 100, want: "retire-after-request 1" },
    { name: "two needed: an idle one of them first", workers: [w(1, 90, false), w(2, 80), w(3, 20)], budget: 100, want: "retire-now 2" },
    { name: "nobody above baseline", workers: [w(1, 20), w(2, 20)], budget: 30, want: "unreachable" },
    { name: "all together too little", workers: [w(1, 25), w(2, 25)], budget: 30, want: "unreachable" },
    { name: "one already retiring", workers: [w(1, 150, true, true), w(2, 120)], budget: 100, want: "wait" },
  ];
  for (const { name, workers, budget, want } of cases) {
    const plan = planBudget(workers, budget * MiB, 20 * MiB, BUDGET_RETIRE_INTERVAL_MS);
    assert.equal([plan.kind, plan.worker].filter((x) => x !== undefined).join(" "), want, name);
  }
  assert.equal(planBudget([w(1, 150)], 100 * MiB, 20 * MiB, BUDGET_RETIRE_INTERVAL_MS - 1).kind, "wait", "rate-limited");
});

test("prefetch: a busy worker gets its next request ahead, starts it when its current one is done, its timeout from then", () => {
  const a = upAndRunning({ prefetch: true });
  a.clock.t = 10;
  assert.deepEqual(a.step({ type: "arrive", id: 1, bodyBytes: 0 }, { type: "arrive", id: 2, bodyBytes: 0 }), ["dispatch 1→w1", "dispatch 2→w2"]);
  a.clock.t = 11;
  // The worker whose current request started first takes the next one ahead; then the other; then the queue.
  assert.deepEqual(a.step({ type: "arrive", id: 3, bodyBytes: 0 }, { type: "arrive", id: 4, bodyBytes: 0 }, { type: "arrive", id: 5, bodyBytes: 0 }),
    ["dispatch 3→w1 ahead", "dispatch 4→w2 ahead"]);
  assert.equal(a.core.queued, 1);
  assert.equal(a.core.inFlight, 2, "only running requests count as in flight");
  a.clock.t = 20_000;
  assert.deepEqual(a.step({ type: "done", worker: 1, id: 1 }), ["started 3", "dispatch 5→w1 ahead"]);
  // Request 3 started at 20 s: 30 s from then, not from its hand-off at 11 ms.
  a.clock.t = 40_000;
  // w2's request 2 ran from 10 ms; request 4, handed to it ahead, has not started: not expired.
  assert.deepEqual(a.step({ type: "tick" }), ["kill w2 [2]", "spawn w3"]);
  a.clock.t = 50_001;
  assert.deepEqual(a.step({ type: "tick" })[0], "kill w1 [3]");
});

test("prefetch: a worker that dies with a request handed ahead gives it back to the queue, first in line", () => {
  const a = upAndRunning({ prefetch: true });
  a.step({ type: "arrive", id: 1, bodyBytes: 0 }, { type: "arrive", id: 2, bodyBytes: 0 }, { type: "arrive", id: 3, bodyBytes: 0 });
  assert.deepEqual(a.step({ type: "arrive", id: 4, bodyBytes: 0 }), ["dispatch 4→w2 ahead"]);
  a.step({ type: "arrive", id: 5, bodyBytes: 0 });
  const actions = a.step({ type: "exit", worker: 1, clean: false });
  assert.equal(actions[0], "exited w1 crash requeued [3]");
  assert.ok(actions.includes("spawn w3"), actions.join(", "));
  // Request 3 (given back) goes before 5, which was queued after it.
  assert.deepEqual(a.step({ type: "ready", worker: 3, rssKiB: 20 * MiB }), ["dispatch 3→w3", "dispatch 5→w3 ahead"]);
  assert.equal(a.core.queued, 0);
});

test("prefetch: not where the worker might leave after its request, nor with threads, a dynamic pool or a body", () => {
  const cases = [
    { name: "off", settings: {}, want: [] },
    { name: "reload-on-rss decides after the request", settings: { prefetch: true, reloadOnRssMiB: 100 }, want: [] },
    { name: "the memory budget too", settings: { prefetch: true, memoryBudgetMiB: 4096 }, want: [] },
    { name: "a body over 64 KiB", settings: { prefetch: true }, body: 65 * 1024, want: [] },
    { name: "a small body", settings: { prefetch: true }, body: 1024, want: ["dispatch 3→w1 ahead"] },
    { name: "max-requests 2: the next is the worker's last", settings: { prefetch: true, maxRequests: 2 }, want: [] },
    { name: "max-requests 3", settings: { prefetch: true, maxRequests: 3 }, want: ["dispatch 3→w1 ahead"] },
  ];
  for (const { name, settings, body = 0, want } of cases) {
    const a = upAndRunning(settings);
    a.step({ type: "arrive", id: 1, bodyBytes: 0 }, { type: "arrive", id: 2, bodyBytes: 0 });
    assert.deepEqual(a.step({ type: "arrive", id: 3, bodyBytes: body }), want, name);
  }
  const threaded = upAndRunning({ prefetch: true, threads: 2 });
  threaded.step(...[1, 2, 3, 4].map((id) => ({ type: "arrive", id, bodyBytes: 0 })));
  assert.deepEqual(threaded.step({ type: "arrive", id: 5, bodyBytes: 0 }), [], "threads: the shim would run it at once");
  const dynamic = arbiter({ prefetch: true, workers: null, minSpare: 1, maxSpare: 2, maxWorkers: 4 });
  dynamic.step({ type: "tick" });
  dynamic.step({ type: "ready", worker: 1, rssKiB: 20 * MiB });
  dynamic.step({ type: "arrive", id: 1, bodyBytes: 0 });
  assert.ok(!dynamic.step({ type: "arrive", id: 2, bodyBytes: 0 }).some((line) => line.includes("ahead")), "a dynamic pool scales on its queue instead");
});

test("prefetch: a request handed ahead counts against --queue like a queued one", () => {
  const a = upAndRunning({ prefetch: true, queueSize: 1 });
  a.step({ type: "arrive", id: 1, bodyBytes: 0 }, { type: "arrive", id: 2, bodyBytes: 0 });
  assert.deepEqual(a.step({ type: "arrive", id: 3, bodyBytes: 0 }), ["dispatch 3→w1 ahead"]);
  assert.deepEqual(a.step({ type: "arrive", id: 4, bodyBytes: 0 }), ["reject 4"]);
});
