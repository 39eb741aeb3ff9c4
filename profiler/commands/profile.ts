// `balloon profile`: start the app, send the requests file, stop, print the table, write the report.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { OptionError } from "../options";
import type { FatalMessage } from "../supervisor/shim-protocol";
import { toReportJson } from "../report/json";
import { printReport } from "./output";
import { RequestsFileError, expandRequests, parseRequestsFile } from "../requests";
import { Session, importHint, planSession, type AppOptions } from "../session";
import { sendRequests } from "./client";

export interface ProfileOptions extends AppOptions {
  requests?: string;
  report?: string;
  concurrency?: string;
  readyTimeout?: string;
}

export class RunFailure extends Error {}

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

/** Resolves when the first `count` workers are ready; rejects on an app that cannot load. */
function waitReady(session: Session, count: number, timeoutSec: number, fatal: Promise<FatalMessage>): Promise<void> {
  const hint = (message: FatalMessage): string => {
    const words = importHint(session.plan, message);
    return words ? `\n${words}` : "";
  };
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (session.supervisor.readyWorkers >= count) {
        clearInterval(timer);
        resolvePromise();
      } else if (Date.now() - started > timeoutSec * 1000) {
        clearInterval(timer);
        reject(new RunFailure(`the workers were not ready after ${timeoutSec} s (--ready-timeout); see the log above`));
      }
    }, 25);
    void fatal.then((message) => {
      clearInterval(timer);
      const what = message.stage === "import" ? "the app failed to load" : "the workers could not start";
      reject(new RunFailure(`${what}: ${message.message}${message.traceback ? `\n${message.traceback.trimEnd()}` : ""}${hint(message)}`));
    });
  });
}

export async function profileCommand(options: ProfileOptions, shimDir: string): Promise<void> {
  const requests = loadRequests(options.requests);
  const plan = planSession({ ...options, port: options.port ?? "0" });
  const { settings } = plan;
  const initial = settings.workers ?? Math.max(1, settings.minSpare ?? 1);
  const concurrency = options.concurrency ? Number(options.concurrency) : initial * settings.threads;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new OptionError(`--concurrency needs a whole number ≥ 1, got "${options.concurrency}"`);
  const readyTimeout = options.readyTimeout ? Number(options.readyTimeout) : 60;
  let onFatal: (message: FatalMessage) => void = () => undefined;
  const fatal = new Promise<FatalMessage>((resolveFatal) => (onFatal = resolveFatal));
  const session = new Session(plan, shimDir, { bootFailed: (message) => onFatal(message) });
  process.stderr.write(`[balloon] ${plan.run.target} with ${plan.run.python} (${plan.pythonWhy}), ${initial} worker(s)\n`);
  try {
    const port = await session.supervisor.start();
    await waitReady(session, initial, readyTimeout, fatal);
    const tty = process.stderr.isTTY;
    const result = await sendRequests(port, requests, concurrency, (done) => {
      if (tty && (done % 10 === 0 || done === requests.length)) process.stderr.write(`\r[balloon] ${done}/${requests.length} requests`);
    });
    if (tty) process.stderr.write("\n");
    const codes = [...result.statuses.entries()].sort(([a], [b]) => a - b).map(([code, count]) => `${code === 0 ? "no response" : code} ×${count}`);
    process.stderr.write(`[balloon] sent ${result.sent} requests: ${codes.join(", ")}\n`);
  } finally {
    await session.stop("profile finished");
  }
  const report = session.report();
  printReport(report);
  if (options.report) {
    const out = resolve(options.report);
    writeFileSync(out, toReportJson(report));
    process.stdout.write(`report written to ${out}\n`);
  }
  if (plan.recordPath) process.stdout.write(`recording written to ${plan.recordPath}\n`);
}
