import { test } from "node:test";
import assert from "node:assert/strict";
import { BootBackoff, bootBackoffMs, decidePool, recycleReason, requestLimit } from "../../out/test-build/supervisor/pool.js";

test("decidePool: fixed and dynamic pools", () => {
  const fixed = { workers: 2, minSpare: 0, maxSpare: 0, maxWorkers: 2 };
  const dynamic = { workers: null, minSpare: 1, maxSpare: 2, maxWorkers: 4 };
  const cases = [
    { name: "fixed, empty", view: [0, 0, 0, 0], limits: fixed, want: { spawn: 2, retireIdle: 0 } },
    { name: "fixed, one starting", view: [1, 1, 0, 5], limits: fixed, want: { spawn: 0, retireIdle: 0 } },
    { name: "fixed, one lost", view: [0, 0, 1, 0], limits: fixed, want: { spawn: 1, retireIdle: 0 } },
    { name: "dynamic, empty: min spare", view: [0, 0, 0, 0], limits: dynamic, want: { spawn: 1, retireIdle: 0 } },
    { name: "dynamic, all busy: one more spare", view: [0, 0, 2, 0], limits: dynamic, want: { spawn: 1, retireIdle: 0 } },
    { name: "dynamic, queue is demand", view: [0, 0, 1, 5], limits: dynamic, want: { spawn: 3, retireIdle: 0 } },
    { name: "dynamic, queue counts starting ones", view: [2, 0, 1, 2], limits: dynamic, want: { spawn: 0, retireIdle: 0 } },
    { name: "dynamic, at max workers", view: [0, 0, 4, 9], limits: dynamic, want: { spawn: 0, retireIdle: 0 } },
    { name: "dynamic, too many idle", view: [0, 4, 0, 0], limits: dynamic, want: { spawn: 0, retireIdle: 2 } },
    { name: "dynamic, idle but requests waiting: keep", view: [0, 4, 0, 1], limits: dynamic, want: { spawn: 0, retireIdle: 0 } },
  ];
  for (const { name, view, limits, want } of cases) {
    const [starting, idle, busy, queued] = view;
    assert.deepEqual(decidePool({ starting, idle, busy, queued }, limits), want, name);
  }
});

test("requestLimit: max-requests plus jitter in [0, J]", () => {
  assert.equal(requestLimit(0, 5, () => 0.5), Number.POSITIVE_INFINITY);
  assert.equal(requestLimit(100, 0, () => 0.99), 100);
  assert.equal(requestLimit(100, 10, () => 0), 100);
  assert.equal(requestLimit(100, 10, () => 0.999), 110);
});

test("recycleReason: request count first, then RSS", () => {
  assert.equal(recycleReason(3, 10, 50_000, 0), null);
  assert.equal(recycleReason(10, 10, 50_000, 0)?.reason, "max-requests");
  assert.equal(recycleReason(3, 10, 70_000, 64)?.reason, "rss-limit");
  assert.match(recycleReason(3, 10, 70_000, 64)?.detail ?? "", /RSS 68\.4 MiB over --reload-on-rss 64 MiB/);
  assert.equal(recycleReason(3, 10, 60_000, 64), null);
  assert.equal(recycleReason(3, 10, undefined, 64), null, "no figure (accounting off): no RSS recycling from it");
});

test("bootBackoffMs doubles from 0.5 s up to 30 s", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 10].map(bootBackoffMs), [0, 500, 1000, 2000, 4000, 30_000]);
});

test("BootBackoff: failures in a row push the next spawn out; a boot clears them", () => {
  const boot = new BootBackoff();
  assert.equal(boot.allowsSpawn(0), true);
  boot.failed(1000);
  assert.equal(boot.allowsSpawn(1499), false);
  assert.equal(boot.allowsSpawn(1500), true);
  boot.failed(2000);
  assert.equal(boot.allowsSpawn(2999), false, "second failure: 1 s");
  boot.succeeded();
  boot.failed(5000);
  assert.equal(boot.allowsSpawn(5500), true, "back to 0.5 s after a success");
});
