// Terminal rendering of a Report: route table, worker table, summary.
// Colour only when asked (the CLI passes process.stdout.isTTY): piped output stays plain text.
// Every string from the recording (paths, routes, handler files, exit details, reasons,
// warnings) goes through safe(): it came from the app or a file, not from us.
import Table from "cli-table3";
import type { DeepDive, Report, RouteFlag, RouteReport, WorkerReport } from "../record/model";
import { CHURN_NOISE_SHARE, R2_LEAK } from "../analysis/verdicts";
import { escapeControl as safe } from "./escape";

export interface TextOptions {
  color?: boolean;
  /** Terminal columns; the Route and Handler columns are truncated to fit. */
  width?: number;
}

const ANSI = { red: 31, yellow: 33, magenta: 35, bold: 1, dim: 2 } as const;
type Style = keyof typeof ANSI;

const FLAG_STYLE: Record<RouteFlag | "undecided", Style> = { leak: "red", inflates: "yellow", balloon: "magenta", undecided: "dim" };

function paint(text: string, style: Style, color: boolean): string {
  return color ? `\u001b[${ANSI[style]}m${text}\u001b[0m` : text;
}

const fixed1 = (value: number): string => value.toFixed(1);

/** Columns that give way, narrowest first allowed, when the table is wider than the terminal. */
interface Shrinkable {
  column: number;
  minWidth: number;
}

/** Widest line of a cell (cells may hold several lines). */
const cellWidth = (cell: string): number => Math.max(...cell.split("\n").map((line) => line.length));

/** Table width with these colWidths: one border character left of each column plus one at the right. */
const tableWidth = (widths: number[]): number => widths.reduce((sum, value) => sum + value, 0) + widths.length + 1;

/**
 * cli-table3 colWidths (content + 2 padding) that fit `width`: shrink the given columns
 * in order, each down to its minimum; cli-table3 truncates cells with "…".
 */
function fitColumns(rows: string[][], width: number | undefined, shrinkable: Shrinkable[]): number[] {
  const columns = rows[0].length;
  const widths = Array.from({ length: columns }, (_, column) => Math.max(...rows.map((row) => cellWidth(row[column]))) + 2);
  if (width === undefined) return widths;
  let excess = tableWidth(widths) - width;
  for (const { column, minWidth } of shrinkable) {
    if (excess <= 0) break;
    const cut = Math.min(excess, Math.max(0, widths[column] - (minWidth + 2)));
    widths[column] -= cut;
    excess -= cut;
  }
  return widths;
}

/** Natural widths of a table, before any shrinking. */
const naturalWidth = (rows: string[][]): number => tableWidth(fitColumns(rows, undefined, []));

function newTable(head: string[], colWidths: number[], color: boolean, rightAligned: number[]): Table.Table {
  return new Table({
    head: head.map((title) => title.split("\n").map((line) => paint(line, "bold", color)).join("\n")),
    colWidths,
    colAligns: head.map((_, column) => (rightAligned.includes(column) ? "right" : "left")),
    // cli-table3 colours head and border by default: turn its own styling off, we paint ourselves.
    style: { head: [], border: [], compact: true },
  });
}

function handlerCell(route: RouteReport): string {
  return route.handler ? `${safe(route.handler.file)}:${route.handler.line}` : "—";
}

function requestsCell(route: RouteReport): string {
  return route.errors > 0 ? `${route.requests} (${route.errors} err)` : String(route.requests);
}

/** Every verdict, primary first: the decided flags, then "undecided" when a question is open. */
function verdictNames(route: RouteReport): Array<RouteFlag | "undecided"> {
  return route.verdicts.map((verdict) => verdict.flag);
}

interface RouteColumns {
  head: string[];
  rows: string[][];
  flagsColumn: number;
  handlerColumn: number;
  rightAligned: number[];
  /** Joins a route's verdict names in its Flags cell. */
  flagSeparator: string;
}

