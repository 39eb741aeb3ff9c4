// `balloon profile`: start the app, send the requests file, stop, print the table, write the report.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_MAX_EXTRA, MAX_ADAPTIVE_ROUNDS, planExtraCalls } from "../analysis/adaptive";
import { DeepDiveError, MAX_DEEP_CALLS, MAX_DEEP_FRAMES, parseDeepRoute, type DeepDiveRequest } from "../analysis/deep";
import { OptionError } from "../options";
import type { FatalMessage } from "../supervisor/shim-protocol";
import { toReportJson } from "../report/json";
import { printReport } from "./output";
import { RequestsFileError, expandRequests, parseRequestsFile } from "../requests";
import { Session, importHint, planSession, refuseToReplace, type AppOptions } from "../session";
import { sameFileProblem, writeFileAtomic } from "../record/output-file";
import { escapeControl } from "../report/escape";
import { sendRequests } from "./client";
import { RunFailure } from "./failure";
import { TrafficProgress } from "./progress";
import { waitUntil } from "../supervisor/wait";

export interface ProfileOptions extends AppOptions {
  requests?: string;
  report?: string;
  concurrency?: string;
  maxExtra?: string;
  /** false with --no-adaptive */
  adaptive?: boolean;
  /** --deep ROUTE and its options. */
  deep?: string;
  deepCalls?: string;
  deepFrames?: string;
  deepPath?: string;
}

function wholeOption(name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isInteger(value) || value < 1 || value > max) throw new OptionError(`${name} needs a whole number 1-${max}, got "${text}"`);
  return value;
}

/** --deep and its options, checked before anything starts (the route itself only once the traffic has shown it). */
export function deepRequestOf(options: Pick<ProfileOptions, "deep" | "deepCalls" | "deepFrames" | "deepPath">): DeepDiveRequest | null {
  if (options.deep === undefined) {
    const stray = options.deepCalls !== undefined ? "--deep-calls" : options.deepFrames !== undefined ? "--deep-frames" : options.deepPath !== undefined ? "--deep-path" : null;
    if (stray) throw new OptionError(`${stray} needs --deep ROUTE`);
    return null;
  }
  let route: { method?: string; route: string };
  try {
    route = parseDeepRoute(options.deep);
  } catch (error) {
    if (error instanceof DeepDiveError) throw new OptionError(error.message);
    throw error;
  }
  if (options.deepPath !== undefined && !options.deepPath.startsWith("/")) throw new OptionError(`--deep-path needs a path starting with "/", got "${options.deepPath}"`);
  return {
    ...route,
    path: options.deepPath,
    calls: wholeOption("--deep-calls", options.deepCalls, MAX_DEEP_CALLS),
    frames: wholeOption("--deep-frames", options.deepFrames, MAX_DEEP_FRAMES),
  };
}

/** The deep dive after the traffic; a failure is kept to be said once the report is out. */
async function deepDivePhase(session: Session, request: DeepDiveRequest): Promise<DeepDiveError | null> {
  const name = `${request.method ? `${request.method} ` : ""}${request.route}`;
  process.stderr.write(`[balloon] deep dive: ${escapeControl(name)} in a worker of its own under tracemalloc\n`);
  try {
    const started = Date.now();
    const dive = await session.deepDive(request, (done, total, call) => {
      process.stderr.write(`[balloon] deep dive: call ${done}/${total} answered ${call.status} in ${(call.durationMs / 1000).toFixed(1)} s (${((Date.now() - started) / 1000).toFixed(0)} s so far)\n`);
    });
    process.stderr.write(`[balloon] deep dive: ${dive.calls} calls of ${escapeControl(`${dive.method} ${dive.route}`)}, ${dive.top.length} app lines, ${dive.frames} frames\n`);
    return null;
  } catch (error) {
    if (error instanceof DeepDiveError) return error;
    throw error;
  }
}


