// Compiles every profiler/**/*.ts to CommonJS in out/test-build for the unit tests
// (test/unit/*.test.mjs import "../../out/test-build/<module>.js"), and the extension's pure
// modules to out/test-build/extension/ (they import `vscode` as types only). One file per module, not
// bundled: CJS keeps the sources' extensionless relative imports working, and esbuild's
// export annotations let Node's ESM loader see named exports.
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "out/test-build");

const entryPoints = readdirSync(join(root, "profiler"), { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
  .map((entry) => join(entry.parentPath, entry.name));

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints,
  outdir,
  outbase: join(root, "profiler"),
  platform: "node",
  format: "cjs",
  bundle: false,
  target: "node20",
  sourcemap: "inline",
  logLevel: "warning",
});

const extensionModules = ["config.ts", "interpreter.ts", "target.ts"].map((name) => join(root, "extension", name));
await build({
  entryPoints: extensionModules,
  outdir: join(outdir, "extension"),
  outbase: join(root, "extension"),
  platform: "node",
  format: "cjs",
  bundle: false,
  target: "node20",
  sourcemap: "inline",
  logLevel: "warning",
});
