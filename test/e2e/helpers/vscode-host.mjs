// A throw-away VS Code for the editor tests: code-server (installed by scripts/vscode-host.mjs
// into .vscode-host/) with a fresh profile in a temp dir, driven by Playwright through Debian's
// chromium. Everything both programs write (XDG dirs, TMPDIR: config, logs, sockets, crash
// reports) stays in that dir, which goes away with the profile.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { ensureVscodeHost } from "../../../scripts/vscode-host.mjs";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/** code-server's binary, installing it first when needed. */
export function codeServerBin() {
  return ensureVscodeHost().bin;
}

/** A fresh profile: user settings, extensions dir, browser profile, XDG dirs, TMPDIR. */
export function makeProfile(userSettings = {}) {
  const root = mkdtempSync(path.join(tmpdir(), "balloon-vscode-"));
  const dir = (name) => {
    const p = path.join(root, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: dir("xdg-config"),
    XDG_DATA_HOME: dir("xdg-data"),
    XDG_CACHE_HOME: dir("xdg-cache"),
    TMPDIR: dir("tmp"),
    // No extension gallery (open-vsx): nothing to look up on a closed network.
    EXTENSIONS_GALLERY: "{}",
  };
  delete env.PASSWORD; // either would turn password auth back on
  delete env.HASHED_PASSWORD;
  const profile = { root, env, userData: dir("user-data"), extensions: dir("extensions"), browser: dir("browser"), config: path.join(root, "config.yaml") };
  mkdirSync(path.join(profile.userData, "User"), { recursive: true });
  writeFileSync(path.join(profile.userData, "User", "settings.json"), JSON.stringify({
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "security.workspace.trust.enabled": false,
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "extensions.ignoreRecommendations": true,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    ...userSettings,
  }, null, 2));
  writeFileSync(profile.config, "auth: none\ncert: false\n");
  return profile;
}

export function removeProfile(profile) {
  if (process.env.KEEP_TMP) process.stdout.write(`# kept ${profile.root}\n`);
  else rmSync(profile.root, { recursive: true, force: true });
}

export function installVsix(bin, profile, vsix) {
  const result = spawnSync(bin, ["--user-data-dir", profile.userData, "--extensions-dir", profile.extensions, "--install-extension", vsix], { env: profile.env, encoding: "utf8" });
  if (result.status !== 0 || !/successfully installed/.test(result.stdout)) throw new Error(`--install-extension ${vsix} failed:\n${result.stdout}\n${result.stderr}`);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once("error", reject).listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** code-server on 127.0.0.1 (webviews need a secure context), ready once /healthz answers. */
export async function startCodeServer(bin, profile, { folder, logFile }) {
  const port = await freePort();
  const args = ["--config", profile.config, "--bind-addr", `127.0.0.1:${port}`, "--auth", "none", "--disable-telemetry", "--disable-update-check",
    "--disable-workspace-trust", "--disable-getting-started-override", "--user-data-dir", profile.userData, "--extensions-dir", profile.extensions];
  if (folder) args.push(folder);
  const log = openSync(logFile, "w");
  // Its own process group: stop() also sweeps the extension host, the pty host and our language server.
  const proc = spawn(bin, args, { env: profile.env, stdio: ["ignore", log, log], detached: true });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`code-server exited early (${proc.exitCode}); see ${logFile}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopCodeServer(proc);
      throw new Error(`code-server did not answer on ${url} within 60 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { proc, url, authority: `127.0.0.1:${port}` };
}

/** SIGTERM (code-server stops its children), then SIGKILL to the whole group as a safety net. */
export async function stopCodeServer(proc) {
  if (!proc) return;
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
  try {
    process.kill(-proc.pid, "SIGKILL");
  } catch {
    // the group is gone already
  }
}

export function launchBrowser(profile) {
  return chromium.launchPersistentContext(profile.browser, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    env: profile.env,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-breakpad"],
  });
}

/**
 * F1 (palette) or Control+P (Quick Open), type `text`, Enter on the row with `rowText`. Retries:
 * the workbench shows before the extension host has registered our commands, and an open
 * palette does not pick up commands registered later.
 */
export async function pick(page, { key, text, rowText, timeoutMs = 60_000 }) {
  const deadline = Date.now() + timeoutMs;
  const input = page.locator(".quick-input-widget input");
  const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: rowText }).first();
  for (;;) {
    // An editor opening just then (an export's file) closes the palette under the typing: CI saw
    // fill() wait 30 s on a hidden input. Every step is bounded, and a miss tries again.
    await page.keyboard.press(key);
    try {
      await input.waitFor({ state: "visible", timeout: 3000 });
      await input.fill(text, { timeout: 3000 });
      await row.waitFor({ timeout: 2000 });
      await page.keyboard.press("Enter");
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`no "${rowText}" in the quick input for "${text}" after ${timeoutMs} ms`);
      await page.keyboard.press("Escape");
      await page.waitForTimeout(500);
    }
  }
}

export const runCommand = (page, title, timeoutMs) => pick(page, { key: "F1", text: `>${title}`, rowText: title, timeoutMs });
export const quickOpen = (page, fileName) => pick(page, { key: "Control+P", text: fileName, rowText: fileName });
