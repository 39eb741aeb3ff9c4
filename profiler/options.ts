// Command-line values → validated Settings. Pure: every check says which option is wrong.
import { RECOMMENDATION_VERSION, type RecommendedSettings } from "./recommend/model";
import type { Settings, Thresholds } from "./record/model";
import { MAX_FRAME_BYTES } from "./supervisor/wire";
import type { FrameworkName } from "./supervisor/shim-protocol";

export class OptionError extends Error {}

/** Request bodies reach a worker in one frame of at most MAX_FRAME_BYTES, head included. */
export const MAX_BODY_MIB = MAX_FRAME_BYTES / (1024 * 1024) - 1;

/** What commander hands over (strings, as typed; undefined when absent). */
export interface RawPoolOptions {
  workers?: string;
  minSpare?: string;
  maxSpare?: string;
  maxWorkers?: string;
  threads?: string;
  maxRequests?: string;
  maxRequestsJitter?: string;
  reloadOnRss?: string;
  memoryBudget?: string;
  timeout?: string;
  bootTimeout?: string;
  stackSize?: string;
  preload?: boolean;
  accounting?: boolean;
  queue?: string;
  maxBody?: string;
  headerTimeout?: string;
  pssInterval?: string;
}

export const DEFAULTS = {
  workers: 2,
  minSpare: 1,
  maxSpare: 3,
  maxWorkers: 8,
  threads: 1,
  timeoutSec: 30,
  /**
   * Long enough for a heavy Django or ML app on a cold disk (imports of 10–30 s are seen),
   * short enough that a hung import (a database or network call at import time) is named
   * within a minute rather than leaving `run` "starting" for ever.
   */
  bootTimeoutSec: 60,
  stackKiB: 512,
  /** gunicorn's listen backlog: a 256-connection load test fits 8 times over (128 turned away 98% of wrk -c256). */
  queueSize: 2048,
  maxBodyMiB: 10,
  /**
   * Loopback clients send a request head in well under a millisecond; 10 s still lets a
   * person type one by hand in telnet, and frees a slow-loris socket 6 times sooner than
   * Node's 60 s default.
   */
  headerTimeoutSec: 10,
  pssIntervalSec: 1,
} as const;

function number(raw: string | undefined, option: string, fallback: number, min: number, max: number, integer = true): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new OptionError(`${option} needs ${integer ? "a whole number" : "a number"}, got "${raw}"`);
  }
  if (value < min || value > max) throw new OptionError(`${option} must be between ${min} and ${max}, got ${raw}`);
  return value;
}

/** An option that must be above 0 (absent: undefined). */
export function positiveOption(raw: string | undefined, option: string, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new OptionError(`${option} needs ${integer ? "a whole number" : "a number"} above 0, got "${raw}"`);
  }
  return value;
}

