// The arbiter core in the live supervisor and in a replay: a real Supervisor (in-process, real
// Python workers) records every event it feeds the arbiter with its clock reading; the same
// events fed to a fresh Arbiter on those readings give the same actions, action for action.
// One policy, two drivers: what the what-if replay runs is what the supervisor runs.
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { test } from "node:test";
import { Supervisor } from "../../out/test-build/supervisor/supervisor.js";
import { Arbiter } from "../../out/test-build/supervisor/arbiter.js";
import { toSettings } from "../../out/test-build/options.js";
import { faultsDir, python, repoRoot, waitFor } from "./helpers/balloon.mjs";

const get = (port, urlPath) => new Promise((resolve, reject) => {
  http.get({ host: "127.0.0.1", port, path: urlPath, agent: false }, (res) => {
    res.resume();
    res.on("end", () => resolve(res.statusCode));
  }).on("error", reject);
});

test("live arbiter events replayed into a fresh arbiter give the same actions", async () => {
  const settings = toSettings({ workers: "2", maxRequests: "3", maxRequestsJitter: "2", timeout: "1" });
  const trace = [];
  const draws = [];
  let seed = 7;
  // The jitter's random draws are part of the input: recorded here, replayed below.
  const random = () => {
    seed = (seed * 48271) % 2147483647;
    const value = seed / 2147483647;
    draws.push(value);
    return value;
  };
  const supervisor = new Supervisor({
    settings, run: { target: "app:application", cwd: faultsDir, python, framework: "auto" },
    shimDir: path.join(repoRoot, "profiler/shim"), port: 0, random,
    record: () => undefined, log: () => undefined,
    traceArbiter: (event, at, actions) => trace.push({ event: structuredClone(event), at, actions: structuredClone(actions) }),
  });
  const port = await supervisor.start();
  try {
    await waitFor(() => supervisor.readyWorkers === 2, { what: "2 workers", timeoutMs: 15_000 });
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push(await get(port, "/ok"));
    statuses.push(...(await Promise.all([get(port, "/slow"), get(port, "/slow"), get(port, "/ok")])));
    statuses.push(await get(port, "/hang")); // over --timeout 1: killed, 504
    assert.deepEqual(statuses.filter((s) => s !== 200), [504]);
  } finally {
    await supervisor.stop("test");
  }
  const kinds = new Set(trace.flatMap((entry) => entry.actions.map((a) => a.type)));
  for (const kind of ["spawn", "dispatch", "retire", "stop", "exited", "kill"]) assert.ok(kinds.has(kind), `the run exercised ${kind} (saw ${[...kinds]})`);

  let now = 0;
  let draw = 0;
  // As the supervisor makes it: prefetch on (prefetch.ts decides where it applies).
  const replayed = new Arbiter({ ...settings, prefetch: true }, { now: () => now, random: () => draws[draw++] });
  for (const [index, entry] of trace.entries()) {
    now = entry.at;
    assert.deepEqual(replayed.handle(entry.event), entry.actions, `event ${index} (${entry.event.type}) gave other actions in the replay`);
  }
  assert.equal(draw, draws.length, "the replay drew the same jitter");
});
