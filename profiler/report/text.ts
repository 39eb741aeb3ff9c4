// Terminal rendering of a Report: route table, worker table, summary.
// Colour only when asked (the CLI passes process.stdout.isTTY): piped output stays plain text.
// Every string from the recording (paths, routes, handler files, exit details, reasons,
// warnings) goes through safe(): it came from the app or a file, not from us.
import Table from "cli-table3";
import type { Report, RouteFlag, RouteReport, WorkerReport } from "../record/model";
import { escapeControl as safe } from "./escape";

export interface TextOptions {
  color?: boolean;
  /** Terminal columns; the Route and Handler columns are truncated to fit. */
  width?: number;
}

const ANSI = { red: 31, yellow: 33, magenta: 35, bold: 1, dim: 2 } as const;
type Style = keyof typeof ANSI;

const FLAG_STYLE: Record<RouteFlag, Style> = { leak: "red", inflates: "yellow", balloon: "magenta" };

function paint(text: string, style: Style, color: boolean): string {
  return color ? `\u001b[${ANSI[style]}m${text}\u001b[0m` : text;
}

const fixed1 = (value: number): string => value.toFixed(1);

/** Columns that give way, narrowest first allowed, when the table is wider than the terminal. */
interface Shrinkable {
  column: number;
  minWidth: number;
}

/**
 * cli-table3 colWidths (content + 2 padding) that fit `width`: shrink the given columns
 * in order, each down to its minimum; cli-table3 truncates cells with "…".
 */
function fitColumns(rows: string[][], width: number | undefined, shrinkable: Shrinkable[]): number[] {
  const columns = rows[0].length;
  const widths = Array.from({ length: columns }, (_, column) => Math.max(...rows.map((row) => row[column].length)) + 2);
  if (width === undefined) return widths;
  // Borders: one character left of each column plus one at the right.
  let excess = widths.reduce((sum, value) => sum + value, 0) + columns + 1 - width;
  for (const { column, minWidth } of shrinkable) {
    if (excess <= 0) break;
    const cut = Math.min(excess, Math.max(0, widths[column] - (minWidth + 2)));
    widths[column] -= cut;
    excess -= cut;
  }
  return widths;
}

function newTable(head: string[], colWidths: number[], color: boolean, rightAligned: number[]): Table.Table {
  return new Table({
    head: head.map((title) => paint(title, "bold", color)),
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

export function formatRouteTable(report: Report, opts: TextOptions = {}): string {
  const color = opts.color ?? false;
  const head = ["Route", "Method", "Reqs", "Peak MiB (median / max)", "Retained first", "Retained/req", "Flags", "Handler (file:line)"];
  const plainRows = report.routes.map((route) => [
    safe(route.route),
    safe(route.method),
    requestsCell(route),
    `${fixed1(route.peakMiB.median)} / ${fixed1(route.peakMiB.max)}`,
    fixed1(route.retainedMiB.first),
    fixed1(route.retainedMiB.perRequest),
    route.flags.join(", "),
    handlerCell(route),
  ]);
  const widths = fitColumns([head, ...plainRows], opts.width, [
    { column: 7, minWidth: 12 },
    { column: 0, minWidth: 12 },
  ]);
  const table = newTable(head, widths, color, [2, 3, 4, 5]);
  report.routes.forEach((route, index) => {
    const row = [...plainRows[index]];
    row[6] = route.flags.map((flag) => paint(flag, FLAG_STYLE[flag], color)).join(", ");
    table.push(row);
  });
  return table.toString();
}

function exitCell(worker: WorkerReport): string {
  return worker.exit ? safe(`${worker.exit.reason}: ${worker.exit.detail}`) : "running";
}

export function formatWorkerTable(report: Report, opts: TextOptions = {}): string {
  const color = opts.color ?? false;
  const head = ["Worker", "PID", "Reqs", "RSS start MiB", "RSS max MiB", "RSS end MiB", "Exit"];
  const rows = report.workers.map((worker) => [
    String(worker.id),
    String(worker.pid),
    String(worker.requests),
    fixed1(worker.rssMiB.start),
    fixed1(worker.rssMiB.max),
    fixed1(worker.rssMiB.end),
    exitCell(worker),
  ]);
  const widths = fitColumns([head, ...rows], opts.width, [{ column: 6, minWidth: 12 }]);
  const table = newTable(head, widths, color, [0, 1, 2, 3, 4, 5]);
  for (const row of rows) table.push(row);
  return table.toString();
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? "" : "s"}`;

/** A few lines: totals, thresholds, each flagged route with its reason, warnings. */
export function formatSummary(report: Report, opts: TextOptions = {}): string {
  const color = opts.color ?? false;
  const { totals, limits } = report;
  const lines = [
    `${plural(totals.requests, "request")} (${plural(totals.errors, "error")}) over ${fixed1(totals.durationSec)} s, ` +
      `${plural(report.workers.length, "worker")}.`,
    `Thresholds (baseline ${fixed1(limits.baselineMiB)} MiB): balloon ≥ ${fixed1(limits.balloonMiB)} MiB peak, ` +
      `inflate ≥ ${fixed1(limits.inflateMiB)} MiB on the first call, leak ≥ ${limits.leakMiB} MiB per repeat call.`,
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
  if (report.warnings.length > 0) {
    lines.push(paint(`${plural(report.warnings.length, "warning")}:`, "yellow", color));
    for (const warning of report.warnings) lines.push(`  ${safe(warning)}`);
  }
  return lines.join("\n");
}

/** Everything a finished run prints: route table, worker table, summary. */
export function formatReport(report: Report, opts: TextOptions = {}): string {
  return `${formatRouteTable(report, opts)}\n${formatWorkerTable(report, opts)}\n${formatSummary(report, opts)}\n`;
}
