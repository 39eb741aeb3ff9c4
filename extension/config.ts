// The extension's settings ("balloon.*"), read once per use through a getter and checked here
// with messages that name the setting, what it takes and what it got. package.json declares
// the same names, types and bounds (a unit test holds them together). Pure: the getter is
// injected (vscode.workspace.getConfiguration("balloon").get in the extension, a table in tests).
import type { ExportFormat, RunSettings } from "../profiler/protocol";

export const SECTION = "balloon";

export type SeverityName = "error" | "warning" | "information" | "hint";
export const SEVERITIES: readonly SeverityName[] = ["error", "warning", "information", "hint"];

export const EXPORT_FORMATS: readonly ExportFormat[] = ["gunicorn", "uwsgi", "mod_wsgi", "apache", "flup", "systemd", "kubernetes", "json"];

type NumberKey = Exclude<keyof RunSettings, "preload">;

export interface NumberSetting<Key extends string = NumberKey> {
  key: Key;
  minimum: number;
  maximum: number;
  integer: boolean;
  default: number;
  /** Values below `minimum` that are allowed anyway, with what they mean (stackKiB 0: leave alone). */
  alsoAllowed?: { value: number; meaning: string };
}

/** Every numeric supervisor setting, with the engine's bounds (profiler/options.ts). */
export const NUMBER_SETTINGS: readonly NumberSetting[] = [
  { key: "workers", minimum: 1, maximum: 256, integer: true, default: 2 },
  { key: "threads", minimum: 1, maximum: 256, integer: true, default: 1 },
  { key: "maxRequests", minimum: 0, maximum: 1e9, integer: true, default: 0 },
  { key: "maxRequestsJitter", minimum: 0, maximum: 1e9, integer: true, default: 0 },
  { key: "reloadOnRssMiB", minimum: 0, maximum: 1e7, integer: true, default: 0 },
  { key: "memoryBudgetMiB", minimum: 0, maximum: 1e7, integer: true, default: 0 },
  // CPython crashes at import under 64 KiB; 0 leaves the stack size alone.
  { key: "stackKiB", minimum: 64, maximum: 1_048_576, integer: true, default: 512, alsoAllowed: { value: 0, meaning: "leave it alone" } },
  { key: "timeoutSec", minimum: 0, maximum: 86_400, integer: false, default: 30 },
  { key: "port", minimum: 0, maximum: 65_535, integer: true, default: 0 },
];

export type DeepDiveKey = "calls" | "frames";

/**
 * balloon.deepDive.*: what a dive asks the engine for (its own bounds are wider: 1000 calls,
 * 65535 frames); a call under tracemalloc is 6–70× slower, so the editor keeps them small.
 */
export const DEEP_DIVE_SETTINGS: readonly NumberSetting<DeepDiveKey>[] = [
  { key: "calls", minimum: 1, maximum: 100, integer: true, default: 5 },
  { key: "frames", minimum: 1, maximum: 200, integer: true, default: 40 },
];

export interface BalloonConfig {
  /** module:callable or a Django project directory; "" to detect. */
  app: string;
  /** "" when unset. */
  pythonPath: string;
  run: RunSettings;
  severity: SeverityName;
  keepResultsAfterStop: boolean;
  deepDive: Record<DeepDiveKey, number>;
}

export interface ConfigReading {
  config: BalloonConfig;
  /** One sentence per bad setting; the config then holds the defaults in their place. */
  errors: string[];
}

export type SettingGetter = (key: string) => unknown;

/** The setting's value, or its default when unset or bad (and then why, into errors). */
function numberOf<Key extends string>(get: SettingGetter, prefix: string, setting: NumberSetting<Key>, errors: string[]): number {
  const value = get(`${prefix}${setting.key}`);
  if (value === undefined || value === null) return setting.default;
  const problem = numberProblem(`${prefix}${setting.key}`, setting, value);
  if (!problem) return value as number;
  errors.push(problem);
  return setting.default;
}

function numberProblem(name: string, setting: NumberSetting<string>, value: unknown): string | null {
  const bounds = `from ${setting.minimum} to ${setting.maximum}`;
  const also = setting.alsoAllowed ? ` (or ${setting.alsoAllowed.value} to ${setting.alsoAllowed.meaning})` : "";
  const wanted = `${setting.integer ? "a whole number" : "a number"} ${bounds}${also}`;
  if (typeof value !== "number" || !Number.isFinite(value)) return `${SECTION}.${name} must be ${wanted}, got ${JSON.stringify(value)}`;
  if (setting.alsoAllowed?.value === value) return null;
  if ((setting.integer && !Number.isInteger(value)) || value < setting.minimum || value > setting.maximum) {
    return `${SECTION}.${name} must be ${wanted}, got ${value}`;
  }
  return null;
}

function text(get: SettingGetter, key: string, errors: string[]): string {
  const value = get(key);
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  errors.push(`${SECTION}.${key} must be a string, got ${JSON.stringify(value)}`);
  return "";
}

function flag(get: SettingGetter, key: string, fallback: boolean, errors: string[]): boolean {
  const value = get(key);
  if (value === undefined || value === null) return fallback;
  if (typeof value === "boolean") return value;
  errors.push(`${SECTION}.${key} must be true or false, got ${JSON.stringify(value)}`);
  return fallback;
}

export function readConfig(get: SettingGetter): ConfigReading {
  const errors: string[] = [];
  const run: RunSettings = {};
  for (const setting of NUMBER_SETTINGS) run[setting.key] = numberOf(get, "", setting, errors);
  const deepDive = { calls: 0, frames: 0 };
  for (const setting of DEEP_DIVE_SETTINGS) deepDive[setting.key] = numberOf(get, "deepDive.", setting, errors);
  run.preload = flag(get, "preload", false, errors);
  const severityValue = get("diagnostics.severity") ?? "warning";
  let severity: SeverityName = "warning";
  if (typeof severityValue === "string" && (SEVERITIES as readonly string[]).includes(severityValue)) severity = severityValue as SeverityName;
  else errors.push(`${SECTION}.diagnostics.severity must be one of ${SEVERITIES.join(", ")}, got ${JSON.stringify(severityValue)}`);
  return {
    config: {
      app: text(get, "app", errors).trim(),
      pythonPath: text(get, "pythonPath", errors).trim(),
      run,
      severity,
      keepResultsAfterStop: flag(get, "keepResultsAfterStop", true, errors),
      deepDive,
    },
    errors,
  };
}
