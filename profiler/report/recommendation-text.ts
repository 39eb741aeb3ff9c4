// Terminal rendering of a Recommendation: the settings with their reasons, the worst case
// against the budget, warnings, the replay's prediction, and the alternatives table.
import Table from "cli-table3";
import type { Alternative, Prediction, Recommendation, RecommendedSettings, SettingName } from "../recommend/model";
import { escapeControl } from "./escape";

/** The settings in the order a reader decides them, with the words the servers use. */
const ROWS: Array<[SettingName, string, (s: RecommendedSettings) => string]> = [
  ["workers", "workers", (s) => String(s.workers)],
  ["threads", "threads", (s) => String(s.threads)],
  ["maxRequests", "max-requests", (s) => (s.maxRequests > 0 ? String(s.maxRequests) : "never")],
  ["maxRequestsJitter", "max-requests jitter", (s) => String(s.maxRequestsJitter)],
  ["reloadOnRssMiB", "reload-on-rss", (s) => (s.reloadOnRssMiB > 0 ? `${s.reloadOnRssMiB} MiB` : "off")],
  ["timeoutSec", "timeout", (s) => `${s.timeoutSec} s`],
  ["stackKiB", "thread stack size", (s) => `${s.stackKiB} KiB`],
  ["preload", "preload", (s) => (s.preload ? "yes" : "no")],
  ["dbPoolSize", "db pool_size", (s) => String(s.dbPoolSize)],
  ["dbMaxOverflow", "db max_overflow", (s) => String(s.dbMaxOverflow)],
  ["memoryHighMiB", "MemoryHigh", (s) => `${s.memoryHighMiB} MiB`],
  ["memoryMaxMiB", "MemoryMax", (s) => `${s.memoryMaxMiB} MiB`],
];

const mib = (value: number): string => `${value.toFixed(1)} MiB`;
const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;

function predictionWords(p: Prediction): string {
  return `peak ${mib(p.peakTotalMiB)} RSS (${mib(p.peakTotalUssMiB)} USS), ${p.recyclesPer1000} recycles per 1000 requests, ` +
    `${percent(p.waitedShare)} of requests waited for a worker` +
    (p.rejected > 0 ? `, ${p.rejected} turned away` : "") + (p.timedOut > 0 ? `, ${p.timedOut} timed out` : "");
}

export function formatRecommendation(rec: Recommendation, opts: { width?: number } = {}): string {
  const lines: string[] = [];
  const { source } = rec;
  lines.push(`Recommended settings for ${escapeControl(source.app)} (${escapeControl(source.framework)}), from ${source.requests} requests in ${escapeControl(source.file)}`);
  lines.push(`Budget ${mib(rec.budgetMiB)} (${escapeControl(rec.budgetSource)}); worst case ${mib(rec.worstCaseMiB)}: ${rec.fits ? "fits" : "DOES NOT FIT"}`);
  lines.push("");
  const reasonWidth = Math.max(30, (opts.width ?? 120) - 40);
  const table = new Table({ head: ["setting", "value", "why"], colWidths: [22, 12, reasonWidth], wordWrap: true, style: { head: [], border: [], compact: true } });
  for (const [name, label, value] of ROWS) table.push([label, value(rec.settings), escapeControl(rec.reasons[name] ?? "")]);
  lines.push(table.toString());
  lines.push("");
  lines.push(`Replayed on the recorded traffic: ${predictionWords(rec.predicted)}.`);
  if (rec.warnings.length > 0) {
    lines.push("");
    for (const warning of rec.warnings) lines.push(`warning: ${escapeControl(warning)}`);
  }
  if (rec.alternatives.length > 0) {
    lines.push("", "Alternatives (each replayed on the same traffic):");
    lines.push(alternativesTable(rec.alternatives, rec));
  }
  return `${lines.join("\n")}\n`;
}

function alternativesTable(alternatives: Alternative[], rec: Recommendation): string {
  const table = new Table({
    head: ["change", "peak RSS", "peak USS", "worst case", "recycles/1000", "waited", "fits"],
    colAligns: ["left", "right", "right", "right", "right", "right", "left"],
    style: { head: [], border: [], compact: true },
  });
  table.push(["(recommended)", mib(rec.predicted.peakTotalMiB), mib(rec.predicted.peakTotalUssMiB), mib(rec.worstCaseMiB), String(rec.predicted.recyclesPer1000), percent(rec.predicted.waitedShare), rec.fits ? "yes" : "no"]);
  for (const alt of alternatives) {
    const p = alt.predicted;
    table.push([alt.label, mib(p.peakTotalMiB), mib(p.peakTotalUssMiB), mib(alt.worstCaseMiB), String(p.recyclesPer1000), percent(p.waitedShare), alt.fits ? "yes" : "no"]);
  }
  return table.toString();
}
