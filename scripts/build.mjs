// Bundles the profiler CLI (also the language server, `balloon lsp`) with esbuild and copies the
// Python shim next to it; bundles the VS Code extension (dist/extension.js, `vscode` left to the
// host), the webview panel (script and style, every library inside: the page loads nothing else),
// and the same views for the offline HTML report (dist/report).
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

/** webview/html.ts imports the page template as text (whoever bundles it needs this loader). */
const textLoaders = { ".html": "text" };

await build({
  // The language server runs recommendations and file reads in a worker thread: its own entry.
  entryPoints: { cli: join(root, "profiler/cli.ts"), "jobs-worker": join(root, "profiler/lsp/jobs-worker.ts") },
  outdir: dist,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: true,
  logLevel: "warning",
});
cpSync(join(root, "profiler/shim"), join(dist, "shim"), {
  recursive: true,
  filter: (src) => !src.includes("__pycache__"),
});

await build({
  entryPoints: { extension: join(root, "extension/main.ts") },
  outdir: dist,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["vscode"],
  sourcemap: true,
  // panel.ts imports webview/html.ts, which takes its page template as text.
  loader: textLoaders,
  logLevel: "warning",
});

/**
 * FAST (under the UI toolkit) probes :focus-visible support by appending an inline <style> to the
 * page at load: the panel's CSP blocks it (a violation on every load, and a fallback to :focus).
 * Every Chromium that VS Code ships supports :focus-visible, so the probe's answer is fixed here.
 */
const focusVisibleWithoutProbe = {
  name: "focus-visible-without-probe",
  setup(builder) {
    builder.onLoad({ filter: /fast-foundation[\\/]dist[\\/]esm[\\/]utilities[\\/]style[\\/]focus\.js$/ }, () => ({
      contents: 'export const focusVisible = "focus-visible";',
      loader: "js",
    }));
  },
};

// The webview: one classic script (the CSP admits it by nonce) and one stylesheet. Chrome 124 is
// the oldest VS Code that engines.vscode allows (1.91, Electron 29).
await build({
  entryPoints: { main: join(root, "webview/main.ts"), style: join(root, "webview/style.css") },
  outdir: join(dist, "webview"),
  bundle: true,
  platform: "browser",
  target: "chrome124",
  format: "iife",
  minify: true,
  sourcemap: "linked",
  legalComments: "external",
  loader: textLoaders,
  plugins: [focusVisibleWithoutProbe],
  logLevel: "warning",
});

// The offline HTML report (balloon report --html) inlines this script and these styles: the
// panel's views in a plain page, with the theme variables VS Code would set.
await build({
  entryPoints: { report: join(root, "webview/report-page.ts"), "report-style": join(root, "webview/report-style.css") },
  outdir: join(dist, "report"),
  bundle: true,
  platform: "browser",
  target: "chrome124",
  format: "iife",
  minify: true,
  legalComments: "none",
  loader: textLoaders,
  plugins: [focusVisibleWithoutProbe],
  logLevel: "warning",
});
