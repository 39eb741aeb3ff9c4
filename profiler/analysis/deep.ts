// The deep dive on one route, as far as it is pure: which route (named as the report names it)
// and which paths to call, then the calls' figures merged into the report's deepDive: each app
// line with its size at the peak and what it kept, ordered by what the route is flagged for,
// and the lines that grow on every repeat. The supervisor makes the calls (deep-dive.ts).
import type { DeepDive, DeepGrowth, DeepSite, Report, RouteFlag, RouteReport } from "../record/model";
import type { DeepCallMessage, DeepSiteMessage } from "../supervisor/shim-protocol";
import { failedCallsNote } from "./deep-failure";
import { median, round1 } from "./stats";

/** The first call carries the route's one-time allocations; 4 repeats give the growth per call (exact for a steady leak). */
export const DEFAULT_DEEP_CALLS = 5;
export const MAX_DEEP_CALLS = 1000;
/**
 * Frames per traceback. The walk from the allocating frame out to the app's line must not run
 * out of frames first. Measured below a view's call (Python 3.11, the frame index of the first
 * app frame, max over the traces / where 99 % of the bytes are): a Django 3.2 template render
 * 34 / 26, JsonResponse 17 / 4, an ORM query 14 / 8, Flask 2.2 jsonify 25 / 20, a Jinja template
 * 23 / 20. 40 places all of them; a template render took 2.4–2.7 s with 25 frames and 2.8–2.9 s
 * with 40 (65 ms untraced): frames past the real depth cost nothing more.
 */
export const DEFAULT_DEEP_FRAMES = 40;
export const MAX_DEEP_FRAMES = 65535;
/** Sites in `top` and `growth`. */
export const TOP_SITES = 20;
/**
 * Lines holding less than this (at the peak, kept, or per call) are left out: on the fixtures the
 * frame objects and caches of the interpreter and the profile hook put 0.1–0.9 KiB on `def` and
 * dispatch lines of every route, its own allocations being 2 MiB to 96 MiB.
 */
const SITE_FLOOR_KIB = 1;

export type DeepDiveProblem =
  /** No such route in the report, or two methods for it: the message lists what there is. */
  | "unknown-route"
  /** The route has no recorded path to call. */
  | "no-path"
  /** calls or frames out of range. */
  | "bad-request"
  /** Another deep dive is running, or the supervisor cannot fork one now. */
  | "unavailable"
  /** The deep worker could not start (no tracemalloc, the app failed to load) or died. */
  | "worker-failed";

export class DeepDiveError extends Error {
  constructor(readonly problem: DeepDiveProblem, message: string) {
    super(message);
    this.name = "DeepDiveError";
  }
}

/** What the editor or the CLI asks for. */
export interface DeepDiveRequest {
  /** Absent: the route's only method. */
  method?: string;
  /** The route as the report shows it ("/users/<int>"), or a raw path seen for it. */
  route: string;
  /** Call this path rather than the ones recorded for the route. */
  path?: string;
  calls?: number;
  frames?: number;
}

/** What the supervisor will do. */
export interface DeepTarget {
  method: string;
  route: string;
  flag: RouteFlag | null;
  paths: string[];
  calls: number;
  frames: number;
}

/** `--deep` as typed: "GET /export" or "/export". */
export function parseDeepRoute(text: string): { method?: string; route: string } {
  const match = /^\s*(?:([A-Za-z]+)\s+)?(\/\S*)\s*$/.exec(text);
  if (!match) throw new DeepDiveError("bad-request", `--deep needs a route as the report shows it ("GET /export" or "/export"), got "${text}"`);
  return match[1] ? { method: match[1].toUpperCase(), route: match[2] } : { route: match[2] };
}

function wholeNumber(value: number | undefined, fallback: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new DeepDiveError("bad-request", `${what} needs a whole number 1-${max}, got ${value}`);
  return value;
}

const routeName = (route: RouteReport): string => `${route.method} ${route.route}`;

