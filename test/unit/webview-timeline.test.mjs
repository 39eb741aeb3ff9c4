// The webview's timeline (webview/timeline.ts): batches become per-worker chunks, a total line and
// markers; appends share what was held; resets and other sessions start over.
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendTimeline, emptyTimeline, resetTimeline, seriesPoints, TOTAL_SERIES } from "../../out/test-build/webview/timeline.js";

const T0 = 1_767_000_000_000;
const sample = (ms, worker, rssMiB, pid = 100 + worker) => ({ t: T0 + ms, worker, pid, rssKiB: rssMiB * 1024 });
const event = (ms, worker, kind, pid = 100 + worker, detail = `${kind} detail`) => ({ t: T0 + ms, worker, pid, kind, detail });
const batch = (samples, events = [], budgetMiB = 0, sessionId = "s1") => ({ sessionId, samples, events, budgetMiB });
const points = (timeline, worker) => {
  const series = worker === TOTAL_SERIES ? timeline.total : timeline.workers.find((s) => s.worker === worker);
  return series ? seriesPoints(series).map((p) => [p.x, p.y]) : [];
};

test("a reset splits samples per worker slot, from the first sample's time, in MiB", () => {
  const timeline = resetTimeline(emptyTimeline(), batch([sample(0, 1, 40), sample(0, 2, 50), sample(250, 1, 41), sample(250, 2, 52)], [], 512));
  assert.equal(timeline.origin, T0);
  assert.equal(timeline.epoch, 1);
  assert.equal(timeline.budgetMiB, 512);
  assert.deepEqual(timeline.workers.map((s) => s.worker), [1, 2]);
  assert.deepEqual(points(timeline, 1), [[0, 40], [250, 41]]);
  assert.deepEqual(points(timeline, 2), [[0, 50], [250, 52]]);
  assert.deepEqual(seriesPoints(timeline.workers[0]).map((p) => p.pid), [101, 101]);
});

test("the total line has one point per instant, once every worker of that instant is counted", () => {
  const timeline = resetTimeline(emptyTimeline(), batch([sample(0, 1, 40), sample(0, 2, 50), sample(250, 1, 41), sample(260, 2, 52)]));
  assert.deepEqual(points(timeline, TOTAL_SERIES), [[0, 90], [250, 91], [260, 93]]);
});

const totalCases = [
  { name: "a recycled process leaves the total until its successor's first sample", kind: "recycle", after: [[0, 90], [100, 50], [250, 60]] },
  { name: "a crashed one too", kind: "crash", after: [[0, 90], [100, 50], [250, 60]] },
  { name: "and one that exited", kind: "exit", after: [[0, 90], [100, 50], [250, 60]] },
  { name: "a ready event changes nothing", kind: "ready", after: [[0, 90], [250, 60]] },
];
for (const { name, kind, after } of totalCases) {
  test(name, () => {
    const timeline = resetTimeline(emptyTimeline(), batch([sample(0, 1, 40), sample(0, 2, 50), sample(250, 1, 10, 111)], [event(100, 1, kind)]));
    assert.deepEqual(points(timeline, TOTAL_SERIES), after);
  });
}

test("an event for another pid of the slot (already replaced) does not take the new one out", () => {
  const timeline = resetTimeline(emptyTimeline(), batch([sample(0, 1, 40, 111), sample(250, 1, 41, 111)], [event(100, 1, "exit", 101)]));
  assert.deepEqual(points(timeline, TOTAL_SERIES), [[0, 40], [250, 41]]);
});

test("markers: recycle, crash and timeout, at their time from the origin; ready and exit are not drawn", () => {
  const events = [event(100, 1, "recycle"), event(200, 2, "ready"), event(300, 2, "crash", 102, "killed by signal 9"), event(400, 3, "timeout"), event(500, 3, "exit")];
  const timeline = resetTimeline(emptyTimeline(), batch([sample(0, 1, 40)], events));
  assert.deepEqual(timeline.markers.map((m) => [m.x, m.kind, m.worker]), [[100, "recycle", 1], [300, "crash", 2], [400, "timeout", 3]]);
  assert.equal(timeline.markers[1].detail, "killed by signal 9");
});

