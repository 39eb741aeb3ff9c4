// The webview panel in headless Chromium under its real CSP (helpers/webview-page.mjs): fed what
// the extension sends (a status, a 100k-sample timeline over 4 workers with markers and a budget,
// a report with flagged routes, a recommendation), it must draw both charts, list and sort the
// routes, post openHandler / export / recommend / deepDive (a running app's only), show the tab
// and the dive under way the extension says, keep its tab and sort over a reload, follow a
// theme change, and do it all without a console error, a CSP violation or a request elsewhere.
// Screenshots (dark and light, each tab) go to test-out/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ensureSystemDeps } from "../../scripts/system-deps.mjs";
import { EXPORT_ROUTE, SESSION_ID, flaggedReport, recommendation, runningStatus } from "./helpers/webview-fixtures.mjs";
import { launchChromium, openPanel, startPanelServer } from "./helpers/webview-page.mjs";

const shots = fileURLToPath(new URL("../../test-out/", import.meta.url));
/** 25,000 sampling instants × 4 workers = 100,000 samples, 250 ms apart (1 h 44 min of a run). */
const TICKS = 25_000;
const TIMELINE = { sessionId: SESSION_ID, ticks: TICKS, workers: 4, crashAt: 9_000, timeoutAt: 15_000, budgetMiB: 1024 };

