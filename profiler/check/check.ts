// The budget gate for CI: limits on routes' peaks and kept memory and on workers' size,
// checked against a report. Pure: the CLI reads the report and balloon.json.
import type { Report, RouteReport } from "../record/model";

export interface CheckLimits {
  /** A route's biggest peak above the worker's RSS before the call, MiB. */
  maxPeakMiB?: number;
  /** What a route keeps: its first call's step, or per repeat call, MiB. */
  maxRetainedMiB?: number;
  /** The biggest RSS any worker reached, MiB. */
  maxWorkerMiB?: number;
  /** Only routes matching this glob ("/api/*", "GET /export", "/admin/**"); all when absent. */
  route?: string;
}

/** balloon.json "check": the defaults, and limits of their own for some routes. */
export interface CheckConfig extends CheckLimits {
  routes?: Array<CheckLimits & { route: string }>;
}

export interface Violation {
  /** "GET /export", or "worker 2 (pid 123)". */
  subject: string;
  figure: "peak" | "retained first" | "retained per call" | "worker RSS";
  valueMiB: number;
  limitMiB: number;
  /** The handler, for a route. */
  where: string;
}

/** "/api/*" → a RegExp: * one path segment's characters, ** anything, ? one character. */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i];
    if (char === "*" && glob[i + 1] === "*") {
      source += ".*";
      i += 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += ".";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** A glob with a method ("GET /x") matches "METHOD route"; without, the route alone. */
function routeMatches(glob: string | undefined, route: RouteReport): boolean {
  if (!glob) return true;
  const pattern = globToRegExp(glob.trim());
  return /^[A-Z]+\s/.test(glob.trim()) ? pattern.test(`${route.method} ${route.route}`) : pattern.test(route.route);
}

/** The limits that apply to a route: the first entry of `routes` it matches, else the defaults. */
function limitsFor(route: RouteReport, config: CheckConfig): CheckLimits | null {
  const own = config.routes?.find((entry) => routeMatches(entry.route, route));
  if (own) return { ...config, ...own };
  return routeMatches(config.route, route) ? config : null;
}

export function check(report: Report, config: CheckConfig): Violation[] {
  const violations: Violation[] = [];
  for (const route of report.routes) {
    const limits = limitsFor(route, config);
    if (!limits) continue;
    const subject = `${route.method} ${route.route}`;
    const where = route.handler ? `${route.handler.file}:${route.handler.line}` : "";
    const over = (figure: Violation["figure"], valueMiB: number, limitMiB: number | undefined): void => {
      if (limitMiB !== undefined && valueMiB > limitMiB) violations.push({ subject, figure, valueMiB, limitMiB, where });
    };
    over("peak", route.peakMiB.max, limits.maxPeakMiB);
    over("retained first", route.retainedMiB.first, limits.maxRetainedMiB);
    over("retained per call", route.retainedMiB.perRequest, limits.maxRetainedMiB);
  }
  if (config.maxWorkerMiB !== undefined) {
    for (const worker of report.workers) {
      if (worker.rssMiB.max > config.maxWorkerMiB) {
        violations.push({ subject: `worker ${worker.id} (pid ${worker.pid})`, figure: "worker RSS", valueMiB: worker.rssMiB.max, limitMiB: config.maxWorkerMiB, where: "" });
      }
    }
  }
  return violations;
}

const LIMIT_KEYS = ["maxPeakMiB", "maxRetainedMiB", "maxWorkerMiB"] as const;

/** balloon.json's "check" object, checked: a wrong key or value names itself. */
export function parseCheckConfig(value: unknown, where: string): CheckConfig {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${where}: "check" must be an object`);
  const config = value as Record<string, unknown>;
  const limits = (entry: Record<string, unknown>, at: string): CheckLimits => {
    const out: CheckLimits = {};
    for (const [key, raw] of Object.entries(entry)) {
      if (key === "route") {
        if (typeof raw !== "string" || raw.trim() === "") throw new Error(`${at}.route must be a non-empty glob string`);
        out.route = raw;
      } else if ((LIMIT_KEYS as readonly string[]).includes(key)) {
        if (typeof raw !== "number" || !Number.isFinite(raw) || raw < 0) throw new Error(`${at}.${key} must be a number of MiB ≥ 0, got ${JSON.stringify(raw)}`);
        out[key as (typeof LIMIT_KEYS)[number]] = raw;
      } else if (!(at === where && key === "routes")) {
        throw new Error(`${at}: unknown key "${key}" (known: route, ${LIMIT_KEYS.join(", ")}${at === where ? ", routes" : ""})`);
      }
    }
    return out;
  };
  const out: CheckConfig = limits(config, where);
  if (config.routes !== undefined) {
    if (!Array.isArray(config.routes)) throw new Error(`${where}.routes must be a list`);
    out.routes = config.routes.map((entry, i) => {
      const at = `${where}.routes[${i}]`;
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new Error(`${at} must be an object`);
      const parsed = limits(entry as Record<string, unknown>, at);
      if (!parsed.route) throw new Error(`${at} needs a "route" glob`);
      return parsed as CheckLimits & { route: string };
    });
  }
  return out;
}
