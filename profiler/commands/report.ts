// `balloon report INPUT...`: the per-route table (or the JSON report) of recordings, the gunicorn
// recorder's files or uWSGI logs (directories of them too), in one analysis. Each file is
// streamed: every line goes to the Analyzer as it is read (bounded memory). With --html, the
// same pass builds the whole run's timeline and the recommendation, for one offline page.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { SessionStatus, ToWebview } from "../protocol";
import { OptionError, positiveOption, toThresholds } from "../options";
import { whyNotReplace, writeFileAtomic } from "../record/output-file";
import type { Report } from "../record/model";
import { htmlReport, type ReportAssets } from "../report/html";
import { toReportJson } from "../report/json";
import { RunTimeline } from "../report/run-timeline";
import { readMeasurements } from "./measurements";
import { printReport } from "./output";
import { recommendationFor } from "./recommend";

export interface ReportOptions {
  json?: boolean;
  threshold?: string[];
  html?: string;
  memoryBudget?: string;
  force?: boolean;
}

/** The page's script and styles, built next to the CLI (dist/report) or, from a checkout's sources, under dist/. */
function reportAssets(): ReportAssets {
  const dirs = [join(__dirname, "report"), join(__dirname, "..", "..", "dist", "report"), join(__dirname, "..", "..", "..", "dist", "report")];
  for (const dir of dirs) {
    try {
      return { script: readFileSync(join(dir, "report.js"), "utf8"), style: readFileSync(join(dir, "report-style.css"), "utf8") };
    } catch {
      // the next place
    }
  }
  throw new Error(`the HTML report's page is not built (no report.js in ${dirs[0]}): run npm run build`);
}

/** What the panel's status line says of a saved run (nothing runs: read-only). */
function savedStatus(report: Report, sessionId: string): SessionStatus {
  return {
    sessionId, state: "stopped", url: null, python: report.app.python, pythonWhy: "recorded",
    workers: report.workers.length, requests: report.totals.requests, errors: report.totals.errors,
    totalRssMiB: 0, failure: null, readOnly: true,
  };
}

async function writeHtml(inputs: string[], options: ReportOptions, out: string): Promise<Report> {
  const budgetMiB = positiveOption(options.memoryBudget, "--memory-budget", false);
  const problem = options.force ? null : whyNotReplace(out, "html");
  if (problem) throw new OptionError(`--html ${problem}`);
  const assets = reportAssets();
  const paths = inputs.map((input) => resolve(input));
  const timeline = new RunTimeline();
  const measured = await readMeasurements(paths, toThresholds(options.threshold), { also: (line) => timeline.add(line) });
  const { report } = measured;
  const sessionId = "report";
  const { batch, notes } = timeline.whole(sessionId);
  if (measured.kind === "report") batch.budgetMiB = report.settings.memoryBudgetMiB;
  const messages: ToWebview[] = [
    { type: "status", status: savedStatus(report, sessionId) },
    { type: "timelineReset", batch },
    { type: "report", report: { ...report, approximations: [...report.approximations, ...notes] } },
  ];
  try {
    messages.push({ type: "recommendation", recommendation: recommendationFor(measured, paths, { budgetMiB }) });
  } catch (error) {
    // The page still shows what was measured; it says why there is no recommendation.
    messages.push({ type: "error", message: `no recommendation: ${(error as Error).message}` });
  }
  writeFileAtomic(out, htmlReport(`Balloon report: ${report.app.target}`, messages, assets, new Date().toISOString()));
  return report;
}

export async function reportCommand(inputs: string[], options: ReportOptions): Promise<void> {
  if (options.memoryBudget !== undefined && options.html === undefined) throw new OptionError("--memory-budget is for --html (the report's recommendation)");
  const out = options.html === undefined ? null : resolve(options.html);
  const report = out
    ? await writeHtml(inputs, options, out)
    : (await readMeasurements(inputs, toThresholds(options.threshold), { workload: false })).report;
  if (options.json) process.stdout.write(toReportJson(report));
  else printReport(report);
  if (out) {
    const flagged = report.routes.filter((route) => route.flags.length > 0).length;
    process.stderr.write(`HTML report written to ${out} (${report.routes.length} routes, ${flagged} flagged; it opens offline in any browser)\n`);
  }
}
