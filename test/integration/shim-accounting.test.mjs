// What a worker says a request did to its memory, on real /usr/bin/python3 workers behind
// the fake supervisor socket: bodies charged to their request (response and upload), threads
// that overlap marked as such while solo calls stay exact, the RSS-only fallback where
// clear_refs cannot be written, and sys.exit() in a handler.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { BODY_CHUNK_BYTES, ExitCode, FakeSupervisor, Frame, shimConfig, spawnShim, startWorker, stopWorker } from "./helpers/frames.mjs";

const MiB = 1024; // KiB, as the stats are
const peakMiB = (s) => (s.peakKiB - s.rssBeforeKiB) / MiB;
const retainedMiB = (s) => (s.rssAfterKiB - s.rssBeforeKiB) / MiB;
const near = (actual, expected, tolerance, what) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual.toFixed(2)} MiB, want ${expected} ± ${tolerance}`);

let supervisor;
before(async () => (supervisor = await FakeSupervisor.start()));
after(() => supervisor.close());

describe("bodies are charged to their request", () => {
  let worker;
  before(async () => (worker = await startWorker(supervisor)));
  after(() => worker.child.kill("SIGKILL"));

  test("a 40 MiB response: peak 40 MiB, retained 0, streamed in bounded frames, the next request not charged", async () => {
    let id = 100;
    for (let round = 0; round < 3; round++) {
      const big = await worker.conn.request(id++, "GET", "/body");
      assert.equal(big.body.length, 40 << 20);
      assert.equal(big.streamed, true);
      assert.ok(big.chunkSizes.every((size) => size <= BODY_CHUNK_BYTES), `Body frames ${big.chunkSizes}`);
      near(peakMiB(big.stats), 40, 2, `/body peak, round ${round}`);
      near(retainedMiB(big.stats), 0, 1, `/body retained, round ${round}`);
      const hello = await worker.conn.request(id++, "GET", "/hello");
      near(peakMiB(hello.stats), 0, 0.5, `/hello after /body: peak, round ${round}`);
      near(hello.stats.rssBeforeKiB / MiB, big.stats.rssBeforeKiB / MiB, 1, "/hello starts where /body started");
    }
  });

  test("a list body up to 64 KiB is one FullResponse; one byte more is streamed", async () => {
    const small = await worker.conn.request(200, "GET", "/sized", { query: "n=65536" });
    assert.equal(small.streamed, false);
    assert.equal(small.body.length, 65536);
    assert.ok(small.stats.peakKiB > 0);
    const over = await worker.conn.request(201, "GET", "/sized", { query: "n=65537" });
    assert.equal(over.streamed, true);
    assert.equal(over.body.length, 65537);
  });

  test("a big list of small chunks goes in a few frames, intact", async () => {
    const res = await worker.conn.request(250, "GET", "/many");
    assert.equal(res.body.length, 20000 * 100);
    assert.equal(res.body.toString("latin1", 0, 100), `${"0".repeat(99)}\n`);
    assert.equal(res.body.toString("latin1", 1999900), `${"19999".padStart(99, "0")}\n`);
    assert.ok(res.bodyFrames <= 3, `${res.bodyFrames} Body frames`);
  });

  test("a 36 MiB upload read whole: peak 36 MiB, retained 0, on every call", async () => {
    // Over glibc's 32 MiB mmap threshold cap: a smaller buffer's second call would come from
    // the heap and stay (gunicorn shows the same for a 24 MiB upload: +24/0, then +24/24, then 0/0).
    const body = Buffer.alloc(36 << 20, "u");
    for (let round = 0; round < 3; round++) {
      const up = await worker.conn.request(300 + round * 2, "POST", "/upload", { body, headers: [["Content-Length", String(body.length)]] });
      assert.equal(up.body.toString(), `${body.length} ${body.length}`);
      near(peakMiB(up.stats), 36, 2, `/upload peak, round ${round}`);
      near(retainedMiB(up.stats), 0, 1, `/upload retained, round ${round}`);
      const hello = await worker.conn.request(301 + round * 2, "GET", "/hello");
      near(peakMiB(hello.stats), 0, 0.5, "/hello after /upload");
    }
  });
});

describe("threads: overlapping calls are marked, solo calls stay exact", () => {
  test("a balloon overlapping cheap calls shares its figures with them; solo calls after it are exact", async () => {
    const worker = await startWorker(supervisor, { threads: 4 });
    // Overlap: the balloon holds 60 MiB for 0.3 s while three cheap calls come and go.
    const balloon = worker.conn.request(1, "GET", "/slow-balloon");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const cheap = await Promise.all([2, 3, 4].map((id) => worker.conn.request(id, "GET", "/hello")));
    const shared = await balloon;
    assert.ok(shared.stats.concurrent >= 2, `the balloon overlapped: concurrent ${shared.stats.concurrent}`);
    for (const c of cheap) assert.ok(c.stats.concurrent >= 2, `a cheap call during the balloon: concurrent ${c.stats.concurrent}`);
    // Alone, one after the other: exact, and none inherits the balloon's mark.
    let id = 10;
    for (let round = 0; round < 3; round++) {
      const hello = await worker.conn.request(id++, "GET", "/hello");
      assert.equal(hello.stats.concurrent, 1);
      near(peakMiB(hello.stats), 0, 0.5, `solo /hello, round ${round}`);
      const solo = await worker.conn.request(id++, "GET", "/slow-balloon");
      assert.equal(solo.stats.concurrent, 1);
      near(peakMiB(solo.stats), 60, 2, `solo /slow-balloon, round ${round}`);
      near(retainedMiB(solo.stats), 0, 1, `solo /slow-balloon retained, round ${round}`);
    }
    assert.equal((await stopWorker(worker)).code, ExitCode.Ok);
  });
});

describe("where /proc/self/clear_refs cannot be written", () => {
  const noClearRefs = { env: { BALLOON_SIMULATE_NO_CLEAR_REFS: "1" } };

  test("a worker warns once and still serves, its peaks never below max(before, after)", async () => {
    const worker = await startWorker(supervisor, {}, noClearRefs);
    const warning = (await worker.conn.next(Frame.Log)).json();
    assert.equal(warning.level, "warning");
    assert.match(warning.message, /clear_refs cannot be written/);
    for (const id of [1, 2]) {
      const { stats } = await worker.conn.request(id, "GET", "/body");
      assert.ok(stats.peakKiB >= Math.max(stats.rssBeforeKiB, stats.rssAfterKiB), JSON.stringify(stats));
    }
    assert.equal((await worker.conn.request(3, "GET", "/hello")).status, "200 OK");
    assert.equal(worker.conn.frames.filter((f) => f.type === Frame.Log).length, 0, "one warning only");
    assert.equal((await stopWorker(worker)).code, ExitCode.Ok);
  });

  test("with a master, the master warns once; a forked worker's new high is exact, an old one is not invented", async () => {
    // A forked worker starts with a fresh ru_maxrss (an exec'd one inherits its parent's):
    // its first balloon raises the mark, a smaller one after it stays under it.
    const master = spawnShim("master", supervisor, shimConfig({}), noClearRefs);
    const conn = await supervisor.nextConnection();
    await conn.next(Frame.MasterReady);
    assert.match((await conn.next(Frame.Log)).json().message, /clear_refs cannot be written/);
    conn.send(Frame.Fork, { workerId: 1 });
    const workerConn = await supervisor.nextConnection();
    await workerConn.next(Frame.Hello);
    near(peakMiB((await workerConn.request(1, "GET", "/slow-balloon")).stats), 60, 2, "a new high-water mark");
    near(peakMiB((await workerConn.request(2, "GET", "/body")).stats), 0, 1, "40 MiB under the 60 MiB high: max(before, after)");
    assert.deepEqual(workerConn.frames.filter((f) => f.type === Frame.Log), [], "the worker does not warn again");
    conn.send(Frame.Stop, { reason: "shutdown" });
    assert.equal((await master.exited).code, ExitCode.Ok);
  });
});

describe("sys.exit() in a handler", () => {
  test("is said as what it is, naming the request, and exits AppExit (not a boot failure)", async () => {
    const worker = await startWorker(supervisor);
    worker.conn.send(Frame.Request, Buffer.from(`${JSON.stringify({
      id: 1, method: "GET", path: "/sys-exit", query: "", protocol: "HTTP/1.1", headers: [], remoteAddr: "127.0.0.1", remotePort: 1,
    })}\n`));
    const log = (await worker.conn.next(Frame.Log)).json();
    assert.equal(log.level, "error");
    assert.equal(log.message, "the app called sys.exit(3) during GET /sys-exit; the worker exits");
    assert.deepEqual(await worker.child.exited, { code: ExitCode.AppExit, signal: null });
  });

  test("the same on a pool thread", async () => {
    const worker = await startWorker(supervisor, { threads: 2 });
    worker.conn.send(Frame.Request, Buffer.from(`${JSON.stringify({
      id: 1, method: "GET", path: "/sys-exit", query: "", protocol: "HTTP/1.1", headers: [], remoteAddr: "127.0.0.1", remotePort: 1,
    })}\n`));
    assert.match((await worker.conn.next(Frame.Log)).json().message, /^the app called sys\.exit\(3\) during GET \/sys-exit/);
    assert.equal((await worker.child.exited).code, ExitCode.AppExit);
  });
});
