// The webview's pure view helpers: formatting, the route table's sorting and filtering, the
// recommendation's words, the pool events summary, redraw coalescing, chart options, the theme
// palette and the panel's HTML with its CSP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { budgetAnnotation, DECIMATION, markerAnnotation, markerWords, pointWords, seriesDataset, shortLabel, workerColour } from "../../out/test-build/webview/chart-config.js";
import { elapsedTicks, formatCount, formatElapsed, formatMiB, formatShare, handlerLabel, timeStepMs } from "../../out/test-build/webview/format.js";
import { frameCoalescer } from "../../out/test-build/webview/frames.js";
import { panelCsp, panelHtml } from "../../out/test-build/webview/html.js";
import { summarizeEvents } from "../../out/test-build/webview/pool-events.js";
import { EXPORT_FORMATS, parseBudget, settingLines, summaryWords, whatIfRows } from "../../out/test-build/webview/recommend-words.js";
import { DEFAULT_SORT, filterRoutes, nextSort, ROUTE_COLUMNS, routeKey, sortRoutes, topRoutesByPeak } from "../../out/test-build/webview/routes.js";
import { TABS } from "../../out/test-build/webview/tabs.js";
import { paletteFrom } from "../../out/test-build/webview/theme.js";
import { TOTAL_SERIES } from "../../out/test-build/webview/timeline.js";
import { baseRecommendation, VARIANTS } from "./helpers/recommendations.mjs";

// ---- format ----

const formatCases = [
  [formatMiB, 0, "0 MiB"], [formatMiB, 0.44, "0.4 MiB"], [formatMiB, 9.96, "10.0 MiB"], [formatMiB, 10, "10 MiB"], [formatMiB, 148.4, "148 MiB"],
  [formatMiB, 1023.6, "1024 MiB"], [formatMiB, 1024, "1.0 GiB"], [formatMiB, 1536, "1.5 GiB"], [formatMiB, -0.3, "-0.3 MiB"], [formatMiB, -150, "-150 MiB"], [formatMiB, NaN, "–"],
  [formatCount, 0, "0"], [formatCount, 999, "999"], [formatCount, 12480, "12,480"], [formatCount, 1234567.4, "1,234,567"],
  [formatShare, 0.031, "3.1%"], [formatShare, 0.5, "50%"], [formatShare, 0, "0.0%"],
  [formatElapsed, 0, "0:00"], [formatElapsed, 59_999, "0:59"], [formatElapsed, 61_000, "1:01"], [formatElapsed, 3_723_000, "1:02:03"], [formatElapsed, -5_000, "-0:05"],
];
for (const [format, value, expected] of formatCases) test(`${format.name}(${value}) is ${expected}`, () => assert.equal(format(value), expected));

const stepCases = [
  { range: 10_000, ticks: 10, step: 1000 },
  { range: 60_000, ticks: 8, step: 10_000 },
  { range: 6_250_000, ticks: 12, step: 600_000 },
  { range: 6_250_000, ticks: 4, step: 1_800_000 },
  { range: 7 * 86_400_000, ticks: 7, step: 86_400_000 },
  { range: 100 * 86_400_000, ticks: 10, step: 10 * 86_400_000 },
];
for (const { range, ticks, step } of stepCases) test(`time step for ${range} ms in ${ticks} ticks is ${step} ms`, () => assert.equal(timeStepMs(range, ticks), step));

