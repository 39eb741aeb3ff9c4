// Re-measures every fixture app under gunicorn (1 sync worker, routes grouped, 6 calls each)
// and writes the figures into its manifest.json (peakMiB, retainedMiB; rounded to 0.1 MiB).
// Run: node test/integration/helpers/update-manifests.mjs [app name ...]
import { writeFileSync } from "node:fs";
import { measureUnderGunicorn } from "./gunicorn-peak.mjs";
import { FIXTURE_APPS, formatSeries, manifestFigures, readManifest, requestPlan, seriesByEntry } from "./fixture-apps.mjs";

const CALLS = 6;
const only = process.argv.slice(2);
const round = (x) => Math.round(x * 10) / 10 || 0;

for (const app of FIXTURE_APPS.filter((a) => !only.length || only.includes(a.name))) {
  const manifest = readManifest(app);
  const results = await measureUnderGunicorn({
    appDir: app.dir,
    target: app.target,
    requests: requestPlan(manifest, CALLS, "grouped"),
  });
  const series = seriesByEntry(manifest, results);
  console.log(`${app.name}\n${formatSeries(series)}\n`);
  for (const [entry, calls] of series) {
    const { peakMiB, retainedMiB } = manifestFigures(entry, calls);
    Object.assign(entry, { peakMiB: round(peakMiB), retainedMiB: round(retainedMiB) });
  }
  writeFileSync(app.manifestPath, JSON.stringify(manifest, null, 2) + "\n");
}
