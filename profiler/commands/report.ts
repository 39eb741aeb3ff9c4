// `balloon report RECORD`: the per-route table (or the JSON report) of a recording.
// The recording is streamed: each line goes to the analysis as it is read.
import { analyze } from "../analysis/analyze";
import { toThresholds } from "../options";
import type { RecordLine, Report, Thresholds } from "../record/model";
import { readRecordingInto, type RecordSink } from "../record/reader";
import { toReportJson } from "../report/json";
import { printReport } from "./output";

/**
 * Stand-in for the incremental analysis (one line at a time, bounded memory) until it lands:
 * it collects the lines for today's analyze(), so memory still grows with the recording here.
 */
class CollectingAnalysis implements RecordSink {
  private readonly lines: RecordLine[] = [];
  private readonly warnings: string[] = [];

  constructor(private readonly thresholds: Partial<Thresholds>) {}

  add(line: RecordLine): void {
    this.lines.push(line);
  }

  warn(text: string): void {
    this.warnings.push(text);
  }

  report(): Report {
    return analyze(this.lines, this.thresholds, this.warnings);
  }
}

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
