// The fixture apps do what their manifests say, measured without Balloon: each app runs under
// gunicorn (1 sync worker) and the worker's VmRSS/VmHWM are read around every request.
// Two orders per app: each route's calls together, and one call of each route per round (the
// allocator state a profiler sees when routes interleave). Linux, /usr/bin/python3 with
// Flask, Pyramid, Django and gunicorn.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { measureUnderGunicorn } from "./helpers/gunicorn-peak.mjs";
import {
  FIXTURE_APPS, checkPlanted, formatSeries, memoryEntries, readManifest, requestPlan, seriesByEntry,
} from "./helpers/fixture-apps.mjs";

const CALLS = 5;

for (const app of FIXTURE_APPS) {
  describe(app.name, () => {
    for (const order of ["grouped", "interleaved"]) {
      test(`planted behaviour holds under gunicorn (${order})`, async () => {
        const entries = memoryEntries(readManifest(app));
        const results = await measureUnderGunicorn({
          appDir: app.dir,
          target: app.target,
          requests: requestPlan(entries, CALLS, order),
        });
        const series = seriesByEntry(entries, results);
        const problems = [...series].flatMap(([entry, calls]) => checkPlanted(entry, calls));
        assert.deepEqual(problems, [], `${app.name} (${order}):\n${formatSeries(series)}`);
      });
    }
  });
}

test("thread stacks: 50 threads reserve ~8 MiB each by default, ~512 KiB under ulimit -s 512", async () => {
  const app = FIXTURE_APPS.find((a) => a.name === "wsgi_app");
  const vmSize = async (stackKiB) => {
    // The first call also creates glibc's per-thread malloc arenas; compare the second.
    const [, second] = await measureUnderGunicorn({
      appDir: app.dir, target: app.target, stackKiB, requests: [{ path: "/threads" }, { path: "/threads" }],
    });
    const body = JSON.parse(second.body);
    assert.equal(body.threads, 50);
    return body.vmSizeKiB;
  };
  const big = await vmSize(8192);
  const small = await vmSize(512);
  const perThreadKiB = (big - small) / 50;
  assert.ok(perThreadKiB > 0.9 * (8192 - 512) && perThreadKiB < 1.1 * (8192 - 512),
    `VmSize ${big} KiB vs ${small} KiB: ${perThreadKiB} KiB per thread`);
});
