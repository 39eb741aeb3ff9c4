// What every exporter shares: its inputs and output, the header saying what a recommendation
// was measured from, comment text that cannot break out of its comment, the app target and
// bind address parsed once, and the few figures several servers derive the same way. Pure.
import { escapeControl } from "../../report/escape";
import type { Recommendation, RecommendedSettings, SettingName } from "../model";

export interface ExportOptions {
  /** The WSGI callable as "module:callable" (a Django project: "mysite.wsgi:application"). */
  app: string;
  /** The app's directory: put on sys.path, the servers' chdir. */
  appDir: string;
  /** Where the server listens: "HOST:PORT" or "unix:PATH". */
  bind: string;
  /** The interpreter that runs the server (command lines, the flup launcher's #! line). */
  python: string;
  /** gunicorn only: the directory its request recorder writes to (`--record-to`); absent, no recorder. */
  recordTo?: string;
}

export interface ExportedFile {
  fileName: string;
  text: string;
}

export type Exporter = (recommendation: Recommendation, options: ExportOptions) => ExportedFile;

/** An option the exporters cannot turn into a valid file (a bad target or bind address). */
export class ExportError extends Error {}

// ---- inputs ----

const DOTTED_NAME = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/;

export interface AppTarget {
  module: string;
  callable: string;
}

/** "pkg.module:callable" → its parts; only plain dotted names, so they are safe in every file format. */
export function parseAppTarget(app: string): AppTarget {
  const [module, callable, extra] = app.split(":");
  if (extra !== undefined || !module || !callable || !DOTTED_NAME.test(module) || !/^[A-Za-z_]\w*$/.test(callable)) {
    throw new ExportError(`the app must be "module:callable" with plain Python names, got "${escapeControl(app)}"`);
  }
  return { module, callable };
}

export type BindAddress = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

/** "127.0.0.1:8000", "[::1]:8000" or "unix:/run/app.sock". */
export function parseBind(bind: string): BindAddress {
  if (bind.startsWith("unix:")) {
    const path = bind.slice("unix:".length);
    if (!path.startsWith("/")) throw new ExportError(`a unix bind address needs an absolute path, got "${escapeControl(bind)}"`);
    return { kind: "unix", path: plainText(path, "bind address") };
  }
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(bind);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) throw new ExportError(`the bind address must be HOST:PORT or unix:PATH, got "${escapeControl(bind)}"`);
  return { kind: "tcp", host: match[1].replace(/^\[|\]$/g, ""), port };
}

/** Paths and names written as values (not comments) must hold no control characters: a newline would start a new directive. */
export function plainText(value: string, what: string): string {
  if (escapeControl(value) !== value) throw new ExportError(`the ${what} holds control characters: "${escapeControl(value)}"`);
  return value;
}

// ---- comments ----

const COMMENT_WIDTH = 100;

/** One comment's text on one line: control characters (a newline would end the comment) escaped. */
function commentSafe(text: string): string {
  return escapeControl(text).trim();
}