test("elapsed ticks fall on multiples of the step inside the range", () => {
  assert.deepEqual(elapsedTicks(0, 65_000, 8), [0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
  assert.deepEqual(elapsedTicks(-3_000, 9_000, 6), [-2_000, 0, 2_000, 4_000, 6_000, 8_000]);
  assert.deepEqual(elapsedTicks(5, 5, 8), [5]);
});

const handlerCases = [["shop/views.py", 42, "views.py:42"], ["/srv/app/reports.py", 118, "reports.py:118"], ["C:\\app\\views.py", 7, "views.py:7"], ["app.py", 1, "app.py:1"]];
for (const [file, line, expected] of handlerCases) test(`handler label of ${file}:${line}`, () => assert.equal(handlerLabel(file, line), expected));

// ---- routes ----

const route = (method, path, peak, retainedFirst, requests, verdicts = []) => ({
  method, route: path, requests, peakMiB: { median: peak / 2, max: peak }, retainedMiB: { first: retainedFirst, perRequest: 0 },
  flags: verdicts.filter((v) => v.flag !== "undecided").map((v) => v.flag), verdicts,
});
const verdict = (flag, atStakeMiB) => ({ flag, atStakeMiB, reason: `${flag} reason` });
const ROUTES = [
  route("GET", "/health", 0.1, 0, 6000),
  route("GET", "/export", 152, 148, 14, [verdict("inflates", 592)]),
  route("POST", "/render", 131, 1, 220, [verdict("balloon", 131), verdict("leak", 90)]),
  route("GET", "/search", 20, 4, 6, [verdict("undecided", 4)]),
  route("GET", "/users", 3.2, 0.3, 5200),
  route("DELETE", "/users", 3.2, 0, 20),
];
const keys = (routes) => routes.map(routeKey);

const sortCases = [
  { sort: DEFAULT_SORT, expected: ["GET /export", "POST /render", "GET /search", "DELETE /users", "GET /users", "GET /health"] },
  { sort: { column: "flags", direction: "asc" }, expected: ["GET /health", "DELETE /users", "GET /users", "GET /search", "POST /render", "GET /export"] },
  { sort: { column: "peakMax", direction: "desc" }, expected: ["GET /export", "POST /render", "GET /search", "DELETE /users", "GET /users", "GET /health"] },
  { sort: { column: "requests", direction: "desc" }, expected: ["GET /health", "GET /users", "POST /render", "DELETE /users", "GET /export", "GET /search"] },
  { sort: { column: "route", direction: "asc" }, expected: ["GET /export", "GET /health", "POST /render", "GET /search", "DELETE /users", "GET /users"] },
  { sort: { column: "method", direction: "desc" }, expected: ["POST /render", "GET /export", "GET /health", "GET /search", "GET /users", "DELETE /users"] },
  { sort: { column: "retainedFirst", direction: "asc" }, expected: ["DELETE /users", "GET /health", "GET /users", "POST /render", "GET /search", "GET /export"] },
];
for (const { sort, expected } of sortCases) {
  test(`routes sorted by ${sort.column} ${sort.direction} (ties by method and route, either way)`, () => assert.deepEqual(keys(sortRoutes(ROUTES, sort)), expected));
}

test("sorting returns a copy", () => {
  const before = keys(ROUTES);
  sortRoutes(ROUTES, { column: "peakMax", direction: "asc" });
  assert.deepEqual(keys(ROUTES), before);
});

test("every column sorts both ways, numbers from the largest first, text from A", () => {
  for (const column of ROUTE_COLUMNS) {
    const first = nextSort(DEFAULT_SORT.column === column.id ? { column: "route", direction: "asc" } : DEFAULT_SORT, column.id);
    assert.equal(first.direction, column.numeric || column.id === "flags" ? "desc" : "asc", column.id);
    assert.notEqual(nextSort(first, column.id).direction, first.direction);
    assert.equal(sortRoutes(ROUTES, first).length, ROUTES.length);
  }
});

test("the flagged filter keeps routes with a flag or an open question", () => {
  assert.deepEqual(keys(filterRoutes(ROUTES, "flagged")), ["GET /export", "POST /render", "GET /search"]);
  assert.equal(filterRoutes(ROUTES, "all"), ROUTES);
});

test("the bar chart takes the biggest peaks, at most the limit", () => {
  assert.deepEqual(keys(topRoutesByPeak(ROUTES, 3)), ["GET /export", "POST /render", "GET /search"]);
  assert.deepEqual(keys(topRoutesByPeak(ROUTES, 10)).slice(3), ["GET /users", "DELETE /users", "GET /health"], "equal peaks: the one that kept more first");
});

// ---- recommendation words ----

test("settings lines: every setting of a fixed pool with its reason, in the reader's order", () => {
  const lines = settingLines(baseRecommendation());
  assert.deepEqual(lines.map((l) => l.name), ["workers", "threads", "maxRequests", "maxRequestsJitter", "reloadOnRssMiB", "timeoutSec", "stackKiB", "preload", "dbPoolSize", "dbMaxOverflow", "memoryHighMiB", "memoryMaxMiB"]);
  assert.deepEqual(lines.slice(0, 6).map((l) => l.value), ["3", "1", "100", "10", "160 MiB", "30 s"]);
  assert.match(lines[0].reason, /^3 workers: /);
});

const settingValueCases = [
  { name: "a dynamic pool shows its spare limits", recommendation: VARIANTS.dynamic(), expect: { minSpare: "1", maxSpare: "3" } },
  { name: "recycling off reads off, and no jitter", recommendation: VARIANTS.recyclingOff(), expect: { maxRequests: "off", reloadOnRssMiB: "off", maxRequestsJitter: undefined } },
  { name: "preload reads yes", recommendation: VARIANTS.preload(), expect: { preload: "yes", stackKiB: "512 KiB" } },
];
for (const { name, recommendation, expect } of settingValueCases) {
  test(name, () => {
    const values = Object.fromEntries(settingLines(recommendation).map((l) => [l.name, l.value]));
    for (const [key, value] of Object.entries(expect)) assert.equal(values[key], value, key);
  });
}

test("a setting without a reason still shows, with an empty reason", () => {
  const recommendation = baseRecommendation();
  delete recommendation.reasons.timeoutSec;
  assert.equal(settingLines(recommendation).find((l) => l.name === "timeoutSec").reason, "");
});

test("the what-if table: the recommendation first, then each alternative as replayed", () => {
  const rows = whatIfRows(baseRecommendation());
  assert.deepEqual(rows.map((r) => [r.label, r.recommended, r.fits]), [["recommended", true, true], ["max-requests 500", false, true]]);
  assert.deepEqual(rows[0].cells, ["recommended", "3", "100", "160 MiB", "540 MiB", "470 MiB", "612 MiB", "12.5", "3.1%", "0 / 0", "yes"]);
  assert.deepEqual(rows[1].cells.slice(2, 5), ["500", "160 MiB", "610 MiB"]);
  assert.equal(rows[1].cells[6], "900 MiB", "its own worst case: what decides whether it fits, with the replay's peak");
});

test("the summary says whether it fits, and against which budget", () => {
  assert.equal(summaryWords(baseRecommendation()), "Fits the budget of 768 MiB (--memory-budget)");
  assert.equal(summaryWords({ ...baseRecommendation(), fits: false, budgetMiB: 2048, budgetSource: "75% of MemTotal 2.7 GiB" }), "Does not fit the budget of 2.0 GiB (75% of MemTotal 2.7 GiB)");
});

const budgetCases = [
  ["", { ok: true, budgetMiB: null }], ["  ", { ok: true, budgetMiB: null }], ["768", { ok: true, budgetMiB: 768 }], [" 1536 MiB ", { ok: true, budgetMiB: 1536 }],
  ["12.5", { ok: true, budgetMiB: 12.5 }], ["0", false], ["-5", false], ["lots", false], ["1e400", false], ["2 GiB", false],
];
for (const [text, expected] of budgetCases) {
  test(`budget field ${JSON.stringify(text)}`, () => {
    const parsed = parseBudget(text);
    if (expected !== false) return assert.deepEqual(parsed, expected);
    assert.equal(parsed.ok, false);
    assert.match(parsed.error, /number of MiB/);
  });
}

test("an export button per format of the protocol", () => {
  assert.deepEqual(EXPORT_FORMATS.map((f) => f.format), ["gunicorn", "uwsgi", "mod_wsgi", "apache", "flup", "systemd", "kubernetes", "json"]);
});

// ---- pool events ----

const marker = (x, kind, worker = 1) => ({ x, kind, worker, pid: 100 + worker, detail: `${kind} at ${x}` });

test("pool events: crashes and timeouts latest first up to the limit, recycles counted", () => {
  const markers = [marker(1, "crash"), marker(2, "recycle"), marker(3, "timeout"), marker(4, "recycle", 2), marker(5, "crash", 3)];
  const summary = summarizeEvents(markers, 2);
  assert.deepEqual(summary.notable.map((m) => m.x), [5, 3]);
  assert.equal(summary.notableLeftOut, 1);
  assert.equal(summary.recycles, 2);
  assert.equal(summary.lastRecycle.x, 4);
  assert.deepEqual(summarizeEvents([], 8), { notable: [], notableLeftOut: 0, recycles: 0, lastRecycle: null });
});

// ---- redraws ----

test("redraws: any number of requests between two frames draw once, in the next frame", () => {
  const frames = [];
  let draws = 0;
  const request = frameCoalescer(() => draws++, (callback) => frames.push(callback));
  for (let i = 0; i < 5; i++) request();
  assert.equal(frames.length, 1, "one frame asked for five batches");
  assert.equal(draws, 0, "nothing drawn before the frame");
  frames.shift()();
  assert.equal(draws, 1);
  request();
  request();
  assert.equal(frames.length, 1, "the next batch asks for the next frame");
  frames.shift()();
  assert.equal(draws, 2);
});

// ---- chart options ----

const palette = paletteFrom((name) => ({ "--vscode-charts-blue": "#1a85ff", "--vscode-charts-green": "#388a34", "--vscode-charts-red": "#e51400", "--vscode-foreground": "#3b3b3b", "--vscode-font-size": "13px" })[name] ?? "");

test("the palette reads VS Code's variables and falls back where one is missing", () => {
  assert.equal(palette.workers[0], "#1a85ff");
  assert.equal(palette.workers[1], "#388a34");
  assert.equal(palette.workers[2], "#b180d7", "no --vscode-charts-purple: the fallback");
  assert.equal(palette.budget, "#e51400");
  assert.equal(palette.total, "#3b3b3b");
  assert.equal(palette.fontSize, 13);
  assert.equal(paletteFrom(() => "  ").foreground, "#cccccc", "blank values count as missing");
});

test("decimation: min-max, which keeps every pixel column's highest sample (a one-sample balloon)", () => {
  assert.deepEqual(DECIMATION, { enabled: true, algorithm: "min-max" });
});

test("a timeline dataset is pre-parsed, sorted, pointless and coloured by its worker slot", () => {
  const dataset = seriesDataset(2, [], palette);
  assert.deepEqual([dataset.parsing, dataset.normalized, dataset.pointRadius, dataset.label, dataset.borderColor, dataset.hidden], [false, true, 0, "worker 2", "#388a34", false]);
  assert.equal(seriesDataset(TOTAL_SERIES, [], palette).label, "all workers");
  assert.equal(seriesDataset(TOTAL_SERIES, [], palette).borderColor, palette.total);
  assert.equal(seriesDataset(1, [], palette, true).hidden, true);
});

test("worker colours cycle through the palette, slot 1 first", () => {
  assert.deepEqual([1, 2, 5, 6, 11].map((w) => workerColour(w, palette)), [palette.workers[0], palette.workers[1], palette.workers[4], palette.workers[0], palette.workers[0]]);
});

test("markers: a vertical line per event, its words shown on hover", () => {
  const crash = marker(3_723_000, "crash", 3);
  const line = markerAnnotation(crash, palette);
  assert.deepEqual([line.type, line.scaleID, line.value, line.borderColor, line.label.display], ["line", "x", 3_723_000, palette.budget, false]);
  assert.deepEqual(markerWords(crash), ["crash · worker 3 · pid 103 · 1:02:03", "crash at 3723000"]);
  const element = { label: { options: { display: false } } };
  line.enter({ element });
  assert.equal(element.label.options.display, true);
  line.leave({ element });
  assert.equal(element.label.options.display, false);
  assert.deepEqual(markerAnnotation(marker(0, "recycle"), palette).borderDash, [3, 3]);
});

test("the budget line goes with the total line: hidden with it, and then it no longer stretches the axis", () => {
  const shown = budgetAnnotation(1024, palette, true);
  assert.deepEqual([shown.scaleID, shown.value, shown.display, shown.adjustScaleRange, shown.label.content], ["y", 1024, true, true, "budget 1.0 GiB (all workers)"]);
  const hidden = budgetAnnotation(1024, palette, false);
  assert.deepEqual([hidden.display, hidden.adjustScaleRange], [false, false]);
});

test("tooltip and axis words", () => {
  assert.equal(pointWords(2, { x: 0, y: 104.3, pid: 4242 }), "worker 2 · pid 4242: 104 MiB");
  assert.equal(pointWords(TOTAL_SERIES, { x: 0, y: 2048, pid: 0 }), "all workers: 2.0 GiB");
  assert.equal(shortLabel("GET /short"), "GET /short");
  assert.equal(shortLabel("POST /reports/<int:uid>/render/with/a/long/tail", 20), "POST /reports/<int:…");
});

// ---- tabs ----

test("tabs: memory first; ids are unique", () => {
  assert.equal(TABS[0].id, "memory");
  assert.equal(new Set(TABS.map((t) => t.id)).size, TABS.length);
});

// ---- the panel's page ----

const parts = { cspSource: "https://file+.vscode-resource.vscode-cdn.net", nonce: "dGVzdG5vbmNl", scriptUri: "https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/main.js", styleUri: "https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/style.css" };

test("the panel's CSP: the nonce'd script and the extension's files, nothing else", () => {
  assert.equal(panelCsp(parts), `default-src 'none'; img-src ${parts.cspSource} data:; style-src ${parts.cspSource}; font-src ${parts.cspSource}; script-src 'nonce-${parts.nonce}'`);
});

test("panelHtml fills every place: the CSP meta, one nonce'd script, the stylesheet, the app root; nothing inline", () => {
  const html = panelHtml(parts);
  assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${panelCsp(parts)}">`));
  assert.deepEqual([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]), [`<script nonce="${parts.nonce}" src="${parts.scriptUri}">`]);
  assert.ok(html.includes(`<link rel="stylesheet" href="${parts.styleUri}">`));
  assert.ok(html.includes('<div id="app"></div>'));
  assert.doesNotMatch(html, /\{\{\w+\}\}/, "no place left");
  assert.doesNotMatch(html, /\sstyle=|<style/i, "no inline style");
  assert.doesNotMatch(html, /<script[^>]*>[^<]+<\/script>/, "no inline script");
});

test("panelHtml escapes what it puts in attributes and refuses a nonce that is not a token", () => {
  const html = panelHtml({ ...parts, scriptUri: 'x" onload="alert(1)' });
  assert.ok(html.includes('src="x&quot; onload=&quot;alert(1)"'));
  assert.throws(() => panelHtml({ ...parts, nonce: "a' 'unsafe-inline" }), /nonce/);
});
