// Bundles the profiler CLI with esbuild and copies the Python shim next to it.
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
