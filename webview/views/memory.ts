// The Memory tab: each worker's RSS over time (markers, budget, total), the routes' peak vs kept
// memory, and the latest pool events in words.
import { RouteBarsChart, TimelineChart } from "../charts";
import { markerWords } from "../chart-config";
import type { Report } from "../model";
import { summarizeEvents } from "../pool-events";
import { topRoutesByPeak } from "../routes";
import type { State } from "../state";
import type { Palette } from "../theme";
import type { Marker, Timeline } from "../timeline";
import { el, replaceChildren } from "./dom";
import type { View } from "./view";

/** Routes in the bar chart; the table lists them all. */
const TOP_ROUTES = 12;
const EVENTS_LISTED = 8;
/** Bar chart height: its axes and legend, plus a row per route. */
const BARS_BASE_PX = 70;
const BARS_ROW_PX = 30;

export function memoryView(palette: Palette): View {
  const timelineCanvas = el("canvas", { attrs: { "aria-label": "Memory per worker over time", role: "img", "data-chart": "timeline" } });
  const barsCanvas = el("canvas", { attrs: { "aria-label": "Peak and kept memory by route", role: "img", "data-chart": "routes" } });
  const timelineEmpty = el("p", { class: "empty" }, "Waiting for samples: the workers' memory shows here as the app runs.");
  const barsEmpty = el("p", { class: "empty" }, "No routes yet: send requests to the app.");
  const barsBox = el("div", { class: "chart chart-bars" }, barsCanvas);
  const timelineBox = el("div", { class: "chart-timeline-box" }, el("div", { class: "chart chart-timeline" }, timelineCanvas), markerKey());
  const events = el("ul", { class: "events" });
  const eventsSection = el("section", { class: "events-section" }, el("h2", {}, "Pool events"), events);
  const element = el(
    "div",
    { class: "memory" },
    el("section", {}, el("h2", {}, "Memory per worker"), timelineEmpty, timelineBox),
    el("section", {}, el("h2", {}, `Peak vs kept, by route (top ${TOP_ROUTES})`), barsEmpty, barsBox),
    eventsSection,
  );
  const timelineChart = new TimelineChart(timelineCanvas, palette);
  const barsChart = new RouteBarsChart(barsCanvas, palette);
  let timeline: Timeline | null = null;
  let report: Report | null | undefined;
  let markers: readonly Marker[] | null = null;

  const listEvents = (latest: readonly Marker[]) => {
    markers = latest;
    eventsSection.hidden = latest.length === 0;
    const summary = summarizeEvents(latest, EVENTS_LISTED);
    const line = (marker: Marker, words: string) => el("li", { class: `event event-${marker.kind}` }, words);
    replaceChildren(
      events,
      ...summary.notable.map((marker) => line(marker, markerWords(marker).join(" — "))),
      summary.notableLeftOut > 0 && el("li", { class: "muted" }, `and ${summary.notableLeftOut} earlier crashes or timeouts`),
      summary.lastRecycle && line(summary.lastRecycle, `${summary.recycles} recycle${summary.recycles === 1 ? "" : "s"}, the latest: ${markerWords(summary.lastRecycle).join(" — ")}`),
    );
  };

  return {
    element,
    update(state: State) {
      if (state.timeline !== timeline) {
        timeline = state.timeline;
        timelineEmpty.hidden = timeline.workers.length > 0;
        timelineBox.hidden = !timelineEmpty.hidden;
        timelineChart.update(timeline);
        if (timeline.markers !== markers) listEvents(timeline.markers);
      }
      if (state.report !== report) {
        report = state.report;
        const routes = topRoutesByPeak(report?.routes ?? [], TOP_ROUTES);
        barsEmpty.hidden = routes.length > 0;
        barsBox.hidden = !barsEmpty.hidden;
        // The chart grows with its routes so bars stay readable (CSSOM: allowed by the CSP).
        barsBox.style.height = `${BARS_BASE_PX + Math.max(routes.length, 1) * BARS_ROW_PX}px`;
        barsChart.update(routes);
      }
    },
    setPalette(next: Palette) {
      timelineChart.setPalette(next);
      barsChart.setPalette(next);
    },
  };
}

/** What the marker lines mean (drawn by chart.js, so they need a key of their own). */
function markerKey(): HTMLElement {
  const item = (kind: string, words: string) => el("span", { class: `key key-${kind}` }, words);
  return el("p", { class: "marker-key" }, item("recycle", "recycle"), item("crash", "crash"), item("timeout", "timeout"), item("budget", "memory budget"), item("total", "all workers"));
}
