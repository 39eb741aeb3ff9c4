// `npm run bench:accuracy`: the verdict engine on thousands of synthetic recordings with a known
// truth per route (test/bench/accuracy-generator.mjs says how they are made and from which
// measurements), run through the real Analyzer line by line, with the adaptive phase of
// `balloon profile` (extra solo calls of undecided routes, bounded by the same default budget).
// Prints a confusion matrix (true class × verdict set) and the share right: a route is right
// when its verdict set is exactly its truth, except that an inflation whose first call ran alone
// in no worker (threads) is right as "undecided" for the step, the only honest answer there.
//
// Environment: ACCURACY_PER_CLASS (2000 scenarios per target class), ACCURACY_SEED (1),
// ACCURACY_SHOW (print this many wrong series with their behaviour and the engine's reasons),
// ACCURACY_ONLY=SEED:CLASS (run that one scenario and print the target route's calls and verdicts),
// ACCURACY_ENGINE (a directory holding analysis/*.js built from another commit: runs that
// engine instead, through its analyze(); this is how the old engine's figure was taken).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { CLASSES, SimulatedApp } from "./accuracy-generator.mjs";

const PER_CLASS = Number(process.env.ACCURACY_PER_CLASS ?? 2000);
const SHOW = Number(process.env.ACCURACY_SHOW ?? 0);
const SEED = Number(process.env.ACCURACY_SEED ?? 1);
const ENGINE_DIR = process.env.ACCURACY_ENGINE ? resolve(process.env.ACCURACY_ENGINE) : new URL("../../out/test-build/", import.meta.url).pathname;
const FLAG_ORDER = ["balloon", "inflates", "leak"];

const analysis = await import(pathToFileURL(`${ENGINE_DIR}/analysis/analyze.js`).href);
const adaptive = analysis.Analyzer ? await import(pathToFileURL(`${ENGINE_DIR}/analysis/adaptive.js`).href) : null;

/** The recording so far → report, the way each engine reads one. */
function reportOf(lines) {
  if (!analysis.Analyzer) return analysis.analyze(lines);
  const analyzer = new analysis.Analyzer();
  for (const line of lines) analyzer.add(line);
  return analyzer.report();
}

let hiddenFirsts = 0;
let mixedUnseen = 0;

const isUndecided = (route) => (route.verdicts ?? []).some((verdict) => verdict.flag === "undecided");

/** "balloon+leak", "ok", "inflates+undecided": the flags the engine gave, in one order. */
function verdictSet(route) {
  const flags = FLAG_ORDER.filter((flag) => route.flags.includes(flag));
  if (isUndecided(route)) flags.push("undecided");
  return flags.length > 0 ? flags.join("+") : "ok";
}

async function runScenario(seed, cls, trace = false) {
  const app = new SimulatedApp(seed, cls);
  const perRoute = app.routes.map(() => app.r.int(6, 24));
  for (const index of app.schedule(perRoute)) app.call(index);
  let report = reportOf(app.lines);
  let extra = 0;
  if (adaptive) {
    let budget = adaptive.DEFAULT_MAX_EXTRA;
    for (let round = 0; round < adaptive.MAX_ADAPTIVE_ROUNDS && budget > 0; round++) {
      const plan = adaptive.planExtraCalls(report, budget);
      if (plan.calls.length === 0) break;
      app.markAdaptive(plan.routes.map((r) => `${r.method} ${r.route}`));
      for (const call of plan.calls) {
        app.call(app.routes.findIndex((r) => r.route === call.route && r.method === call.method), { solo: true });
      }
      budget -= plan.calls.length;
      extra += plan.calls.length;
      report = reportOf(app.lines);
    }
  }
  if (trace) {
    for (const line of app.lines) {
      if (line.type === "phase") process.stdout.write(`-- adaptive phase: ${line.routes.join(", ")}\n`);
      if (line.type !== "request" || line.route !== app.routes[0].route) continue;
      const kept = (line.rssAfterKiB - line.rssBeforeKiB) / 1024;
      process.stdout.write(`worker ${line.worker} seq ${String(line.seq).padStart(3)} concurrent ${line.concurrent} peak ${((line.peakKiB - line.rssBeforeKiB) / 1024).toFixed(2).padStart(8)} kept ${kept.toFixed(2).padStart(7)}\n`);
    }
    process.stdout.write(`${JSON.stringify(app.routes.map((r) => r.behaviour))}\n${JSON.stringify(report.routes.find((r) => r.route === app.routes[0].route).verdicts, null, 1)}\n`);
    if (analysis.Analyzer) {
      const { RouteAccumulator } = await import(pathToFileURL(`${ENGINE_DIR}/analysis/evidence.js`).href);
      const accumulator = new RouteAccumulator("GET", app.routes[0].route);
      for (const line of app.lines) if (line.type === "request" && line.route === app.routes[0].route) accumulator.add(line, `${line.worker}/${line.pid}`, false);
      process.stdout.write(`${JSON.stringify(accumulator.evidence(), null, 1)}\n`);
    }
  }
  return app.routes.map((route, index) => {
    const found = report.routes.find((r) => r.route === route.route && r.method === route.method);
    // An inflation shows only on a worker's first call: when no worker ran it alone (threads),
    // its step is in shared figures only, and the right answer is "undecided", not a guess.
    const hidden = route.behaviour.truth.includes("inflates") && app.firstCalls(index).every((call) => !call.solo);
    // A route of mixed sizes shows its balloon only through big calls that ran alone: with none,
    // it looked like an ok route; with one, "balloon" and "undecided" (more calls asked) are both
    // honest answers.
    // So does a body the allocator keeps (up to 32 MiB): after its first two calls in a worker it
    // reads ~0, so only the calls that grew memory and ran alone can show it.
    const heapBuffer = route.behaviour.bytes > 0 && route.behaviour.bytes <= 32;
    const bigSeen = route.behaviour.cls === "mixed balloon" || heapBuffer ? app.bigSoloRepeats(index) : Infinity;
    mixedUnseen += Number(bigSeen === 0);
    const flags = FLAG_ORDER.filter((f) => route.behaviour.truth.includes(f) && !(hidden && f === "inflates") && !(bigSeen === 0 && f === "balloon"));
    if (hidden) flags.push("undecided");
    hiddenFirsts += Number(hidden);
    const got = found ? verdictSet(found) : "missing";
    const want = bigSeen === 1 && got === "undecided" ? "undecided" : flags.length > 0 ? flags.join("+") : "ok";
    const why = () => ({ seed, behaviour: route.behaviour, workers: app.workers.length, threads: app.threads, found });
    return { cls: route.behaviour.cls, want, got, extra, target: route === app.routes[0], why };
  });
}

