// balloon report RECORD --html: one self-contained page, opened from disk in Debian's headless
// Chromium with every request outside the file refused and counted. A real recording of the
// plain WSGI fixture with a deep dive on its planted leak; screenshots in light and dark go to
// test-out/html-report/.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { killAll, python, repoRoot, runCli, scratchDir } from "./helpers/balloon.mjs";
import { consoleProblems, keepToOwnUrls, launchChromium } from "./helpers/webview-page.mjs";

const appDir = path.join(repoRoot, "test/fixtures/apps/wsgi_app");
const manifest = JSON.parse(readFileSync(path.join(appDir, "manifest.json"), "utf8"));
const entry = (route) => manifest.find((item) => item.route === route);
const shots = path.join(repoRoot, "test-out/html-report");

/** Opens the report from disk; the page may load nothing but itself. */
async function openReport(browser, file, colorScheme) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme, deviceScaleFactor: 1 });
  const page_url = pathToFileURL(file).href;
  const outside = await keepToOwnUrls(context, (url) => url === page_url);
  const page = await context.newPage();
  const problems = consoleProblems(page);
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) => window.__violations.push(`${event.violatedDirective}: ${event.blockedURI}`));
  });
  await page.goto(page_url);
  // Drawn: the timeline's canvas holds pixels that are not the background.
  await page.waitForFunction(() => {
    const canvas = document.querySelector(".section-memory canvas");
    if (!canvas || canvas.width === 0) return false;
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
    return painted > 2000;
  }, null, { timeout: 15_000 });
  return { context, page, outside, problems, violations: () => page.evaluate(() => window.__violations) };
}

after(killAll);