/** The route and paths of a deep dive, checked against the run's report. Throws DeepDiveError. */
export function planDeepDive(report: Report, request: DeepDiveRequest): DeepTarget {
  const calls = wholeNumber(request.calls, DEFAULT_DEEP_CALLS, MAX_DEEP_CALLS, "calls");
  const frames = wholeNumber(request.frames, DEFAULT_DEEP_FRAMES, MAX_DEEP_FRAMES, "frames");
  const method = request.method?.toUpperCase();
  const routes = report.routes.filter((route) => route.method !== "*" && (method === undefined || route.method === method));
  const named = routes.filter((route) => route.route === request.route);
  const pathOf = (target: string): string => target.split("?", 1)[0];
  const found = named.length > 0 ? named : routes.filter((route) => route.samplePaths.some((target) => target === request.route || pathOf(target) === request.route));
  const wanted = `${method ? `${method} ` : ""}${request.route}`;
  if (found.length > 1) {
    throw new DeepDiveError("unknown-route", `${wanted} is served by ${found.length} methods (${found.map(routeName).join(", ")}): name one, as "${found[0].method} ${found[0].route}"`);
  }
  if (found.length === 0) {
    // A path of the caller's own may reach a route no request has reached yet.
    if (request.path !== undefined) return { method: method ?? "GET", route: request.route, flag: null, paths: [request.path], calls, frames };
    const known = report.routes.filter((route) => route.method !== "*").map(routeName);
    throw new DeepDiveError("unknown-route", `no route ${wanted} in this run; routes: ${known.length > 0 ? known.join(", ") : "none yet (no request has been served)"}`);
  }
  const route = found[0];
  // A balloon is the call that peaked, sent again: the route's other targets may be small ones.
  const flag = route.flags[0] ?? null;
  const paths = request.path !== undefined ? [request.path] : flag === "balloon" && route.peakPath ? [route.peakPath] : route.samplePaths;
  if (paths.length === 0) throw new DeepDiveError("no-path", `${routeName(route)} has no recorded path to call; give one (--deep-path)`);
  return { method: route.method, route: route.route, flag, paths: [...paths], calls, frames };
}

/** One call of the dive: what the client side saw and what the deep worker measured. */
export interface DeepCallResult {
  path: string;
  status: number;
  durationMs: number;
  figures: DeepCallMessage;
}

interface SiteTotals {
  file: string;
  line: number;
  code: string;
  /** Per call whose peak was captured, in the order of those calls (0 where the site was absent). */
  peakBytes: number[];
  peakCounts: number[];
  /** Per call, retained. */
  retainedBytes: number[];
  retainedCounts: number[];
}

const KIB = 1024;
const kib = (bytes: number): number => round1(bytes / KIB);
const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

function collectSites(calls: readonly DeepCallResult[], captured: readonly DeepCallResult[]): SiteTotals[] {
  const sites = new Map<string, SiteTotals>();
  const siteOf = (message: DeepSiteMessage): SiteTotals => {
    const key = `${message.file}:${message.line}`;
    let site = sites.get(key);
    if (!site) {
      site = {
        file: message.file, line: message.line, code: message.code,
        peakBytes: captured.map(() => 0), peakCounts: captured.map(() => 0), retainedBytes: calls.map(() => 0), retainedCounts: calls.map(() => 0),
      };
      sites.set(key, site);
    }
    return site;
  };
  captured.forEach((call, index) => {
    for (const message of call.figures.peakSites) {
      const site = siteOf(message);
      site.peakBytes[index] += message.bytes;
      site.peakCounts[index] += message.count;
    }
  });
  calls.forEach((call, index) => {
    for (const message of call.figures.retainedSites) {
      const site = siteOf(message);
      site.retainedBytes[index] += message.bytes;
      site.retainedCounts[index] += message.count;
    }
  });
  return [...sites.values()];
}

function byFigure<T extends { file: string; line: number }>(figure: (item: T) => number): (a: T, b: T) => number {
  return (a, b) => figure(b) - figure(a) || a.file.localeCompare(b.file) || a.line - b.line;
}

