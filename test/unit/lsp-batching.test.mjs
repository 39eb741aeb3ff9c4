// The server's batching (profiler/lsp/throttle.ts) on a fake clock, and the timeline it batches
// (profiler/report/timeline.ts): pool events from worker lines, what is new since the last batch, bounds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Throttle } from "../../out/test-build/lsp/throttle.js";
import { MAX_SAMPLES, Timeline, poolEventOf } from "../../out/test-build/report/timeline.js";

function fakeClock() {
  const clock = {
    t: 0,
    timers: [],
    now: () => clock.t,
    setTimeout: (run, ms) => {
      const timer = { at: clock.t + ms, run };
      clock.timers.push(timer);
      return timer;
    },
    clearTimeout: (timer) => (clock.timers = clock.timers.filter((t) => t !== timer)),
    advance(ms) {
      clock.t += ms;
      for (const timer of clock.timers.filter((t) => t.at <= clock.t)) {
        clock.timers = clock.timers.filter((t) => t !== timer);
        timer.run();
      }
    },
  };
  return clock;
}

test("throttle: pokes in one interval make one flush; the next waits out the interval", () => {
  const clock = fakeClock();
  const flushes = [];
  const throttle = new Throttle(250, () => flushes.push(clock.t), clock);
  for (let i = 0; i < 100; i++) throttle.poke();
  clock.advance(0);
  assert.deepEqual(flushes, [0], "the first batch goes at once (after the tick)");
  clock.advance(10);
  throttle.poke();
  throttle.poke();
  clock.advance(100);
  assert.deepEqual(flushes, [0]);
  clock.advance(140);
  assert.deepEqual(flushes, [0, 250], "4 a second at most");
  clock.advance(1000);
  assert.deepEqual(flushes, [0, 250], "nothing new, no flush");
});

test("throttle: flushNow goes at once and cancels the pending one", () => {
  const clock = fakeClock();
  const flushes = [];
  const throttle = new Throttle(2000, () => flushes.push(clock.t), clock);
  throttle.poke();
  clock.advance(0);
  throttle.poke();
  clock.advance(500);
  throttle.flushNow();
  clock.advance(5000);
  assert.deepEqual(flushes, [0, 500]);
});

const worker = (event, more = {}) => ({ type: "worker", t: 5, event, worker: 1, pid: 42, ...more });

test("timeline: worker lines as pool events; the others are no markers", () => {
  assert.deepEqual(poolEventOf(worker("ready")), { t: 5, worker: 1, pid: 42, detail: "", kind: "ready" });
  assert.equal(poolEventOf(worker("recycle", { detail: "max-requests: served 100 requests" })).detail, "max-requests: served 100 requests");
  assert.equal(poolEventOf(worker("crash", { detail: "killed by signal 9" })).kind, "crash");
  assert.equal(poolEventOf(worker("exit", { reason: "timeout" })).kind, "timeout");
  assert.equal(poolEventOf(worker("exit", { reason: "shutdown" })).kind, "exit");
  for (const event of ["spawn", "forked", "boot-failed", "master-ready"]) assert.equal(poolEventOf(worker(event)), null, event);
});

test("timeline: pending batches and the whole, with the budget from the start line", () => {
  const timeline = new Timeline("s1", 0);
  assert.equal(timeline.add({ type: "start", t: 0, version: 1, run: {}, settings: { memoryBudgetMiB: 512 } }), false);
  assert.equal(timeline.add({ type: "sample", t: 1, worker: 1, pid: 42, rssKiB: 30_000, cpu: 3 }), true);
  assert.equal(timeline.add(worker("ready")), true);
  assert.equal(timeline.add({ type: "request", t: 2 }), false);
  assert.equal(timeline.hasPending, true);
  assert.deepEqual(timeline.takePending(), { sessionId: "s1", samples: [{ t: 1, worker: 1, pid: 42, rssKiB: 30_000 }], events: [poolEventOf(worker("ready"))], budgetMiB: 512 });
  assert.equal(timeline.hasPending, false);
  timeline.add({ type: "sample", t: 2, worker: 1, pid: 42, rssKiB: 31_000, cpu: 0 });
  assert.equal(timeline.takePending().samples.length, 1);
  assert.equal(timeline.whole().samples.length, 2);
});

test("timeline: bounded; the oldest points go first", () => {
  const timeline = new Timeline("s1", 0);
  const count = MAX_SAMPLES * 1.2;
  for (let t = 0; t < count; t++) timeline.add({ type: "sample", t, worker: 1, pid: 1, rssKiB: t, cpu: 0 });
  const { samples } = timeline.whole();
  assert.ok(samples.length <= MAX_SAMPLES * 1.1 && samples.length >= MAX_SAMPLES, `${samples.length} kept`);
  assert.equal(samples.at(-1).t, count - 1);
});
