// End to end in a real VS Code (code-server 4.100.3, headless Debian chromium): the packaged
// .vsix installed into a throw-away profile, the fixture workspace (a Flask app with a planted
// inflation) opened, "Run App with Balloon" from the palette, traffic to the app's port, then
// what a person would see: the panel's chart and its route table with the planted handler
// flagged, the warning squiggle and code lens on the handler's own line; a deep dive from its
// "Deep dive" lens (the panel's Deep dive tab with the allocating line first; a click on it puts
// the cursor there); then the gunicorn settings exported into the workspace, Stop, and no Python
// process left; run again and reload the window: none left either. Screenshots go to test-out/e2e/
// (panel.png, handler.png, hover.png, deep-dive.png and the same regions alone; failure.png when a step fails).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { descendants, killAll, pidAlive, repoRoot, request, scratchDir, waitFor } from "../integration/helpers/balloon.mjs";
import {
  codeServerBin, freePort, installVsix, launchBrowser, makeProfile, quickOpen, removeProfile, runCommand, startCodeServer, stopCodeServer,
} from "./helpers/vscode-host.mjs";

const outDir = path.join(repoRoot, "test-out", "e2e");
const fixture = path.join(repoRoot, "test/fixtures/workspace");
const source = readFileSync(path.join(fixture, "app.py"), "utf8");
const PLANTED = JSON.parse(/^PLANTED = (\{.*\})$/m.exec(source)[1].replace(/'/g, '"'));
/** The planted handler's allocating line (1-based): what the deep dive must put first. */
const ALLOCATING_LINE = source.split("\n").findIndex((line) => line.includes("_export_cache.extend(")) + 1;

const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await killAll(); // the scratch dirs
});

/** Python processes in code-server's process tree (the app's master and workers run under our language server). */
function appProcesses(rootPid) {
  return descendants(rootPid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes("balloon_shim");
    } catch {
      return false;
    }
  });
}