/**
 * The route table's columns. Wide: one line per route. Compact (when the wide table does not fit
 * the terminal, e.g. 80 columns): two-line headers, the method in the Route cell, errors and
 * verdicts on lines of their own, so nothing but route and handler needs truncating.
 */
function routeColumns(report: Report, compact: boolean): RouteColumns {
  // Threads: a column of the calls left out as shared, only when there are any.
  const withShared = report.routes.some((route) => route.shared > 0);
  const flagSeparator = compact ? "\n" : ", ";
  const head = compact
    ? ["Route", "Reqs", ...(withShared ? ["Shared"] : []), "Peak MiB\nmed / max", "Kept\nfirst", "Kept\n/req", "Flags", "Handler"]
    : ["Route", "Method", "Reqs", ...(withShared ? ["Shared"] : []), "Peak MiB (median / max)", "Retained first", "Retained/req", "Flags", "Handler (file:line)"];
  const rows = report.routes.map((route) => [
    ...(compact ? [`${safe(route.method)} ${safe(route.route)}`] : [safe(route.route), safe(route.method)]),
    compact && route.errors > 0 ? `${route.requests}\n${route.errors} err` : requestsCell(route),
    ...(withShared ? [String(route.shared)] : []),
    `${fixed1(route.peakMiB.median)} / ${fixed1(route.peakMiB.max)}`,
    fixed1(route.retainedMiB.first),
    fixed1(route.retainedMiB.perRequest),
    verdictNames(route).join(flagSeparator),
    handlerCell(route),
  ]);
  const flagsColumn = head.indexOf("Flags");
  const firstNumber = compact ? 1 : 2;
  return {
    head,
    rows,
    flagsColumn,
    handlerColumn: flagsColumn + 1,
    rightAligned: Array.from({ length: flagsColumn - firstNumber }, (_, i) => firstNumber + i),
    flagSeparator,
  };
}

export function formatRouteTable(report: Report, opts: TextOptions = {}): string {
  const color = opts.color ?? false;
  const wide = routeColumns(report, false);
  const layout = opts.width !== undefined && naturalWidth([wide.head, ...wide.rows]) > opts.width ? routeColumns(report, true) : wide;
  const widths = fitColumns([layout.head, ...layout.rows], opts.width, [
    { column: layout.handlerColumn, minWidth: 12 },
    { column: 0, minWidth: 12 },
    { column: layout.handlerColumn, minWidth: 8 },
  ]);
  const table = newTable(layout.head, widths, color, layout.rightAligned);
  report.routes.forEach((route, index) => {
    const row = [...layout.rows[index]];
    row[layout.flagsColumn] = verdictNames(route).map((flag) => paint(flag, FLAG_STYLE[flag], color)).join(layout.flagSeparator);
    table.push(row);
  });
  return table.toString();
}

function exitCell(worker: WorkerReport): string {
  return worker.exit ? safe(`${worker.exit.reason}: ${worker.exit.detail}`) : "running";
}

