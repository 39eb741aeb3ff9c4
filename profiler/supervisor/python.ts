// Which Python runs the app: --python, else the first of $VIRTUAL_ENV, ./.venv, ./venv, the
// python3 on PATH and /usr/bin/python3 that finds what the app needs: its framework and,
// when the target module is not a file under --cwd (an app installed as a package), that
// module, looked up from --cwd as the shim will, and the framework its source imports.
// Nothing to look up (a plain WSGI module in --cwd): the first candidate, no Python started.
//
// Probing is injected (PythonProbe, AsyncPythonProbe): `importlib.util.find_spec` of
// top-level names, which executes nothing of them, bounded in time and cached per
// (interpreter, cwd, module). One decision (a generator yielding what to probe) drives both
// the sync variant, for the CLI, and the async one (execFile, no spawnSync), for the
// language server. When the app still fails with ModuleNotFoundError, hintForImportError
// says which interpreters here import the module and the --python to pass.
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, realpathSync } from "node:fs";
import { basename, delimiter, dirname, join } from "node:path";
import type { FrameworkName } from "./shim-protocol";

/** How long one interpreter may take to say what it finds; slower counts as finding nothing. */
export const PROBE_TIMEOUT_MS = 10_000;

// argv[1]: top-level module names, comma-separated; prints "name<TAB>origin file" for each one
// found ("" for a namespace package). Run with the app's cwd, so sys.path[0] is --cwd, as for
// the shim. find_spec of a top-level name executes nothing of the module.
const FIND_SCRIPT =
  "import importlib.util, sys\n" +
  "for m in sys.argv[1].split(','):\n" +
  "    try:\n" +
  "        spec = importlib.util.find_spec(m)\n" +
  "    except Exception:\n" +
  "        continue\n" +
  "    if spec is not None:\n" +
  "        print(m + '\\t' + (spec.origin if spec.has_location else ''))\n";

interface ProbeBase {
  exists(path: string): boolean;
  /** A text file's content, null when unreadable. */
  read(path: string): string | null;
  /** File names in a directory ([] when unreadable). */
  list(dir: string): string[];
  /** The path with every link resolved (the path itself when it cannot be). */
  realpath(path: string): string;
  env: NodeJS.ProcessEnv;
}

/** Where each module was found: name → origin file ("" when it has none). Absent: not found. */
export type FoundModules = ReadonlyMap<string, string>;

export interface PythonProbe extends ProbeBase {
  /** Which top-level `modules` `python` finds with `cwd` first on sys.path, and where. */
  finds(python: string, cwd: string, modules: readonly string[]): FoundModules;
}

export interface AsyncPythonProbe extends ProbeBase {
  finds(python: string, cwd: string, modules: readonly string[]): Promise<FoundModules>;
}

export interface PythonRequest {
  /** --python, when given. */
  explicit?: string;
  cwd: string;
  /** module:callable, or "." for a Django project directory (cwd). */
  target: string;
  /** From --framework, or guessFramework(); null when unknown. */
  framework: FrameworkName | null;
}

export interface PythonChoice {
  python: string;
  /** Why this one, for the start-up banner. */
  why: string;
}

export interface ProbeOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

const files = {
  exists: (path: string): boolean => existsSync(path),
  read: (path: string): string | null => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return null;
    }
  },
  list: (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  realpath: (path: string): string => {
    try {
      return realpathSync(path);
    } catch {
      return path;
    }
  },
};

function parseFound(stdout: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const [name, origin = ""] = line.split("\t");
    if (name.trim()) found.set(name.trim(), origin.trim());
  }
  return found;
}

/** What each (interpreter, cwd, module) was found to be, so no interpreter is asked twice. */
class FoundCache {
  private readonly known = new Map<string, string | null>();

  private static key(python: string, cwd: string, module: string): string {
    return `${python}\0${cwd}\0${module}`;
  }

  missing(python: string, cwd: string, modules: readonly string[]): string[] {
    return modules.filter((module) => !this.known.has(FoundCache.key(python, cwd, module)));
  }

  store(python: string, cwd: string, asked: readonly string[], found: FoundModules): void {
    for (const module of asked) this.known.set(FoundCache.key(python, cwd, module), found.get(module) ?? null);
  }

  answer(python: string, cwd: string, modules: readonly string[]): Map<string, string> {
    const found = new Map<string, string>();
    for (const module of modules) {
      const origin = this.known.get(FoundCache.key(python, cwd, module));
      if (typeof origin === "string") found.set(module, origin);
    }
    return found;
  }
}

