// Progress lines while profile sends traffic, without a terminal (a CI log): now and then, and at the end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TrafficProgress } from "../../out/test-build/commands/progress.js";

test("without a terminal: a line every 5 s and one at the end, errors counted (4xx, 5xx, no response)", () => {
  const written = [];
  const stream = { isTTY: false, write: (text) => written.push(text) };
  let now = 0;
  const progress = new TrafficProgress("profiling", 5, () => 42.25, stream, () => now);
  for (const [t, status] of [[1000, 200], [2000, 500], [5500, 302], [6000, 0], [7000, 404]]) {
    now = t;
    progress.tick(status);
  }
  progress.stop();
  assert.deepEqual(written, [
    "[balloon] profiling: 3/5 requests, 1 errors, workers 42.3 MiB\n",
    "[balloon] profiling: 5/5 requests, 3 errors, workers 42.3 MiB\n",
  ]);
});
