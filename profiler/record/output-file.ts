// Files Balloon writes where the user said (--record, --report): never over a file that is
// not one of ours, and reports written whole or not at all. A file is ours by its content:
// a recording's first line is a start record, a report is a JSON object with a version and
// routes. Running the same command twice is normal, so our own files are replaced.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/** recording, report, export (a file `balloon recommend --out` wrote: a server config, its JSON, its summary), or html (`balloon report --html`). */
export type OutputKind = "recording" | "report" | "export" | "html";

/** Enough for any start line (~1 KiB) and then some. */
const RECORDING_HEAD_BYTES = 64 * 1024;
/** Reports are kilobytes; a bigger "report" is read no further, it is not ours. */
const MAX_REPORT_BYTES = 64 * 1024 * 1024;

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

function readHead(path: string, bytes: number): string {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    const length = readSync(fd, buffer, 0, bytes, 0);
    return buffer.toString("utf8", 0, length);
  } finally {
    closeSync(fd);
  }
}

function parsesAs(text: string, test: (value: Record<string, unknown>) => boolean): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) && test(value as Record<string, unknown>);
  } catch {
    return false;
  }
}

const isRecordingStart = (line: Record<string, unknown>): boolean => line.type === "start" && typeof line.version === "number";
const isReport = (report: Record<string, unknown>): boolean => typeof report.version === "number" && Array.isArray(report.routes);

/** What every exported file says near its top: the header comment, the summary's title, or the JSON's fields. */
const EXPORT_MARKS = [/Balloon recommendation for /, /^Recommended settings for /m];
const isRecommendation = (value: Record<string, unknown>): boolean => typeof value.version === "number" && typeof value.settings === "object" && typeof value.budgetMiB === "number";

/** The first line of every HTML report (profiler/report/html.ts): what tells ours from other HTML. */
export const HTML_REPORT_MARK = "<!-- Balloon report";

function isOurs(path: string, stat: Stats, kind: OutputKind): boolean {
  if (kind === "html") return readHead(path, HTML_REPORT_MARK.length) === HTML_REPORT_MARK;
  if (kind === "export") {
    const head = readHead(path, 4096);
    return EXPORT_MARKS.some((mark) => mark.test(head.split("\n").slice(0, 4).join("\n")))
      || (stat.size <= MAX_REPORT_BYTES && parsesAs(readHead(path, stat.size), isRecommendation));
  }
  if (kind === "recording") {
    const head = readHead(path, RECORDING_HEAD_BYTES);
    const newline = head.indexOf("\n");
    return newline !== -1 && parsesAs(head.slice(0, newline), isRecordingStart);
  }
  return stat.size <= MAX_REPORT_BYTES && parsesAs(readHead(path, stat.size), isReport);
}

/**
 * Why `path` must not be replaced by a new `kind`, or null when it may: it does not exist,
 * is empty, or is a Balloon file of that kind. A file that cannot be read is not replaced either.
 */
export function whyNotReplace(path: string, kind: OutputKind): string | null {
  const stat = statOrNull(path);
  if (stat === null) return null;
  if (stat.isDirectory()) return `${path} is a directory`;
  if (!stat.isFile()) return `${path} exists and is not a regular file`;
  if (stat.size === 0) return null;
  try {
    if (isOurs(path, stat, kind)) return null;
  } catch (error) {
    return `${path} exists and cannot be read (${(error as Error).message}); not replacing it (--force to replace it anyway)`;
  }
  const what = kind === "recording" ? "a Balloon recording (its first line is not a start record)"
    : kind === "report" ? "a Balloon report (not a JSON report with a version)"
    : kind === "html" ? "an HTML report Balloon wrote (its first line is not Balloon's)"
    : "a file balloon recommend wrote (no Balloon header at its top)";
  return `${path} exists and is not ${what}; not replacing it (--force to replace it anyway)`;
}

/** Of the options that name files ([option, path]), two that name the same file (also through a link), or null. */
export function sameFileProblem(files: Array<[string, string | undefined]>): string | null {
  const named = files.filter((entry): entry is [string, string] => typeof entry[1] === "string");
  const identity = (path: string): string => {
    const stat = statOrNull(path);
    return stat ? `${stat.dev}:${stat.ino}` : resolve(path);
  };
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      if (identity(named[i][1]) === identity(named[j][1])) return `${named[i][0]} and ${named[j][0]} name the same file (${resolve(named[j][1])})`;
    }
  }
  return null;
}

/**
 * Writes `text` to `path` so that a crash leaves the old file or the new one, never half of
 * one: a temporary file in the same directory (same filesystem), fsync, rename over. A link
 * at `path` is written through (its target is replaced), as an ordinary write would.
 */
export function writeFileAtomic(path: string, text: string): void {
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    // a new file
  }
  const dir = dirname(target);
  const temporary = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const bytes = Buffer.from(text, "utf8");
  const fd = openSync(temporary, "wx", 0o666);
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, target);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    unlinkSync(temporary);
    throw error;
  }
  // The rename itself reaches the disk with the directory.
  try {
    const dirFd = openSync(dir, "r");
    fsyncSync(dirFd);
    closeSync(dirFd);
  } catch {
    // not every filesystem lets a directory be fsynced
  }
}
