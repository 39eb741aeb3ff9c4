// The Recommendation itself as JSON: the contract the editor, `balloon run --settings` and the
// tests read. Keys come in the model's order whatever order the object was built in (fields
// the model does not name follow, sorted), so two exports of the same recommendation are the
// same bytes and diff cleanly. JSON has no comments: `source` and `budgetMiB` say what it was
// measured from.
import type { Alternative, Prediction, Recommendation, RecommendedSettings } from "../model";
import { escapeJsonText } from "../../report/escape";
import type { ExportOptions, ExportedFile } from "./common";

type Keys<T> = ReadonlyArray<keyof T & string>;

const SETTINGS_KEYS: Keys<RecommendedSettings> = [
  "workers", "minSpare", "maxSpare", "threads", "maxRequests", "maxRequestsJitter", "reloadOnRssMiB",
  "timeoutSec", "stackKiB", "preload", "dbPoolSize", "dbMaxOverflow", "memoryHighMiB", "memoryMaxMiB",
];
const PREDICTION_KEYS: Keys<Prediction> = ["peakTotalMiB", "peakTotalUssMiB", "recyclesPer1000", "waitedShare", "rejected", "timedOut", "requests"];
const SOURCE_KEYS: Keys<Recommendation["source"]> = ["app", "framework", "python", "recordedAt", "requests", "file"];
const MEASURED_KEYS: Keys<Recommendation["measured"]> = [
  "baselineRssMiB", "baselineUssMiB", "keptMiB", "biggestPeakMiB", "biggestPeakRoute", "leakMiBPerRequest", "concurrencySeen", "cpuCount", "p99DurationMs",
];
const ALTERNATIVE_KEYS: Keys<Alternative> = ["label", "settings", "predicted", "fits"];
const RECOMMENDATION_KEYS: Keys<Recommendation> = [
  "version", "source", "budgetMiB", "budgetSource", "worstCaseMiB", "fits", "settings", "reasons", "predicted", "alternatives", "warnings", "measured",
];

type Plain = Record<string, unknown>;

/** The object with `order`'s keys first, then any others sorted; `nested` reorders values by key. */
function ordered(value: object, order: readonly string[], nested: Record<string, (inner: unknown) => unknown> = {}): Plain {
  const source = value as Plain;
  const keys = [...order.filter((key) => key in source), ...Object.keys(source).filter((key) => !order.includes(key)).sort()];
  return Object.fromEntries(keys.map((key) => [key, nested[key] ? nested[key](source[key]) : source[key]]));
}

const settings = (value: unknown): unknown => ordered(value as object, SETTINGS_KEYS);
const prediction = (value: unknown): unknown => ordered(value as object, PREDICTION_KEYS);

export function stableRecommendation(recommendation: Recommendation): Plain {
  return ordered(recommendation, RECOMMENDATION_KEYS, {
    source: (value) => ordered(value as object, SOURCE_KEYS),
    settings,
    reasons: (value) => ordered(value as object, SETTINGS_KEYS),
    predicted: prediction,
    alternatives: (value) => (value as Alternative[]).map((alternative) => ordered(alternative, ALTERNATIVE_KEYS, { settings, predicted: prediction })),
    measured: (value) => ordered(value as object, MEASURED_KEYS),
  });
}

export function exportJson(recommendation: Recommendation, _options: ExportOptions): ExportedFile {
  return { fileName: "recommendation.json", text: `${escapeJsonText(JSON.stringify(stableRecommendation(recommendation), null, 2))}\n` };
}
