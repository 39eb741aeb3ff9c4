// `npm test`: installs what the suites need (npm packages, Debian packages, the VS Code the
// editor suites run in), builds, checks types and lint, then runs the unit and integration
// suites, the in-host suite (Mocha in code-server's extension host) and the end-to-end test
// (the packaged .vsix in code-server, driven by Playwright), all with node:test.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureSystemDeps } from "./system-deps.mjs";
import { ensureVscodeHost } from "./vscode-host.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);

function step(title, command, args) {
  process.stdout.write(`\n== ${title}\n`);
  const result = spawnSync(command, args, { stdio: "inherit", env: process.env });
  if (result.status !== 0) {
    process.stderr.write(`\n${title} failed (${result.signal ?? `exit ${result.status}`})\n`);
    process.exit(result.status || 1);
  }
}

if (!existsSync(join(root, "node_modules", ".package-lock.json"))) step("npm packages", "npm", ["ci", "--no-audit", "--no-fund"]);
if (!ensureSystemDeps()) process.exit(1);
process.stdout.write("\n== VS Code for the editor tests\n");
try {
  // Installed before anything runs (a cold install takes 1-3 min); a failure fails the run, never skips.
  ensureVscodeHost();
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
step("build", "node", ["scripts/build.mjs"]);
step("build for tests", "node", ["scripts/build-tests.mjs"]);
step("typecheck", "npx", ["tsc", "-p", "tsconfig.json", "--noEmit"]);
step("typecheck the webview", "npx", ["tsc", "-p", "webview/tsconfig.json", "--noEmit"]);
step("lint", "npx", ["eslint", "."]);

const files = (dir) => readdirSync(join(root, dir)).filter((name) => name.endsWith(".test.mjs")).map((name) => join(dir, name));
// Integration tests start real servers and processes: one file at a time keeps them from
// fighting over 2 cores; each file's own tests run in order.
step("tests", "node", ["--test", "--test-concurrency=1", ...files("test/unit"), ...files("test/integration"), ...files("test/in-host"), ...files("test/e2e")]);
