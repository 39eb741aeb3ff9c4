// `npm run package [-- --out FILE]`: builds, then packages the extension with @vscode/vsce into a
// .vsix (default balloon-VERSION.vsix) and checks what went in: the bundles, no node_modules,
// under 5 MB. The extra arguments go to `vsce package`.
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const MAX_BYTES = 5 * 1024 * 1024;
/** What the .vsix must hold: the extension, the language server and its worker, the shim, the panel. */
const REQUIRED = ["extension/dist/extension.js", "extension/dist/cli.js", "extension/dist/jobs-worker.js", "extension/dist/shim/balloon_shim/__main__.py", "extension/dist/webview/main.js", "extension/dist/webview/style.css", "extension/package.json"];

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", ...options });
  if (result.status !== 0) process.exit(result.status || 1);
  return result;
}

const args = process.argv.slice(2);
const outIndex = args.findIndex((arg) => arg === "--out" || arg === "-o");
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
const out = resolve(outIndex >= 0 ? args[outIndex + 1] : join(root, `balloon-${version}.vsix`));
const rest = outIndex >= 0 ? args.filter((_, i) => i !== outIndex && i !== outIndex + 1) : args;

run("node", ["scripts/build.mjs"]);
// --no-dependencies: everything is bundled. No repository yet: README links stay relative.
run("npx", ["vsce", "package", "--no-dependencies", "--skip-license", "--allow-missing-repository", "--no-rewrite-relative-links", "--out", out, ...rest]);

const listing = spawnSync("unzip", ["-Z1", out], { encoding: "utf8" });
if (listing.status !== 0) throw new Error(`cannot list ${out}: ${listing.stderr}`);
const files = listing.stdout.split("\n").filter(Boolean);
const problems = [
  ...REQUIRED.filter((file) => !files.includes(file)).map((file) => `missing ${file}`),
  ...files.filter((file) => file.includes("node_modules/")).slice(0, 3).map((file) => `node_modules inside: ${file}`),
];
const bytes = statSync(out).size;
if (bytes > MAX_BYTES) problems.push(`${(bytes / 1024 / 1024).toFixed(2)} MB, over 5 MB`);
if (problems.length > 0) {
  process.stderr.write(`package: ${out}:\n  ${problems.join("\n  ")}\n`);
  process.exit(1);
}
process.stdout.write(`package: ${out}: ${files.length} files, ${(bytes / 1024 / 1024).toFixed(2)} MB\n`);