export function toSettings(raw: RawPoolOptions): Settings {
  const dynamic = raw.minSpare !== undefined || raw.maxSpare !== undefined || raw.maxWorkers !== undefined;
  if (dynamic && raw.workers !== undefined) {
    throw new OptionError("use either --workers N (fixed pool) or --min-spare/--max-spare/--max-workers (dynamic pool), not both");
  }
  const workers = dynamic ? null : number(raw.workers, "--workers", DEFAULTS.workers, 1, 256);
  const maxWorkers = number(raw.maxWorkers, "--max-workers", dynamic ? DEFAULTS.maxWorkers : (workers as number), 1, 256);
  const minSpare = dynamic ? number(raw.minSpare, "--min-spare", Math.min(DEFAULTS.minSpare, maxWorkers), 0, 256) : null;
  const maxSpare = dynamic ? number(raw.maxSpare, "--max-spare", Math.max(minSpare as number, Math.min(DEFAULTS.maxSpare, maxWorkers)), 1, 256) : null;
  if (minSpare !== null && maxSpare !== null && minSpare > maxSpare) {
    throw new OptionError(`--min-spare (${minSpare}) must not exceed --max-spare (${maxSpare})`);
  }
  if (minSpare !== null && minSpare > maxWorkers) throw new OptionError(`--min-spare (${minSpare}) must not exceed --max-workers (${maxWorkers})`);
  return {
    workers,
    minSpare,
    maxSpare,
    maxWorkers,
    threads: number(raw.threads, "--threads", DEFAULTS.threads, 1, 256),
    maxRequests: number(raw.maxRequests, "--max-requests", 0, 0, 1e9),
    maxRequestsJitter: number(raw.maxRequestsJitter, "--max-requests-jitter", 0, 0, 1e9),
    reloadOnRssMiB: number(raw.reloadOnRss, "--reload-on-rss", 0, 0, 1e7),
    memoryBudgetMiB: number(raw.memoryBudget, "--memory-budget", 0, 0, 1e7),
    timeoutSec: number(raw.timeout, "--timeout", DEFAULTS.timeoutSec, 0, 86_400, false),
    bootTimeoutSec: number(raw.bootTimeout, "--boot-timeout", DEFAULTS.bootTimeoutSec, 0, 86_400, false),
    stackKiB: number(raw.stackSize, "--stack-size", DEFAULTS.stackKiB, 0, 1_048_576),
    preload: raw.preload ?? false,
    accounting: raw.accounting ?? true,
    queueSize: number(raw.queue, "--queue", DEFAULTS.queueSize, 0, 1e6),
    // A request travels to its worker as one frame (MAX_FRAME_BYTES, 256 MiB) with its head.
    maxBodyMiB: number(raw.maxBody, "--max-body", DEFAULTS.maxBodyMiB, 0, MAX_BODY_MIB, false),
    headerTimeoutSec: number(raw.headerTimeout, "--header-timeout", DEFAULTS.headerTimeoutSec, 0, 3600, false),
    pssIntervalSec: number(raw.pssInterval, "--pss-interval", DEFAULTS.pssIntervalSec, -1, 86_400, false),
  };
}

type PoolOptionName = Exclude<keyof RawPoolOptions, "preload" | "accounting">;

type SettingsFileField = readonly [field: keyof RecommendedSettings, option: PoolOptionName, flag: string];

/** Where each recommended setting goes: the option it stands for (a dynamic pool's `workers` is its ceiling). */
function settingsFileFields(dynamic: boolean): SettingsFileField[] {
  const pool: SettingsFileField[] = dynamic
    ? [["workers", "maxWorkers", "--max-workers"], ["minSpare", "minSpare", "--min-spare"], ["maxSpare", "maxSpare", "--max-spare"]]
    : [["workers", "workers", "--workers"]];
  return [
    ...pool,
    ["threads", "threads", "--threads"],
    ["maxRequests", "maxRequests", "--max-requests"],
    ["maxRequestsJitter", "maxRequestsJitter", "--max-requests-jitter"],
    ["reloadOnRssMiB", "reloadOnRss", "--reload-on-rss"],
    ["timeoutSec", "timeout", "--timeout"],
    ["stackKiB", "stackSize", "--stack-size"],
  ];
}

/**
 * A recommendation's JSON export (`--settings FILE`) → the pool options it stands for, as if
 * typed; every value checked as its option would be, the error naming the field in the file.
 * The budget, the database pool and the container limits are not the supervisor's settings.
 */
