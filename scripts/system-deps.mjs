// Debian packages the test suites need: checks each, installs the missing ones with apt-get
// when running as root, or says exactly what to install. Used by `npm test` and `npm run bench`.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Each need: how to tell it is there, and the Debian packages that bring it. */
export const NEEDS = {
  python: { what: "Debian's Python 3", packages: ["python3"], present: () => existsSync("/usr/bin/python3") },
  frameworks: {
    what: "Django, Flask and Pyramid for /usr/bin/python3",
    packages: ["python3-django", "python3-flask", "python3-pyramid"],
    present: () => spawnSync("/usr/bin/python3", ["-c", "import django, flask, pyramid"], { stdio: "ignore" }).status === 0,
  },
  gunicorn: {
    what: "gunicorn",
    packages: ["gunicorn"],
    present: () => spawnSync("/usr/bin/python3", ["-m", "gunicorn", "--version"], { stdio: "ignore" }).status === 0,
  },
  uwsgi: {
    what: "uWSGI with its Python 3 plugin",
    packages: ["uwsgi", "uwsgi-plugin-python3"],
    present: () => existsSync("/usr/bin/uwsgi") && existsSync("/usr/lib/uwsgi/plugins/python3_plugin.so"),
  },
  apache: {
    what: "Apache with mod_wsgi",
    packages: ["apache2", "libapache2-mod-wsgi-py3"],
    present: () => existsSync("/usr/sbin/apache2") && existsSync("/usr/lib/apache2/modules/mod_wsgi.so"),
  },
  systemdAnalyze: { what: "systemd-analyze (verifies the exported systemd drop-in)", packages: ["systemd"], present: () => existsSync("/usr/bin/systemd-analyze") },
  wrk: { what: "wrk", packages: ["wrk"], present: () => existsSync("/usr/bin/wrk") },
  chromium: { what: "Chromium", packages: ["chromium"], present: () => existsSync("/usr/bin/chromium") },
  // code-server (the editor tests' VS Code): Debian's rg stands in for the one its install would download.
  ripgrep: { what: "ripgrep", packages: ["ripgrep"], present: () => existsSync("/usr/bin/rg") },
  // code-server's native modules (node-pty, kerberos, argon2) build from source.
  buildTools: {
    what: "a C/C++ toolchain and Kerberos headers (code-server's native modules)",
    packages: ["build-essential", "libkrb5-dev"],
    present: () => existsSync("/usr/bin/g++") && existsSync("/usr/bin/make") && existsSync("/usr/include/krb5.h"),
  },
};

function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () => spawnSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...packages], { stdio: "inherit", env }).status === 0;
  if (install()) return true;
  // A fresh machine has no package lists yet.
  spawnSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
  return install();
}

function isRoot() {
  try {
    return execFileSync("id", ["-u"], { encoding: "utf8" }).trim() === "0";
  } catch {
    return false;
  }
}

/** Makes sure the named needs are met; returns false (after saying what to do) when they cannot be. */
export function ensureSystemDeps(names = Object.keys(NEEDS)) {
  const missing = names.map((name) => NEEDS[name]).filter((need) => !need.present());
  if (missing.length === 0) return true;
  const packages = [...new Set(missing.flatMap((need) => need.packages))];
  const command = `apt-get install -y ${packages.join(" ")}`;
  if (!isRoot()) {
    process.stderr.write(`Missing: ${missing.map((need) => need.what).join(", ")}.\nInstall them with:\n  sudo ${command}\n`);
    return false;
  }
  process.stderr.write(`Installing Debian packages: ${packages.join(" ")}\n`);
  if (!aptInstall(packages)) {
    process.stderr.write(`apt-get failed. Install by hand:\n  ${command}\n`);
    return false;
  }
  const still = missing.filter((need) => !need.present());
  if (still.length > 0) {
    process.stderr.write(`Still missing after apt-get: ${still.map((need) => need.what).join(", ")}\n`);
    return false;
  }
  return true;
}
