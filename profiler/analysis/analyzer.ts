// The incremental analysis: recording lines in, one at a time, a Report out whenever asked.
// add() is O(1) amortised and the state is bounded whatever the number of requests (per route:
// samples of at most SAMPLE_CAPACITY values, one series per live worker; per worker process one
// tally), so `balloon run` keeps it for a whole run and draws its live table from it every 2 s.
// Totals count every request ever added. Pure: no fs, no clock.
import type {
  AdaptiveSummary, AppLine, DeepDive, RecordLine, Report, RequestLine, RouteReport, RouteVerdict, StartLine, Thresholds,
} from "../record/model";
import { REPORT_VERSION, unknownSettings } from "../record/model";
import { RouteAccumulator, SAMPLE_CAPACITY, failed, type RouteEvidence } from "./evidence";
import { effectiveThresholds, resolveLimits, roundedLimits } from "./limits";
import { median, round1 } from "./stats";
import { LEAK_HORIZON_REQUESTS, decideVerdicts, flagsOf } from "./verdicts";
import { WorkerTracker, endsWorker, workerKey } from "./workers";

/** Distinct routes kept apart; past this (a scanner walking random paths) the rest share one row. */
export const MAX_ROUTES = 2000;
const OTHER_ROUTES = { method: "*", route: "(other routes)" };

interface AdaptiveState {
  budget: number;
  routes: Set<string>;
  extraCalls: number;
}

export class Analyzer {
  private readonly thresholds: Thresholds;
  private readonly warnings: string[] = [];
  private readonly workers = new WorkerTracker();
  private readonly routes = new Map<string, RouteAccumulator>();
  private start: StartLine | null = null;
  private app: AppLine | null = null;
  private requestCount = 0;
  private errorCount = 0;
  private firstT = Number.POSITIVE_INFINITY;
  private lastT = Number.NEGATIVE_INFINITY;
  private routesMerged = 0;
  private adaptive: AdaptiveState | null = null;
  /** "METHOD raw path" → the route template a worker resolved it to (bounded). */
  private readonly templates = new Map<string, string>();
  private concurrencySeen = 0;
  private deepDive: DeepDive | null = null;

  constructor(thresholds: Partial<Thresholds> = {}) {
    this.thresholds = effectiveThresholds(thresholds);
  }

  /** Every request added so far. */
  get requests(): number {
    return this.requestCount;
  }

  add(line: RecordLine): void {
    // The deep dive's calls and worker are outside the run's traffic and pool: only its result is kept.
    if (line.type === "deep") {
      if (line.event === "result") this.deepDive = line.result;
      return;
    }
    this.firstT = Math.min(this.firstT, line.t);
    this.lastT = Math.max(this.lastT, line.t);
    this.workers.add(line);
    switch (line.type) {
      case "start":
        this.start ??= line;
        break;
      case "app":
        this.app ??= line;
        break;
      case "phase":
        this.adaptive ??= { budget: line.budget, routes: new Set(), extraCalls: 0 };
        for (const route of line.routes) this.adaptive.routes.add(route);
        break;
      case "worker":
        if (endsWorker(line)) for (const route of this.routes.values()) route.endWorker(workerKey(line.worker, line.pid));
        break;
      case "request": {
        this.requestCount += 1;
        if (failed(line)) this.errorCount += 1;
        if (this.adaptive) this.adaptive.extraCalls += 1;
        this.concurrencySeen = Math.max(this.concurrencySeen, line.inFlight ?? line.concurrent ?? 1);
        this.routeOf(line.method, this.templateOf(line)).add(line, workerKey(line.worker, line.pid), this.adaptive !== null);
        break;
      }
      default:
        break;
    }
  }

  /**
   * The route template of a request. A worker resolved it; the supervisor, answering alone (503,
   * 413), knows only the raw path, so it takes the template a worker gave that path before.
   */
  private templateOf(line: RequestLine): string {
    const key = `${line.method} ${line.path}`;
    if (line.worker !== 0) {
      if (line.route !== line.path && this.templates.size < MAX_ROUTES * 2) this.templates.set(key, line.route);
      return line.route;
    }
    return this.templates.get(key) ?? line.route;
  }

  /** A problem reading the recording, passed through to the report. */
  warn(text: string): void {
    this.warnings.push(text);
  }

