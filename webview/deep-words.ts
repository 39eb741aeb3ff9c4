// What the Deep dive tab says of a deep dive: its heading, the sites' rows, growth, how much of
// the peak was caught and what lay outside the app. Pure (the view and the tests read it).
import type { DeepDiveRunning } from "../profiler/protocol";
import { formatCount, formatMiB, handlerLabel } from "./format";
import type { Report } from "./model";

export type DeepDive = NonNullable<Report["deepDive"]>;
export type DeepSite = DeepDive["top"][number];

/** "512 KiB" under a MiB (a deep dive sees small lines), else as MiB. */
export function formatKiB(kib: number): string {
  if (!Number.isFinite(kib)) return "–";
  return Math.abs(kib) < 1024 ? `${Math.round(kib)} KiB` : formatMiB(kib / 1024);
}

export function deepHeading(dive: DeepDive): string {
  const flag = dive.flag ? `${dive.flag}s` : "not flagged";
  return `${dive.method} ${dive.route} (${dive.flag === "inflates" ? "inflates" : flag}): lines by ${dive.orderedBy === "peak" ? "peak" : "retained"}`;
}

/** While the extension waits for a dive: which route, how many calls, and that they are slow on purpose. */
export function deepRunningWords(running: DeepDiveRunning): string {
  return `Deep dive on ${running.method} ${running.route} running: ${formatCount(running.calls)} call${running.calls === 1 ? "" : "s"} in a worker of its own under tracemalloc (slower than the pool's; the app keeps serving)…`;
}

export function deepSummary(dive: DeepDive): string {
  const parts = [`${formatCount(dive.calls)} call${dive.calls === 1 ? "" : "s"} in a worker of its own under tracemalloc (${dive.frames} frames)`];
  if (dive.peak.coverage !== null) parts.push(`${(dive.peak.coverage * 100).toFixed(1)}% of tracemalloc's own peak placed`);
  parts.push(`median ${dive.durationMs.median.toFixed(0)} ms a call there (tracemalloc slows it; the pool's calls were not)`);
  return parts.join(" · ");
}

export const DEEP_COLUMNS = ["Line", "Code", "Peak", "Retained", "Blocks"] as const;

export interface DeepRow {
  file: string;
  line: number;
  label: string;
  cells: [string, string, string, string];
}

export function deepRows(dive: DeepDive): DeepRow[] {
  return dive.top.map((site) => ({
    file: site.file,
    line: site.line,
    label: handlerLabel(site.file, site.line),
    cells: [site.code, formatKiB(site.peakKiB), formatKiB(site.retainedKiB), formatCount(site.count)],
  }));
}

export function growthLines(dive: DeepDive): { file: string; line: number; label: string; words: string }[] {
  return dive.growth.map((growth) => ({ file: growth.file, line: growth.line, label: handlerLabel(growth.file, growth.line), words: `${formatKiB(growth.kibPerCall)} a call: ${growth.code}` }));
}

/** What the sites do not hold: memory with no app frame, and why calls failed (the engine's words). */
export function deepNotes(dive: DeepDive): string[] {
  const notes: string[] = [];
  const outside = dive.outsideApp;
  if (outside.peakKiB > 0 || outside.retainedKiB > 0) {
    const cut = outside.truncatedPeakKiB > 0 || outside.truncatedRetainedKiB > 0
      ? ` (${formatKiB(Math.max(outside.truncatedPeakKiB, outside.truncatedRetainedKiB))} of it had its traceback cut at ${dive.frames} frames: more frames would place it)`
      : "";
    notes.push(`Outside the app's code (framework, libraries): ${formatKiB(outside.peakKiB)} at the peak, ${formatKiB(outside.retainedKiB)} retained${cut}.`);
  }
  if (dive.failure) notes.push(dive.failure);
  return notes;
}