test("an append adds one chunk per series and keeps every earlier one (and the untouched series) as they were", () => {
  const first = resetTimeline(emptyTimeline(), batch([sample(0, 1, 40), sample(0, 2, 50)], [event(10, 1, "recycle")]));
  const second = appendTimeline(first, batch([sample(250, 1, 41)]));
  const one = second.workers.find((s) => s.worker === 1);
  assert.equal(one.chunks.length, 2);
  assert.equal(one.chunks[0], first.workers[0].chunks[0], "the first chunk is shared, not copied");
  assert.equal(one.count, 2);
  assert.equal(second.workers.find((s) => s.worker === 2), first.workers[1], "worker 2 got nothing: the same series");
  assert.equal(second.markers, first.markers, "no new marker: the same list");
  assert.equal(second.epoch, first.epoch);
  assert.deepEqual(points(second, 1), [[0, 40], [250, 41]]);
  assert.deepEqual(first.workers[0].count, 1, "the earlier timeline is unchanged");
});

const orderCases = [
  { name: "samples out of time order are sorted", samples: [sample(500, 1, 3), sample(250, 1, 2), sample(0, 1, 1)], expected: [[0, 1], [250, 2], [500, 3]] },
  { name: "a repeated or older time of a worker is dropped (chart.js is told x grows)", samples: [sample(0, 1, 1), sample(0, 1, 9), sample(250, 1, 2)], expected: [[0, 1], [250, 2]] },
];
for (const { name, samples, expected } of orderCases) {
  test(name, () => assert.deepEqual(points(resetTimeline(emptyTimeline(), batch(samples)), 1), expected));
}

test("a later batch with older samples keeps only the newer ones", () => {
  const first = resetTimeline(emptyTimeline(), batch([sample(0, 1, 1), sample(250, 1, 2)]));
  const second = appendTimeline(first, batch([sample(100, 1, 7), sample(500, 1, 3)]));
  assert.deepEqual(points(second, 1), [[0, 1], [250, 2], [500, 3]]);
});

test("an empty batch returns the same timeline; one that only moves the budget changes just that", () => {
  const first = resetTimeline(emptyTimeline(), batch([sample(0, 1, 1)], [], 256));
  assert.equal(appendTimeline(first, batch([], [], 256)), first);
  const moved = appendTimeline(first, batch([], [], 300));
  assert.equal(moved.budgetMiB, 300);
  assert.equal(moved.workers, first.workers);
  assert.equal(appendTimeline(first, batch([], [], -1)).budgetMiB, 0, "no budget");
});

test("a batch of another session starts a new timeline (new epoch, new origin)", () => {
  const first = resetTimeline(emptyTimeline(), batch([sample(0, 1, 40)]));
  const other = appendTimeline(first, batch([sample(9000, 3, 70)], [], 0, "s2"));
  assert.equal(other.sessionId, "s2");
  assert.equal(other.epoch, first.epoch + 1);
  assert.equal(other.origin, T0 + 9000);
  assert.deepEqual(other.workers.map((s) => s.worker), [3]);
});

test("a first batch without samples takes its origin from its events", () => {
  const timeline = appendTimeline(emptyTimeline(), batch([], [event(40, 1, "crash")]));
  assert.equal(timeline.origin, T0 + 40);
  assert.deepEqual(timeline.markers.map((m) => m.x), [0]);
});

test("100k samples in one reset, then 1k appended, stay cheap (chunk references, not copies)", () => {
  const many = Array.from({ length: 100_000 }, (_, i) => sample(Math.floor(i / 4) * 250, (i % 4) + 1, 40 + (i % 7)));
  const started = performance.now();
  const first = resetTimeline(emptyTimeline(), batch(many));
  const resetMs = performance.now() - started;
  const more = Array.from({ length: 1000 }, (_, i) => sample(25_000 * 250 + Math.floor(i / 4) * 250, (i % 4) + 1, 41));
  const appendStarted = performance.now();
  const second = appendTimeline(first, batch(more));
  const appendMs = performance.now() - appendStarted;
  assert.equal(second.workers.reduce((sum, s) => sum + s.count, 0), 101_000);
  assert.equal(second.total.count, 25_250);
  assert.ok(resetMs < 1000 && appendMs < 50, `reset ${resetMs.toFixed(0)} ms, append ${appendMs.toFixed(1)} ms`);
});
