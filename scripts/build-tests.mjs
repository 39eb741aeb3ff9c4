// Compiles every profiler/**/*.ts to CommonJS in out/test-build for the unit tests
// (test/unit/*.test.mjs import "../../out/test-build/<module>.js"), and the extension's pure
// modules to out/test-build/extension/ (they import `vscode` as types only). One file per module, not
// bundled: CJS keeps the sources' extensionless relative imports working, and esbuild's
// export annotations let Node's ESM loader see named exports.
// The webview's pure modules go to out/test-build/webview/ the same way (not the ones that need a
// DOM or chart.js: main, charts, toolkit, views/); html.ts is bundled, to take index.html as text.
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "out/test-build");

const sources = (dir, { recursive = true } = {}) =>
  readdirSync(join(root, dir), { recursive, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
    .map((entry) => join(entry.parentPath, entry.name));

const BROWSER_ONLY = new Set(["main.ts", "report-page.ts", "charts.ts", "toolkit.ts", "html.ts"]);
const common = { platform: "node", format: "cjs", target: "node20", sourcemap: "inline", logLevel: "warning" };

rmSync(outdir, { recursive: true, force: true });
await build({ ...common, entryPoints: sources("profiler"), outdir, outbase: join(root, "profiler"), bundle: false });
await build({
  ...common,
  entryPoints: sources("webview", { recursive: false }).filter((file) => !BROWSER_ONLY.has(file.split("/").pop())),
  outdir: join(outdir, "webview"),
  bundle: false,
});
await build({ ...common, entryPoints: [join(root, "webview/html.ts")], outdir: join(outdir, "webview"), bundle: true, loader: { ".html": "text" } });

const extensionModules = ["config.ts", "deep-dive-words.ts", "interpreter.ts", "target.ts"].map((name) => join(root, "extension", name));
await build({ ...common, entryPoints: extensionModules, outdir: join(outdir, "extension"), outbase: join(root, "extension"), bundle: false });
