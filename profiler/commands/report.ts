// `balloon report RECORD`: the per-route table (or the JSON report) of a recording.
// The recording is streamed: each line goes to the analysis as it is read.
import { toThresholds } from "../options";
import { readRecordingInto } from "../record/reader";
import { CollectingAnalysis } from "./measurements";
import { toReportJson } from "../report/json";
import { printReport } from "./output";

export async function reportCommand(recordPath: string, options: { json?: boolean; threshold?: string[] }): Promise<void> {
  const analysis = new CollectingAnalysis(toThresholds(options.threshold));
  await readRecordingInto(recordPath, analysis);
  const report = analysis.report();
  if (options.json) {
    process.stdout.write(toReportJson(report));
    return;
  }
  printReport(report);
}