export function formatWorkerTable(report: Report, opts: TextOptions = {}): string {
  const color = opts.color ?? false;
  // Read from several hosts (or files of Balloon's own runs): which one each worker ran on.
  const hosts = new Set(report.workers.map((worker) => worker.host)).size > 1;
  const wideHead = ["Worker", ...(hosts ? ["Host"] : []), "PID", "Reqs", "RSS start MiB", "RSS max MiB", "RSS end MiB", "Exit"];
  const rows = report.workers.map((worker) => [
    String(worker.id),
    ...(hosts ? [safe(worker.host ?? "")] : []),
    String(worker.pid),
    String(worker.requests),
    fixed1(worker.rssMiB.start),
    fixed1(worker.rssMiB.max),
    fixed1(worker.rssMiB.end),
    exitCell(worker),
  ]);
  const compact = opts.width !== undefined && naturalWidth([wideHead, ...rows]) > opts.width;
  const head = compact ? ["Worker", ...(hosts ? ["Host"] : []), "PID", "Reqs", "RSS MiB\nstart", "RSS MiB\nmax", "RSS MiB\nend", "Exit"] : wideHead;
  const exitColumn = head.length - 1;
  const widths = fitColumns([head, ...rows], opts.width, [{ column: exitColumn, minWidth: 12 }, ...(hosts ? [{ column: 1, minWidth: 8 }] : [])]);
  const table = newTable(head, widths, color, head.slice(0, -1).map((_, i) => i).filter((i) => !(hosts && i === 1)));
  for (const row of rows) table.push(row);
  return table.toString();
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? "" : "s"}`;

/** The adaptive phase, shared calls and partial figures, a line each when they apply. */
function notes(report: Report): string[] {
  const lines: string[] = [];
  const shared = report.routes.reduce((sum, route) => sum + route.shared, 0);
  if (shared > 0) {
    lines.push(`${plural(shared, "call")} overlapped another call in their worker (threads): their figures are shared and left out of the verdicts (Shared column).`);
  }
  const adaptive = report.adaptive;
  if (adaptive) {
    const routes = adaptive.routes.map((route) => `${safe(route.method)} ${safe(route.route)} ×${route.calls}`).join(", ");
    lines.push(`Adaptive phase: ${plural(adaptive.extraCalls, "extra call")} (--max-extra ${adaptive.budget})${routes ? `: ${routes}` : ""}.`);
  }
  for (const approximation of report.approximations) lines.push(`Held in part: ${approximation}.`);
  return lines;
}

/** A few lines: totals, thresholds, each verdict with its reason, open questions, notes, warnings. */
export function formatSummary(report: Report, opts: TextOptions = {}): string {
  const color = opts.color ?? false;
  const { totals, limits } = report;
  const lines = [
    `${plural(totals.requests, "request")} (${plural(totals.errors, "error")}) over ${fixed1(totals.durationSec)} s, ` +
      `${plural(report.workers.length, "worker")}.`,
    `Thresholds (baseline ${fixed1(limits.baselineMiB)} MiB): balloon ≥ ${fixed1(limits.balloonMiB)} MiB peak, ` +
      `inflate ≥ ${fixed1(limits.inflateMiB)} MiB on the first call, leak ≥ ${limits.leakMiB} MiB per repeat call ` +
      `(a steady fit, R² ≥ ${R2_LEAK}, and ≥ ${CHURN_NOISE_SHARE * 100} % of the route's peak).`,
  ];
  const flagged = report.routes.filter((route) => route.flags.length > 0);
  if (flagged.length === 0) {
    lines.push("No route flagged.");
  } else {
    lines.push(`${plural(flagged.length, "route")} flagged:`);
    for (const route of flagged) {
      route.flags.forEach((flag, index) => {
        lines.push(`  ${paint(flag, FLAG_STYLE[flag], color)} ${safe(route.method)} ${safe(route.route)}: ${safe(route.reasons[index] ?? "")}`);
      });
    }
  }
  const undecided = report.routes.flatMap((route) => route.verdicts.filter((verdict) => verdict.flag === "undecided").map((verdict) => ({ route, verdict })));
  if (undecided.length > 0) {
    const hint = report.adaptive ? "still open after the adaptive phase (raise --max-extra, or call them more)" : "call them again to settle";
    lines.push(`${plural(undecided.length, "route")} undecided, ${hint}:`);
    for (const { route, verdict } of undecided) lines.push(`  ${paint("undecided", "dim", color)} ${safe(route.method)} ${safe(route.route)}: ${safe(verdict.reason)}`);
  }
  lines.push(...notes(report));
  if (report.warnings.length > 0) {
    lines.push(paint(`${plural(report.warnings.length, "warning")}:`, "yellow", color));
    for (const warning of report.warnings) lines.push(`  ${safe(warning)}`);
  }
  return lines.join("\n");
}

