// The route table's columns, sorting and filtering, and the routes the bar chart shows. Pure.
import type { RouteReport, RouteVerdict } from "./model";

export type SortDirection = "asc" | "desc";

export interface RouteColumn {
  readonly id: string;
  readonly title: string;
  /** Numbers start from the largest (what a reader looks for first), text from A. */
  readonly firstDirection: SortDirection;
  /** Right-aligned figures. */
  readonly numeric: boolean;
  readonly compare: (a: RouteReport, b: RouteReport) => number;
  readonly tooltip: string;
}

const byNumber = (value: (route: RouteReport) => number) => (a: RouteReport, b: RouteReport) => value(a) - value(b);
const byText = (value: (route: RouteReport) => string) => (a: RouteReport, b: RouteReport) => value(a).localeCompare(value(b));

/** Flagged routes over undecided ones over clean ones, then by MiB at stake (then by peak). */
const severity = (route: RouteReport): [number, number] => {
  const primary: RouteVerdict | undefined = route.verdicts[0];
  const rank = route.flags.length > 0 ? 2 : primary?.flag === "undecided" ? 1 : 0;
  return [rank, primary?.atStakeMiB ?? 0];
};

export const ROUTE_COLUMNS = [
  { id: "route", title: "Route", firstDirection: "asc", numeric: false, compare: byText((r) => r.route), tooltip: "Route template" },
  { id: "method", title: "Method", firstDirection: "asc", numeric: false, compare: byText((r) => r.method), tooltip: "HTTP method" },
  {
    id: "flags",
    title: "Flags",
    firstDirection: "desc",
    numeric: false,
    compare: (a, b) => {
      const [rankA, stakeA] = severity(a);
      const [rankB, stakeB] = severity(b);
      return rankA - rankB || stakeA - stakeB || a.peakMiB.max - b.peakMiB.max;
    },
    tooltip: "What the evidence supports, primary first (hover a flag for its reason)",
  },
  { id: "requests", title: "Requests", firstDirection: "desc", numeric: true, compare: byNumber((r) => r.requests), tooltip: "Requests served" },
  { id: "peakMedian", title: "Peak med.", firstDirection: "desc", numeric: true, compare: byNumber((r) => r.peakMiB.median), tooltip: "Median peak above the RSS before the request" },
  { id: "peakMax", title: "Peak max", firstDirection: "desc", numeric: true, compare: byNumber((r) => r.peakMiB.max), tooltip: "Largest peak above the RSS before the request" },
  { id: "retainedFirst", title: "Kept 1st", firstDirection: "desc", numeric: true, compare: byNumber((r) => r.retainedMiB.first), tooltip: "RSS kept after a worker's first call of the route" },
  { id: "retainedPerCall", title: "Kept/call", firstDirection: "desc", numeric: true, compare: byNumber((r) => r.retainedMiB.perRequest), tooltip: "Median RSS kept by each repeat call" },
] as const satisfies readonly RouteColumn[];

export type SortColumn = (typeof ROUTE_COLUMNS)[number]["id"];

export interface RouteSort {
  readonly column: SortColumn;
  readonly direction: SortDirection;
}

export const DEFAULT_SORT: RouteSort = { column: "flags", direction: "desc" };

export const isSortColumn = (value: unknown): value is SortColumn => ROUTE_COLUMNS.some((column) => column.id === value);

const columnOf = (id: SortColumn): RouteColumn => ROUTE_COLUMNS.find((column) => column.id === id) ?? ROUTE_COLUMNS[0];

/** Clicking a column: the same one flips its direction, another starts at its first direction. */
export function nextSort(current: RouteSort, column: SortColumn): RouteSort {
  if (current.column === column) return { column, direction: current.direction === "asc" ? "desc" : "asc" };
  return { column, direction: columnOf(column).firstDirection };
}

/** Sorted copy; ties keep a stable order by method and route, so rows do not jump between reports. */
export function sortRoutes(routes: readonly RouteReport[], sort: RouteSort): RouteReport[] {
  const compare = columnOf(sort.column).compare;
  const sign = sort.direction === "asc" ? 1 : -1;
  return [...routes].sort((a, b) => sign * compare(a, b) || routeKey(a).localeCompare(routeKey(b)));
}

export type RouteFilter = "all" | "flagged";

export const isRouteFilter = (value: unknown): value is RouteFilter => value === "all" || value === "flagged";

/** "flagged" keeps the routes with a flag or an open question. */
export function filterRoutes(routes: readonly RouteReport[], filter: RouteFilter): readonly RouteReport[] {
  return filter === "all" ? routes : routes.filter((route) => route.verdicts.length > 0);
}

/** "GET /export": a route's identity in the table and in the UI state. */
export const routeKey = (route: Pick<RouteReport, "method" | "route">): string => `${route.method} ${route.route}`;

/** The routes the peak-vs-retained chart shows: the biggest by peak, at most `limit`. */
export function topRoutesByPeak(routes: readonly RouteReport[], limit: number): RouteReport[] {
  return [...routes]
    .sort((a, b) => b.peakMiB.max - a.peakMiB.max || Math.max(b.retainedMiB.first, 0) - Math.max(a.retainedMiB.first, 0) || routeKey(a).localeCompare(routeKey(b)))
    .slice(0, limit);
}
