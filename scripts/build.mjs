// Bundles the profiler CLI (also the language server, `balloon lsp`) with esbuild and copies the
// Python shim next to it; bundles the VS Code extension (dist/extension.js, `vscode` left to the
// host) and the webview panel (dist/webview: one script and one stylesheet, nothing loaded else).
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

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
  // webview/html.ts may load its page template as text.
  loader: { ".html": "text" },
  logLevel: "warning",
});

await build({
  entryPoints: { main: join(root, "webview/main.ts"), style: join(root, "webview/style.css") },
  outdir: join(dist, "webview"),
  bundle: true,
  platform: "browser",
  target: "chrome124",
  format: "iife",
  minify: true,
  logLevel: "warning",
});