/** Text as comment lines with `marker` ("#", ";"), wrapped at word boundaries near COMMENT_WIDTH columns. */
export function comment(text: string, marker = "#", indent = ""): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of commentSafe(text).split(/\s+/)) {
    if (line && indent.length + marker.length + 1 + line.length + 1 + word.length > COMMENT_WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.map((text) => `${indent}${marker} ${text}`);
}

/** The reason for a setting as comment lines (none when the recommendation gives none). */
export function reasonComment(recommendation: Recommendation, setting: SettingName, marker = "#", indent = ""): string[] {
  const reason = recommendation.reasons[setting];
  return reason ? comment(reason, marker, indent) : [];
}

function mib(value: number): string {
  return `${Math.round(value)} MiB`;
}

/** What the recommendation was measured from and what it predicts: the first lines of every file. */
export function headerLines(recommendation: Recommendation): string[] {
  const { source, predicted } = recommendation;
  const fit = recommendation.fits ? "fits" : "DOES NOT FIT";
  return [
    `Balloon recommendation for ${source.app} (${source.framework}, Python ${source.python}),`,
    `measured from ${source.file}: ${source.requests} requests recorded ${source.recordedAt}.`,
    `Memory budget ${mib(recommendation.budgetMiB)} (${recommendation.budgetSource}); worst case ${mib(recommendation.worstCaseMiB)}: ${fit}.`,
    `Replay of the recorded traffic: peak ${mib(predicted.peakTotalMiB)} RSS (${mib(predicted.peakTotalUssMiB)} USS), ` +
      `${Number(predicted.recyclesPer1000.toFixed(1))} recycles per 1000 requests, ${Math.round(predicted.waitedShare * 100)}% of requests waited for a worker.`,
    ...recommendation.warnings.map((warning) => `Warning: ${warning}`),
  ];
}

/** The header as comment lines, one wrapped comment per header line. */
export function headerComment(recommendation: Recommendation, marker = "#"): string[] {
  return headerLines(recommendation).flatMap((line) => comment(line, marker));
}

/** The app's own settings (no server has them): SQLAlchemy's pool, as lines to paste, with the reasons. */
export function appSettingsComment(recommendation: Recommendation, marker = "#"): string[] {
  const { dbPoolSize, dbMaxOverflow } = recommendation.settings;
  if (dbPoolSize <= 0 && !recommendation.reasons.dbPoolSize) return [];
  return [
    ...comment("The app's own settings (no server setting holds them): its database pool per worker process,", marker),
    ...comment(`SQLAlchemy: create_engine(url, pool_size=${dbPoolSize}, max_overflow=${dbMaxOverflow})`, marker),
    ...reasonComment(recommendation, "dbPoolSize", marker),
    ...reasonComment(recommendation, "dbMaxOverflow", marker),
  ];
}

// ---- derived figures ----

/** Memory limits round down to whole MiB (recycle no later than recommended), timeouts up (never cut a request sooner). */
export const wholeMiB = (value: number): number => Math.max(0, Math.floor(value));
export const wholeSeconds = (value: number): number => Math.max(0, Math.ceil(value));

export interface PoolShape {
  dynamic: boolean;
  /** Most worker processes at once: `workers` (a fixed pool's size, a dynamic pool's ceiling). */
  maxWorkers: number;
  /** Idle workers kept at least / at most; a fixed pool keeps all of them. */
  minSpare: number;
  maxSpare: number;
  /** Workers started first: a dynamic pool starts with its minimum spares (at least 1), as Balloon's supervisor does. */
  initial: number;
}

export function poolShape(settings: RecommendedSettings): PoolShape {
  const maxWorkers = Math.max(1, settings.workers);
  if (settings.minSpare === null || settings.maxSpare === null) {
    return { dynamic: false, maxWorkers, minSpare: maxWorkers, maxSpare: maxWorkers, initial: maxWorkers };
  }
  const minSpare = Math.min(maxWorkers, Math.max(0, settings.minSpare));
  const maxSpare = Math.min(maxWorkers, Math.max(minSpare, settings.maxSpare, 1));
  return { dynamic: true, maxWorkers, minSpare, maxSpare, initial: Math.min(maxWorkers, Math.max(1, minSpare)) };
}

/**
 * A hard RSS ceiling above the recycle limit, for servers that can kill a worker mid-request
 * (uWSGI's evil-reload-on-rss): a worker just under the limit that then serves the biggest
 * request measured stays under it; 10% more leaves room for noise. 0 when recycling by RSS is off.
 */
export function hardRssCeilingMiB(recommendation: Recommendation): number {
  const limit = recommendation.settings.reloadOnRssMiB;
  if (limit <= 0) return 0;
  return Math.ceil((limit + Math.max(0, recommendation.measured.biggestPeakMiB)) * 1.1);
}

export function hardRssCeilingReason(recommendation: Recommendation): string {
  const { measured, settings } = recommendation;
  const route = measured.biggestPeakRoute ? ` (${measured.biggestPeakRoute})` : "";
  return `hard ceiling: the ${wholeMiB(settings.reloadOnRssMiB)} MiB recycle limit plus the biggest request measured, ${mib(measured.biggestPeakMiB)}${route}, plus 10%; above it the worker is killed even mid-request.`;
}

/** Groups of lines (a setting with its reason) with a blank line between them; empty groups dropped. */
export function spaced(groups: string[][]): string[] {
  return groups.filter((group) => group.length > 0).flatMap((group, index) => (index === 0 ? group : ["", ...group]));
}

/** Lines joined into a file's text, ending with one newline. */
export function fileText(lines: string[]): string {
  return `${lines.join("\n").replace(/\n+$/, "")}\n`;
}
