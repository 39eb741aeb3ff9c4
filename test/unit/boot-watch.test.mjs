// --boot-timeout decisions: who is named when, once each, and what requests are told.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BootWatch } from "../../out/test-build/supervisor/boot-watch.js";

const worker = (n, since) => ({ key: `worker ${n}`, what: `worker ${n} (pid ${100 + n}) is still importing it`, since });
const master = (since) => ({ key: "master", what: "the master (pid 99) is still importing it (--preload)", since });

test("BootWatch: each step of a boot, what is reported and what a request is told", () => {
  // [step, at ms, importing, ready workers, keys reported, 503 text (null: not held up)]
  const steps = [
    ["importing, within the limit", 9_000, [worker(1, 100)], 0, [], null],
    ["past the limit: named once", 10_200, [worker(1, 100)], 0, ["worker 1"], /^the app is still loading after 10 s: worker 1 \(pid 101\) is still importing it \(--boot-timeout 10 s\)$/],
    ["still importing: not said again; requests told how long now", 20_100, [worker(1, 100)], 0, [], /after 20 s: worker 1/],
    ["a second worker past the limit while the first is still named", 31_000, [worker(1, 100), worker(2, 20_000)], 0, ["worker 2"], /worker 1/],
    ["worker 1 exits: requests now name worker 2", 31_500, [worker(2, 20_000)], 0, [], /after 12 s: worker 2 \(pid 102\)/, (watch) => watch.gone("worker 1")],
    ["a worker gets ready: nobody is held up", 32_000, [worker(2, 20_000)], 1, [], null, (watch) => watch.ready()],
  ];
  const watch = new BootWatch(10);
  watch.started(0);
  for (const [name, now, importing, ready, keys, told, before] of steps) {
    before?.(watch);
    assert.deepEqual(watch.overdue(now, importing, ready).map((p) => p.key), keys, name);
    const words = watch.unavailable(now, ready);
    if (told === null) assert.equal(words, null, name);
    else assert.match(words, told, name);
  }
});

test("BootWatch: the --preload master, a pool where every attempt failed, and 0 meaning never", () => {
  const preload = new BootWatch(5);
  preload.started(0);
  assert.deepEqual(preload.overdue(6_000, [master(0)], 0).map((p) => p.key), ["master"]);
  assert.match(preload.unavailable(6_000, 0), /the master \(pid 99\) is still importing it \(--preload\)/);
  preload.gone("master"); // it died: until the next look nothing is named, and a new master may be named again
  assert.equal(preload.unavailable(6_100, 0), null);
  assert.deepEqual(preload.overdue(6_200, [master(6_100)], 0), []);
  assert.equal(preload.unavailable(6_200, 0), null, "the new master is within its limit");
  assert.deepEqual(preload.overdue(12_000, [master(6_100)], 0).map((p) => p.key), ["master"]);

  const crashing = new BootWatch(5);
  crashing.started(0);
  assert.deepEqual(crashing.overdue(4_000, [], 0), [], "within the limit");
  const [pool] = crashing.overdue(5_500, [], 0);
  assert.equal(crashing.words(pool, 5_500), "no worker is ready after 6 s: every attempt failed (see the log above) (--boot-timeout 5 s)");
  assert.deepEqual(crashing.overdue(9_000, [], 0), [], "once");
  assert.deepEqual(crashing.overdue(9_500, [worker(3, 9_400)], 0), [], "the next attempt is within its limit");
  assert.match(crashing.unavailable(9_500, 0), /^no worker is ready after 10 s: every attempt failed/, "requests are still told, not held");

  const upOnce = new BootWatch(5);
  upOnce.started(0);
  upOnce.ready();
  assert.deepEqual(upOnce.overdue(60_000, [], 0), [], "a pool that was up once is not a failed boot");

  const never = new BootWatch(0);
  never.started(0);
  assert.deepEqual(never.overdue(1e9, [worker(1, 0)], 0), []);
  assert.equal(never.unavailable(1e9, 0), null);
});