function loadRequests(path: string | undefined): Array<{ method: string; path: string }> {
  if (!path) throw new OptionError("missing --requests FILE (lines of METHOD PATH [xN])");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new OptionError(`--requests ${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  try {
    return expandRequests(parseRequestsFile(text, path));
  } catch (error) {
    if (error instanceof RequestsFileError) throw new OptionError(error.message);
    throw error;
  }
}

/** Why the workers will not come up: the app failed to load, or is still loading after --boot-timeout. */
function bootFailure(fatal: FatalMessage, hint: string | null): string {
  const what = fatal.stage === "import" ? "the app failed to load" : "the workers could not start";
  return `${what}: ${fatal.message}${fatal.traceback ? `\n${fatal.traceback.trimEnd()}` : ""}${hint ? `\n${hint}` : ""}`;
}

/** Resolves when the first `count` workers are ready; rejects with the first boot failure. */
function waitReady(session: Session, count: number, failure: Promise<string>): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const timer = setInterval(() => {
      if (session.supervisor.readyWorkers < count) return;
      clearInterval(timer);
      resolvePromise();
    }, 25);
    void failure.then((message) => {
      clearInterval(timer);
      reject(new RunFailure(message));
    });
  });
}

/**
 * Until every sent request's figures are in (see Supervisor.requestsInWorkers): the adaptive
 * plan and the deep dive read the report. Bounded by the run's --timeout, which ends a request
 * that hangs anyway.
 */
function settled(session: Session): Promise<void> {
  const timeoutSec = session.plan.settings.timeoutSec;
  return waitUntil(() => session.supervisor.requestsInWorkers === 0, (timeoutSec > 0 ? timeoutSec : 30) * 1000, 10);
}

/** Before anything starts: no output over the requests file or over each other, none over a file not ours. */
function checkOutputFiles(options: ProfileOptions): string | null {
  const clash = sameFileProblem([["--requests", options.requests], ["--record", options.record], ["--report", options.report]]);
  if (clash) throw new OptionError(clash);
  const reportPath = options.report ? resolve(options.report) : null;
  if (reportPath) refuseToReplace("--report", reportPath, "report", options.force);
  return reportPath;
}

/** The adaptive budget: --max-extra N, 0 with --no-adaptive. Throws OptionError. */
export function maxExtraOf(options: Pick<ProfileOptions, "maxExtra" | "adaptive">): number {
  if (options.adaptive === false) return 0;
  if (options.maxExtra === undefined) return DEFAULT_MAX_EXTRA;
  const value = Number(options.maxExtra);
  if (options.maxExtra.trim() === "" || !Number.isInteger(value) || value < 0) throw new OptionError(`--max-extra needs a whole number ≥ 0, got "${options.maxExtra}"`);
  return value;
}

/**
 * Sends undecided routes again and re-analyses, until nothing is undecided, the budget is spent,
 * or MAX_ADAPTIVE_ROUNDS rounds have run. The calls go in batches of one per worker, each batch
 * sent to a settled pool (nothing in a worker) so each call runs alone, even with --threads: the
 * arbiter gives each call the least loaded worker, and a worker counts a call until its figures
 * are in. Lanes that send their next call as soon as a response ends cannot promise that: the
 * response ends before the call's after-readings (the body released, then RSS), so with threads
 * the next call can meet the tail of the last in its worker and be left out as shared.
 */
async function adaptivePhase(session: Session, port: number, budget: number, workers: number): Promise<void> {
  let left = budget;
  for (let round = 0; round < MAX_ADAPTIVE_ROUNDS && left > 0; round++) {
    const plan = planExtraCalls(session.report(), left);
    if (plan.calls.length === 0) return;
    for (const route of plan.routes) process.stderr.write(`[balloon] adaptive: ${escapeControl(`${route.method} ${route.route}: ${route.reason}`)}\n`);
    process.stderr.write(`[balloon] adaptive: sending ${plan.calls.length} extra calls (${left} of --max-extra ${budget} left)\n`);
    session.beginAdaptivePhase(plan.routes.map((route) => `${route.method} ${route.route}`), budget);
    const progress = new TrafficProgress("adaptive", plan.calls.length, () => session.supervisor.workersRssMiB);
    for (let start = 0; start < plan.calls.length; start += workers) {
      const batch = plan.calls.slice(start, start + workers);
      const result = await sendRequests(port, batch, batch.length, (_done, status) => progress.tick(status));
      await settled(session);
      left -= result.sent;
    }
    progress.stop();
  }
}

export async function profileCommand(options: ProfileOptions, shimDir: string): Promise<void> {
  const requests = loadRequests(options.requests);
  const reportPath = checkOutputFiles(options);
  const maxExtra = maxExtraOf(options);
  const deepRequest = deepRequestOf(options);
  const plan = planSession({ ...options, port: options.port ?? "0" });
  const { settings } = plan;
  const initial = settings.workers ?? Math.max(1, settings.minSpare ?? 1);
  const concurrency = options.concurrency ? Number(options.concurrency) : initial * settings.threads;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new OptionError(`--concurrency needs a whole number ≥ 1, got "${options.concurrency}"`);
  let deepFailure: DeepDiveError | null = null;
  let onFailure: (message: string) => void = () => undefined;
  const failure = new Promise<string>((resolveFailure) => (onFailure = resolveFailure));
  const session = new Session(plan, shimDir, { bootFailed: (fatal) => onFailure(bootFailure(fatal, importHint(plan, fatal))), bootStalled: onFailure, refused: onFailure });
  process.stderr.write(`[balloon] ${escapeControl(`${plan.run.target} with ${plan.run.python} (${plan.pythonWhy})`)}, ${initial} worker(s)\n`);
  try {
    const port = await session.supervisor.start();
    await waitReady(session, initial, failure);
    const progress = new TrafficProgress("profiling", requests.length, () => session.supervisor.workersRssMiB);
    const result = await sendRequests(port, requests, concurrency, (_done, status) => progress.tick(status));
    progress.stop();
    const codes = [...result.statuses.entries()].sort(([a], [b]) => a - b).map(([code, count]) => `${code === 0 ? "no response" : code} ×${count}`);
    process.stderr.write(`[balloon] sent ${result.sent} requests: ${codes.join(", ")}\n`);
    await settled(session);
    if (maxExtra > 0) await adaptivePhase(session, port, maxExtra, session.supervisor.readyWorkers);
    if (deepRequest) deepFailure = await deepDivePhase(session, deepRequest);
  } finally {
    await session.stop("profile finished");
  }
  const report = session.report();
  printReport(report);
  if (reportPath) {
    refuseToReplace("--report", reportPath, "report", options.force); // again: it may have appeared during the run
    writeFileAtomic(reportPath, toReportJson(report));
    process.stdout.write(`report written to ${escapeControl(reportPath)}\n`);
  }
  if (plan.recordPath) process.stdout.write(`recording written to ${escapeControl(plan.recordPath)}\n`);
  if (deepFailure) {
    const message = `--deep ${options.deep}: ${deepFailure.message}`;
    // A route the run has not got, or cannot call, is a usage error; a worker that failed is not.
    if (deepFailure.problem === "unknown-route" || deepFailure.problem === "no-path" || deepFailure.problem === "bad-request") throw new OptionError(message);
    throw new RunFailure(message);
  }
}
