// `npm test`: installs what the suites need (npm packages, Debian packages), builds, checks
// types and lint, then runs the unit and integration suites with node:test.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureSystemDeps } from "./system-deps.mjs";

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
step("build", "node", ["scripts/build.mjs"]);
step("build for tests", "node", ["scripts/build-tests.mjs"]);
step("typecheck", "npx", ["tsc", "-p", "tsconfig.json", "--noEmit"]);
step("typecheck the webview", "npx", ["tsc", "-p", "webview/tsconfig.json", "--noEmit"]);
step("lint", "npx", ["eslint", "."]);

const files = (dir) => readdirSync(join(root, dir)).filter((name) => name.endsWith(".test.mjs")).map((name) => join(dir, name));
// Integration tests start real servers and processes: one file at a time keeps them from
// fighting over 2 cores; each file's own tests run in order.
step("tests", "node", ["--test", "--test-concurrency=1", ...files("test/unit"), ...files("test/integration")]);
