// What `report`, `recommend` and `check` read: a recording (streamed line by line into the
// analysis and, for the replay, the workload) or a JSON report. Told apart by content.
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { Analyzer } from "../analysis/analyzer";
import type { Report, Thresholds } from "../record/model";
import { readRecordingInto } from "../record/reader";
import { WorkloadBuilder, type Workload } from "../recommend/workload";
import { parseReport } from "../report/json";

export interface Measurements {
  report: Report;
  /** Only from a recording: a report has no per-request stream to replay. */
  workload: Workload | null;
  kind: "recording" | "report";
}

/** A report is one JSON object; a recording's first line is a record line (JSON lines). */
function looksLikeReport(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`no recording or report at ${path}`);
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const head = Buffer.alloc(4096);
    const text = head.toString("utf8", 0, readSync(fd, head, 0, head.length, 0));
    const firstLine = text.split("\n", 1)[0].trim();
    // A pretty-printed report starts with a lone "{"; a recording's first line is a whole object.
    if (firstLine === "{") return true;
    try {
      const value: unknown = JSON.parse(firstLine);
      return typeof value === "object" && value !== null && !("type" in value);
    } catch {
      return false;
    }
  } finally {
    closeSync(fd);
  }
}

export async function readMeasurements(path: string, thresholds: Partial<Thresholds> = {}): Promise<Measurements> {
  if (looksLikeReport(path)) return { report: parseReport(readFileSync(path, "utf8")), workload: null, kind: "report" };
  const analysis = new Analyzer(thresholds);
  const workload = new WorkloadBuilder();
  await readRecordingInto(path, {
    add: (line) => {
      analysis.add(line);
      workload.add(line);
    },
    warn: (text) => analysis.warn(text),
  });
  return { report: analysis.report(), workload: workload.build(), kind: "recording" };
}
