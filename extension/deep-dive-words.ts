// What the Deep Dive command says: the routes to pick from (flagged first, most at stake first,
// as the panel's route table orders them, with their flags and figures) and a finished dive's
// top line, and each call as it ends. Pure: no vscode, so the words are tested on their own.
import type { DeepDiveCallEnded } from "../profiler/protocol";
import type { DeepDive, Report } from "../profiler/record/model";
import { formatKiB } from "../webview/deep-words";
import { formatCount, formatMiB, handlerLabel } from "../webview/format";
import { DEFAULT_SORT, routeKey, sortRoutes } from "../webview/routes";

export interface RoutePick {
  /** "GET /export" */
  label: string;
  /** "inflates · peak 21 MiB · kept 21 MiB · 12 calls" */
  description: string;
  /** "app.py:21 app.export" */
  detail: string;
  method: string;
  route: string;
}

/** Every route a dive can replay (not "* (other routes)", the merge of the routes past the analyzer's limit). */
export function routePicks(report: Report): RoutePick[] {
  const routes = report.routes.filter((route) => route.method !== "*");
  return sortRoutes(routes, DEFAULT_SORT).map((route) => ({
    label: routeKey(route),
    description: [
      ...(route.flags.length > 0 ? [route.flags.join(", ")] : []),
      `peak ${formatMiB(route.peakMiB.max)}`,
      `kept ${formatMiB(route.retainedMiB.first)}`,
      `${formatCount(route.requests)} call${route.requests === 1 ? "" : "s"}`,
    ].join(" · "),
    detail: route.handler ? `${handlerLabel(route.handler.file, route.handler.line)} ${route.handler.qualname}` : "no handler known",
    method: route.method,
    route: route.route,
  }));
}

/** The notification's title while the dive runs. */
export function diveProgressTitle(method: string, route: string, calls: number): string {
  return `Balloon: deep dive on ${method} ${route}, ${calls} call${calls === 1 ? "" : "s"} under tracemalloc`;
}

/** The progress notification's line as each call ends. */
export function diveCallWords(ended: Pick<DeepDiveCallEnded, "done" | "total" | "status" | "durationMs">): string {
  const took = ended.durationMs < 1000 ? `${Math.round(ended.durationMs)} ms` : `${(ended.durationMs / 1000).toFixed(1)} s`;
  return `call ${ended.done} of ${ended.total} answered ${ended.status} in ${took}`;
}

/** What a finished dive found first, by what its route is flagged for; site null when no line held 1 KiB. */
export function topSiteMessage(dive: DeepDive): { text: string; site: { file: string; line: number } | null } {
  const name = `Balloon: deep dive on ${dive.method} ${dive.route}`;
  const site = dive.top[0];
  if (!site) return { text: `${name}: no line of the app held 1 KiB or more during its ${dive.calls} calls (the Deep dive tab says what lay outside the app).`, site: null };
  const figure = dive.orderedBy === "peak" ? `held ${formatKiB(site.peakKiB)} at the peak` : `kept ${formatKiB(site.retainedKiB)}`;
  return { text: `${name}: ${handlerLabel(site.file, site.line)} ${figure} — ${site.code}`, site: { file: site.file, line: site.line } };
}
