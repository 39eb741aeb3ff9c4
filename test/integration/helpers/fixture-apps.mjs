// The fixture apps under test/fixtures/apps/, their manifests, and the per-route figures that
// the independent gunicorn measurement gives. Shared by fixtures-independent.test.mjs and
// update-manifests.mjs.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const APPS_DIR = fileURLToPath(new URL("../../fixtures/apps/", import.meta.url));
/** The bundled demo (npm run demo) is checked like a fixture. */
const EXAMPLES_DIR = fileURLToPath(new URL("../../../examples/", import.meta.url));

export const FIXTURE_APPS = [
  { name: "flask_app", target: "app:app" },
  { name: "pyramid_app", target: "app:app" },
  { name: "django_project", target: "mysite.wsgi:application" },
  { name: "wsgi_app", target: "app:application" },
  { name: "shop", target: "app:application", base: EXAMPLES_DIR },
].map((a) => {
  const dir = path.join(a.base ?? APPS_DIR, a.name);
  return { name: a.name, target: a.target, dir, manifestPath: path.join(dir, "manifest.json") };
});

export const readManifest = (app) => JSON.parse(readFileSync(app.manifestPath, "utf8"));

/** Manifest entries measured for memory (the /threads route is checked on its own). */
export const memoryEntries = (manifest) => manifest.filter((e) => !/threads/.test(e.route));

/** Each entry `calls` times, route after route ("grouped") or one of each per round ("interleaved"). */
export function requestPlan(entries, calls, order) {
  const plan = [];
  if (order === "grouped") {
    for (const e of entries) for (let i = 0; i < calls; i++) plan.push({ method: e.method, path: e.path });
  } else {
    for (let i = 0; i < calls; i++) for (const e of entries) plan.push({ method: e.method, path: e.path });
  }
  return plan;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Per manifest entry: the series of calls in MiB, in order: [{peakMiB, retainedMiB}]. */
export function seriesByEntry(entries, results) {
  return new Map(
    entries.map((e) => [
      e,
      results
        .filter((r) => r.path === e.path && r.method === e.method)
        .map((r) => ({
          status: r.status,
          peakMiB: (r.peakKiB - r.rssBeforeKiB) / 1024,
          retainedMiB: (r.rssAfterKiB - r.rssBeforeKiB) / 1024,
        })),
    ]),
  );
}

/** The figure the manifest records for an entry: first call for inflates, median otherwise. */
export function manifestFigures(entry, calls) {
  if (entry.flag === "inflates") return { peakMiB: calls[0].peakMiB, retainedMiB: calls[0].retainedMiB };
  return { peakMiB: median(calls.map((c) => c.peakMiB)), retainedMiB: median(calls.map((c) => c.retainedMiB)) };
}

/** Checks one entry's series against the manifest; returns a list of problems (empty: holds). */
export function checkPlanted(entry, calls) {
  const problems = [];
  const bad = (i, what) => problems.push(`${entry.method} ${entry.path} call ${i + 1}: ${what}`);
  const within = (x, want, tol) => Math.abs(x - want) <= tol * want;
  const f = (x) => x.toFixed(2);
  calls.forEach((c, i) => c.status !== 200 && bad(i, `status ${c.status}`));
  switch (entry.flag) {
    case null:
      calls.forEach((c, i) => c.peakMiB >= 2 && bad(i, `ok route peaked +${f(c.peakMiB)} MiB (want < 2)`));
      break;
    case "balloon":
      calls.forEach((c, i) => {
        if (!within(c.peakMiB, entry.peakMiB, 0.15)) bad(i, `peak +${f(c.peakMiB)} MiB, manifest ${entry.peakMiB} ±15%`);
        if (c.retainedMiB >= 2) bad(i, `balloon retained ${f(c.retainedMiB)} MiB (want < 2)`);
      });
      break;
    case "inflates": {
      const [first, ...later] = calls;
      if (!within(first.retainedMiB, entry.retainedMiB, 0.2))
        bad(0, `first call retained ${f(first.retainedMiB)} MiB, manifest ${entry.retainedMiB} ±20%`);
      const m = median(later.map((c) => c.retainedMiB));
      if (!(m < 0.5)) problems.push(`${entry.method} ${entry.path}: later calls retained median ${f(m)} MiB (want < 0.5)`);
      break;
    }
    case "leak":
      calls.forEach((c, i) => {
        if (!within(c.retainedMiB, entry.retainedMiB, 0.2))
          bad(i, `retained ${f(c.retainedMiB)} MiB, manifest ${entry.retainedMiB} ±20%`);
      });
      break;
    default:
      problems.push(`${entry.route}: unknown flag ${entry.flag}`);
  }
  return problems;
}

/** A plain-text table of the series, for failure messages and logs. */
export function formatSeries(series) {
  const rows = [];
  for (const [e, calls] of series) {
    const cells = calls.map((c) => `+${c.peakMiB.toFixed(1)}/${c.retainedMiB.toFixed(1)}`).join(" ");
    rows.push(`${String(e.flag).padEnd(8)} ${e.path.padEnd(24)} peak/retained MiB: ${cells}`);
  }
  return rows.join("\n");
}
