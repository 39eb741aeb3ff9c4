// One worker's side of the socket: the state machine and what a garbled stream does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { Worker } from "../../out/test-build/supervisor/worker.js";
import { encodeFrame, encodeHeadFrame } from "../../out/test-build/supervisor/wire.js";
import { Frame } from "../../out/test-build/supervisor/shim-protocol.js";

function fakeSocket() {
  const socket = new EventEmitter();
  socket.written = [];
  socket.destroyed = false;
  socket.write = (data) => socket.written.push(data);
  socket.destroy = () => {
    socket.destroyed = true;
  };
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
  const worker = new Worker(1, Number.POSITIVE_INFINITY, events, 0);
  const socket = fakeSocket();
  const hello = { role: "worker", workerId: 1, pid: 42, app: null, memory: { rssKiB: 1000, vmSizeKiB: 2000 }, stackLimitKiB: 512, threadStackKiB: 512 };
  worker.attach(socket, hello, null);
  return { worker, socket, seen };
}

function exchange(id) {
  const sent = [];
  return {
    head: { id, method: "GET", path: "/", query: "", protocol: "HTTP/1.1", headers: [], remoteAddr: "127.0.0.1", remotePort: 1 },
    body: null, state: "queued", startedAt: 0, deadline: 0, headersSent: false, status: 0,
    sink: { clientGone: false, full: (...args) => sent.push(["full", ...args]), start() {}, write() {}, end() {}, fail() {}, abort() {} },
    sent,
  };
}

test("states: starting → idle on hello, busy with a request, idle when it is answered", () => {
  const { worker, socket, seen } = harness();
  assert.equal(seen.ready, 1);
  assert.equal(worker.state, "idle");
  assert.equal(worker.pid, 42);
  const ex = exchange(7);
  worker.send(ex);
  assert.equal(worker.state, "busy");
  assert.equal(socket.written.length, 1);
  const stats = { route: "/", handler: null, concurrent: 1, durationMs: 1, rssBeforeKiB: 1000, peakKiB: 1500, rssAfterKiB: 1100 };
  socket.emit("data", encodeHeadFrame(Frame.FullResponse, { id: 7, status: "200 OK", headers: [], stats }, Buffer.from("ok")));
  assert.equal(worker.state, "idle");
  assert.equal(worker.rssKiB, 1100);
  assert.equal(ex.sent[0][0], "full");
  assert.equal(seen.finished.length, 1);
  assert.throws(() => worker.setState("starting"), /bad transition idle → starting/);
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
