// Why a deep dive's calls failed, in words: summarizeDeepDive puts them in the dive (the
// terminal, the HTML report and the panel read them from there, as they read verdict reasons).
import type { DeepDive, RouteReport } from "../record/model";
/**
 * Why a dive's calls failed, when they did: tracemalloc slows a call (graphite's /render took
 * 1.3 s in the pool and 13–17 s with 40 frames, 6.5 s with 1), so the app's own timeouts can
 * fire (graphite's FETCH_TIMEOUT of 6 s answered 500) where the pool's calls succeeded.
 */
export function failedCallsNote(dive: Pick<DeepDive, "method" | "statuses" | "durationMs">, route: RouteReport | undefined): string | null {
  const failed = Object.entries(dive.statuses).filter(([status]) => !status.startsWith("2") && !status.startsWith("3"));
  if (failed.length === 0) return null;
  const bodyless = ["POST", "PUT", "PATCH"].includes(dive.method) ? " (the calls are sent again without the request's body)" : "";
  const answered = `Calls answered ${failed.map(([status, count]) => `${status} ×${count}`).join(", ")}${bodyless}: the figures are those of the error path`;
  const servedInPool = route !== undefined && route.requests > route.errors;
  if (!servedInPool || route.durationMs.median <= 0) return `${answered}.`;
  const slower = dive.durationMs.median / route.durationMs.median;
  return `${answered}. The pool served ${route.method} ${route.route} (median ${route.durationMs.median.toFixed(0)} ms); under tracemalloc a call took ${dive.durationMs.median.toFixed(0)} ms`
    + `${slower >= 1.5 ? ` (${slower.toFixed(1)}× slower)` : ""}: an app timeout may have fired. Fewer frames make the dive faster (--deep-frames 1, or the setting balloon.deepDive.frames).`;
}
