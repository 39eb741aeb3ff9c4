// One route's row of the table, updated in place: reports come every 2 s while the app runs, and a
// row (or a handler link) rebuilt between a mouse press and its release would swallow the click.
import { formatCount, formatMiB, handlerLabel } from "../format";
import type { Handler, RouteReport, RouteVerdict } from "../model";
import { ROUTE_COLUMNS, routeKey, type SortColumn } from "../routes";
import { button } from "../toolkit";
import { el, replaceChildren } from "./dom";
import type { ViewContext } from "./view";

/** The text of each column but the flags (badges). */
const TEXT: Record<Exclude<SortColumn, "flags">, (route: RouteReport) => string> = {
  route: (r) => r.route,
  method: (r) => r.method,
  requests: (r) => formatCount(r.requests),
  peakMedian: (r) => formatMiB(r.peakMiB.median),
  peakMax: (r) => formatMiB(r.peakMiB.max),
  retainedFirst: (r) => formatMiB(r.retainedMiB.first),
  retainedPerCall: (r) => formatMiB(r.retainedMiB.perRequest),
};
const TEXT_COLUMNS = ROUTE_COLUMNS.filter((column) => column.id !== "flags");

export class RouteRow {
  readonly element: HTMLTableRowElement;
  private readonly texts: HTMLTableCellElement[];
  private readonly flags = el("td", { class: "flags col-flags" });
  private readonly handler = el("td");
  private route: RouteReport | null = null;
  private detail: HTMLTableRowElement | null = null;
  /** Whether the detail row shown has the Deep dive button. */
  private detailDiveable = false;
  /** What the flags, handler and title show now (null: nothing yet). */
  private shown: Record<"flags" | "handler" | "paths", string | null> = { flags: null, handler: null, paths: null };

  constructor(route: RouteReport, private readonly context: ViewContext) {
    const key = routeKey(route);
    const toggle = () => context.dispatch({ type: "ui/toggleRoute", key });
    this.texts = TEXT_COLUMNS.map((column) => el("td", { class: `col-${column.id}${column.numeric ? " num" : ""}${column.id === "route" ? " route-name" : ""}` }));
    const cells = ROUTE_COLUMNS.map((column) => (column.id === "flags" ? this.flags : this.texts[TEXT_COLUMNS.indexOf(column)]));
    this.element = el(
      "tr",
      {
        class: "route-row",
        attrs: { "data-route": key, tabindex: "0" },
        on: {
          click: toggle,
          keydown: (event) => {
            if (event.target !== this.element || (event.key !== "Enter" && event.key !== " ")) return;
            event.preventDefault();
            toggle();
          },
        },
      },
      ...cells,
      this.handler,
    );
  }

  /** The row, and its detail row when expanded; `diveable`: the app runs, so the detail offers a deep dive. */
  update(route: RouteReport, expanded: boolean, diveable: boolean): HTMLTableRowElement[] {
    const changed = route !== this.route;
    this.route = route;
    if (changed) this.fill(route);
    this.element.classList.toggle("flagged", route.flags.length > 0);
    this.element.setAttribute("aria-expanded", String(expanded));
    if (!expanded) this.detail = null;
    else if (changed || !this.detail || diveable !== this.detailDiveable) {
      this.detailDiveable = diveable;
      this.detail = detailRow(route, route.handler && this.handlerLink(route.handler), diveable ? this.deepDiveButton(route) : null);
    }
    return this.detail ? [this.element, this.detail] : [this.element];
  }

  private deepDiveButton(route: RouteReport): HTMLElement {
    const send = () => this.context.send({ type: "deepDive", method: route.method, route: route.route });
    return button("Deep dive", send, { name: "deep-dive", title: `${route.method} ${route.route}'s calls again in a worker of its own under tracemalloc: the lines that allocate` });
  }

  private fill(route: RouteReport): void {
    TEXT_COLUMNS.forEach((column, index) => {
      const text = TEXT[column.id](route);
      if (this.texts[index].textContent !== text) this.texts[index].textContent = text;
    });
    const paths = route.samplePaths.join("\n");
    if (paths !== this.shown.paths) this.texts[TEXT_COLUMNS.findIndex((column) => column.id === "route")].title = this.shown.paths = paths;
    const flags = route.verdicts.map((verdict) => `${verdict.flag}\u0000${verdict.reason}`).join("\u0001");
    if (flags !== this.shown.flags) {
      this.shown.flags = flags;
      replaceChildren(this.flags, ...route.verdicts.map(flagBadge));
    }
    const handler = route.handler ? `${route.handler.qualname}\u0000${route.handler.file}\u0000${route.handler.line}` : "";
    if (handler !== this.shown.handler) {
      this.shown.handler = handler;
      this.handler.className = route.handler ? "" : "muted";
      replaceChildren(this.handler, route.handler ? this.handlerLink(route.handler) : "—");
    }
  }

  private handlerLink(handler: Handler): HTMLElement {
    if (this.context.offline) return el("code", { class: "handler", title: handler.qualname }, handlerLabel(handler.file, handler.line));
    const open = (event: Event) => {
      // The link goes to the code; the row around it opens on a click elsewhere.
      event.stopPropagation();
      this.context.send({ type: "openHandler", file: handler.file, line: handler.line });
    };
    return el("button", { class: "link handler", title: `${handler.qualname} — ${handler.file}:${handler.line}`, on: { click: open } }, handlerLabel(handler.file, handler.line));
  }
}

export function flagBadge(verdict: RouteVerdict): HTMLElement {
  return el("span", { class: `flag flag-${verdict.flag}`, title: verdict.reason }, verdict.flag);
}

/** The opened row: each verdict with its MiB at stake and reason, the handler (a narrow panel scrolls its column away), the route's other figures, the deep dive. */
function detailRow(route: RouteReport, handlerLink: HTMLElement | null, deepDive: HTMLElement | null): HTMLTableRowElement {
  const verdicts = route.verdicts.map((verdict) =>
    el("li", {}, flagBadge(verdict), verdict.flag === "undecided" ? null : el("span", { class: "stake" }, `${formatMiB(verdict.atStakeMiB)} at stake`), el("span", {}, verdict.reason)),
  );
  const latency = route.durationMs;
  const facts = [
    `Time in the worker: median ${latency.median.toFixed(0)} ms${latency.p99 === undefined ? "" : `, p99 ${latency.p99.toFixed(0)} ms`}, max ${latency.max.toFixed(0)} ms`,
    route.errors > 0 ? `${formatCount(route.errors)} requests did not end ok` : "",
    route.shared > 0 ? `${formatCount(route.shared)} calls overlapped another in their worker and are left out of the verdicts` : "",
  ].filter((fact) => fact !== "");
  return el(
    "tr",
    { class: "route-detail" },
    el(
      "td",
      { attrs: { colspan: String(ROUTE_COLUMNS.length + 1) } },
      verdicts.length > 0 ? el("ul", { class: "verdicts" }, ...verdicts) : el("p", { class: "muted" }, "No flag: nothing this route did stood out."),
      route.handler && el("p", {}, `Handler ${route.handler.qualname} at `, handlerLink),
      el("p", { class: "muted" }, facts.join(" · ")),
      deepDive && el("div", { class: "toolbar" }, deepDive),
    ),
  );
}
