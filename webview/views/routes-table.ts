// The Routes tab: every route with its figures and flags, sortable by any column; a row opens to
// its verdicts' reasons, and the handler's file:line goes to the code. Header and rows are built
// once and updated in place (see route-row.ts).
import { formatMiB, handlerLabel } from "../format";
import type { Report, RouteReport } from "../model";
import { filterRoutes, ROUTE_COLUMNS, routeKey, sortRoutes, type RouteFilter } from "../routes";
import type { State, UiState } from "../state";
import { dropdown } from "../toolkit";
import { el, replaceChildren } from "./dom";
import { flagBadge, RouteRow } from "./route-row";
import type { View, ViewContext } from "./view";

const FILTERS: readonly { value: RouteFilter; label: string }[] = [
  { value: "all", label: "All routes" },
  { value: "flagged", label: "Flagged or undecided" },
];

export function routesView(context: ViewContext): View {
  const filter = dropdown(FILTERS, (value) => context.dispatch({ type: "ui/filterRoutes", filter: value }), "route-filter");
  const summary = el("span", { class: "muted" });
  const sortButtons = ROUTE_COLUMNS.map((column) => el("button", { class: "sort", title: column.tooltip, on: { click: () => context.dispatch({ type: "ui/sortBy", column: column.id }) } }));
  const headers = ROUTE_COLUMNS.map((column, index) => el("th", { class: `col-${column.id}${column.numeric ? " num" : ""}`, attrs: { "data-column": column.id } }, sortButtons[index]));
  const body = el("tbody");
  const table = el("table", { class: "routes" }, el("thead", {}, el("tr", {}, ...headers, el("th", {}, "Handler"))), body);
  const empty = el("p", { class: "empty" }, "No routes yet: send requests to the app and they show here with their memory figures.");
  // What the figures hold only in part (merged hosts, uWSGI logs, threads) and what could not be read.
  const notes = el("ul", { class: "notes muted" });
  // The offline report has nobody to click a row open: the flagged handlers and why, spelled out.
  const flaggedList = el("ul", { class: "flagged-list" });
  flaggedList.hidden = !context.offline;
  const element = el("div", { class: "routes-view" }, el("div", { class: "toolbar" }, filter.element, summary), empty, el("div", { class: "table-scroll" }, table), flaggedList, notes);
  const rows = new Map<string, RouteRow>();
  let shown: { report: Report | null; ui: UiState; diveable: boolean } | null = null;
  let notesFor: Report | null | undefined;

  const showSort = (ui: UiState) =>
    ROUTE_COLUMNS.forEach((column, index) => {
      const sorted = ui.sort.column === column.id;
      headers[index].setAttribute("aria-sort", sorted ? (ui.sort.direction === "asc" ? "ascending" : "descending") : "none");
      sortButtons[index].textContent = column.title + (sorted ? (ui.sort.direction === "asc" ? " ▲" : " ▼") : "");
    });

  return {
    element,
    update(state: State) {
      const { report, ui } = state;
      // A deep dive replays calls in the running app: offered while it runs (not offline, not a saved recording).
      const diveable = !context.offline && state.status?.state === "running" && !state.status.readOnly;
      if (shown && shown.report === report && shown.ui.sort === ui.sort && shown.ui.filter === ui.filter && shown.ui.selectedRoute === ui.selectedRoute && shown.diveable === diveable) return;
      shown = { report, ui, diveable };
      filter.setValue(ui.filter);
      showSort(ui);
      if (report !== notesFor) {
        notesFor = report;
        if (context.offline) replaceChildren(flaggedList, ...(report?.routes ?? []).filter((route) => route.verdicts.length > 0).map(flaggedItem));
        const lines = [...(report?.approximations ?? []), ...(report?.warnings ?? []).map((warning) => `warning: ${warning}`)];
        replaceChildren(notes, ...lines.map((line) => el("li", {}, line)));
        notes.hidden = lines.length === 0;
      }
      const all = report?.routes ?? [];
      const flagged = all.filter((route) => route.flags.length > 0).length;
      summary.textContent = all.length === 0 ? "" : `${all.length} route${all.length === 1 ? "" : "s"}, ${flagged} flagged`;
      empty.hidden = all.length > 0;
      table.hidden = all.length === 0;

      const visible = sortRoutes(filterRoutes(all, ui.filter), ui.sort);
      const keep = new Set(visible.map(routeKey));
      for (const key of rows.keys()) if (!keep.has(key)) rows.delete(key);
      const order = visible.flatMap((route) => {
        const key = routeKey(route);
        let row = rows.get(key);
        if (!row) rows.set(key, (row = new RouteRow(route, context)));
        return row.update(route, key === ui.selectedRoute, diveable);
      });
      // Move rows only when the order changed: a moved row drops a click in progress.
      const current = Array.from(body.children);
      if (current.length !== order.length || order.some((row, index) => current[index] !== row)) body.replaceChildren(...order);
    },
  };
}

/** "GET /export · views.py:42 export_csv" then each verdict: badge, MiB at stake, reason. */
function flaggedItem(route: RouteReport): HTMLElement {
  const where = route.handler ? el("code", { title: route.handler.file }, `${handlerLabel(route.handler.file, route.handler.line)} ${route.handler.qualname}`) : el("span", { class: "muted" }, "no handler known");
  return el(
    "li",
    { attrs: { "data-route": routeKey(route) } },
    el("div", {}, el("strong", {}, `${route.method} ${route.route}`), " · ", where),
    el("ul", { class: "verdicts" }, ...route.verdicts.map((verdict) =>
      el("li", {}, flagBadge(verdict), verdict.flag === "undecided" ? null : el("span", { class: "stake" }, `${formatMiB(verdict.atStakeMiB)} at stake`), el("span", {}, verdict.reason)))),
  );
}