describe("balloon report --html", () => {
  let dir;
  let record;
  let html;
  let browser;
  before(async () => {
    dir = scratchDir();
    record = path.join(dir, "run.jsonl");
    html = path.join(dir, "report.html");
    const profiled = await runCli(["profile", "--app", "app:application", "--cwd", appDir, "--python", python, "--requests", path.join(appDir, "requests.txt"),
      "--record", record, "--deep", "GET /leak/large"], { timeoutMs: 180_000 });
    assert.equal(profiled.code, 0, profiled.stderr);
    browser = await launchChromium();
  });
  after(() => browser?.close());

  test("writes one file: the table on stdout, the page with its data, a CSP without 'unsafe-inline', nothing to fetch", async () => {
    const result = await runCli(["report", record, "--html", html, "--memory-budget", "1024"], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /GET \/leak\/large/);
    assert.match(result.stderr, /HTML report written to .*report\.html \(10 routes, \d+ flagged/);
    const text = readFileSync(html, "utf8");
    assert.match(text.split("\n", 1)[0], /^<!-- Balloon report, written \d{4}-\d\d-\d\dT.* by balloon report --html: Balloon report: app:application; it works offline/);
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(text)?.[1];
    assert.ok(csp, "a CSP meta");
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.doesNotMatch(text, /<script[^>]+src=|<link[^>]+href=/, "nothing loaded from elsewhere");
    const data = JSON.parse(/<script type="application\/json" id="balloon-data">(.*?)<\/script>/s.exec(text)[1]);
    assert.deepEqual(data.map((message) => message.type), ["status", "timelineReset", "report", "recommendation"]);
    assert.ok(data[1].batch.samples.length > 0, "the run's samples");
    assert.equal(data[3].recommendation.budgetMiB, 1024);
    assert.equal(data[2].report.deepDive.route, "/leak/large");
  });

  test("in Chromium, light and dark: charts drawn, flagged handlers with file:line and reasons, the deep dive's planted line, the recommendation; no request, no console error", async () => {
    mkdirSync(shots, { recursive: true });
    const backgrounds = {};
    for (const scheme of ["light", "dark"]) {
      const { context, page, outside, problems, violations } = await openReport(browser, html, scheme);
      try {
        const routesChart = await page.evaluate(() => {
          const canvas = document.querySelectorAll(".section-memory canvas")[1];
          return canvas ? canvas.width > 0 : false;
        });
        assert.ok(routesChart, "the peak vs kept chart");
        // Flagged handlers spelled out: each planted route with its handler line and its verdict's reason.
        for (const route of ["/leak/large", "/balloon/large", "/inflate/large"]) {
          const item = page.locator(`.flagged-list > li[data-route="GET ${route}"]`);
          const itemText = await item.innerText();
          const planted = entry(route);
          assert.match(itemText, new RegExp(`app\\.py:${planted.handler.line}`), itemText);
          assert.match(itemText, new RegExp(`${planted.flag}`), itemText);
          assert.match(itemText, /MiB at stake/, itemText);
        }
        assert.equal(await page.locator('.flagged-list > li[data-route="GET /hello"]').count(), 0, "an ok route is not listed");
        // The deep dive names the line the leak allocates on.
        const leak = entry("/leak/large");
        const site = page.locator(`.deep-sites tr[data-site="app.py:${leak.allocates.line}"]`);
        assert.equal(await site.count(), 1, await page.locator(".section-deep").innerText());
        assert.match(await page.locator(".deep-view h2").innerText(), /GET \/leak\/large \(leaks\): lines by retained/);
        assert.match(await page.locator(".section-deep").innerText(), /Growth per call over the repeats/);
        // The recommendation: its settings with reasons, the what-if table, the CLI to export.
        const rec = await page.locator(".section-recommendations").innerText();
        assert.match(rec, /Fits the budget of 1\.0 GiB/);
        assert.match(rec, /What if/);
        assert.match(rec, /balloon recommend run\.jsonl --memory-budget 1024 --format gunicorn\|/);
        assert.equal(await page.locator(".section-recommendations vscode-button").count(), 0, "no buttons that would ask nobody");
        backgrounds[scheme] = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        await page.screenshot({ path: path.join(shots, `report-${scheme}.png`), fullPage: true });
        assert.deepEqual(outside, [], "requests beyond the file");
        assert.deepEqual(problems, [], "console");
        assert.deepEqual(await violations(), [], "CSP violations");
      } finally {
        await context.close();
      }
    }
    assert.notEqual(backgrounds.light, backgrounds.dark, "prefers-color-scheme picks the colours");
  });

  test("the page holds 150k samples of 4 workers and still draws; HTML nobody wrote is never replaced, our own is", async () => {
    // A long run: 37,500 samples per worker at 4 Hz (2.6 h), a recycle marker every 1,000.
    const big = path.join(dir, "long.jsonl");
    const lines = readFileSync(record, "utf8").split("\n").filter((line) => /"type":"(start|app)"/.test(line));
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 37_500; i++) {
      for (let worker = 1; worker <= 4; worker++) {
        lines.push(JSON.stringify({ type: "sample", t: t0 + i * 250, worker, pid: 1000 + worker, rssKiB: 20_000 + ((i * 37 + worker * 101) % 9000), cpu: 1 }));
      }
      if (i % 1000 === 999) lines.push(JSON.stringify({ type: "worker", t: t0 + i * 250, worker: 1, pid: 1001, event: "recycle", reason: "max-requests", detail: "served 1000 requests" }));
    }
    writeFileSync(big, `${lines.join("\n")}\n`);
    const bigHtml = path.join(dir, "long.html");
    const result = await runCli(["report", big, "--html", bigHtml], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    const data = JSON.parse(/id="balloon-data">(.*?)<\/script>/s.exec(readFileSync(bigHtml, "utf8"))[1]);
    assert.equal(data[1].batch.samples.length, 150_000, "under the report's bound: every sample kept");
    const { context, outside, problems } = await openReport(browser, bigHtml, "light");
    await context.close();
    assert.deepEqual([outside, problems], [[], []]);

    const notOurs = path.join(dir, "index.html");
    writeFileSync(notOurs, "<!DOCTYPE html><p>my page</p>\n");
    const refused = await runCli(["report", record, "--html", notOurs]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /--html .*index\.html exists and is not an HTML report Balloon wrote.*--force/);
    assert.equal(readFileSync(notOurs, "utf8"), "<!DOCTYPE html><p>my page</p>\n");
    const again = await runCli(["report", record, "--html", html]);
    assert.equal(again.code, 0, again.stderr);
    const forced = await runCli(["report", record, "--html", notOurs, "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(readFileSync(notOurs, "utf8"), /^<!-- Balloon report/);
    const stray = await runCli(["report", record, "--memory-budget", "512"]);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /--memory-budget is for --html/);
  });
});
