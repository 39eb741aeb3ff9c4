// The adaptive phase of `balloon profile`, planned from a report: the routes left undecided are
// called again, each as many times as its verdict says would settle it, within a budget for the
// whole run. Pure; the command sends the calls and asks again.
import type { Report, RouteReport } from "../record/model";

/**
 * Extra calls over all routes (--max-extra). The costliest question, growth under a churn's noise
 * floor, wants 12 repeats per worker (CHURN_REPEATS_PER_WORKER): 100 settles it for two routes on
 * 4 workers, about a minute of 0.5 s calls (a 100 MiB small-object churn takes 0.3–0.5 s), and
 * the cheap questions (2–4 calls) of a dozen routes besides.
 */
export const DEFAULT_MAX_EXTRA = 100;
/** Rounds of send-and-reanalyse: a call can land on a worker that had not seen the route (a first, not a repeat). */
export const MAX_ADAPTIVE_ROUNDS = 4;

export interface PlannedRoute {
  method: string;
  route: string;
  calls: number;
  /** What would settle it, as the verdict says. */
  reason: string;
}

export interface ExtraCallPlan {
  routes: PlannedRoute[];
  /** Interleaved across the routes (one of each in turn), on paths seen for each route. */
  calls: Array<{ method: string; route: string; path: string }>;
}

function wantedCalls(route: RouteReport): { calls: number; reason: string } | null {
  const undecided = route.verdicts.find((verdict) => verdict.flag === "undecided");
  // moreCalls 0: a question that more calls cannot settle (shared first calls).
  if (!undecided || undecided.flag !== "undecided" || route.samplePaths.length === 0) return null;
  return { calls: undecided.figures.moreCalls, reason: undecided.reason };
}

export function planExtraCalls(report: Report, budget: number): ExtraCallPlan {
  const wanted = report.routes
    .map((route) => ({ route, want: wantedCalls(route) }))
    .filter((item): item is { route: RouteReport; want: { calls: number; reason: string } } => item.want !== null && item.want.calls > 0);
  // One call to each route in turn until each has what it asked for or the budget is spent:
  // a small budget is shared fairly and the calls come interleaved, as a real mix would.
  const granted = wanted.map(() => 0);
  const calls: ExtraCallPlan["calls"] = [];
  let left = Math.max(0, Math.floor(budget));
  for (let progress = true; progress && left > 0; ) {
    progress = false;
    wanted.forEach(({ route, want }, index) => {
      if (left === 0 || granted[index] >= want.calls) return;
      const path = route.samplePaths[granted[index] % route.samplePaths.length];
      calls.push({ method: route.method, route: route.route, path });
      granted[index] += 1;
      left -= 1;
      progress = true;
    });
  }
  const routes = wanted
    .map(({ route, want }, index) => ({ method: route.method, route: route.route, calls: granted[index], reason: want.reason }))
    .filter((route) => route.calls > 0);
  return { routes, calls };
}