/** Lines of a deep dive printed in the table; the JSON has up to TOP_SITES. */
const DEEP_ROWS = 10;
const fixedKiB = (value: number): string => value.toFixed(1);

/** The deep dive: its app lines (the figure they are ordered by first), their growth, how close the peak came. */
export function formatDeepDive(dive: DeepDive, opts: TextOptions = {}): string {
  const color = opts.color ?? false;
  const flag = dive.flag ? `${paint(dive.flag, FLAG_STYLE[dive.flag], color)}, ` : "";
  const lines = [
    `Deep dive ${safe(dive.method)} ${safe(dive.route)} (${flag}lines by ${dive.orderedBy}): ${plural(dive.calls, "call")} in a worker of its own, tracemalloc with ${dive.frames} frames`,
  ];
  if (dive.top.length === 0) {
    lines.push("  no line of the app's own code held 1 KiB or more during these calls");
  } else {
    const peakFirst = dive.orderedBy === "peak";
    const head = ["Line", "Code", peakFirst ? "Peak KiB" : "Retained KiB", peakFirst ? "Retained KiB" : "Peak KiB", "Blocks"];
    const rows = dive.top.slice(0, DEEP_ROWS).map((site) => [
      `${safe(site.file)}:${site.line}`, safe(site.code),
      fixedKiB(peakFirst ? site.peakKiB : site.retainedKiB), fixedKiB(peakFirst ? site.retainedKiB : site.peakKiB), String(site.count),
    ]);
    const widths = fitColumns([head, ...rows], opts.width, [{ column: 1, minWidth: 16 }, { column: 0, minWidth: 12 }]);
    const table = newTable(head, widths, color, [2, 3, 4]);
    for (const row of rows) table.push(row);
    lines.push(table.toString());
    if (dive.top.length > DEEP_ROWS) lines.push(`  … ${plural(dive.top.length - DEEP_ROWS, "more line")} in the JSON report`);
  }
  if (dive.growth.length > 0) {
    lines.push(`Growth per call over the repeats: ${dive.growth.slice(0, 3).map((site) => `${safe(site.file)}:${site.line} ${fixedKiB(site.kibPerCall)} KiB`).join(", ")}`);
  }
  const { peak, outsideApp } = dive;
  const exact = peak.exactKiB === null ? "tracemalloc's own peak needs Python 3.9+" : `tracemalloc's own peak ${fixedKiB(peak.exactKiB)} KiB${peak.coverage === null ? "" : ` (${(peak.coverage * 100).toFixed(1)} % captured)`}`;
  const outside = `outside the app's code: ${fixedKiB(outsideApp.peakKiB)} KiB at the peak, ${fixedKiB(outsideApp.retainedKiB)} KiB retained.`;
  lines.push(peak.capturedCalls === 0
    ? `No call rose 64 KiB above its start: no peak snapshot; ${outside}`
    : `Peak snapshot at ${fixedKiB(peak.capturedKiB)} KiB above the call's start (median of ${peak.capturedCalls}), ${exact}; ${outside}`);
  if (outsideApp.truncatedPeakKiB + outsideApp.truncatedRetainedKiB >= 1) {
    lines.push(`${fixedKiB(Math.max(outsideApp.truncatedPeakKiB, outsideApp.truncatedRetainedKiB))} KiB had no app frame within ${dive.frames} frames: raise --deep-frames to place it.`);
  }
  if (dive.failure) lines.push(paint(safe(dive.failure), "yellow", color));
  return lines.join("\n");
}

/** Everything a finished run prints: route table, worker table, summary, and the deep dive when one ran. */
export function formatReport(report: Report, opts: TextOptions = {}): string {
  const deep = report.deepDive ? `${formatDeepDive(report.deepDive, opts)}\n` : "";
  return `${formatRouteTable(report, opts)}\n${formatWorkerTable(report, opts)}\n${formatSummary(report, opts)}\n${deep}`;
}
