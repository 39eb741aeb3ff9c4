// The heavy work of the language server, run in a worker thread (jobs.ts) so its loop keeps
// answering: reading a saved recording or report (the whole file through the Analyzer), and a
// recommendation, which replays every recorded request under each candidate (seconds on a big
// recording), then exports it. Each job reads the recording from its file.
import { recommendationFor, wsgiTarget } from "../commands/recommend";
import { readMeasurements } from "../commands/measurements";
import { OptionError } from "../options";
import type { ExportFormat, ExportResult, TimelineBatch } from "../protocol";
import type { Report } from "../record/model";
import type { Recommendation } from "../recommend/model";
import { EXPORTERS, ExportError } from "../recommend/exporters";
import { Timeline } from "../report/timeline";

export interface OpenJob {
  kind: "open";
  path: string;
  sessionId: string;
}
export interface RecommendJob {
  kind: "recommend";
  path: string;
  budgetMiB?: number;
}
export interface ExportJob {
  kind: "export";
  path: string;
  budgetMiB?: number;
  format: ExportFormat;
}
export type Job = OpenJob | RecommendJob | ExportJob;

export interface Opened {
  report: Report;
  timeline: TimelineBatch;
}

export interface JobResults {
  open: Opened;
  recommend: Recommendation;
  export: ExportResult;
}

export type JobResult<J extends Job> = JobResults[J["kind"]];

/** Where the exported files bind: the servers' usual local address. */
const EXPORT_BIND = "127.0.0.1:8000";

async function open(job: OpenJob): Promise<Opened> {
  const timeline = new Timeline(job.sessionId, 0);
  const measured = await readMeasurements([job.path], {}, { workload: false, also: (line) => timeline.add(line) });
  if (measured.kind === "report") return { report: measured.report, timeline: new Timeline(job.sessionId, measured.report.settings.memoryBudgetMiB).whole() };
  return { report: measured.report, timeline: timeline.whole() };
}

async function recommendation(job: RecommendJob | ExportJob): Promise<Recommendation> {
  return recommendationFor(await readMeasurements([job.path]), [job.path], { budgetMiB: job.budgetMiB });
}

async function exported(job: ExportJob): Promise<ExportResult> {
  const measured = await readMeasurements([job.path]);
  const rec = recommendationFor(measured, [job.path], { budgetMiB: job.budgetMiB });
  const { report } = measured;
  try {
    return EXPORTERS[job.format](rec, { app: wsgiTarget(report), appDir: report.app.cwd, bind: EXPORT_BIND, python: report.app.python });
  } catch (error) {
    if (error instanceof ExportError || error instanceof OptionError) throw new Error(`cannot export ${job.format} settings: ${error.message}`);
    throw error;
  }
}

export async function runJob(job: Job): Promise<JobResults[Job["kind"]]> {
  switch (job.kind) {
    case "open":
      return open(job);
    case "recommend":
      return recommendation(job);
    case "export":
      return exported(job);
  }
}
