// A whole recording to a report: the Analyzer fed line by line. The entry point for tests
// and for callers that hold the lines anyway.
import type { RecordLine, Report, Thresholds } from "../record/model";
import { Analyzer } from "./analyzer";

export { Analyzer } from "./analyzer";
export { DEFAULT_THRESHOLDS, resolveLimits } from "./limits";

export function analyze(lines: Iterable<RecordLine>, thresholds: Partial<Thresholds> = {}, warnings: readonly string[] = []): Report {
  const analyzer = new Analyzer(thresholds);
  for (const warning of warnings) analyzer.warn(warning);
  for (const line of lines) analyzer.add(line);
  return analyzer.report();
}
