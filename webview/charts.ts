// The two charts, on chart.js: each worker's memory over time (with the total, the budget line and
// the pool's markers), and the routes' peak vs kept memory. They take state slices and know nothing
// of VS Code, so the offline HTML report can draw them too. After each draw a chart dispatches
// "balloon-rendered" on its canvas with what it drew (the benchmark and the tests time it).
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Decimation,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import annotationPlugin, { type AnnotationOptions } from "chartjs-plugin-annotation";
import { budgetAnnotation, DECIMATION, markerAnnotation, pointWords, seriesDataset, shortLabel, timeWords } from "./chart-config";
import { elapsedTicks, formatElapsed, formatMiB } from "./format";
import type { RouteReport } from "./model";
import { routeKey } from "./routes";
import type { Palette } from "./theme";
import { seriesPoints, TOTAL_SERIES, type Series, type Timeline, type TimelinePoint } from "./timeline";

Chart.register(LineController, LineElement, PointElement, LinearScale, BarController, BarElement, CategoryScale, Decimation, Legend, Tooltip, annotationPlugin);

export const RENDERED_EVENT = "balloon-rendered";

export interface RenderInfo {
  chart: "timeline" | "routes";
  /** Points (or routes) held. */
  points: number;
  /** Points drawn after decimation. */
  drawn: number;
  /** Top of the value axis as drawn (a spike decimation kept shows here). */
  yMax: number;
}

/** Points held per dataset, beside the array chart.js draws from (which decimation may replace). */
interface DrawnSeries {
  worker: number;
  chunks: number;
  data: TimelinePoint[];
}

/** Pushes without one call per point (chart.js hooks push) and without spreading 100k arguments. */
function pushAll<T>(target: T[], items: readonly T[]): void {
  const slice = 8192;
  for (let start = 0; start < items.length; start += slice) target.push(...items.slice(start, start + slice));
}

/** The parts of a chart's options that take theme colours (whatever the chart type). */
interface ThemedOptions {
  scales?: Record<string, { ticks?: { color?: unknown }; grid?: { color?: unknown }; title?: { color?: unknown }; border?: { color?: unknown } } | undefined>;
  plugins?: {
    legend?: { labels?: { color?: unknown } };
    tooltip?: { backgroundColor?: unknown; titleColor?: unknown; bodyColor?: unknown; borderColor?: unknown };
  };
}

function applyTheme(options: ThemedOptions, palette: Palette): void {
  for (const scale of Object.values(options.scales ?? {})) {
    if (scale?.ticks) scale.ticks.color = palette.muted;
    if (scale?.grid) scale.grid.color = palette.grid;
    if (scale?.title) scale.title.color = palette.muted;
    if (scale?.border) scale.border.color = palette.grid;
  }
  const { legend, tooltip } = options.plugins ?? {};
  if (legend?.labels) legend.labels.color = palette.foreground;
  if (tooltip) {
    tooltip.backgroundColor = palette.background;
    tooltip.titleColor = palette.foreground;
    tooltip.bodyColor = palette.foreground;
    tooltip.borderColor = palette.grid;
  }
}

const font = (palette: Palette) => ({ family: palette.fontFamily, size: palette.fontSize - 1 });

export class TimelineChart {
  private readonly chart: Chart<"line", TimelinePoint[]>;
  private timeline: Timeline | null = null;
  private drawn: DrawnSeries[] = [];
  private markersDrawn = 0;
  /** Series the user hid from the legend, by worker slot: they stay hidden through redraws. */
  private readonly hidden = new Set<number>();