if (process.env.ACCURACY_ONLY) {
  const [seed, cls] = process.env.ACCURACY_ONLY.split(":");
  await runScenario(Number(seed), cls, true);
  process.exit(0);
}

const started = Date.now();
const results = [];
let scenario = 0;
for (const cls of Object.keys(CLASSES)) {
  for (let i = 0; i < PER_CLASS; i++) results.push(...(await runScenario(SEED * 1_000_003 + scenario++, cls)));
}

const classes = Object.keys(CLASSES);
const columns = [...new Set(results.map((r) => r.got))].sort((a, b) => results.filter((r) => r.got === b).length - results.filter((r) => r.got === a).length);
const width = Math.max(...columns.map((c) => c.length), 6) + 1;
const pad = (text, n) => String(text).padStart(n);
const out = [];
out.push(`engine: ${analysis.Analyzer ? "Analyzer (verdicts, adaptive)" : "analyze() (single flag)"} from ${ENGINE_DIR}`);
out.push(`${results.length} route series from ${scenario} scenarios (${PER_CLASS} per target class, seed ${SEED}), ${((Date.now() - started) / 1000).toFixed(1)} s`);
out.push("");
out.push(`${"true class".padEnd(17)} ${pad("want", 15)} │${columns.map((c) => pad(c, width)).join("")} │ right`);
for (const cls of classes) {
  const rows = results.filter((r) => r.cls === cls);
  if (rows.length === 0) continue;
  const right = rows.filter((r) => r.got === r.want).length;
  const cells = columns.map((c) => pad(rows.filter((r) => r.got === c).length || ".", width)).join("");
  out.push(`${cls.padEnd(17)} ${pad(rows[0].want, 15)} │${cells} │ ${((100 * right) / rows.length).toFixed(2)}% of ${rows.length}`);
}
const right = results.filter((r) => r.got === r.want).length;
const okFlagged = results.filter((r) => r.want === "ok" && r.got !== "ok" && r.got !== "undecided").length;
const undecided = results.filter((r) => r.got.includes("undecided")).length;
const targets = results.filter((r) => r.target);
out.push("");
out.push(`right: ${((100 * right) / results.length).toFixed(2)}% (${right} of ${results.length}); ok series flagged: ${okFlagged}; left undecided: ${undecided}`);
out.push(`inflations whose first call ran alone in no worker (want "undecided" for the step): ${hiddenFirsts}`);
out.push(`mixed balloons and bodies the allocator keeps, none of whose big calls ran alone (want "ok": nothing to see): ${mixedUnseen}`);
if (adaptive) {
  const extras = targets.map((r) => r.extra);
  out.push(`adaptive calls per scenario: mean ${(extras.reduce((a, b) => a + b, 0) / extras.length).toFixed(1)}, max ${Math.max(...extras)} (budget ${adaptive.DEFAULT_MAX_EXTRA})`);
}
process.stdout.write(`${out.join("\n")}\n`);
for (const wrong of results.filter((r) => r.got !== r.want).slice(0, SHOW)) {
  const { seed, behaviour, workers, threads, found } = wrong.why();
  const sizes = Object.entries(behaviour).filter(([, v]) => typeof v === "number" && v > 0).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
  process.stdout.write(`\n${wrong.cls} (${sizes}${behaviour.gainer ? ", gainer" : ""}${behaviour.quantized ? ", quantized" : ""}) seed ${seed}, ${workers} workers, threads ${threads}: got ${wrong.got}, ${found.requests} calls, ${found.shared} shared, ${found.extra} extra\n`);
  for (const verdict of found.verdicts) process.stdout.write(`  ${verdict.flag}: ${verdict.reason} ${JSON.stringify(verdict.figures)}\n`);
  process.stdout.write(`  peak ${found.peakMiB.median}/${found.peakMiB.max} retained first ${found.retainedMiB.first} per req ${found.retainedMiB.perRequest}\n`);
}