export function settingsFileOptions(text: string, file: string): RawPoolOptions {
  const fail = (why: string): OptionError => new OptionError(`--settings ${file}: ${why}`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw fail(`not JSON (${(error as Error).message})`);
  }
  const record = (value: unknown): Record<string, unknown> | null => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null);
  const top = record(data);
  if (!top || top.version !== RECOMMENDATION_VERSION) {
    throw fail(`expected a recommendation of version ${RECOMMENDATION_VERSION} (balloon recommend --format json), got version ${JSON.stringify(top?.version ?? null)}`);
  }
  const settings = record(top.settings);
  if (!settings) throw fail("no settings object");
  const dynamic = (settings.minSpare ?? null) !== null || (settings.maxSpare ?? null) !== null;
  const fields = settingsFileFields(dynamic);
  const raw: RawPoolOptions = {};
  for (const [field, option] of fields) {
    const value = settings[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== "number") throw fail(`settings.${field} must be a number, got ${JSON.stringify(value)}`);
    raw[option] = String(value);
  }
  if (settings.preload !== undefined) {
    if (typeof settings.preload !== "boolean") throw fail(`settings.preload must be true or false, got ${JSON.stringify(settings.preload)}`);
    raw.preload = settings.preload;
  }
  try {
    checkStack(toSettings(raw));
  } catch (error) {
    if (!(error instanceof OptionError)) throw error;
    // "--workers must be between 1 and 256, got 0" → "settings.workers must be between 1 and 256, got 0"
    throw fail(fields.reduce((message, [field, , flag]) => message.replace(new RegExp(`${flag}(?![\\w-])`, "g"), `settings.${field}`), error.message));
  }
  return raw;
}

/** The file's options under the ones typed: a typed pool shape (--workers, or the spares) replaces the file's. */
export function withSettingsFile<T extends RawPoolOptions>(typed: T, fromFile: RawPoolOptions): T {
  const base: RawPoolOptions = { ...fromFile };
  if (typed.workers !== undefined) [base.minSpare, base.maxSpare, base.maxWorkers] = [undefined, undefined, undefined];
  if (typed.minSpare !== undefined || typed.maxSpare !== undefined || typed.maxWorkers !== undefined) base.workers = undefined;
  const given = Object.fromEntries(Object.entries(typed).filter(([, value]) => value !== undefined));
  return { ...typed, ...base, ...given };
}

const FRAMEWORKS = ["auto", "wsgi", "django", "flask", "pyramid"] as const;

export function toFramework(raw: string | undefined): FrameworkName | "auto" {
  const value = raw ?? "auto";
  if (!(FRAMEWORKS as readonly string[]).includes(value)) {
    throw new OptionError(`--framework must be one of ${FRAMEWORKS.join(", ")}, got "${value}"`);
  }
  return value as FrameworkName | "auto";
}

/** Stack sizes under 64 KiB crash CPython at import; above that the user knows best. */
export function checkStack(settings: Settings): void {
  if (settings.stackKiB !== 0 && settings.stackKiB < 64) {
    throw new OptionError(`--stack-size ${settings.stackKiB} KiB is too small for Python (64 KiB at least, 0 leaves it alone)`);
  }
}

const THRESHOLD_NAMES = ["balloonMiB", "balloonFraction", "inflateMiB", "inflateFraction", "leakMiB", "leakFraction"] as const;

/** `--threshold leakMiB=1 --threshold balloonFraction=0.3` → the overrides, checked. */
export function toThresholds(raw: string[] | undefined): Partial<Thresholds> {
  const overrides: Partial<Thresholds> = {};
  for (const item of raw ?? []) {
    const match = /^(\w+)=(.+)$/.exec(item.trim());
    const name = match?.[1] as (typeof THRESHOLD_NAMES)[number] | undefined;
    if (!match || !name || !THRESHOLD_NAMES.includes(name)) {
      throw new OptionError(`--threshold needs NAME=VALUE with NAME one of ${THRESHOLD_NAMES.join(", ")}, got "${item}"`);
    }
    const value = Number(match[2]);
    const fraction = name.endsWith("Fraction");
    if (!Number.isFinite(value) || value < 0 || (fraction && value > 1)) {
      throw new OptionError(`--threshold ${name} needs ${fraction ? "a fraction from 0 to 1" : "MiB ≥ 0"}, got "${match[2]}"`);
    }
    overrides[name] = value;
  }
  return overrides;
}

/** Commander collector for a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
