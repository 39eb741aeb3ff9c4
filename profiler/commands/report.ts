// `balloon report RECORD`: the per-route table (or the JSON report) of a recording.
import { analyze } from "../analysis/analyze";
import { toThresholds } from "../options";
import { readRecording } from "../record/recording";
import { toReportJson } from "../report/json";
import { printReport } from "./output";

export function reportCommand(recordPath: string, options: { json?: boolean; threshold?: string[] }): void {
  const thresholds = toThresholds(options.threshold);
  const { lines, warnings } = readRecording(recordPath);
  const report = analyze(lines, thresholds, warnings);
  if (options.json) {
    process.stdout.write(toReportJson(report));
    return;
  }
  printReport(report);
}
