// `balloon report INPUT...`: the per-route table (or the JSON report) of recordings, the gunicorn
// recorder's files or uWSGI logs (directories of them too), in one analysis. Each file is
// streamed: every line goes to the Analyzer as it is read (bounded memory).
import { toThresholds } from "../options";
import { toReportJson } from "../report/json";
import { readMeasurements } from "./measurements";
import { printReport } from "./output";

export async function reportCommand(inputs: string[], options: { json?: boolean; threshold?: string[] }): Promise<void> {
  const { report } = await readMeasurements(inputs, toThresholds(options.threshold), { workload: false });
  if (options.json) {
    process.stdout.write(toReportJson(report));
    return;
  }
  printReport(report);
}
