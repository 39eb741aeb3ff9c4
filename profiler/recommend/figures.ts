// The measured figures a recommendation stands on, from a report (and its recording's
// workload when there is one): a fresh worker's size, what a worker keeps once it has served
// every route, the biggest request, the leak rate, how long requests take. Pure.
import type { Report, RouteReport } from "../record/model";
import { maxOf, median, round1 } from "../analysis/stats";
import type { Workload } from "./workload";

export interface Figures {
  baselineRssMiB: number;
  baselineUssMiB: number | null;
  /** Σ of every route's first-call step: what a worker that served them all keeps. */
  keptMiB: number;
  /** The biggest peak above the RSS before the call, of any route, and that route. */
  biggestPeakMiB: number;
  biggestPeak: RouteReport | null;
  /** Memory kept per request on average over the traffic (leaking routes × their share). */
  leakMiBPerRequest: number;
  /** The routes that leak, biggest rate first. */
  leaks: RouteReport[];
  p99DurationMs: number;
  slowest: RouteReport | null;
  concurrencySeen: number;
  requests: number;
}

const has = (route: RouteReport, flag: string): boolean => route.flags.includes(flag as RouteReport["flags"][number]);

export function measuredFigures(report: Report, workload: Workload | null): Figures {
  const routes = report.routes.filter((route) => route.route !== "<malformed>");
  const starts = report.workers.map((worker) => worker.rssMiB.start).filter((value) => value > 0);
  const baselineRssMiB = workload && workload.baselineRssKiB > 0
    ? workload.baselineRssKiB / 1024
    : starts.length > 0 ? median(starts) : report.limits.baselineMiB;
  // A step counts when the analysis calls it one (inflates), or the first call kept it and repeats do not grow.
  const keptMiB = routes.reduce((sum, route) => sum + (has(route, "inflates") ? Math.max(0, route.retainedMiB.first) : 0), 0);
  let biggestPeak: RouteReport | null = null;
  for (const route of routes) if (!biggestPeak || route.peakMiB.max > biggestPeak.peakMiB.max) biggestPeak = route;
  const leaks = routes.filter((route) => has(route, "leak") && route.retainedMiB.perRequest > 0)
    .sort((a, b) => b.retainedMiB.perRequest - a.retainedMiB.perRequest);
  const total = routes.reduce((sum, route) => sum + route.requests, 0);
  const leakMiBPerRequest = total > 0 ? leaks.reduce((sum, route) => sum + (route.retainedMiB.perRequest * route.requests) / total, 0) : 0;
  let slowest: RouteReport | null = null;
  for (const route of routes) if (!slowest || route.durationMs.max > slowest.durationMs.max) slowest = route;
  return {
    baselineRssMiB: round1(baselineRssMiB),
    baselineUssMiB: workload?.baselineUssKiB != null ? round1(workload.baselineUssKiB / 1024) : null,
    keptMiB: round1(keptMiB),
    biggestPeakMiB: round1(biggestPeak?.peakMiB.max ?? 0),
    biggestPeak,
    leakMiBPerRequest: Math.round(leakMiBPerRequest * 1000) / 1000,
    leaks,
    p99DurationMs: workload ? percentile(workload.requests.durationMs, 0.99) : maxOf(routes.map((route) => route.durationMs.max)),
    slowest,
    concurrencySeen: workload?.concurrencySeen ?? report.pool?.concurrencySeen ?? 1,
    requests: report.totals.requests,
  };
}

function percentile(values: readonly number[], share: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
}

/** A route as people name it: "GET /export (views.py:41)". */
export function routeName(route: RouteReport): string {
  const where = route.handler ? ` (${route.handler.file}:${route.handler.line})` : "";
  return `${route.method} ${route.route}${where}`;
}
