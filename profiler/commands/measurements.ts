// What `report`, `recommend` and `check` read: one JSON report, or any number of recordings
// (Balloon's own, the gunicorn recorder's files) and uWSGI logs, files or directories of them,
// each told by its content and streamed line by line into one analysis and, for the replay, one
// workload. The pure parts are record/sources.ts and record/uwsgi-log.ts.
import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { Analyzer } from "../analysis/analyzer";
import type { RecordLine, Report, Thresholds } from "../record/model";
import { readLinesInto, readRecordingInto, type RecordSink } from "../record/reader";
import { SourceMerger, detectFormat, type InputFormat, type InputSink } from "../record/sources";
import { UwsgiLogParser, type UwsgiLogSummary } from "../record/uwsgi-log";
import { WorkloadBuilder, type Workload } from "../recommend/workload";
import { OptionError } from "../options";
import { parseReport } from "../report/json";

export interface Measurements {
  report: Report;
  /** Only from recordings and logs: a report has no per-request stream to replay. */
  workload: Workload | null;
  kind: "recording" | "report";
  /** The files read, directories expanded. */
  files: string[];
  /** Distinct machines the inputs name (gunicorn recorder files, uWSGI logs); see SourceMerger.hosts. */
  hosts: string[];
}

/** Read from a directory: recordings and logs; anything else there is left alone. */
const DIRECTORY_FILES = /\.(jsonl|log)$/;
const HEAD_BYTES = 64 * 1024;

interface Input {
  path: string;
  format: InputFormat;
  /** Found in a directory (not named on the command line): skipped when it is neither format. */
  listed: boolean;
}

function headOf(path: string): string {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    return head.toString("utf8", 0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
}

function expand(paths: readonly string[]): Input[] {
  const inputs: Input[] = [];
  for (const path of paths) {
    let directory: boolean;
    try {
      directory = statSync(path).isDirectory();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`no recording at ${path}`);
      throw new Error(`cannot read ${path}: ${(error as Error).message}`);
    }
    if (!directory) {
      inputs.push({ path, format: detectFormat(headOf(path)), listed: false });
      continue;
    }
    const files = readdirSync(path).filter((name) => DIRECTORY_FILES.test(name)).sort().map((name) => join(path, name));
    if (files.length === 0) throw new OptionError(`no *.jsonl or *.log file in ${path}`);
    for (const file of files) inputs.push({ path: file, format: detectFormat(headOf(file)), listed: true });
  }
  return inputs;
}

/** Names in warnings and the worker table: the file's name, or its path where two share a name. */
function labels(inputs: readonly Input[]): string[] {
  const names = inputs.map((input) => basename(input.path));
  return inputs.map((input, i) => (names.indexOf(names[i]) === names.lastIndexOf(names[i]) ? names[i] : input.path));
}

/** The gunicorn recorder's start and stop lines say what its figures could not hold. */
function watchRecorder(input: InputSink, notes: string[]): RecordSink {
  return {
    add(line: RecordLine): void {
      if (line.type === "start" && line.recorder && !line.recorder.peakReset) {
        notes.push(`${input.label}: /proc/self/clear_refs was not writable on ${line.recorder.host}, so a peak shows only when it set a new high for its worker (a balloon under an earlier high reads as its RSS before and after)`);
      }
      if (line.type === "stop" && (line.hookErrors ?? 0) > 0) input.warn(`the recorder's hooks caught ${line.hookErrors} errors: ${line.reason}`);
      input.add(line);
    },
    warn: (text) => input.warn(text),
  };
}

function uwsgiNotes(label: string, summary: UwsgiLogSummary, warn: (text: string) => void): string[] {
  if (summary.requests > 0 && summary.measured === 0) {
    warn("no memory figures: uWSGI logs them per request with --memory-report");
    return [];
  }
  const notes = [
    `${label}: a uWSGI${summary.version ? ` ${summary.version}` : ""} log (--memory-report): only each request's RSS after is logged, so its RSS before is its worker's previous RSS after ` +
      `and its peak the larger of the two: inflations and leaks show, balloons that give their memory back cannot ` +
      `(${summary.measured} of ${summary.requests} requests have figures; a worker's first request has none)`,
  ];
  if (summary.threadedWorkers > 0) {
    notes.push(`${label}: ${summary.threadedWorkers} worker processes ran threads (uWSGI cores): its log cannot tell which requests overlapped, so their figures count as shared and are left out of the verdicts`);
  }
  return notes;
}

/**
 * Reads `paths` (files or directories) into one report; with `workload`, the traffic to
 * replay too. A JSON report is read as it is, and only alone.
 */
export interface ReadOptions {
  /** false: no workload (a report or a table needs none). */
  workload?: boolean;
  /** Also given every line, in the same pass (a timeline), workers numbered as in the report. */
  also?: (line: RecordLine) => void;
}

export async function readMeasurements(paths: readonly string[], thresholds: Partial<Thresholds> = {}, options: ReadOptions = {}): Promise<Measurements> {
  const inputs = expand(paths);
  const reportInput = inputs.find((input) => input.format === "report");
  if (reportInput) {
    if (inputs.length > 1) throw new OptionError(`${reportInput.path} is a report: it can only be read alone (give the recordings it was made from instead)`);
    return { report: parseReport(readFileSync(reportInput.path, "utf8")), workload: null, kind: "report", files: [reportInput.path], hosts: [] };
  }
  const analysis = new Analyzer(thresholds);
  const workload = options.workload === false ? null : new WorkloadBuilder();
  const merger = new SourceMerger({
    add: (line) => {
      analysis.add(line);
      workload?.add(line);
      options.also?.(line);
    },
    warn: (text) => analysis.warn(text),
  }, inputs.length > 1);
  const notes: string[] = [];
  const names = labels(inputs);
  const files: string[] = [];
  for (const [i, input] of inputs.entries()) {
    if (input.format === "unknown" && input.listed) {
      analysis.warn(`${names[i]}: neither a recording nor a uWSGI log, skipped`);
      continue;
    }
    files.push(input.path);
    const sink = merger.input(names[i]);
    if (input.format === "uwsgi-log") {
      const parser = new UwsgiLogParser(sink);
      await readLinesInto(input.path, parser, { what: "log" });
      const summary = parser.converter.summary();
      sink.host = summary.host;
      notes.push(...uwsgiNotes(names[i], summary, (text) => sink.warn(text)));
    } else {
      await readRecordingInto(input.path, watchRecorder(sink, notes));
    }
  }
  const report = merger.labelWorkers(analysis.report());
  report.approximations.push(...notes);
  return { report, workload: workload?.build() ?? null, kind: "recording", files, hosts: merger.hosts() };
}