/** A probe that runs the interpreters, each (interpreter, cwd, module) at most once. */
export function systemProbe({ env = process.env, timeoutMs = PROBE_TIMEOUT_MS }: ProbeOptions = {}): PythonProbe {
  const cache = new FoundCache();
  return {
    ...files,
    env,
    finds: (python, cwd, modules) => {
      const missing = cache.missing(python, cwd, modules);
      if (missing.length > 0) {
        const result = spawnSync(python, ["-c", FIND_SCRIPT, missing.join(",")], { cwd, env, encoding: "utf8", timeout: timeoutMs });
        cache.store(python, cwd, missing, parseFound(result.status === 0 ? result.stdout : ""));
      }
      return cache.answer(python, cwd, modules);
    },
  };
}

/** systemProbe for callers that must not block (the language server): execFile. */
export function asyncSystemProbe({ env = process.env, timeoutMs = PROBE_TIMEOUT_MS }: ProbeOptions = {}): AsyncPythonProbe {
  const cache = new FoundCache();
  return {
    ...files,
    env,
    finds: async (python, cwd, modules) => {
      const missing = cache.missing(python, cwd, modules);
      if (missing.length > 0) {
        const stdout = await new Promise<string>((resolve) => {
          execFile(python, ["-c", FIND_SCRIPT, missing.join(",")], { cwd, env, encoding: "utf8", timeout: timeoutMs },
            (error, out) => resolve(error ? "" : out));
        });
        cache.store(python, cwd, missing, parseFound(stdout));
      }
      return cache.answer(python, cwd, modules);
    },
  };
}

interface Candidate {
  python: string;
  why: string;
}

/** $VIRTUAL_ENV, ./.venv, ./venv, every python3 on PATH, /usr/bin/python3: those that exist, once each. */
function candidates(cwd: string, probe: ProbeBase): Candidate[] {
  const found: Candidate[] = [];
  const add = (python: string, why: string): void => {
    if (probe.exists(python) && !found.some((c) => c.python === python)) found.push({ python, why });
  };
  if (probe.env.VIRTUAL_ENV) add(join(probe.env.VIRTUAL_ENV, "bin", "python"), "$VIRTUAL_ENV");
  for (const dir of [".venv", "venv"]) add(join(cwd, dir, "bin", "python"), `./${dir}`);
  for (const dir of pathDirs(probe)) add(join(dir, "python3"), "python3 on PATH");
  add("/usr/bin/python3", "/usr/bin/python3");
  return found;
}

function pathDirs(probe: ProbeBase): string[] {
  return (probe.env.PATH ?? "").split(delimiter).filter(Boolean);
}

/** The target's top-level module when it is not under cwd (an app installed as a package), else null. */
function installedModule(request: PythonRequest, probe: ProbeBase): string | null {
  if (!request.target.includes(":")) return null; // a Django project directory: cwd
  const module = request.target.split(":")[0].split(".")[0];
  const local = [join(request.cwd, `${module}.py`), join(request.cwd, module)];
  return module && !local.some((path) => probe.exists(path)) ? module : null;
}

/** The framework of a target found outside cwd, from its source next to the package's origin. */
function frameworkAt(target: string, origin: string, probe: ProbeBase): FrameworkName | null {
  if (!origin) return null;
  const root = basename(origin) === "__init__.py" ? dirname(dirname(origin)) : dirname(origin);
  return guessFramework(target, root, probe);
}

interface ProbeStep {
  python: string;
  modules: string[];
}

/** The decision, shared by the sync and async drivers: yields what to probe, receives what was found. */
function* decide(request: PythonRequest, probe: ProbeBase): Generator<ProbeStep, PythonChoice, FoundModules> {
  if (request.explicit) return { python: request.explicit, why: "--python" };
  const all = candidates(request.cwd, probe);
  const first = all[0] ?? { python: "/usr/bin/python3", why: "default" };
  const framework = request.framework && request.framework !== "wsgi" ? request.framework : null;
  const module = installedModule(request, probe);
  if (!framework && !module) return first;
  const wanted = [framework, module].filter((name): name is string => name !== null);
  for (const candidate of all) {
    const found = yield { python: candidate.python, modules: wanted };
    if (!wanted.every((name) => found.has(name))) continue;
    // An installed app's own framework, read from its source where this interpreter finds it.
    const its = module && !framework ? frameworkAt(request.target, found.get(module) ?? "", probe) : null;
    if (its && its !== "wsgi" && !(yield { python: candidate.python, modules: [its] }).has(its)) continue;
    const what = [...wanted, ...(its && its !== "wsgi" ? [its] : [])].join(" and ");
    const why = candidate === first ? `${candidate.why}, which imports ${what}` : `the first interpreter that imports ${what}; ${first.python} does not`;
    return { python: candidate.python, why };
  }
  return { python: first.python, why: `no interpreter here imports ${wanted.join(" and ")}; ${first.why}` };
}