test("run, traffic, panel, squiggle and lens, deep dive, export gunicorn, stop, reload", { timeout: 300_000 }, async () => {
  mkdirSync(outDir, { recursive: true });
  const timings = {};
  let t = Date.now();
  const lap = (name) => {
    timings[name] = (Date.now() - t) / 1000;
    t = Date.now();
  };
  const bin = codeServerBin();
  lap("codeServerReady");

  const vsix = path.join(scratchDir(), "balloon-e2e.vsix");
  const packaged = spawnSync("npm", ["run", "package", "--", "--out", vsix], { cwd: repoRoot, encoding: "utf8" });
  assert.equal(packaged.status, 0, `npm run package failed:\n${packaged.stdout}\n${packaged.stderr}`);
  lap("package");

  // The workspace, with the app's port fixed so the test knows where to send traffic.
  const workspace = path.join(scratchDir(), "shop");
  cpSync(fixture, workspace, { recursive: true, filter: (src) => !src.includes("__pycache__") });
  const port = await freePort();
  const settingsFile = path.join(workspace, ".vscode", "settings.json");
  // A short deep dive: 3 calls, 8 frames (the planted line allocates in app.py's own frame;
  // tracemalloc's cost grows with the frames it keeps, ~30 s for this call's 300k strings at 40).
  const extra = { "balloon.port": port, "balloon.deepDive.calls": 3, "balloon.deepDive.frames": 8 };
  const lines = Object.entries(extra).map(([key, value]) => `  ${JSON.stringify(key)}: ${value}`).join(",\n");
  writeFileSync(settingsFile, readFileSync(settingsFile, "utf8").replace(/\n\}\s*$/, `,\n${lines}\n}\n`));

  const profile = makeProfile();
  cleanups.push(() => removeProfile(profile));
  installVsix(bin, profile, vsix);
  const server = await startCodeServer(bin, profile, { folder: workspace, logFile: path.join(outDir, "code-server.log") });
  cleanups.push(() => stopCodeServer(server.proc));
  const browser = await launchBrowser(profile);
  cleanups.push(() => browser.close().catch(() => undefined));
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(30_000);
  try {
    await page.goto(server.url);
    await page.locator(".explorer-folders-view .monaco-list-row").first().waitFor();
    lap("workbench");
    await quickOpen(page, "app.py");
    await page.locator(".monaco-editor .view-line", { hasText: "def export" }).waitFor();

    await runCommand(page, "Balloon: Run App with Balloon");
    await waitFor(async () => (await request(port, "/hello").catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 60_000, what: `the app on port ${port}` });
    lap("runToServing");
    for (const [p, n] of [["/hello", 4], [PLANTED.route, 12], ["/users/7", 4]]) {
      for (let i = 0; i < n; i++) assert.equal((await request(port, p)).status, 200);
    }

    // The panel: the chart's canvas has pixels drawn, the route table flags the planted route.
    const webview = page.frameLocator("iframe.webview").frameLocator("#active-frame");
    await webview.getByText("Memory per worker").waitFor({ timeout: 30_000 });
    const canvas = webview.locator("canvas").first();
    await canvas.waitFor();
    // Pixels off the canvas's most common colour (the background): chart.js draws in its own time.
    const drawnPixels = () => canvas.evaluate((c) => {
      const { data } = c.getContext("2d").getImageData(0, 0, c.width, c.height);
      const counts = new Map();
      for (let i = 0; i < data.length; i += 4) {
        const key = `${data[i]},${data[i + 1]},${data[i + 2]},${data[i + 3]}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return data.length / 4 - Math.max(...counts.values());
    });
    const drawn = await waitFor(async () => {
      const count = await drawnPixels();
      return count > 100 && count;
    }, { timeoutMs: 15_000, what: "the chart drawn" }).catch(async () => drawnPixels());
    assert.ok(drawn > 100, `the chart canvas has ${drawn} pixels off its background`);
    // The status and the report come batched (1 s, 2 s): the shot waits for the run's figures.
    await webview.getByText(/\b2 workers\b/).first().waitFor({ timeout: 30_000 });
    await webview.getByText("No routes yet: send requests to the app.", { exact: true }).waitFor({ state: "hidden", timeout: 30_000 });
    lap("trafficToPanel");
    await page.screenshot({ path: path.join(outDir, "panel.png") });
    // The panel alone, for the README (docs/panel.png is a copy once looked at).
    await page.locator("iframe.webview").first().screenshot({ path: path.join(outDir, "panel-only.png") });
    // The route table (its own tab) flags the planted route.
    await webview.locator("#tab-routes").click();
    const row = webview.locator("tr", { hasText: PLANTED.route }).filter({ hasText: PLANTED.flag }).first();
    await row.waitFor({ timeout: 30_000 });
    assert.match(await row.innerText(), /GET/);
    await page.locator("iframe.webview").first().screenshot({ path: path.join(outDir, "routes-only.png") });

    // The editor: the warning squiggle on the planted handler's line, and its code lens. Its own
    // tab, in the first group (Quick Open from the focused panel would open a second one beside it).
    await page.locator(".tabs-container .tab", { hasText: "app.py" }).first().click();
    const editor = page.locator(".editor-instance .monaco-editor").first();
    const squiggle = editor.locator(".squiggly-warning").first();
    await squiggle.waitFor({ timeout: 30_000 });
    // The handler's lenses, one line of links: its figures, then Deep dive (the app runs).
    const lenses = editor.locator(".codelens-decoration", { hasText: PLANTED.flag }).first();
    const lens = lenses.locator("a", { hasText: PLANTED.flag });
    await lens.waitFor();
    assert.match(await lens.innerText(), /^peak [\d.]+ MiB · retained [\d.]+ MiB · 12 calls · inflates$/);
    const diveLens = lenses.locator("a", { hasText: /^Deep dive$/ });
    await diveLens.waitFor();
    // The squiggle is drawn at its line's height: the view line there holds the handler's def.
    await editor.screenshot({ path: path.join(outDir, "handler-only.png") });
    const lineText = await squiggle.evaluate((node) => {
      const top = node.closest(".view-overlays > div")?.style.top ?? node.parentElement?.style.top;
      const line = [...document.querySelectorAll(".editor-instance .view-lines .view-line")].find((l) => l.style.top === top);
      return line?.textContent ?? `no line at ${top}`;
    });
    assert.equal(lineText.replace(/\u00a0/g, " ").trim(), source.split("\n")[PLANTED.line - 1].trim());
    const problems = await page.locator('[id="status.problems"]').getAttribute("aria-label");
    assert.match(problems ?? "", /Warnings: 1\b/);
    await page.screenshot({ path: path.join(outDir, "handler.png") });
    // The hover on the handler's name: the warning's words and the figures.
    await editor.locator(".view-line span", { hasText: /^export$/ }).first().hover();
    const hover = page.locator(".monaco-hover:not(.hidden)", { hasText: "Retained:" }).first();
    await hover.waitFor();
    const hoverText = await hover.innerText();
    assert.match(hoverText, /GET \/export inflates each worker by [\d.]+ MiB; peak [\d.]+ MiB over 12 calls/);
    assert.match(hoverText, /GET \/export — app\.export/);
    assert.match(hoverText, /inflates: first call keeps/);
    await page.waitForTimeout(500); // the hover fades in
    await page.screenshot({ path: path.join(outDir, "hover.png") });
    await editor.screenshot({ path: path.join(outDir, "handler-hover-only.png") });
    lap("editorMarks");

    // Deep dive from the lens: the panel opens on its Deep dive tab with the allocating line on
    // top, and a click on that row puts the editor's cursor on it.
    await page.keyboard.press("Escape");
    await page.mouse.move(0, 0);
    await hover.waitFor({ state: "hidden" });
    await diveLens.click();
    const site = webview.locator(`tr[data-site="app.py:${ALLOCATING_LINE}"]`);
    await site.waitFor({ timeout: 90_000 });
    assert.equal(await webview.locator("tbody tr[data-site]").first().getAttribute("data-site"), `app.py:${ALLOCATING_LINE}`, "the allocating line comes first");
    assert.match(await site.innerText(), /_export_cache\.extend\(/);
    assert.equal(await webview.locator("#tab-deep").getAttribute("aria-selected"), "true");
    await webview.locator(".deep-running").waitFor({ state: "hidden" });
    await page.locator("iframe.webview").first().screenshot({ path: path.join(outDir, "deep-dive-only.png") });
    const cursor = page.locator('[id="status.editor.selection"]');
    assert.doesNotMatch(await cursor.innerText(), new RegExp(`^Ln ${ALLOCATING_LINE},`), "the cursor is elsewhere before the click");
    await site.locator("button.link").click();
    await page.locator('[id="status.editor.selection"]', { hasText: new RegExp(`^Ln ${ALLOCATING_LINE}, Col 1\\b`) }).waitFor();
    // The editor draws the moved cursor's line highlight in its next frame.
    const currentLine = () => editor.evaluate((node) => {
      const top = node.querySelector(".view-overlays .current-line")?.parentElement?.style.top;
      const line = [...node.querySelectorAll(".view-lines .view-line")].find((l) => l.style.top === top);
      return (line?.textContent ?? `no line at ${top}`).replace(/\u00a0/g, " ").trim();
    });
    const allocating = source.split("\n")[ALLOCATING_LINE - 1].trim();
    const highlighted = await waitFor(async () => (await currentLine()) === allocating && allocating, { timeoutMs: 10_000, what: "the allocating line highlighted" })
      .catch(() => currentLine());
    assert.equal(highlighted, allocating, "the active line is the allocating one");
    // The whole window without the sidebar (the editor's lines and the panel side by side; docs/deep-dive.png).
    const sidebar = page.locator(".explorer-folders-view");
    await page.keyboard.press("Control+B");
    await sidebar.waitFor({ state: "hidden" });
    await page.screenshot({ path: path.join(outDir, "deep-dive.png") });
    await page.keyboard.press("Control+B");
    await sidebar.waitFor();
    lap("deepDive");

    // Export: the quick pick of servers, gunicorn written into the workspace.
    await runCommand(page, "Balloon: Export Server Settings");
    await page.locator(".quick-input-widget .monaco-list-row", { hasText: "gunicorn" }).first().waitFor();
    await page.locator(".quick-input-widget input").fill("gunicorn");
    await page.keyboard.press("Enter");
    const exported = path.join(workspace, "gunicorn.conf.py");
    await waitFor(() => existsSync(exported), { timeoutMs: 60_000, what: "gunicorn.conf.py in the workspace" });
    // The exported file opens in an editor; wait for it, so the palette below is not closed by it.
    await page.locator(".tabs-container .tab", { hasText: "gunicorn.conf.py" }).first().waitFor({ timeout: 30_000 });
    const conf = readFileSync(exported, "utf8");
    assert.match(conf, /^wsgi_app = "app:app"$/m);
    assert.match(conf, /^workers = \d+$/m);
    assert.match(conf, /^def post_request\(worker, req, environ, resp\):$/m);
    lap("export");

    // Stop: the app and every worker gone.
    const running = appProcesses(server.proc.pid);
    assert.ok(running.length >= 3, `the master and 2 workers ran under code-server: ${running}`);
    await runCommand(page, "Balloon: Stop");
    await waitFor(() => running.every((pid) => !pidAlive(pid)) && appProcesses(server.proc.pid).length === 0, { timeoutMs: 30_000, what: "no Python process left" });
    assert.equal((await request(port, "/hello").catch(() => ({ status: 0 }))).status, 0, "nothing serves the port");
    lap("stop");

    // A window reload (the extension deactivated) takes a running app down too.
    await runCommand(page, "Balloon: Run App with Balloon");
    await waitFor(async () => (await request(port, "/hello").catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 60_000, what: "the app again" });
    const again = await waitFor(() => {
      const found = appProcesses(server.proc.pid);
      return found.length >= 3 && found;
    }, { what: "the master and workers again" });
    await runCommand(page, "Developer: Reload Window");
    await waitFor(() => again.every((pid) => !pidAlive(pid)), { timeoutMs: 30_000, what: "no Python process left after the reload" });
    await page.locator(".explorer-folders-view .monaco-list-row").first().waitFor();
    lap("reload");
    process.stdout.write(`# e2e timings (s): ${JSON.stringify(timings)}\n`);
    writeFileSync(path.join(outDir, "timings.json"), JSON.stringify(timings, null, 2));
  } catch (error) {
    await page.screenshot({ path: path.join(outDir, "failure.png") }).catch(() => undefined);
    const logs = path.join(profile.userData, "logs");
    if (existsSync(logs)) cpSync(logs, path.join(outDir, "logs"), { recursive: true });
    throw error;
  }
});


