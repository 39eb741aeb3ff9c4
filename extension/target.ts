// Which app "Run App with Balloon" runs, from the workspace folder: the balloon.app setting, a
// Django manage.py, or a WSGI `module:callable` found by reading the top-level .py files
// (`application = ...`, `app = Flask(__name__)`, `def application(environ, start_response)`, a
// Pyramid `make_wsgi_app()`). One candidate: run it; several: ask; none: say what to set.
// Pure: the file system is injected (unit-tested without VS Code).
import { isAbsolute, join, resolve } from "node:path";
import type { AppTarget } from "../profiler/protocol";

export interface WorkspaceFiles {
  exists(path: string): boolean;
  /** File names in a directory ([] when unreadable). */
  list(dir: string): string[];
  /** A text file's content, null when unreadable. */
  read(path: string): string | null;
}

export interface TargetCandidate {
  app: Omit<AppTarget, "python" | "pythonWhy">;
  /** What the quick pick shows: "app:app (Flask, app.py)". */
  label: string;
}

export type TargetDetection =
  | { kind: "found"; candidate: TargetCandidate }
  | { kind: "ask"; candidates: TargetCandidate[] }
  | { kind: "none"; message: string };

/** Files bigger than this are not scanned (generated code, data): an app's entry module is small. */
const MAX_SCAN_BYTES = 512 * 1024;

type Framework = AppTarget["framework"];

/** The assignments and definitions that make a module-level WSGI callable, with the framework they mean. */
const CALLABLE_PATTERNS: ReadonlyArray<{ pattern: RegExp; framework: Framework; kind: string }> = [
  { pattern: /^(\w+)\s*=\s*(?:flask\.)?Flask\(/m, framework: "flask", kind: "Flask" },
  { pattern: /^(\w+)\s*=\s*[\w.()]*\.make_wsgi_app\(\)/m, framework: "pyramid", kind: "Pyramid" },
  { pattern: /^(application)\s*=\s*get_wsgi_application\(\)/m, framework: "django", kind: "Django" },
  { pattern: /^def (application)\s*\(\s*environ\s*,\s*start_response\s*\)/m, framework: "wsgi", kind: "WSGI" },
  { pattern: /^(application)\s*=/m, framework: "auto", kind: "WSGI" },
];

const SETTING_HELP = 'set "balloon.app" to module:callable (e.g. app:app) or to the directory holding manage.py';

/** A balloon.app value: "module:callable", or a Django project directory (relative to the workspace, or absolute). */
function fromSetting(workspace: string, value: string, files: WorkspaceFiles): TargetDetection {
  if (value.includes(":")) {
    const [module, callable, extra] = value.split(":");
    if (!module || !callable || extra !== undefined) return { kind: "none", message: `balloon.app "${value}" is not module:callable; ${SETTING_HELP}` };
    return { kind: "found", candidate: { app: { target: value, cwd: workspace, framework: "auto" }, label: `${value} (balloon.app)` } };
  }
  const dir = isAbsolute(value) ? value : resolve(workspace, value);
  if (!files.exists(join(dir, "manage.py"))) return { kind: "none", message: `balloon.app "${value}": no manage.py in ${dir}; ${SETTING_HELP}` };
  return { kind: "found", candidate: { app: { target: ".", cwd: dir, framework: "django" }, label: `Django project ${dir} (balloon.app)` } };
}

/** The WSGI callable a module defines, if any (the first pattern that matches). */
export function callableIn(source: string): { name: string; framework: Framework; kind: string } | null {
  for (const { pattern, framework, kind } of CALLABLE_PATTERNS) {
    const match = pattern.exec(source);
    if (match) return { name: match[1], framework, kind };
  }
  return null;
}

export function detectTarget(workspace: string, setting: string | null, files: WorkspaceFiles): TargetDetection {
  const configured = setting?.trim();
  if (configured) return fromSetting(workspace, configured, files);
  if (files.exists(join(workspace, "manage.py"))) {
    return { kind: "found", candidate: { app: { target: ".", cwd: workspace, framework: "django" }, label: "Django project (manage.py)" } };
  }
  const candidates: TargetCandidate[] = [];
  for (const name of files.list(workspace).filter((file) => /^[A-Za-z_]\w*\.py$/.test(file)).sort()) {
    const source = files.read(join(workspace, name));
    if (source === null || source.length > MAX_SCAN_BYTES) continue;
    const found = callableIn(source);
    if (!found) continue;
    const target = `${name.slice(0, -3)}:${found.name}`;
    candidates.push({ app: { target, cwd: workspace, framework: found.framework }, label: `${target} (${found.kind}, ${name})` });
  }
  if (candidates.length === 1) return { kind: "found", candidate: candidates[0] };
  if (candidates.length > 1) return { kind: "ask", candidates };
  return { kind: "none", message: `no WSGI app found in ${workspace} (no manage.py, no top-level module defining application or app = Flask(...)); ${SETTING_HELP}` };
}
