// Which Python runs the app: --python > $VIRTUAL_ENV > ./.venv or ./venv > a python3 that
// imports the framework > /usr/bin/python3. Side effects (files, spawning) are injected.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { FrameworkName } from "./shim-protocol";

export interface PythonProbe {
  exists(path: string): boolean;
  /** True when `python -c "import module"` succeeds. */
  canImport(python: string, module: string): boolean;
  env: NodeJS.ProcessEnv;
}

export const systemProbe: PythonProbe = {
  exists: (path) => existsSync(path),
  canImport: (python, module) => spawnSync(python, ["-c", `import ${module}`], { stdio: "ignore", timeout: 20_000 }).status === 0,
  env: process.env,
};

export interface PythonChoice {
  python: string;
  /** Why this one, for the start-up banner. */
  why: string;
}

function onPath(name: string, probe: PythonProbe): string[] {
  return (probe.env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, name)).filter((path) => probe.exists(path));
}

export function choosePython(explicit: string | undefined, cwd: string, framework: FrameworkName | null, probe: PythonProbe = systemProbe): PythonChoice {
  if (explicit) return { python: explicit, why: "--python" };
  const venv = probe.env.VIRTUAL_ENV;
  if (venv && probe.exists(join(venv, "bin", "python"))) return { python: join(venv, "bin", "python"), why: "$VIRTUAL_ENV" };
  for (const dir of [".venv", "venv"]) {
    const candidate = join(cwd, dir, "bin", "python");
    if (probe.exists(candidate)) return { python: candidate, why: `./${dir}` };
  }
  const module = framework && framework !== "wsgi" ? framework : null;
  const candidates = [...new Set([...onPath("python3", probe), "/usr/bin/python3"])].filter((path) => probe.exists(path));
  for (const candidate of candidates) {
    if (!module) return { python: candidate, why: "python3 on PATH" };
    if (probe.canImport(candidate, module)) return { python: candidate, why: `the first python3 that imports ${module}` };
  }
  return { python: "/usr/bin/python3", why: module ? `no python3 imports ${module}; falling back` : "default" };
}

/** Guesses the framework from the target before any Python runs (to pick an interpreter). */
export function guessFramework(target: string, cwd: string): FrameworkName | null {
  const dir = join(cwd, target);
  if (!target.includes(":") && isDirectory(dir) && existsSync(join(dir, "manage.py"))) return "django";
  const module = target.split(":")[0];
  const base = join(cwd, ...module.split("."));
  for (const file of [`${base}.py`, join(base, "__init__.py")]) {
    if (!existsSync(file)) continue;
    const source = readFileSync(file, "utf8");
    if (/^\s*(from|import)\s+flask\b/m.test(source)) return "flask";
    if (/^\s*(from|import)\s+pyramid\b/m.test(source)) return "pyramid";
    if (/^\s*(from|import)\s+django\b/m.test(source)) return "django";
    return "wsgi";
  }
  return null;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