function topSites(sites: readonly SiteTotals[], orderedBy: DeepDive["orderedBy"]): DeepSite[] {
  const all = sites.map((site): DeepSite => {
    const peakCount = Math.round(median(site.peakCounts) || 0);
    const retainedCount = sum(site.retainedCounts);
    return {
      file: site.file, line: site.line, code: site.code,
      peakKiB: kib(median(site.peakBytes) || 0), retainedKiB: kib(sum(site.retainedBytes)),
      count: orderedBy === "peak" ? peakCount : retainedCount, peakCount, retainedCount,
    };
  });
  const primary = orderedBy === "peak" ? (site: DeepSite) => site.peakKiB : (site: DeepSite) => site.retainedKiB;
  const secondary = orderedBy === "peak" ? (site: DeepSite) => site.retainedKiB : (site: DeepSite) => site.peakKiB;
  return all
    .filter((site) => site.peakKiB >= SITE_FLOOR_KIB || site.retainedKiB >= SITE_FLOOR_KIB)
    .sort((a, b) => byFigure(primary)(a, b) || secondary(b) - secondary(a))
    .slice(0, TOP_SITES);
}

function growthOf(sites: readonly SiteTotals[], calls: number): DeepGrowth[] {
  if (calls < 2) return [];
  return sites
    .map((site) => ({ file: site.file, line: site.line, code: site.code, kibPerCall: kib(sum(site.retainedBytes.slice(1)) / (calls - 1)) }))
    .filter((site) => site.kibPerCall >= SITE_FLOOR_KIB)
    .sort(byFigure((site) => site.kibPerCall))
    .slice(0, TOP_SITES);
}

/** How close the captured peaks came to tracemalloc's own (medians over the calls that captured one). */
function peakCheck(calls: readonly DeepCallResult[], captured: readonly DeepCallResult[]): DeepDive["peak"] {
  const exact = captured.map((call) => call.figures.peak.exactBytes).filter((value): value is number => value !== null);
  const ratios = captured
    .filter((call) => call.figures.peak.exactBytes !== null && (call.figures.peak.exactBytes ?? 0) > 0)
    .map((call) => call.figures.peak.capturedBytes / (call.figures.peak.exactBytes as number));
  return {
    capturedKiB: kib(median(captured.map((call) => call.figures.peak.capturedBytes)) || 0),
    exactKiB: exact.length > 0 ? kib(median(exact)) : null,
    coverage: ratios.length > 0 ? Math.round(median(ratios) * 1000) / 1000 : null,
    capturedCalls: captured.length,
    snapshots: sum(calls.map((call) => call.figures.peak.snapshots)),
  };
}

/** The report's deepDive from the calls' figures, in the order they ran. */
/** `poolRoute`: the route's report from the pool's calls, to tell whether they failed there too. */
export function summarizeDeepDive(target: DeepTarget, calls: readonly DeepCallResult[], poolRoute?: RouteReport): DeepDive {
  const orderedBy: DeepDive["orderedBy"] = target.flag === "inflates" || target.flag === "leak" ? "retained" : "peak";
  // A call that never rose MIN_STEP above its start, or stayed under the previous call's level, has no peak snapshot.
  const captured = calls.filter((call) => call.figures.peak.snapshots > 0);
  const sites = collectSites(calls, captured);
  const statuses: Record<string, number> = {};
  for (const call of calls) statuses[String(call.status)] = (statuses[String(call.status)] ?? 0) + 1;
  const outside = (call: DeepCallResult): number => call.figures.outside.peakBytes + call.figures.truncated.peakBytes;
  const durations = calls.map((call) => call.durationMs);
  const durationMs = { median: round1(median(durations) || 0), max: round1(durations.length > 0 ? Math.max(...durations) : 0) };
  const failure = failedCallsNote({ method: target.method, statuses, durationMs }, poolRoute);
  return {
    route: target.route,
    method: target.method,
    calls: calls.length,
    paths: target.paths,
    frames: target.frames,
    flag: target.flag,
    orderedBy,
    top: topSites(sites, orderedBy),
    growth: growthOf(sites, calls.length),
    peak: peakCheck(calls, captured),
    outsideApp: {
      peakKiB: kib(median(captured.map(outside)) || 0),
      retainedKiB: kib(sum(calls.map((call) => call.figures.outside.retainedBytes + call.figures.truncated.retainedBytes))),
      truncatedPeakKiB: kib(median(captured.map((call) => call.figures.truncated.peakBytes)) || 0),
      truncatedRetainedKiB: kib(sum(calls.map((call) => call.figures.truncated.retainedBytes))),
    },
    statuses,
    durationMs,
    ...(failure === null ? {} : { failure }),
  };
}
