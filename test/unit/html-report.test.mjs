// The offline report's pure parts: the page around the data (escaping, CSP hashes), the whole
// run's timeline thinned evenly past its bound, and the deep dive's words.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { htmlReport } from "../../out/test-build/report/html.js";
import { RunTimeline } from "../../out/test-build/report/run-timeline.js";
import { deepHeading, deepNotes, deepRows, formatKiB } from "../../out/test-build/webview/deep-words.js";

const assets = { script: "console.log(1)", style: "body{color:red}" };
const hash = (text) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

test("the page: data that cannot end its element, a CSP naming exactly its script and style, the title escaped", () => {
  const evil = "GET /x</script><script>alert(1)</script><!--";
  const page = htmlReport(`app <b>--x`, [{ type: "error", message: evil }], assets, "2026-12-02T00:00:00.000Z");
  const [first] = page.split("\n", 1);
  assert.match(first, /^<!-- Balloon report, written 2026-12-02T00:00:00\.000Z by balloon report --html: app &lt;b&gt;- -x; it works offline/);
  assert.equal(first.indexOf("-->"), first.length - 3, "the title cannot close the comment early");
  assert.equal(page.match(/<\/script>/g).length, 2, "only the two elements' own ends");
  const data = /id="balloon-data">(.*?)<\/script>/s.exec(page)[1];
  assert.equal(JSON.parse(data)[0].message, evil, "the JSON reads back the same");
  assert.match(page, new RegExp(`script-src ${hash(assets.script).replace(/[+/]/g, "\\$&")}`));
  assert.match(page, new RegExp(`style-src ${hash(assets.style).replace(/[+/]/g, "\\$&")}`));
  assert.match(page, /<title>app &lt;b&gt;--x<\/title>/);
  assert.throws(() => htmlReport("t", [], { script: "a='</script>'", style: "" }, "now"), /closing tag/);
});

const sample = (t, worker, rssKiB) => ({ type: "sample", t, worker, pid: 100 + worker, rssKiB, cpu: 0 });

const cases = [
  { name: "under the bound: every sample", max: 200, samples: 60, workers: 2, expect: { kept: 120, stride: 1 } },
  { name: "over it once: each worker's pairs become their higher point", max: 100, samples: 80, workers: 2, expect: { kept: 80, stride: 2 } },
  { name: "far over: halved again and again, evenly", max: 100, samples: 1000, workers: 1, expect: { kept: 63, stride: 16 } },
];
for (const { name, max, samples, workers, expect } of cases) {
  test(`RunTimeline: ${name}`, () => {
    const timeline = new RunTimeline(max, 3);
    timeline.add({ type: "start", t: 0, version: 1, settings: { memoryBudgetMiB: 512 } });
    // One spike per worker in the middle: thinning keeps a window's highest point.
    for (let i = 0; i < samples; i++) for (let w = 1; w <= workers; w++) timeline.add(sample(i * 250, w, i === Math.floor(samples / 2) ? 99_999 : 1000 + i));
    const { batch, notes } = timeline.whole("s");
    assert.equal(batch.budgetMiB, 512);
    assert.ok(Math.abs(batch.samples.length - expect.kept) <= workers, `${batch.samples.length} kept, about ${expect.kept}`);
    assert.ok(batch.samples.length <= max + workers);
    for (let w = 1; w <= workers; w++) assert.ok(batch.samples.some((p) => p.worker === w && p.rssKiB === 99_999), "the spike stays");
    assert.deepEqual(batch.samples.map((p) => p.t), [...batch.samples.map((p) => p.t)].sort((a, b) => a - b), "in time order");
    assert.deepEqual(notes.length > 0, expect.stride > 1);
    if (expect.stride > 1) assert.match(notes[0], new RegExp(`highest of every ${expect.stride} samples`));
    const first = batch.samples[0];
    assert.ok(first.t <= 250 * expect.stride, "the run's start is still there");
  });
}

test("RunTimeline: pool events are markers (ready, recycle, crash, timeout), kept up to their bound, the rest counted", () => {
  const timeline = new RunTimeline(100, 3);
  const worker = (event, reason) => ({ type: "worker", t: 1, worker: 1, pid: 5, event, ...(reason ? { reason } : {}) });
  for (const line of [worker("spawn"), worker("ready"), worker("recycle"), worker("exit", "timeout"), worker("crash"), worker("forked")]) timeline.add(line);
  const { batch, notes } = timeline.whole("s");
  assert.deepEqual(batch.events.map((e) => e.kind), ["ready", "recycle", "timeout"]);
  assert.match(notes.join(), /stop after 3 pool events \(1 more not drawn\)/);
});

const dive = {
  route: "/leak", method: "GET", calls: 5, paths: ["/leak"], frames: 40, flag: "leak", orderedBy: "retained",
  top: [{ file: "app/views.py", line: 59, code: "_kept.append(b'x' * MiB)", peakKiB: 2048, retainedKiB: 10240, count: 6, peakCount: 1, retainedCount: 6 }],
  growth: [{ file: "app/views.py", line: 59, code: "_kept.append(b'x' * MiB)", kibPerCall: 2048 }],
  peak: { capturedKiB: 2049, exactKiB: 2051, coverage: 0.999, capturedCalls: 5, snapshots: 9 },
  outsideApp: { peakKiB: 300, retainedKiB: 12, truncatedPeakKiB: 0, truncatedRetainedKiB: 0 },
  statuses: { 200: 4, 400: 1 }, durationMs: { median: 12, max: 30 },
  failure: "Calls answered 400 ×1: the figures are those of the error path.",
};

test("the deep dive's words: heading by flag and order, rows with the line and sizes, notes on what lies outside", () => {
  assert.equal(deepHeading(dive), "GET /leak (leaks): lines by retained");
  assert.equal(deepHeading({ ...dive, flag: "inflates" }), "GET /leak (inflates): lines by retained");
  assert.equal(deepHeading({ ...dive, flag: null, orderedBy: "peak" }), "GET /leak (not flagged): lines by peak");
  assert.deepEqual(deepRows(dive)[0], { file: "app/views.py", line: 59, label: "views.py:59", cells: ["_kept.append(b'x' * MiB)", "2.0 MiB", "10 MiB", "6"] });
  assert.deepEqual([formatKiB(512), formatKiB(1536), formatKiB(-20)], ["512 KiB", "1.5 MiB", "-20 KiB"]);
  const notes = deepNotes(dive);
  assert.match(notes[0], /Outside the app's code \(framework, libraries\): 300 KiB at the peak, 12 KiB retained\.$/);
  assert.equal(notes[1], dive.failure, "the engine's words on failed calls");
  assert.deepEqual(deepNotes({ ...dive, outsideApp: { peakKiB: 0, retainedKiB: 0, truncatedPeakKiB: 0, truncatedRetainedKiB: 0 }, statuses: { 200: 5 }, failure: undefined }), []);
  assert.match(deepNotes({ ...dive, outsideApp: { ...dive.outsideApp, truncatedPeakKiB: 200 } })[0], /200 KiB of it had its traceback cut at 40 frames/);
});