export function choosePython(request: PythonRequest, probe: PythonProbe = systemProbe()): PythonChoice {
  const steps = decide(request, probe);
  let step = steps.next();
  while (!step.done) step = steps.next(probe.finds(step.value.python, request.cwd, step.value.modules));
  return step.value;
}

export async function choosePythonAsync(request: PythonRequest, probe: AsyncPythonProbe = asyncSystemProbe()): Promise<PythonChoice> {
  const steps = decide(request, probe);
  let step = steps.next();
  while (!step.done) step = steps.next(await probe.finds(step.value.python, request.cwd, step.value.modules));
  return step.value;
}

// ---- when the app still cannot be imported ----

/** The module a "ModuleNotFoundError: No module named 'x.y'" is about ("x"), else null. */
export function missingModule(message: string): string | null {
  const match = /ModuleNotFoundError: No module named '([^']+)'/.exec(message);
  return match ? match[1].split(".")[0] : null;
}

/** Every Python 3 interpreter on this machine worth asking: the candidates, and each python3.N
 * in the PATH directories, /usr/bin and /usr/local/bin; once each, by the first name found.
 * Same interpreter: the same file in the same directory, links resolved (/bin/python3 is
 * /usr/bin/python3.11); a venv's python, a link to its base, differs by its directory. */
export function interpretersOnMachine(cwd: string, probe: ProbeBase): string[] {
  const names = candidates(cwd, probe).map((c) => c.python);
  for (const dir of [...pathDirs(probe), "/usr/bin", "/usr/local/bin"]) {
    for (const name of probe.list(dir).filter((n) => /^python3(\.\d+)?$/.test(n)).sort()) names.push(join(dir, name));
  }
  const seen = new Set<string>();
  return names.filter((python) => {
    const identity = `${probe.realpath(dirname(python))}\0${probe.realpath(python)}`;
    if (seen.has(identity)) return false;
    seen.add(identity);
    return true;
  });
}

/** The sentence that says who imports `module` and what to pass; `importers` excludes `used`. */
export function importHint(module: string, used: string, importers: readonly string[], tried: readonly string[]): string {
  if (importers.length > 0) {
    const who = importers.length === 1 ? `${importers[0]} imports it` : `these import it: ${importers.join(", ")}`;
    return `${used} cannot import ${module}; ${who}: pass --python ${importers[0]}`;
  }
  return `no interpreter on this machine imports ${module} from the app's directory (tried ${tried.join(", ")}): ` +
    `install it into one (e.g. ${used} -m pip install ${module}), or put its directory in --cwd or PYTHONPATH`;
}

/** importHint for a failed import, probing this machine's interpreters; null when the error is not a missing module. */
export function hintForImportError(message: string, used: string, cwd: string, probe: PythonProbe = systemProbe()): string | null {
  const module = missingModule(message);
  if (!module) return null;
  const tried = interpretersOnMachine(cwd, probe).filter((python) => python !== used);
  const importers = tried.filter((python) => probe.finds(python, cwd, [module]).has(module));
  return importHint(module, used, importers, tried);
}

/** hintForImportError for callers that must not block (the language server). */
export async function hintForImportErrorAsync(message: string, used: string, cwd: string, probe: AsyncPythonProbe = asyncSystemProbe()): Promise<string | null> {
  const module = missingModule(message);
  if (!module) return null;
  const tried = interpretersOnMachine(cwd, probe).filter((python) => python !== used);
  const importers: string[] = [];
  for (const python of tried) if ((await probe.finds(python, cwd, [module])).has(module)) importers.push(python);
  return importHint(module, used, importers, tried);
}

/** Guesses the framework from the target's source under `dir` (to pick an interpreter before any Python runs). */
export function guessFramework(target: string, dir: string, probe: Pick<ProbeBase, "exists" | "read"> = files): FrameworkName | null {
  if (!target.includes(":") && probe.exists(join(dir, target, "manage.py"))) return "django";
  const base = join(dir, ...target.split(":")[0].split("."));
  for (const file of [`${base}.py`, join(base, "__init__.py")]) {
    const source = probe.read(file);
    if (source === null) continue;
    if (/^\s*(from|import)\s+flask\b/m.test(source)) return "flask";
    if (/^\s*(from|import)\s+pyramid\b/m.test(source)) return "pyramid";
    if (/^\s*(from|import)\s+django\b/m.test(source)) return "django";
    return "wsgi";
  }
  return null;
}
