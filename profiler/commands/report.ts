// `balloon report RECORD`: the per-route table (or the JSON report) of a recording.
import { Analyzer } from "../analysis/analyzer";
import { toThresholds } from "../options";
import { readRecording } from "../record/recording";
import { toReportJson } from "../report/json";
import { printReport } from "./output";

export function reportCommand(recordPath: string, options: { json?: boolean; threshold?: string[] }): void {
  const thresholds = toThresholds(options.threshold);
  // Line by line into the Analyzer, as a streaming reader will hand them over.
  const analyzer = new Analyzer(thresholds);
  const { lines, warnings } = readRecording(recordPath);
  for (const warning of warnings) analyzer.warn(warning);
  for (const line of lines) analyzer.add(line);
  const report = analyzer.report();
  if (options.json) {
    process.stdout.write(toReportJson(report));
    return;
  }
  printReport(report);
}
