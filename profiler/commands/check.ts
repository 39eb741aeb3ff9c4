// `balloon check REPORT|INPUT...`: exit 1 with a table of each route or worker over its limit,
// exit 0 otherwise. Limits from the command line, else from balloon.json in the app's directory.
import Table from "cli-table3";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { check, parseCheckConfig, type CheckConfig } from "../check/check";
import { OptionError, toThresholds } from "../options";
import { escapeControl } from "../report/escape";
import { RunFailure } from "./failure";
import { readMeasurements } from "./measurements";

export interface CheckOptions {
  maxPeak?: string;
  maxRetained?: string;
  maxWorker?: string;
  route?: string;
  config?: string;
  threshold?: string[];
}

function mib(raw: string | undefined, option: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value < 0) throw new OptionError(`${option} needs MiB ≥ 0, got "${raw}"`);
  return value;
}

/** balloon.json's "check" object: --config FILE, else balloon.json in the app's directory (or here). */
function fileConfig(explicit: string | undefined, appDir: string): { config: CheckConfig; from: string | null } {
  const candidates = explicit ? [resolve(explicit)] : [join(appDir, "balloon.json"), resolve("balloon.json")];
  for (const path of candidates) {
    if (!existsSync(path)) {
      if (explicit) throw new OptionError(`--config ${path}: no such file`);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      throw new OptionError(`${path}: not JSON (${(error as Error).message})`);
    }
    try {
      return { config: parseCheckConfig((value as Record<string, unknown>)?.check, `${path} check`), from: path };
    } catch (error) {
      throw new OptionError((error as Error).message);
    }
  }
  return { config: {}, from: null };
}

export async function checkCommand(inputs: string[], options: CheckOptions): Promise<void> {
  const fromCli: CheckConfig = {
    maxPeakMiB: mib(options.maxPeak, "--max-peak"),
    maxRetainedMiB: mib(options.maxRetained, "--max-retained"),
    maxWorkerMiB: mib(options.maxWorker, "--max-worker"),
    route: options.route,
  };
  const { report } = await readMeasurements(inputs.map((input) => resolve(input)), toThresholds(options.threshold), { workload: false });
  const file = fileConfig(options.config, report.app.cwd || ".");
  const config: CheckConfig = { ...file.config, ...Object.fromEntries(Object.entries(fromCli).filter(([, value]) => value !== undefined)) };
  if (config.maxPeakMiB === undefined && config.maxRetainedMiB === undefined && config.maxWorkerMiB === undefined && !config.routes?.length) {
    throw new OptionError("no limit to check: give --max-peak, --max-retained or --max-worker, or a \"check\" object in balloon.json");
  }
  const violations = check(report, config);
  const source = file.from ? ` (limits from ${escapeControl(file.from)}${Object.values(fromCli).some((v) => v !== undefined) ? " and the command line" : ""})` : "";
  if (violations.length === 0) {
    process.stdout.write(`balloon check: ${report.routes.length} routes and ${report.workers.length} workers within their limits${source}\n`);
    return;
  }
  const table = new Table({ head: ["over its limit", "figure", "MiB", "limit MiB", "handler"], colAligns: ["left", "left", "right", "right", "left"], style: { head: [], border: [], compact: true } });
  for (const v of violations) table.push([escapeControl(v.subject), v.figure, v.valueMiB.toFixed(1), v.limitMiB.toFixed(1), escapeControl(v.where)]);
  process.stdout.write(`${table.toString()}\n`);
  throw new RunFailure(`check failed: ${violations.length} figure${violations.length === 1 ? "" : "s"} over the limit${source}`);
}
