// What the charts draw, as plain option objects: decimation, series colours, markers, the budget
// line, tooltip words. Pure (types only from chart.js), so it is tested without a canvas.
import type { ChartDataset } from "chart.js";
import type { AnnotationOptions } from "chartjs-plugin-annotation";
import { formatElapsed, formatMiB } from "./format";
import type { Palette } from "./theme";
import { TOTAL_SERIES, type Marker, type MarkerKind, type TimelinePoint } from "./timeline";

/**
 * min-max keeps the lowest and highest sample of every pixel column: a balloon is often one or
 * two samples high, and LTTB (which keeps the visually "largest triangles") can drop such a spike
 * between two wide ones. chart.js decimates a series once it holds more than 4 points per pixel
 * (its default threshold), which is where min-max starts to draw fewer.
 */
export const DECIMATION = { enabled: true, algorithm: "min-max" } as const;

/** A worker slot's colour: stable across resets (slot 1 is always the first colour). */
export const workerColour = (worker: number, palette: Palette): string =>
  palette.workers[(((worker - 1) % palette.workers.length) + palette.workers.length) % palette.workers.length];

export const seriesLabel = (worker: number): string => (worker === TOTAL_SERIES ? "all workers" : `worker ${worker}`);

/** A line dataset of a timeline series, told its data is sorted and pre-parsed (what decimation needs). */
export function seriesDataset(worker: number, data: TimelinePoint[], palette: Palette, hidden = false): ChartDataset<"line", TimelinePoint[]> {
  const total = worker === TOTAL_SERIES;
  const colour = total ? palette.total : workerColour(worker, palette);
  return {
    label: seriesLabel(worker),
    data,
    hidden,
    parsing: false,
    normalized: true,
    borderColor: colour,
    backgroundColor: colour,
    // Solid: a dashed line over a jagged series reads as noise.
    borderWidth: total ? 1.75 : 1.25,
    pointRadius: 0,
    pointHoverRadius: 3,
    pointHitRadius: 4,
    tension: 0,
    spanGaps: true,
  };
}

const MARKER_WIDTH: Record<MarkerKind, number> = { recycle: 1, crash: 2, timeout: 2 };

/** A vertical marker line; its words show while the pointer is on it. */
export function markerAnnotation(marker: Marker, palette: Palette): AnnotationOptions<"line"> {
  return {
    type: "line",
    scaleID: "x",
    value: marker.x,
    borderColor: palette.markers[marker.kind],
    borderWidth: MARKER_WIDTH[marker.kind],
    borderDash: marker.kind === "recycle" ? [3, 3] : [],
    drawTime: "beforeDatasetsDraw",
    label: {
      display: false,
      content: markerWords(marker),
      position: "start",
      backgroundColor: palette.background,
      color: palette.foreground,
      borderColor: palette.markers[marker.kind],
      borderWidth: 1,
      font: { family: palette.fontFamily, size: palette.fontSize - 1 },
      textAlign: "start",
    },
    enter: ({ element }) => showLabel(element, true),
    leave: ({ element }) => showLabel(element, false),
  };
}

const showLabel = (element: { label?: { options: { display?: unknown } } }, display: boolean): boolean => {
  if (element.label) element.label.options.display = display;
  return true;
};

export const markerWords = (marker: Marker): string[] => [
  `${marker.kind} · worker ${marker.worker} · pid ${marker.pid} · ${formatElapsed(marker.x)}`,
  ...(marker.detail ? [marker.detail] : []),
];

/**
 * The memory budget: a horizontal line across the chart, labelled at its right end. It is about all
 * workers together, so it goes with the total line: hiding that one (legend) hides it too and lets
 * the axis close in on the workers' own lines.
 */
export function budgetAnnotation(budgetMiB: number, palette: Palette, shown: boolean): AnnotationOptions<"line"> {
  return {
    type: "line",
    display: shown,
    adjustScaleRange: shown,
    scaleID: "y",
    value: budgetMiB,
    borderColor: palette.budget,
    borderWidth: 1.5,
    borderDash: [8, 4],
    label: {
      display: true,
      content: `budget ${formatMiB(budgetMiB)} (all workers)`,
      position: "end",
      backgroundColor: palette.background,
      color: palette.budget,
      font: { family: palette.fontFamily, size: palette.fontSize - 1 },
      padding: 3,
    },
  };
}

/** Tooltip words of a timeline point: "worker 2 · pid 4242: 104 MiB". */
export function pointWords(worker: number, point: TimelinePoint): string {
  return worker === TOTAL_SERIES ? `all workers: ${formatMiB(point.y)}` : `worker ${worker} · pid ${point.pid}: ${formatMiB(point.y)}`;
}

/** Tooltip title of a time: elapsed since the first sample, and the wall clock. */
export function timeWords(x: number, origin: number | null): string {
  return origin === null ? formatElapsed(x) : `${formatElapsed(x)} (${new Date(origin + x).toLocaleTimeString()})`;
}

/** A route label that fits beside a bar ("GET /users/<int:uid>/ex…"). */
export function shortLabel(label: string, max = 36): string {
  return label.length <= max ? label : `${label.slice(0, max - 1)}…`;
}