  constructor(private readonly canvas: HTMLCanvasElement, private palette: Palette) {
    this.chart = new Chart<"line", TimelinePoint[]>(canvas, {
      type: "line",
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        font: font(palette),
        interaction: { mode: "nearest", axis: "xy", intersect: false },
        scales: {
          x: {
            type: "linear",
            bounds: "data",
            ticks: { maxRotation: 0, callback: (value) => formatElapsed(Number(value)) },
            afterBuildTicks: (scale) => {
              scale.ticks = elapsedTicks(scale.min, scale.max, Math.floor(scale.chart.width / 90)).map((value) => ({ value }));
            },
            grid: {},
            border: {},
          },
          y: { type: "linear", beginAtZero: true, title: { display: true, text: "RSS, MiB" }, ticks: {}, grid: {}, border: {} },
        },
        plugins: {
          decimation: DECIMATION,
          legend: { position: "top", align: "start", labels: { boxWidth: 14, boxHeight: 2 }, onClick: (_event, item) => this.toggle(item.datasetIndex) },
          tooltip: {
            borderWidth: 1,
            callbacks: {
              title: (items) => (items[0] ? timeWords(items[0].parsed.x ?? 0, this.timeline?.origin ?? null) : ""),
              label: (item) => pointWords(this.drawn[item.datasetIndex]?.worker ?? TOTAL_SERIES, item.raw as TimelinePoint),
            },
          },
          annotation: { annotations: {} },
        },
      },
    });
    this.applyPalette();
  }

  /** Draws what changed since the last timeline: the new chunks only, unless it was reset. */
  update(timeline: Timeline): void {
    if (timeline === this.timeline) return;
    const rebuild = this.timeline?.epoch !== timeline.epoch;
    this.timeline = timeline;
    const series = [...timeline.workers, timeline.total];
    if (rebuild || !sameSeries(this.drawn, series)) this.rebuild(series);
    else this.append(series);
    this.syncAnnotations(timeline, rebuild);
    this.draw();
  }

  setPalette(palette: Palette): void {
    this.palette = palette;
    this.applyPalette();
    this.chart.data.datasets = this.datasets();
    if (this.timeline) this.syncAnnotations(this.timeline, true);
    this.draw();
  }

  destroy(): void {
    this.chart.destroy();
  }

  private rebuild(series: readonly Series[]): void {
    this.drawn = series.filter((s) => s.count > 0).map((s) => ({ worker: s.worker, chunks: s.chunks.length, data: seriesPoints(s) }));
    this.chart.data.datasets = this.datasets();
  }

  private datasets() {
    return this.drawn.map((drawn) => seriesDataset(drawn.worker, drawn.data, this.palette, this.hidden.has(drawn.worker)));
  }

  /** A legend click: shows or hides a series (and the budget with the total). */
  private toggle(index: number | undefined): void {
    const drawn = index === undefined ? undefined : this.drawn[index];
    if (index === undefined || !drawn) return;
    if (!this.hidden.delete(drawn.worker)) this.hidden.add(drawn.worker);
    this.chart.setDatasetVisibility(index, !this.hidden.has(drawn.worker));
    if (this.timeline) this.syncAnnotations(this.timeline, false);
    this.draw();
  }

  private append(series: readonly Series[]): void {
    for (const drawn of this.drawn) {
      const s = series.find((candidate) => candidate.worker === drawn.worker);
      if (!s || s.chunks.length === drawn.chunks) continue;
      pushAll(drawn.data, seriesPoints(s, drawn.chunks));
      drawn.chunks = s.chunks.length;
    }
  }

  private syncAnnotations(timeline: Timeline, fromScratch: boolean): void {
    const plugin = this.chart.options.plugins?.annotation;
    if (!plugin) return;
    if (fromScratch) {
      plugin.annotations = {};
      this.markersDrawn = 0;
    }
    const annotations = plugin.annotations as Record<string, AnnotationOptions>;
    for (; this.markersDrawn < timeline.markers.length; this.markersDrawn++) {
      annotations[`marker-${this.markersDrawn}`] = markerAnnotation(timeline.markers[this.markersDrawn], this.palette);
    }
    if (timeline.budgetMiB > 0) annotations.budget = budgetAnnotation(timeline.budgetMiB, this.palette, !this.hidden.has(TOTAL_SERIES));
    else delete annotations.budget;
  }

  private applyPalette(): void {
    const options = this.chart.options;
    options.font = font(this.palette);
    applyTheme(options, this.palette);
  }

  private draw(): void {
    fit(this.chart, this.canvas);
    this.chart.update("none");
    const meta = this.chart.data.datasets.map((_, index) => this.chart.getDatasetMeta(index));
    announce(this.canvas, {
      chart: "timeline",
      points: this.drawn.reduce((sum, drawn) => sum + drawn.data.length, 0),
      drawn: meta.reduce((sum, m) => sum + m.data.length, 0),
      yMax: this.chart.scales.y?.max ?? 0,
    });
  }
}

