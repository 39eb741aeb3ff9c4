// The report as JSON: keys sorted at every level so two reports diff line by line, and the
// characters JSON leaves raw that a terminal acts on (C1, bidi) written as \u escapes.
import { REPORT_VERSION, type Report } from "../record/model";
import { escapeJsonText } from "./escape";

/** The same value with object keys sorted at every level (stable, diffable JSON). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([key, inner]) => [key, sortKeys(inner)]));
  }
  return value;
}

export function toReportJson(report: Report): string {
  return escapeJsonText(JSON.stringify(sortKeys(report), null, 2)) + "\n";
}

const REQUIRED: Array<[keyof Report, "object" | "array" | "number"]> = [
  ["app", "object"], ["settings", "object"], ["thresholds", "object"], ["limits", "object"],
  ["routes", "array"], ["workers", "array"], ["totals", "object"], ["warnings", "array"], ["approximations", "array"],
];

/** Reads a report written by toReportJson; throws on bad JSON, another version, or a missing part. */
export function parseReport(text: string): Report {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`not a balloon report: invalid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not a balloon report: not a JSON object");
  const fields = value as Record<string, unknown>;
  if (fields.version !== REPORT_VERSION) {
    throw new Error(`balloon report version ${JSON.stringify(fields.version)}; this balloon reads version ${REPORT_VERSION}`);
  }
  for (const [name, kind] of REQUIRED) {
    const field = fields[name];
    const ok = kind === "array" ? Array.isArray(field) : typeof field === "object" && field !== null && !Array.isArray(field);
    if (!ok) throw new Error(`not a balloon report: "${name}" is missing or not an ${kind}`);
  }
  return value as Report;
}
