// A response body under 32 MiB that the allocator keeps resident (issue 6: numbers the allocator
// cannot fool). glibc mmaps the first 20 MiB buffer and unmaps it on free, which raises its mmap
// threshold; the second call's buffer comes from the heap and stays resident once freed; later
// calls reuse it and their RSS does not move. Read call by call, /report looks like a route that
// peaked once and kept 20 MiB once: it must still be called a balloon, and only that. Checked
// with 1 and 2 workers against gunicorn's VmHWM for the same requests, which must show the same
// allocator behaviour (else this test no longer tests it).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { measureUnderGunicorn } from "./helpers/gunicorn-peak.mjs";
import { killAll } from "./helpers/balloon.mjs";
import { appsDir, figures, profileApp, readPlan, withRoutes } from "./helpers/real-apps.mjs";
import path from "node:path";

const app = { name: "heap_bodies_wsgi", target: "app:application" };
const BODY_MIB = 20;
const f1 = (x) => x.toFixed(1);

describe("a body the allocator keeps resident", () => {
  let gunicorn = null;
  before(async () => {
    gunicorn = await measureUnderGunicorn({ appDir: path.join(appsDir, app.name), target: app.target, requests: readPlan(app) });
  });
  after(killAll);

  test("gunicorn's own readings show the allocator keeping the buffer", () => {
    const calls = gunicorn.filter((r) => r.path === "/report").map(figures);
    assert.ok(calls.length >= 8, `${calls.length} calls`);
    assert.ok(calls[0].peak > 0.9 * BODY_MIB && calls[0].retained < 1, `first call: ${JSON.stringify(calls[0])}`);
    assert.ok(calls.slice(1).some((c) => c.retained > 0.9 * BODY_MIB), `a later call keeps the buffer: ${calls.map((c) => f1(c.retained))}`);
    assert.ok(calls.slice(-3).every((c) => c.peak < 1), `the last calls reuse it: ${calls.map((c) => f1(c.peak))}`);
  });

  for (const workers of [1, 2]) {
    test(`${workers} worker${workers > 1 ? "s" : ""}: /report is a balloon of its body, nothing else is flagged`, async () => {
      const run = await profileApp(app, { workers });
      const flags = Object.fromEntries(run.report.routes.map((r) => [r.route, [...r.flags].sort().join(",")]));
      const report = run.report.routes.find((r) => r.route === "/report");
      assert.deepEqual(flags, { "/report": "balloon", "/health": "", "/about": "" }, report.reasons.join("; "));
      // The biggest peak, ours against gunicorn's VmHWM: the median is ~0 on both sides.
      const ours = Math.max(...run.calls.filter((c) => c.route === "/report").map((c) => figures(c).peak));
      const theirs = Math.max(...withRoutes(gunicorn, run.calls).filter((c) => c.route === "/report").map((c) => figures(c).peak));
      assert.ok(Math.abs(ours - theirs) <= 0.1 * theirs, `peak ${f1(ours)} MiB vs gunicorn's ${f1(theirs)} MiB`);
      assert.ok(Math.abs(report.verdicts[0].atStakeMiB - BODY_MIB) <= 0.1 * BODY_MIB, `at stake ${report.verdicts[0].atStakeMiB} MiB`);
      if (workers === 1) assert.match(report.reasons[0], /left the freed buffer to the allocator/);
      console.log(`heap_bodies_wsgi, ${workers} worker(s): ${report.reasons[0]}`);
    });
  }
});
