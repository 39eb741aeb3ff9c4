// Checks what `npm run bench` needs besides Node: wrk (the load generator) and gunicorn
// (the reference server) for /usr/bin/python3. As root it installs them from Debian;
// otherwise it says what to install and exits 1.
import { spawnSync } from "node:child_process";

const PYTHON = "/usr/bin/python3";

/** Does `command args` run? wrk has no exit-0 flag: -v prints its version and exits 1. */
function runs(command, args, versionPattern) {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 20_000 });
  if (result.error) return false;
  return versionPattern.test(`${result.stdout}${result.stderr}`);
}

function missing() {
  const need = [];
  if (!runs("wrk", ["-v"], /^wrk \S+/m)) need.push({ name: "wrk", apt: "wrk" });
  if (!runs(PYTHON, ["-m", "gunicorn", "--version"], /version \d+/)) {
    need.push({ name: `gunicorn for ${PYTHON} (${PYTHON} -m gunicorn)`, apt: "gunicorn" });
  }
  return need;
}

function apt(args) {
  process.stderr.write(`[bench-setup] apt-get ${args.join(" ")}\n`);
  const result = spawnSync("apt-get", args, {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return !result.error && result.status === 0;
}

let need = missing();
if (need.length > 0) {
  const packages = need.map((n) => n.apt);
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot) {
    process.stderr.write(`[bench-setup] missing: ${need.map((n) => n.name).join(", ")}; installing\n`);
    const install = ["install", "-y", "--no-install-recommends", ...packages];
    if (!apt(install)) {
      // A fresh container has no package lists yet.
      if (apt(["update"])) apt(install);
    }
    need = missing();
  }
  if (need.length > 0) {
    process.stderr.write(
      `[bench-setup] the benchmark needs: ${need.map((n) => n.name).join(", ")}\n` +
        `  install them with:  sudo apt-get install -y ${need.map((n) => n.apt).join(" ")}\n` +
        `  (wrk 4.x and gunicorn 20+ for ${PYTHON}; on other systems: your package manager's wrk,\n` +
        `   and ${PYTHON} -m pip install gunicorn)\n`,
    );
    process.exit(1);
  }
}
process.stderr.write("[bench-setup] wrk and gunicorn are available\n");
