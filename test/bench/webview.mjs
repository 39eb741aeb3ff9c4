// `npm run bench:webview`: the panel's charts in headless Chromium (Debian's), under the panel's
// CSP (test/integration/helpers/webview-page.mjs).
// 1. Render: a timelineReset of 100,000 samples (4 workers × 25,000 instants 250 ms apart, with
//    recycle, crash and timeout markers and a budget), timed in the page from the postMessage
//    (structured clone included) to the chart drawn, and to the frame after it. Target: < 1 s.
// 2. Append: 1,000 samples more (a batch), timed the same way, APPENDS times per run.
// 3. Live: batches of 1,000 samples 4 times a second for 5 s: draws and the longest frame gap
//    (a gap above ~50 ms is a visible stall), and 8 batches posted at once: one draw expected.
// BENCH_RUNS fresh pages (5); medians over them.
import { ensureSystemDeps } from "../../scripts/system-deps.mjs";
import { flaggedReport, runningStatus, SESSION_ID } from "../integration/helpers/webview-fixtures.mjs";
import { launchChromium, openPanel, startPanelServer } from "../integration/helpers/webview-page.mjs";
import { fmt, median, table } from "./lib/table.mjs";

const RUNS = Number(process.env.BENCH_RUNS || 5);
const APPENDS = 10;
const TICKS = 25_000;
const WORKERS = 4;
const APPEND_TICKS = 1000 / WORKERS;
const TIMELINE = { sessionId: SESSION_ID, workers: WORKERS, crashAt: 9_000, timeoutAt: 15_000, budgetMiB: 1024 };

if (!ensureSystemDeps(["chromium"])) process.exit(1);

const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

const server = await startPanelServer();
const browser = await launchChromium();
const renders = [];
const appends = [];
const live = [];
const bursts = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const panel = await openPanel(browser, server);
    await panel.send({ type: "status", status: runningStatus() });
    await panel.timed({ type: "report", report: flaggedReport() }, "routes");
    renders.push(await panel.timedTimeline("timelineReset", { ...TIMELINE, ticks: TICKS }));
    for (let i = 0; i < APPENDS; i++) {
      appends.push(await panel.timedTimeline("timeline", { ...TIMELINE, fromTick: TICKS + i * APPEND_TICKS, ticks: APPEND_TICKS }));
    }
    const fromTick = TICKS + APPENDS * APPEND_TICKS;
    live.push(await panel.page.evaluate((options) => window.__harness.stream(options), { ...TIMELINE, batches: 20, everyMs: 250, ticks: APPEND_TICKS, fromTick }));
    bursts.push(await panel.page.evaluate((options) => window.__harness.burst(options), { ...TIMELINE, count: 8, ticks: APPEND_TICKS, fromTick: fromTick + 20 * APPEND_TICKS }));
    const problems = await panel.problems();
    const trouble = [...problems.console, ...problems.outside, ...problems.errors, ...problems.violations.map((v) => JSON.stringify(v))];
    if (trouble.length > 0) throw new Error(`the page reported problems:\n${trouble.join("\n")}`);
    await panel.close();
  }
} finally {
  await browser.close();
  await server.close();
}

const column = (values, digits = 0) => [fmt(median(values), digits), fmt(Math.min(...values), digits), fmt(Math.max(...values), digits)];
const frames = live.flatMap((l) => l.frames.slice(1));
console.log(`webview: ${RUNS} runs in headless Chromium, ${WORKERS} workers, ${(TICKS * WORKERS).toLocaleString("en")} samples + the total line`);
console.log(`drawn after decimation: ${renders[0].drawn.toLocaleString("en")} of ${renders[0].points.toLocaleString("en")} points\n`);
console.log(table([
  ["ms", "median", "min", "max"],
  ["100k samples: message to chart drawn", ...column(renders.map((r) => r.drawnMs))],
  ["100k samples: to the frame after", ...column(renders.map((r) => r.shownMs))],
  [`+1k samples (${APPENDS} appends a run): drawn`, ...column(appends.map((a) => a.drawnMs), 1)],
  ["+1k samples: to the frame after", ...column(appends.map((a) => a.shownMs), 1)],
]));
console.log(`\nappend p95 ${fmt(percentile(appends.map((a) => a.drawnMs), 0.95), 1)} ms`);
console.log(`live, 1k samples 4×/s for 5 s: ${fmt(median(live.map((l) => l.draws)))} draws for 20 batches; frame gap median ${fmt(median(frames), 1)} ms, p99 ${fmt(percentile(frames, 0.99), 1)} ms, max ${fmt(Math.max(...frames), 1)} ms`);
console.log(`8 batches posted at once: ${bursts.map((b) => b.draws).join(", ")} draw(s) per run (coalesced to a frame)`);
const renderMedian = median(renders.map((r) => r.drawnMs));
console.log(`\ntarget 100k under 1000 ms: ${renderMedian < 1000 ? "met" : "MISSED"} (${fmt(renderMedian)} ms)`);
if (renderMedian >= 1000) process.exitCode = 1;
