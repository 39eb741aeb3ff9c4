// `balloon report RECORD`: the per-route table (or the JSON report) of a recording.
// The recording is streamed: each line goes to the Analyzer as it is read (bounded memory).
import { Analyzer } from "../analysis/analyzer";
import { toThresholds } from "../options";
import { readRecordingInto } from "../record/reader";
import { toReportJson } from "../report/json";
import { printReport } from "./output";

export async function reportCommand(recordPath: string, options: { json?: boolean; threshold?: string[] }): Promise<void> {
  const analyzer = new Analyzer(toThresholds(options.threshold));
  await readRecordingInto(recordPath, analyzer);
  const report = analyzer.report();
  if (options.json) {
    process.stdout.write(toReportJson(report));
    return;
  }
  printReport(report);
}