/** The datasets draw these series, in this order (a new worker slot redraws from scratch). */
const sameSeries = (drawn: readonly DrawnSeries[], series: readonly Series[]): boolean => {
  const shown = series.filter((s) => s.count > 0);
  return shown.length === drawn.length && shown.every((s, index) => s.worker === drawn[index].worker);
};

/** Peak vs kept memory of the biggest routes, as horizontal bars (route names read along them). */
export class RouteBarsChart {
  private readonly chart: Chart<"bar", number[], string>;
  private routes: readonly RouteReport[] | null = null;

  constructor(private readonly canvas: HTMLCanvasElement, private palette: Palette) {
    this.chart = new Chart<"bar", number[], string>(canvas, {
      type: "bar",
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: "y",
        font: font(palette),
        scales: {
          x: { type: "linear", beginAtZero: true, title: { display: true, text: "MiB" }, ticks: {}, grid: {}, border: {} },
          y: { type: "category", ticks: { autoSkip: false, callback: (_value, index) => shortLabel(this.chart.data.labels?.[index] ?? "") }, grid: { display: false }, border: {} },
        },
        plugins: {
          legend: { position: "top", align: "start", labels: { boxWidth: 14 } },
          tooltip: {
            borderWidth: 1,
            callbacks: {
              title: (items) => items[0]?.label ?? "",
              label: (item) => `${item.dataset.label}: ${formatMiB(item.parsed.x ?? 0)}`,
            },
          },
        },
      },
    });
    applyTheme(this.chart.options, palette);
  }

  update(routes: readonly RouteReport[]): void {
    if (routes === this.routes) return;
    this.routes = routes;
    this.chart.data.labels = routes.map(routeKey);
    this.chart.data.datasets = [
      { label: "peak (max)", data: routes.map((r) => r.peakMiB.max), backgroundColor: this.palette.peak, borderColor: this.palette.peak, borderWidth: 0, barPercentage: 0.9, categoryPercentage: 0.8 },
      { label: "kept after a worker's first call", data: routes.map((r) => r.retainedMiB.first), backgroundColor: this.palette.retained, borderColor: this.palette.retained, borderWidth: 0, barPercentage: 0.9, categoryPercentage: 0.8 },
    ];
    this.draw();
  }

  setPalette(palette: Palette): void {
    this.palette = palette;
    applyTheme(this.chart.options, palette);
    this.chart.options.font = font(palette);
    const [peak, retained] = this.chart.data.datasets;
    if (peak) peak.backgroundColor = peak.borderColor = palette.peak;
    if (retained) retained.backgroundColor = retained.borderColor = palette.retained;
    this.draw();
  }

  destroy(): void {
    this.chart.destroy();
  }

  private draw(): void {
    fit(this.chart, this.canvas);
    this.chart.update("none");
    announce(this.canvas, { chart: "routes", points: this.routes?.length ?? 0, drawn: this.routes?.length ?? 0, yMax: this.chart.scales.x?.max ?? 0 });
  }
}

/**
 * Sizes the chart to its box now: chart.js hears of a box that was hidden or grew only from its
 * ResizeObserver, a frame later, after a draw at the old size.
 */
function fit(chart: Chart<"line", TimelinePoint[]> | Chart<"bar", number[], string>, canvas: HTMLCanvasElement): void {
  const box = canvas.parentElement;
  if (box && box.clientWidth > 0 && (box.clientWidth !== chart.width || box.clientHeight !== chart.height)) chart.resize();
}

function announce(canvas: HTMLCanvasElement, info: RenderInfo): void {
  canvas.dispatchEvent(new CustomEvent<RenderInfo>(RENDERED_EVENT, { detail: info, bubbles: true }));
}

