// What the commands print on stdout: colour and width only on a terminal.
import type { Report } from "../record/model";
import { formatReport } from "../report/text";

export function printReport(report: Report): void {
  process.stdout.write(formatReport(report, { color: Boolean(process.stdout.isTTY), width: process.stdout.columns }));
}
