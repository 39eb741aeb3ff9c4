// How a recommendation reads in the panel: each setting's name and value, the what-if rows, and
// the budget the user types. Pure.
import type { ExportFormat } from "../profiler/protocol";
import { formatCount, formatMiB, formatShare } from "./format";
import type { Alternative, Prediction, Recommendation, RecommendedSettings, SettingName } from "./model";

interface SettingRow {
  readonly name: SettingName;
  readonly title: string;
  readonly value: (settings: RecommendedSettings) => string | null;
}

const off = (n: number, text: string) => (n === 0 ? "off" : text);
const spare = (n: number | null) => (n === null ? null : String(n));

/** In the order a reader decides them: pool, recycling, limits, the rest. null: not shown for this pool. */
export const SETTING_ROWS: readonly SettingRow[] = [
  { name: "workers", title: "Workers", value: (s) => String(s.workers) },
  { name: "minSpare", title: "Min spare", value: (s) => spare(s.minSpare) },
  { name: "maxSpare", title: "Max spare", value: (s) => spare(s.maxSpare) },
  { name: "threads", title: "Threads", value: (s) => String(s.threads) },
  { name: "maxRequests", title: "Max requests", value: (s) => off(s.maxRequests, formatCount(s.maxRequests)) },
  { name: "maxRequestsJitter", title: "Jitter", value: (s) => (s.maxRequests === 0 ? null : formatCount(s.maxRequestsJitter)) },
  { name: "reloadOnRssMiB", title: "Reload on RSS", value: (s) => off(s.reloadOnRssMiB, formatMiB(s.reloadOnRssMiB)) },
  { name: "timeoutSec", title: "Timeout", value: (s) => `${s.timeoutSec} s` },
  { name: "stackKiB", title: "Thread stack", value: (s) => `${formatCount(s.stackKiB)} KiB` },
  { name: "preload", title: "Preload", value: (s) => (s.preload ? "yes" : "no") },
  { name: "dbPoolSize", title: "DB pool size", value: (s) => String(s.dbPoolSize) },
  { name: "dbMaxOverflow", title: "DB max overflow", value: (s) => String(s.dbMaxOverflow) },
  { name: "memoryHighMiB", title: "MemoryHigh", value: (s) => formatMiB(s.memoryHighMiB) },
  { name: "memoryMaxMiB", title: "MemoryMax", value: (s) => formatMiB(s.memoryMaxMiB) },
];

export interface SettingLine {
  name: SettingName;
  title: string;
  value: string;
  reason: string;
}

/** The settings table's rows: every setting this pool has, with its reason ("" when none given). */
export function settingLines(recommendation: Recommendation): SettingLine[] {
  return SETTING_ROWS.flatMap((row) => {
    const value = row.value(recommendation.settings);
    return value === null ? [] : [{ name: row.name, title: row.title, value, reason: recommendation.reasons[row.name] ?? "" }];
  });
}

export interface WhatIfRow {
  label: string;
  recommended: boolean;
  fits: boolean;
  cells: string[];
}

export const WHAT_IF_COLUMNS = ["Settings", "Workers", "Max requests", "Reload on RSS", "Peak RSS", "Peak USS", "Worst case", "Recycles /1000", "Waited", "503 / 504", "Fits"];

const predictionCells = (p: Prediction, worstCaseMiB: number) => [formatMiB(p.peakTotalMiB), formatMiB(p.peakTotalUssMiB), formatMiB(worstCaseMiB), p.recyclesPer1000.toFixed(1), formatShare(p.waitedShare), `${p.rejected} / ${p.timedOut}`];

function whatIfRow(label: string, settings: RecommendedSettings, predicted: Prediction, worstCaseMiB: number, fits: boolean, recommended: boolean): WhatIfRow {
  return {
    label,
    recommended,
    fits,
    cells: [label, String(settings.workers), off(settings.maxRequests, formatCount(settings.maxRequests)), off(settings.reloadOnRssMiB, formatMiB(settings.reloadOnRssMiB)), ...predictionCells(predicted, worstCaseMiB), fits ? "yes" : "no"],
  };
}

/** The recommendation first, then each alternative, as the replay predicted them. */
export function whatIfRows(recommendation: Recommendation): WhatIfRow[] {
  return [
    whatIfRow("recommended", recommendation.settings, recommendation.predicted, recommendation.worstCaseMiB, recommendation.fits, true),
    ...recommendation.alternatives.map((alternative: Alternative) => whatIfRow(alternative.label, alternative.settings, alternative.predicted, alternative.worstCaseMiB, alternative.fits, false)),
  ];
}

/** One line on the recommendation as a whole. */
export function summaryWords(recommendation: Recommendation): string {
  const budget = `${formatMiB(recommendation.budgetMiB)} (${recommendation.budgetSource})`;
  return recommendation.fits ? `Fits the budget of ${budget}` : `Does not fit the budget of ${budget}`;
}

export function predictionWords(recommendation: Recommendation): string {
  const p = recommendation.predicted;
  return [
    `replay peak ${formatMiB(p.peakTotalMiB)} RSS, ${formatMiB(p.peakTotalUssMiB)} USS`,
    `worst case ${formatMiB(recommendation.worstCaseMiB)}`,
    `${p.recyclesPer1000.toFixed(1)} recycles per 1000 requests`,
    `${formatShare(p.waitedShare)} waited for a worker`,
    `over ${formatCount(p.requests)} recorded requests`,
  ].join(" · ");
}

export type BudgetInput = { ok: true; budgetMiB: number | null } | { ok: false; error: string };

/** The budget field: empty asks for the engine's default, else a positive number of MiB ("768" or "768 MiB"). */
export function parseBudget(text: string): BudgetInput {
  const trimmed = text.trim().replace(/\s*MiB$/i, "");
  if (trimmed === "") return { ok: true, budgetMiB: null };
  const value = Number(trimmed);
  if (!Number.isFinite(value) || value <= 0) return { ok: false, error: "The budget is a number of MiB above 0 (empty: the engine's default)." };
  return { ok: true, budgetMiB: value };
}

export const EXPORT_FORMATS: readonly { format: ExportFormat; label: string }[] = [
  { format: "gunicorn", label: "gunicorn" },
  { format: "uwsgi", label: "uWSGI" },
  { format: "mod_wsgi", label: "mod_wsgi" },
  { format: "apache", label: "Apache MPM" },
  { format: "flup", label: "flup" },
  { format: "systemd", label: "systemd" },
  { format: "kubernetes", label: "Kubernetes" },
  { format: "json", label: "JSON" },
];
