// Runs the in-host suite (suite/*.test.js, Mocha) inside code-server's extension host, with the
// repository loaded as the development extension (its dist/ built) and a copy of the fixture
// workspace open. The workbench is told what to run by its URL: ?payload=[["extensionDevelopmentPath",
// URI], ["extensionTestsPath", URI]]; it calls window.codeAutomationExit(code) when run() settles
// and passes every log line (the suite's output included) to window.codeAutomationLog.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { format } from "node:util";
import { killAll, repoRoot, scratchDir } from "../integration/helpers/balloon.mjs";
import { codeServerBin, launchBrowser, makeProfile, removeProfile, startCodeServer, stopCodeServer } from "../e2e/helpers/vscode-host.mjs";

const TIMEOUT_MS = 240_000;

after(killAll); // the scratch workspace

test("the in-host suite passes in code-server's extension host", { timeout: TIMEOUT_MS + 60_000 }, async () => {
  const bin = codeServerBin();
  const build = spawnSync("node", ["scripts/build.mjs"], { cwd: repoRoot, encoding: "utf8" });
  assert.equal(build.status, 0, build.stderr);
  const workspace = path.join(scratchDir(), "shop");
  cpSync(path.join(repoRoot, "test/fixtures/workspace"), workspace, { recursive: true, filter: (src) => !src.includes("__pycache__") });

  const profile = makeProfile();
  const logFile = path.join(profile.root, "code-server.log");
  let server;
  let browser;
  const lines = [];
  try {
    server = await startCodeServer(bin, profile, { logFile });
    browser = await launchBrowser(profile);
    const page = browser.pages()[0] ?? (await browser.newPage());
    let exit;
    const exited = new Promise((resolve) => (exit = resolve));
    // Both before the workbench loads (exposeFunction applies to later navigations).
    await page.exposeFunction("codeAutomationLog", (level, args) => {
      const line = format(...(Array.isArray(args) ? args : [args]));
      // The suite's own lines (Mocha's spec reporter) and errors; not the workbench's chatter.
      if (level === "error" || !/^\[|^Creating|^Resolv|^Updating|^ChatSession|^Started local extension host|^Ignoring fetching/.test(line)) lines.push(line);
    });
    await page.exposeFunction("codeAutomationExit", (code) => exit(code));
    const remote = (p) => `vscode-remote://${server.authority}${p}`;
    const payload = [["extensionDevelopmentPath", remote(repoRoot)], ["extensionTestsPath", remote(path.join(repoRoot, "test/in-host/suite/index.js"))]];
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    let timer;
    const code = await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), TIMEOUT_MS)))]);
    clearTimeout(timer);
    process.stdout.write(lines.map((line) => `# ${line}`).join("\n") + "\n");
    if (code === "timeout") assert.fail(`no result after ${TIMEOUT_MS / 1000} s; code-server log:\n${readFileSync(logFile, "utf8").slice(-4000)}`);
    assert.equal(code, 0, "the in-host suite failed (its output is above)");
    assert.ok(lines.some((line) => /\d+ passing/.test(line)), "Mocha reported its tests");
  } finally {
    await browser?.close().catch(() => undefined);
    await stopCodeServer(server?.proc);
    removeProfile(profile);
  }
});