  report(): Report {
    const baselines = this.workers.baselinesMiB();
    const limits = resolveLimits(this.thresholds, baselines.length > 0 ? median(baselines) : 0);
    const maxRequests = this.start?.settings.maxRequests ?? 0;
    const horizonRequests = maxRequests > 0 ? maxRequests : LEAK_HORIZON_REQUESTS;
    const approximations: string[] = [];
    const routes = [...this.routes.values()].map((route) => {
      const evidence = route.evidence();
      if (!evidence.exact) {
        approximations.push(`${route.method} ${route.route}: medians from a uniform sample of ${SAMPLE_CAPACITY} of its ${evidence.requests} calls`);
      }
      const horizonCalls = Math.max(1, (horizonRequests * route.requests) / Math.max(1, this.requestCount));
      return routeReport(route, evidence, decideVerdicts(evidence, { limits, horizonRequests, horizonCalls }));
    });
    routes.sort(byConcern);
    if (this.routesMerged > 0) {
      approximations.push(`${this.routesMerged} routes beyond the first ${MAX_ROUTES} are counted together as "${OTHER_ROUTES.route}"`);
    }
    const start = this.start;
    const app = this.app?.app;
    return {
      version: REPORT_VERSION,
      app: {
        target: start?.run.target ?? app?.target ?? "",
        cwd: start?.run.cwd ?? "",
        python: start?.run.python ?? app?.pythonExecutable ?? "",
        framework: app?.framework ?? start?.run.framework ?? "",
        ...(app ? { pythonVersion: app.pythonVersion, frameworkVersion: app.frameworkVersion } : {}),
      },
      settings: start?.settings ?? unknownSettings(),
      thresholds: { ...this.thresholds },
      limits: roundedLimits(limits),
      routes,
      workers: this.workers.report(),
      totals: {
        requests: this.requestCount,
        errors: this.errorCount,
        durationSec: this.lastT >= this.firstT ? round1((this.lastT - this.firstT) / 1000) : 0,
      },
      warnings: [...this.warnings],
      approximations,
      adaptive: this.adaptiveSummary(routes),
      pool: { concurrencySeen: this.concurrencySeen, spawnToReadyMs: this.workers.spawnToReady(), master: this.workers.masterReport() },
      ...(this.deepDive ? { deepDive: this.deepDive } : {}),
    };
  }

  private routeOf(method: string, route: string): RouteAccumulator {
    const key = `${method} ${route}`;
    let found = this.routes.get(key);
    if (found) return found;
    if (this.routes.size >= MAX_ROUTES) {
      const otherKey = `${OTHER_ROUTES.method} ${OTHER_ROUTES.route}`;
      found = this.routes.get(otherKey);
      if (!found) {
        found = new RouteAccumulator(OTHER_ROUTES.method, OTHER_ROUTES.route);
        this.routes.set(otherKey, found);
      }
      this.routesMerged += 1;
      return found;
    }
    found = new RouteAccumulator(method, route);
    this.routes.set(key, found);
    return found;
  }

  private adaptiveSummary(routes: readonly RouteReport[]): AdaptiveSummary | null {
    if (!this.adaptive) return null;
    return {
      extraCalls: this.adaptive.extraCalls,
      budget: this.adaptive.budget,
      routes: routes.filter((route) => route.extra > 0).map((route) => ({ method: route.method, route: route.route, calls: route.extra })),
    };
  }
}

/** Flagged routes first, the most MiB at stake first; then undecided ones; then by peak. */
function byConcern(a: RouteReport, b: RouteReport): number {
  const stake = (route: RouteReport): number => (route.flags.length > 0 ? route.verdicts[0].atStakeMiB : -1);
  const undecided = (route: RouteReport): number => Number(route.verdicts.some((verdict) => verdict.flag === "undecided"));
  return (
    stake(b) - stake(a) ||
    undecided(b) - undecided(a) ||
    b.peakMiB.median - a.peakMiB.median ||
    a.route.localeCompare(b.route) ||
    a.method.localeCompare(b.method)
  );
}

function routeReport(route: RouteAccumulator, evidence: RouteEvidence, verdicts: RouteVerdict[]): RouteReport {
  const orZero = (value: number): number => (Number.isNaN(value) ? 0 : round1(value));
  const decided = verdicts.filter((verdict) => verdict.flag !== "undecided");
  return {
    route: route.route,
    method: route.method,
    handler: route.handler,
    requests: evidence.requests,
    errors: evidence.errors,
    peakMiB: { median: orZero(evidence.peakMedianMiB), max: orZero(evidence.peakMaxMiB) },
    retainedMiB: { first: orZero(evidence.firstRetainedMedianMiB), perRequest: orZero(evidence.repeatRetainedMedianMiB) },
    durationMs: {
      median: orZero(evidence.durationMedianMs), p90: orZero(evidence.durationP90Ms), p99: orZero(evidence.durationP99Ms), max: orZero(evidence.durationMaxMs),
    },
    waitMs: { median: orZero(evidence.waitMedianMs), p99: orZero(evidence.waitP99Ms) },
    flags: flagsOf(verdicts),
    reasons: decided.map((verdict) => verdict.reason),
    verdicts,
    shared: evidence.shared,
    extra: evidence.extra,
    samplePaths: [...route.samplePaths],
    ...(route.peakPath === null ? {} : { peakPath: route.peakPath }),
  };
}
