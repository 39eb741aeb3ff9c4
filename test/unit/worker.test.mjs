// One worker's side of the socket: requests in, answers out, backpressure, garbled streams.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { Worker } from "../../out/test-build/supervisor/worker.js";
import { encodeFrame, encodeHeadFrame } from "../../out/test-build/supervisor/wire.js";
import { Frame } from "../../out/test-build/supervisor/shim-protocol.js";

function fakeSocket() {
  const socket = new EventEmitter();
  Object.assign(socket, {
    written: [], destroyed: false, paused: false, corked: 0,
    write: (data) => socket.written.push(Buffer.from(data)),
    destroy: () => (socket.destroyed = true),
    pause: () => (socket.paused = true),
    resume: () => (socket.paused = false),
    cork: () => (socket.corked += 1),
    uncork: () => undefined,
  });
  return socket;
}

function harness() {
  const seen = { logs: [], finished: [], ready: 0 };
  const events = {
    ready: () => (seen.ready += 1),
    finished: (_worker, exchange, stats) => seen.finished.push({ exchange, stats }),
    log: (_worker, message) => seen.logs.push(message),
    disconnected: () => undefined,
  };
  const worker = new Worker(1, events, 0);
  const socket = fakeSocket();
  const hello = { role: "worker", workerId: 1, pid: 42, app: null, memory: { rssKiB: 1000, vmSizeKiB: 2000 }, stackLimitKiB: 512, threadStackKiB: 512 };
  worker.attach(socket, hello, null);
  return { worker, socket, seen };
}

/** An exchange whose sink records calls; `writable` says what write() returns. */
function exchange(id, { body = null, writable = true } = {}) {
  const calls = [];
  const waiting = [];
  return {
    head: { id, method: "GET", path: "/", query: "", protocol: "HTTP/1.1", headers: [], remoteAddr: "127.0.0.1", remotePort: 1 },
    body, arrivedAt: 0, startedAt: 0, headersSent: false, status: 0,
    sink: {
      clientGone: false, invalidResponse: null, bytesSent: 0,
      full: (...args) => calls.push(["full", ...args]),
      start: (...args) => calls.push(["start", ...args]),
      write: (chunk) => (calls.push(["write", chunk.toString()]), writable),
      whenWritable: (callback) => waiting.push(callback),
      end: () => calls.push(["end"]),
      fail: () => undefined, abort: () => calls.push(["abort"]), onGone: () => undefined,
    },
    calls, waiting,
  };
}

const stats = { route: "/", handler: null, concurrent: 1, durationMs: 1, rssBeforeKiB: 1000, peakKiB: 1500, rssAfterKiB: 1100 };
const bodyFrame = (id, text) => encodeFrame(Frame.Body, Buffer.concat([Buffer.from([0, 0, 0, id]), Buffer.from(text)]));

test("hello, a request out, its whole response back", () => {
  const { worker, socket, seen } = harness();
  assert.equal(seen.ready, 1);
  assert.equal(worker.pid, 42);
  const ex = exchange(7);
  worker.send(ex);
  assert.equal(socket.written.length, 1);
  assert.equal(socket.written[0][4], Frame.Request);
  assert.equal(worker.inflight.size, 1);
  socket.emit("data", encodeHeadFrame(Frame.FullResponse, { id: 7, status: "200 OK", headers: [], stats }, Buffer.from("ok")));
  assert.equal(worker.inflight.size, 0);
  assert.equal(worker.rssKiB, 1100);
  assert.equal(ex.calls[0][0], "full");
  assert.equal(ex.calls[0][3].toString(), "ok");
  assert.equal(ex.status, 200);
  assert.deepEqual(seen.finished.map((f) => f.stats.rssAfterKiB), [1100]);
});

test("a big request body goes out beside its head, not copied into it", () => {
  const { worker, socket } = harness();
  const body = Buffer.alloc(1024 * 1024, 1);
  worker.send(exchange(3, { body }));
  assert.equal(socket.corked, 1, "head and body in one corked writev");
  assert.equal(socket.written.length, 2);
  assert.strictEqual(socket.written[1].length, body.length);
  const length = socket.written[0].readUInt32BE(0);
  assert.equal(length, socket.written[0].length - 4 + body.length, "the frame length covers head and body");
});

test("a slow client pauses the worker's socket until it drains", () => {
  const { worker, socket, seen } = harness();
  const ex = exchange(5, { writable: false });
  worker.send(ex);
  socket.emit("data", Buffer.concat([encodeFrame(Frame.ResponseStart, JSON.stringify({ id: 5, status: "200 OK", headers: [] })), bodyFrame(5, "part1")]));
  assert.equal(socket.paused, true, "client full: stop reading the worker");
  assert.equal(ex.waiting.length, 1);
  ex.waiting[0]();
  assert.equal(socket.paused, false, "drained: read again");
  socket.emit("data", Buffer.concat([bodyFrame(5, "part2"), encodeFrame(Frame.ResponseEnd, JSON.stringify({ id: 5, stats }))]));
  assert.deepEqual(ex.calls.map((c) => c[0]), ["start", "write", "write", "end"]);
  assert.equal(seen.finished.length, 1);
  assert.equal(socket.paused, false);
});

test("a request taken out (timed out) no longer holds the socket paused", () => {
  const { worker, socket } = harness();
  const ex = exchange(9, { writable: false });
  worker.send(ex);
  socket.emit("data", Buffer.concat([encodeFrame(Frame.ResponseStart, JSON.stringify({ id: 9, status: "200 OK", headers: [] })), bodyFrame(9, "x")]));
  assert.equal(socket.paused, true);
  assert.equal(worker.forget(9), ex);
  assert.equal(socket.paused, false);
  socket.emit("data", bodyFrame(9, "late"));
  assert.equal(ex.calls.filter((c) => c[0] === "write").length, 1, "frames of a forgotten request are dropped");
});

test("a garbled frame closes the worker's socket instead of throwing", () => {
  const cases = [
    encodeFrame(Frame.FullResponse, "{not json\nbody"),
    encodeFrame(Frame.ResponseStart, "]"),
    Buffer.from([0, 0, 0, 0, 1]), // length 0: not a frame
  ];
  for (const garbage of cases) {
    const { socket, seen } = harness();
    assert.doesNotThrow(() => socket.emit("data", garbage));
    assert.equal(socket.destroyed, true);
    assert.match(seen.logs.at(-1).message, /worker 1 sent a malformed frame/);
  }
});
