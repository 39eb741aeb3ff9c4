// `balloon recommend REPORT|INPUT...`: settings that fit a memory budget, with reasons and
// alternatives (a readable summary), or exported for a server with --format (gunicorn's with
// its request recorder: --record-to).
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { basename, join, resolve } from "node:path";
import { OptionError, positiveOption, toThresholds } from "../options";
import { writeFileAtomic, whyNotReplace } from "../record/output-file";
import { recommend } from "../recommend/recommend";
import { formatRecommendation } from "../report/recommendation-text";
import { EXPORTERS, EXPORT_FORMATS, ExportError, isExportFormat } from "../recommend/exporters";
import type { Report } from "../record/model";
import type { Recommendation } from "../recommend/model";
import { readMeasurements, type Measurements } from "./measurements";

export interface RecommendOptions {
  format?: string;
  /** The WSGI callable for the exported files, when the recording's target is not one (a Django project directory). */
  app?: string;
  bind?: string;
  python?: string;
  memoryBudget?: string;
  out?: string;
  force?: boolean;
  speed?: string;
  concurrency?: string;
  dbMaxConnections?: string;
  threshold?: string[];
  recordTo?: string;
}

/** Without --memory-budget: this share of the machine's (or the container's) memory. */
const DEFAULT_BUDGET_SHARE = 0.75;

/** The memory the app can have: MemTotal, or the cgroup's limit when it is lower (containers). */
export function machineMemory(read: (path: string) => string = (path) => readFileSync(path, "utf8")): { mib: number; words: string } {
  const total = totalmem() / (1024 * 1024);
  try {
    const limit = read("/sys/fs/cgroup/memory.max").trim();
    if (limit !== "max") {
      const mib = Number(limit) / (1024 * 1024);
      if (Number.isFinite(mib) && mib > 0 && mib < total) return { mib, words: `the cgroup's memory.max ${(mib / 1024).toFixed(1)} GiB` };
    }
  } catch {
    // no cgroup v2 limit: the machine's
  }
  return { mib: total, words: `MemTotal ${(total / 1024).toFixed(1)} GiB` };
}

/** "recording.jsonl", or "12 files (DIR)" for several. */
function sourceName(inputs: readonly string[], files: readonly string[]): string {
  if (files.length === 1) return basename(files[0]);
  return `${files.length} files (${inputs.map((input) => basename(input)).join(", ")})`;
}

export interface RecommendFor {
  /** MiB; absent: DEFAULT_BUDGET_SHARE of the machine's (or the container's) memory. */
  budgetMiB?: number;
  speed?: number;
  concurrency?: number;
  dbMaxConnections?: number;
}

/**
 * The recommendation for measured figures (the CLI's, the HTML report's and the language
 * server's): the budget, the CPUs, the source named. With the traffic of several hosts, the
 * settings are one server's: its even share of the traffic is replayed, unless speed or
 * concurrency is given.
 */
export function recommendationFor(measured: Measurements, inputs: readonly string[], options: RecommendFor = {}): Recommendation {
  const memory = machineMemory();
  const budgetMiB = options.budgetMiB ?? Math.floor(memory.mib * DEFAULT_BUDGET_SHARE);
  const budgetSource = options.budgetMiB !== undefined ? "--memory-budget" : `${DEFAULT_BUDGET_SHARE * 100}% of ${memory.words}`;
  const { report, workload, hosts } = measured;
  const share = hosts.length > 1 && options.speed === undefined && options.concurrency === undefined ? hosts.length : 1;
  const speed = share > 1 ? 1 / share : options.speed;
  const rec = recommend({
    report,
    workload,
    budgetMiB,
    budgetSource,
    cpuCount: availableParallelism(),
    targetConcurrency: options.concurrency ?? (share > 1 && workload ? Math.max(1, Math.ceil(workload.concurrencySeen / share)) : undefined),
    dbMaxConnections: options.dbMaxConnections,
    replay: { speed, concurrency: options.concurrency },
    source: {
      app: report.app.target, framework: report.app.framework, python: report.app.python,
      recordedAt: workload?.recordedAt ? new Date(workload.recordedAt).toISOString() : "",
      requests: report.totals.requests, file: sourceName(inputs, measured.files),
    },
  });
  if (share > 1) {
    rec.warnings.push(
      `the traffic comes from ${share} hosts (${hosts.join(", ")}): these settings are for one of them, replaying its even share ` +
        `(--speed ${Number((1 / share).toFixed(3))}, ${rec.measured.concurrencySeen} requests at once over all hosts); give --speed or --concurrency to choose`,
    );
  }
  return rec;
}

export async function recommendCommand(inputs: string[], options: RecommendOptions): Promise<void> {
  const format = options.format ?? "text";
  if (format !== "text" && !isExportFormat(format)) throw new OptionError(`--format must be one of text, ${EXPORT_FORMATS.join(", ")}, got "${format}"`);
  if (options.recordTo !== undefined && format !== "gunicorn") throw new OptionError(`--record-to is for --format gunicorn (its request recorder), not ${format}`);
  const budgetMiB = positiveOption(options.memoryBudget, "--memory-budget", false);
  const speed = positiveOption(options.speed, "--speed", false);
  const concurrency = positiveOption(options.concurrency, "--concurrency", true);
  const dbMaxConnections = positiveOption(options.dbMaxConnections, "--db-max-connections", true);
  const paths = inputs.map((input) => resolve(input));
  const measured = await readMeasurements(paths, toThresholds(options.threshold));
  const { report } = measured;
  const rec = recommendationFor(measured, paths, { budgetMiB, speed, concurrency, dbMaxConnections });
  let text: string;
  if (format === "text") {
    text = formatRecommendation(rec, { width: process.stdout.columns });
  } else {
    try {
      text = EXPORTERS[format](rec, {
        app: options.app ?? wsgiTarget(report),
        appDir: report.app.cwd,
        bind: options.bind ?? "127.0.0.1:8000",
        // A uWSGI log names no interpreter.
        python: options.python ?? (report.app.python || "python3"),
        ...(options.recordTo === undefined ? {} : { recordTo: options.recordTo }),
      }).text;
    } catch (error) {
      if (error instanceof ExportError) throw new OptionError(`--format ${format}: ${error.message}`);
      throw error;
    }
  }
  if (!options.out) {
    process.stdout.write(text);
    return;
  }
  const out = resolve(options.out);
  const problem = options.force ? null : whyNotReplace(out, format === "text" ? "report" : "export");
  if (problem) throw new OptionError(`--out ${problem}`);
  writeFileAtomic(out, text);
  process.stdout.write(`${format === "text" ? "summary" : `${format} settings`} written to ${out}\n`);
}

/**
 * The WSGI callable the servers load: the recording's target when it is one; for a Django
 * project directory, the wsgi module next to the settings manage.py names (Django's layout).
 */
export function wsgiTarget(report: Report): string {
  const target = report.app.target;
  if (target.includes(":")) return target;
  const manage = join(report.app.cwd, "manage.py");
  if (existsSync(manage)) {
    const found = /DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)\.settings['"]/.exec(readFileSync(manage, "utf8"));
    if (found) return `${found[1]}.wsgi:application`;
  }
  throw new OptionError(`the recording's app "${target}" is not module:callable; give the one the server loads with --app (e.g. mysite.wsgi:application)`);
}