describe("webview panel in Chromium", { skip: !ensureSystemDeps(["chromium"]) && "no Chromium" }, () => {
  let server;
  let browser;
  let panel;
  let page;

  before(async () => {
    mkdirSync(shots, { recursive: true });
    server = await startPanelServer();
    browser = await launchChromium();
    panel = await openPanel(browser, server);
    page = panel.page;
  });

  after(async () => {
    await panel?.close();
    await browser?.close();
    await server?.close();
  });

  const posted = async (type) => (await panel.posted()).filter((message) => message.type === type);
  const tab = (id) => page.locator(`vscode-panel-tab#tab-${id}`);
  const rowKeys = () => page.locator("table.routes tr.route-row").evaluateAll((rows) => rows.map((row) => row.dataset.route));

  test("says ready on load, and draws a 100k-sample timeline keeping a one-sample spike", async () => {
    assert.equal((await posted("ready")).length, 1);
    await panel.send({ type: "status", status: runningStatus() });
    const drawn = await panel.timedTimeline("timelineReset", { ...TIMELINE, spike: { worker: 1, tick: 12_345, rssMiB: 2000 } });
    // Every sample, and the total line's point per instant (and one where a process left it).
    assert.ok(drawn.points >= TICKS * 5 && drawn.points < TICKS * 5 + 100, `${drawn.points} points`);
    assert.ok(drawn.drawn < drawn.points / 4, `decimated: ${drawn.drawn} of ${drawn.points} points drawn`);
    assert.ok(drawn.yMax >= 2000, `the one 2000 MiB sample survives decimation (y axis up to ${drawn.yMax})`);
    assert.ok(drawn.drawnMs < 3000, `drawn in ${drawn.drawnMs.toFixed(0)} ms`);
  });

  test("draws both charts with the markers, the budget and the routes", async () => {
    const timeline = await panel.timedTimeline("timelineReset", TIMELINE);
    assert.ok(timeline.yMax < 2000, "a reset replaces the timeline held");
    const bars = await panel.timed({ type: "report", report: flaggedReport() }, "routes");
    assert.equal(bars.points, 6);
    await panel.send({ type: "recommendation", recommendation: recommendation() });
    for (const chart of ["timeline", "routes"]) {
      const ink = await page.locator(`canvas[data-chart=${chart}]`).evaluate((canvas) => {
        const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
        let painted = 0;
        const colours = new Set();
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] === 0) continue;
          painted++;
          colours.add((data[i] >> 4) * 256 + (data[i + 1] >> 4) * 16 + (data[i + 2] >> 4));
        }
        return { share: painted / (canvas.width * canvas.height), colours: colours.size, width: canvas.width, height: canvas.height };
      });
      assert.ok(ink.width > 600 && ink.height > 200, `${chart} canvas ${ink.width}×${ink.height}`);
      assert.ok(ink.share > 0.01 && ink.colours >= 4, `${chart} canvas drew: ${(ink.share * 100).toFixed(1)}% of its pixels in ${ink.colours} colours`);
    }
    const events = await page.locator("ul.events li").allTextContents();
    assert.equal(events.length, 3, events.join("\n"));
    assert.match(events[0], /^timeout · worker 2 · pid \d+ · 1:02:29 — GET \/slow ran over the 30 s timeout$/);
    assert.match(events[1], /^crash · worker 3 · pid \d+ · 37:29 — killed by signal 9 \(SIGKILL\) — out of memory\?$/);
    assert.match(events[2], /^\d+ recycles, the latest: recycle · worker \d/);
    assert.match(await page.locator(".status-line").textContent(), /Running.*4 workers.*12,480 requests.*3 errors.*413 MiB RSS now/);
    await page.screenshot({ path: `${shots}webview-dark-memory.png`, fullPage: true });
  });

  test("appends 1k samples to 100k without starting over", async () => {
    const before = await panel.timedTimeline("timelineReset", TIMELINE);
    const appended = await panel.timedTimeline("timeline", { ...TIMELINE, fromTick: TICKS, ticks: 250 });
    const added = appended.points - before.points;
    assert.ok(added >= 1250 && added < 1260, `1000 samples and 250 total points added (${added})`);
    assert.ok(appended.drawnMs < 500, `appended in ${appended.drawnMs.toFixed(0)} ms`);
  });

  test("lists the routes with their flags, most at stake first", async () => {
    await tab("routes").click();
    await panel.frame();
    assert.deepEqual(await rowKeys(), ["GET /export", "POST /reports/<int:uid>/render", "GET /search", "GET /users/<int:uid>", "GET /static/<path>", "GET /health"]);
    const exportRow = page.locator(`tr[data-route="${EXPORT_ROUTE.key}"]`);
    assert.deepEqual(await exportRow.locator(".flag").allTextContents(), ["inflates"]);
    assert.equal(await exportRow.locator(".flag-inflates").getAttribute("title"), EXPORT_ROUTE.reason);
    assert.deepEqual(await page.locator('tr[data-route="POST /reports/<int:uid>/render"] .flag').allTextContents(), ["balloon", "leak"]);
    assert.deepEqual(await page.locator('tr[data-route="GET /search"] .flag').allTextContents(), ["undecided"]);
    assert.equal(await page.locator('tr[data-route="GET /static/<path>"] td').last().textContent(), "—");
  });

  test("a handler's file:line posts openHandler; a row opens to its reasons", async () => {
    const exportRow = page.locator(`tr[data-route="${EXPORT_ROUTE.key}"]`);
    const link = exportRow.locator("button.handler");
    assert.equal(await link.textContent(), "views.py:42");
    await link.click();
    await panel.frame();
    assert.deepEqual((await posted("openHandler")).at(-1), { type: "openHandler", file: EXPORT_ROUTE.handler.file, line: EXPORT_ROUTE.handler.line });
    assert.equal(await exportRow.getAttribute("aria-expanded"), "false", "the link does not open the row");
    await page.locator('tr[data-route="POST /reports/<int:uid>/render"] button.handler').click();
    assert.deepEqual((await posted("openHandler")).at(-1), { type: "openHandler", file: "/srv/app/shop/reports.py", line: 118 });
    await exportRow.click();
    await panel.frame();
    const detail = page.locator("tr.route-detail");
    assert.equal(await detail.count(), 1);
    assert.ok((await detail.textContent()).includes(EXPORT_ROUTE.reason));
    assert.match(await detail.textContent(), /592 MiB at stake/);
    await page.screenshot({ path: `${shots}webview-dark-routes.png`, fullPage: true });
  });

  test("a running app's opened row offers a deep dive (not a saved recording's); the extension shows its tab and that it runs", async () => {
    const dive = page.locator('tr.route-detail vscode-button[data-name="deep-dive"]');
    assert.equal(await dive.textContent(), "Deep dive");
    await dive.click();
    assert.deepEqual((await posted("deepDive")).at(-1), { type: "deepDive", method: "GET", route: "/export" });
    await panel.send({ type: "status", status: runningStatus({ state: "stopped", readOnly: true, url: null }) });
    await dive.waitFor({ state: "detached" });
    assert.equal(await page.locator("tr.route-detail").count(), 1, "the row stays open, without the button");
    await panel.send({ type: "status", status: runningStatus() });
    await dive.waitFor();

    await panel.send({ type: "deepDiveRunning", running: { method: "GET", route: "/export", calls: 5 } });
    await panel.send({ type: "showTab", tab: "deep" });
    const running = page.locator(".deep-running");
    await running.waitFor({ state: "visible" });
    assert.equal(await tab("deep").getAttribute("aria-selected"), "true");
    assert.match(await running.textContent(), /^Deep dive on GET \/export running: 5 calls in a worker of its own under tracemalloc/);
    await panel.send({ type: "deepDiveRunning", running: null });
    await running.waitFor({ state: "hidden" });
    await panel.send({ type: "showTab", tab: "routes" });
    await page.locator("table.routes").waitFor({ state: "visible" });
  });

  test("sorts by a column, and the other way on a second click", async () => {
    const header = page.locator('th[data-column="peakMax"]');
    const sortBy = async (column) => {
      await page.locator(`th[data-column="${column}"] button`).click();
      await panel.frame();
    };
    await sortBy("peakMax");
    assert.equal(await header.getAttribute("aria-sort"), "descending");
    const byPeak = ["GET /export", "POST /reports/<int:uid>/render", "GET /search", "GET /users/<int:uid>", "GET /static/<path>", "GET /health"];
    assert.deepEqual(await rowKeys(), byPeak);
    await sortBy("peakMax");
    assert.equal(await header.getAttribute("aria-sort"), "ascending");
    assert.deepEqual(await rowKeys(), [...byPeak].reverse());
    await sortBy("route");
    assert.equal(await header.getAttribute("aria-sort"), "none");
    assert.deepEqual(await rowKeys(), ["GET /export", "GET /health", "POST /reports/<int:uid>/render", "GET /search", "GET /static/<path>", "GET /users/<int:uid>"]);
    // Two quick clicks, as a person double-clicks: neither is lost to a redraw.
    await page.locator('th[data-column="peakMax"] button').click();
    await page.locator('th[data-column="peakMax"] button').click();
    await panel.frame();
    assert.equal(await header.getAttribute("aria-sort"), "ascending");
  });

  test("comes back on the same tab and sort after a reload, and asks for its data again", async () => {
    await panel.reload();
    assert.equal((await posted("ready")).length, 1, "the reloaded page posts ready");
    assert.equal(await page.locator("vscode-panels").getAttribute("activeid"), "tab-routes");
    // What the extension answers "ready" with.
    await panel.send({ type: "status", status: runningStatus() });
    await panel.send({ type: "report", report: flaggedReport() });
    await panel.send({ type: "recommendation", recommendation: recommendation() });
    await panel.timedTimeline("timelineReset", TIMELINE);
    assert.equal(await page.locator('th[data-column="peakMax"]').getAttribute("aria-sort"), "ascending");
    assert.equal((await rowKeys())[0], "GET /health");
    assert.equal(await page.locator("tr.route-detail").count(), 1, "the opened row stays open");
  });

  test("the recommendations tab shows settings, the what-if table and posts export and recommend", async () => {
    await tab("recommendations").click();
    await panel.frame();
    assert.match(await page.locator(".recommendation h2").textContent(), /Fits the budget of 1\.0 GiB \(--memory-budget\)/);
    assert.equal(await page.locator('tr[data-setting="workers"] td.value').textContent(), "4");
    assert.match(await page.locator('tr[data-setting="maxRequests"] td.reason').textContent(), /recycle after 250 requests/);
    const whatIf = await page.locator("table.what-if tbody tr").evaluateAll((rows) => rows.map((row) => row.cells[0].textContent));
    assert.deepEqual(whatIf, ["recommended", "max-requests 1000", "no RSS limit", "6 workers"]);
    assert.equal(await page.locator("table.what-if tbody tr.misfit").count(), 2);
    await page.screenshot({ path: `${shots}webview-dark-recommendations.png`, fullPage: true });

    await page.locator('vscode-button[data-name="export-gunicorn"]').click();
    await page.locator('vscode-button[data-name="export-kubernetes"]').click();
    assert.deepEqual(await posted("export"), [{ type: "export", format: "gunicorn" }, { type: "export", format: "kubernetes" }]);

    const budget = page.locator('vscode-text-field[data-name="budget"] input');
    assert.equal(await budget.inputValue(), "1024", "the field shows the budget in use");
    await budget.fill("lots");
    await page.locator('vscode-button[data-name="recommend"]').click();
    await panel.frame();
    assert.match(await page.locator(".field-error").textContent(), /number of MiB/);
    assert.equal((await posted("recommend")).length, 0);
    await budget.fill("900");
    await budget.press("Enter");
    assert.deepEqual(await posted("recommend"), [{ type: "recommend", budgetMiB: 900 }]);
    await page.locator(".recommendations-view .pending").waitFor({ state: "visible" });
    await panel.send({ type: "recommendation", recommendation: { ...recommendation(), budgetMiB: 900 } });
    await page.locator(".recommendations-view .pending").waitFor({ state: "hidden" });
    await budget.fill("");
    await page.locator('vscode-button[data-name="recommend"]').click();
    await panel.frame();
    assert.deepEqual((await posted("recommend")).at(-1), { type: "recommend" }, "empty: the engine's default budget");
    await panel.send({ type: "recommendation", recommendation: recommendation() });
  });

  test("an error from the extension shows until dismissed; a failed run shows its traceback", async () => {
    await panel.send({ type: "error", message: "The export could not be written: EACCES" });
    const banner = page.locator(".error-banner");
    await banner.waitFor({ state: "visible" });
    assert.match(await banner.textContent(), /EACCES/);
    await banner.locator("vscode-button").click();
    await banner.waitFor({ state: "hidden" });
    await panel.send({ type: "status", status: runningStatus({ state: "failed", failure: { message: "ModuleNotFoundError: No module named 'shop'", traceback: "Traceback (most recent call last):\n  ...\nModuleNotFoundError: No module named 'shop'" } }) });
    await page.locator(".failure").waitFor({ state: "visible" });
    assert.match(await page.locator(".failure p").textContent(), /No module named 'shop'/);
    await panel.send({ type: "status", status: runningStatus() });
    await page.locator(".failure").waitFor({ state: "hidden" });
  });

  test("follows a switch to a light theme (charts redrawn in its colours)", async () => {
    await tab("memory").click();
    const redrawn = await page.evaluate(() => {
      const rendered = Promise.all([window.__harness.whenRendered("timeline"), window.__harness.whenRendered("routes")]);
      document.body.className = "vscode-light";
      document.body.dataset.vscodeThemeKind = "vscode-light";
      return rendered;
    });
    assert.equal(redrawn.length, 2);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, "rgb(255, 255, 255)");
    // The light theme's blue (worker 1) is on the timeline now, the dark one's is not.
    const blues = await page.locator("canvas[data-chart=timeline]").evaluate((canvas) => {
      const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
      const near = (r, g, b) => { let n = 0; for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 12 && data[i + 3] > 200) n++; return n; };
      return { light: near(0x1a, 0x85, 0xff), dark: near(0x37, 0x94, 0xff) };
    });
    assert.ok(blues.light > 50 && blues.dark < blues.light / 20, JSON.stringify(blues));
    await page.screenshot({ path: `${shots}webview-light-memory.png`, fullPage: true });
    await tab("routes").click();
    await panel.frame();
    await page.screenshot({ path: `${shots}webview-light-routes.png`, fullPage: true });
    await tab("recommendations").click();
    await panel.frame();
    await page.screenshot({ path: `${shots}webview-light-recommendations.png`, fullPage: true });
  });

  test("no console error, no CSP violation, nothing fetched but the panel's own files", async () => {
    const problems = await panel.problems();
    assert.deepEqual(problems, { console: [], outside: [], violations: [], errors: [] });
    const allowed = new Set(["/", "/webview/main.js", "/webview/style.css", "/harness/harness.js", "/harness/theme.css"]);
    assert.deepEqual(server.requests.filter((path) => !allowed.has(path)), []);
  });
});
