// Installs the VS Code the editor tests run in: code-server 4.100.3 (VS Code 1.100.3, the newest
// code-server on Node 20) from npm into .vscode-host/ (gitignored), with Debian's chromium and
// ripgrep. Idempotent: when everything is in place it only checks and returns (~1 s).
// Needs only the npm registry and Debian's apt: code-server's @vscode/ripgrep postinstall would
// download rg from GitHub, so Debian's rg is put where it looks first; native modules build
// against the local Node headers. playwright-core is a devDependency of the project itself.
//
//   node scripts/vscode-host.mjs           install or check; prints the time it took
//   import { ensureVscodeHost } from "./vscode-host.mjs"   the same, from scripts/test.mjs
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureSystemDeps } from "./system-deps.mjs";

export const CODE_SERVER_VERSION = "4.100.3";
/** @vscode/ripgrep as pinned in code-server 4.100.3's lib/vscode/npm-shrinkwrap.json, and the asset its postinstall wants. */
const RIPGREP_PKG_VERSION = "1.15.11";
const RIPGREP_ASSET_VERSION = "v13.0.0-10";
const MARKER_NAME = "balloon-vscode-host";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const hostDir = process.env.VSCODE_HOST_DIR || join(root, ".vscode-host");

const versionOf = (dir) => {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
};

function installed(dir) {
  const cs = join(dir, "node_modules", "code-server");
  const vscodeModules = join(cs, "lib", "vscode", "node_modules");
  return versionOf(cs) === CODE_SERVER_VERSION &&
    existsSync(join(vscodeModules, "@vscode", "ripgrep", "bin", "rg")) &&
    existsSync(join(vscodeModules, "node-pty", "build", "Release", "pty.node")) &&
    existsSync(join(cs, "lib", "vscode", "extensions", "node_modules"));
}

function fail(message) {
  throw new Error(`vscode-host: ${message}`);
}

/** The ripgrep tarball @vscode/ripgrep's postinstall finds in $TMPDIR before it tries to download. */
function stageRipgrep(tmp) {
  const target = { x64: "x86_64-unknown-linux-musl", arm64: "aarch64-unknown-linux-musl" }[process.arch];
  if (!target) fail(`no ripgrep asset name for ${process.arch}`);
  const rg = execFileSync("sh", ["-c", "command -v rg"], { encoding: "utf8" }).trim();
  const cache = join(tmp, `vscode-ripgrep-cache-${RIPGREP_PKG_VERSION}`);
  const stage = join(tmp, "rg-stage");
  mkdirSync(cache, { recursive: true });
  mkdirSync(stage, { recursive: true });
  cpSync(rg, join(stage, "rg"));
  execFileSync("tar", ["czf", join(cache, `ripgrep-${RIPGREP_ASSET_VERSION}-${target}.tar.gz`), "-C", stage, "rg"]);
}

function npmInstall(dir) {
  const packageJson = join(dir, "package.json");
  if (existsSync(packageJson) && JSON.parse(readFileSync(packageJson, "utf8")).name !== MARKER_NAME) {
    fail(`${packageJson} was not written by this script; point VSCODE_HOST_DIR at an empty folder`);
  }
  writeFileSync(packageJson, `${JSON.stringify({
    name: MARKER_NAME,
    private: true,
    description: "code-server for Balloon's editor tests (written by scripts/vscode-host.mjs)",
    dependencies: { "code-server": CODE_SERVER_VERSION },
    // code-server's postinstall installs VS Code's own modules; argon2 builds its native part.
    allowScripts: { "code-server": true, argon2: true },
  }, null, 2)}\n`);
  const tmp = join(dir, "tmp");
  stageRipgrep(tmp);
  const nodedir = dirname(dirname(process.execPath));
  if (!existsSync(join(nodedir, "include", "node", "node.h"))) fail(`no Node headers under ${nodedir}/include/node (node-gyp needs them offline)`);
  const log = join(dir, "npm-install.log");
  process.stdout.write(`vscode-host: npm install code-server@${CODE_SERVER_VERSION} into ${dir} (1-3 min; log: ${log})\n`);
  const result = spawnSync("npm", ["install", "--no-audit", "--no-fund"], {
    cwd: dir,
    encoding: "utf8",
    env: {
      ...process.env,
      TMPDIR: tmp,
      // code-server's postinstall refuses to run as root without it (npm 11 warns it is unknown: harmless).
      npm_config_unsafe_perm: "true",
      // node-pty's postinstall runs `npx node-gyp`, which otherwise stops to ask.
      npm_config_yes: "true",
      npm_config_nodedir: nodedir,
    },
  });
  writeFileSync(log, `${result.stdout ?? ""}${result.stderr ?? ""}`);
  if (result.status !== 0) fail(`npm install failed (exit ${result.status}); see ${log}`);
  if (!installed(dir)) fail(`npm install finished but code-server's postinstall left files missing (ripgrep, node-pty, extensions); see ${log}`);
}

/** Installs what is missing and checks it runs; throws with what went wrong. */
export function ensureVscodeHost(dir = hostDir) {
  const started = Date.now();
  if (!ensureSystemDeps(["chromium", "ripgrep", "buildTools"])) fail("Debian packages missing (see above)");
  mkdirSync(dir, { recursive: true });
  if (!installed(dir)) npmInstall(dir);
  const bin = join(dir, "node_modules", ".bin", "code-server");
  // Even --version writes config and logs under XDG dirs: keep them in the host folder.
  const xdg = { XDG_CONFIG_HOME: join(dir, "tmp", "xdg-config"), XDG_DATA_HOME: join(dir, "tmp", "xdg-data") };
  const version = spawnSync(bin, ["--version"], { encoding: "utf8", env: { ...process.env, ...xdg } }).stdout?.trim().split("\n").pop() ?? "";
  if (!version.startsWith(`${CODE_SERVER_VERSION} `)) fail(`code-server --version printed "${version}"`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`vscode-host: code-server ${version} in ${dir} (${seconds} s)\n`);
  return { dir, bin, seconds: Number(seconds) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    ensureVscodeHost();
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
