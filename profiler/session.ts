// A supervisor run with its recording: the start line, the incremental analysis of every line
// (bounded memory, so a run of any length keeps its totals), the optional file, and log lines
// on stderr. Shared by `balloon run` and `balloon profile`.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { Analyzer } from "./analysis/analyzer";
import { planDeepDive, summarizeDeepDive, type DeepDiveRequest } from "./analysis/deep";
import type { DeepDive, RecordLine, Report, RunInfo, Settings, Thresholds } from "./record/model";
import { RECORD_VERSION } from "./record/model";
import { OptionError, checkStack, settingsFileOptions, toFramework, toSettings, toThresholds, withSettingsFile, type RawPoolOptions } from "./options";
import type { FatalMessage, LogMessage } from "./supervisor/shim-protocol";
import type { DeepDiveProgress } from "./supervisor/deep-dive";
import { choosePython, choosePythonAsync, guessFramework, hintForImportError, type AsyncPythonProbe } from "./supervisor/python";
import type { AppTarget, RunSettings } from "./protocol";
import { RecordWriter } from "./record/recording";
import { whyNotReplace, type OutputKind } from "./record/output-file";
import { escapeControl, escapeControlInLines } from "./report/escape";
import { Supervisor } from "./supervisor/supervisor";

export interface AppOptions extends RawPoolOptions {
  app?: string;
  cwd?: string;
  python?: string;
  framework?: string;
  record?: string;
  /** Replace --record/--report files even when they are not Balloon's. */
  force?: boolean;
  port?: string;
  threshold?: string[];
  /** A recommendation's JSON export: its pool settings under the options typed. */
  settings?: string;
}

export interface SessionPlan {
  run: RunInfo;
  settings: Settings;
  port: number;
  recordPath: string | null;
  pythonWhy: string;
  thresholds: Partial<Thresholds>;
}

/** `--settings FILE`: the pool options a recommendation's JSON export stands for. */
function readSettingsFile(path: string): RawPoolOptions {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new OptionError(`--settings ${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  return settingsFileOptions(text, path);
}

/** The app's directory and target: a Django project directory becomes the app directory itself. Throws OptionError. */
function resolveApp(app: string | undefined, cwdOption: string | undefined): { target: string; cwd: string } {
  if (!app) throw new OptionError("missing --app TARGET (module:callable, or a Django project directory)");
  const cwd = resolve(cwdOption ?? ".");
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) throw new OptionError(`--cwd ${cwd}: no such directory`);
  if (app.includes(":")) return { target: app, cwd };
  const dir = resolve(cwd, app);
  if (!existsSync(join(dir, "manage.py"))) {
    throw new OptionError(`--app ${app}: expected module:callable, or a Django project directory holding manage.py`);
  }
  // The project directory is the app directory: sys.path, handler file names, the venv.
  return { target: ".", cwd: dir };
}

function checkPort(raw: string | undefined): number {
  const port = raw === undefined ? 8000 : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OptionError(`--port needs 0-65535, got "${raw}"`);
  return port;
}

/** Checks everything that can be checked before a process starts. Throws OptionError. */
export function planSession(options: AppOptions): SessionPlan {
  const { target, cwd } = resolveApp(options.app, options.cwd);
  const framework = toFramework(options.framework);
  const settings = toSettings(options.settings ? withSettingsFile(options, readSettingsFile(options.settings)) : options);
  checkStack(settings);
  const port = checkPort(options.port);
  const recordPath = options.record ? resolve(options.record) : null;
  if (recordPath) refuseToReplace("--record", recordPath, "recording", options.force);
  const choice = choosePython({ explicit: options.python, cwd, target, framework: framework === "auto" ? guessFramework(target, cwd) : framework });
  return {
    run: { target, cwd, python: choice.python, framework },
    settings,
    port,
    recordPath,
    pythonWhy: choice.why,
    thresholds: toThresholds(options.threshold),
  };
}

/** RunSettings field → the command-line option it stands for, and the flag its messages name. */
const RUN_SETTING_OPTIONS: ReadonlyArray<readonly [keyof RunSettings, keyof RawPoolOptions, string]> = [
  ["workers", "workers", "--workers"],
  ["threads", "threads", "--threads"],
  ["maxRequests", "maxRequests", "--max-requests"],
  ["maxRequestsJitter", "maxRequestsJitter", "--max-requests-jitter"],
  ["reloadOnRssMiB", "reloadOnRss", "--reload-on-rss"],
  ["memoryBudgetMiB", "memoryBudget", "--memory-budget"],
  ["timeoutSec", "timeout", "--timeout"],
  ["stackKiB", "stackSize", "--stack-size"],
];

/** The pool options RunSettings stand for, as if typed (so one set of checks serves the CLI and the editor). */
function runSettingsOptions(settings: RunSettings): RawPoolOptions {
  const raw: RawPoolOptions = {};
  for (const [field, option] of RUN_SETTING_OPTIONS) {
    const value = settings[field];
    if (typeof value === "number") (raw as Record<string, string>)[option] = String(value);
  }
  if (settings.preload !== undefined) raw.preload = settings.preload;
  return raw;
}

/** An option check's message in the editor's words: "--workers must be …" → "workers must be …". */
function inSettingNames(error: OptionError): OptionError {
  const message = RUN_SETTING_OPTIONS.reduce((text, [field, , flag]) => text.replace(new RegExp(`${flag}(?![\\w-])`, "g"), field), error.message);
  return new OptionError(message.replace(/--port\b/g, "port").replace(/--cwd\b/g, "the app's directory").replace(/--app\b/g, "the app"));
}

export interface AppPlanOptions {
  /** Also write the recording here (absolute); replaced only when it is a Balloon recording. */
  recordPath?: string | null;
  /** The interpreter probe (injected in tests); the default runs the candidates without blocking. */
  probe?: AsyncPythonProbe;
}

/**
 * planSession for the editor: the app as protocol.ts's AppTarget, the pool as RunSettings
 * (numbers, not strings), the same checks, and the interpreter chosen without blocking (the
 * language server's loop keeps serving while candidates are probed). Throws OptionError.
 */
export async function planFromApp(app: AppTarget, runSettings: RunSettings, options: AppPlanOptions = {}): Promise<SessionPlan> {
  try {
    const { target, cwd } = resolveApp(app.target, app.cwd);
    const framework = toFramework(app.framework);
    const settings = toSettings(runSettingsOptions(runSettings));
    checkStack(settings);
    const port = checkPort(runSettings.port === undefined ? "0" : String(runSettings.port));
    const recordPath = options.recordPath ? resolve(options.recordPath) : null;
    if (recordPath) refuseToReplace("the recording", recordPath, "recording", false);
    const choice = app.python
      ? { python: app.python, why: app.pythonWhy ?? "given" }
      : await choosePythonAsync({ cwd, target, framework: framework === "auto" ? guessFramework(target, cwd) : framework }, options.probe);
    return { run: { target, cwd, python: choice.python, framework }, settings, port, recordPath, pythonWhy: choice.why, thresholds: {} };
  } catch (error) {
    throw error instanceof OptionError ? inSettingNames(error) : error;
  }
}

/** Throws OptionError when `path` holds something that is not a Balloon file of this kind (unless --force). */
export function refuseToReplace(option: string, path: string, kind: OutputKind, force: boolean | undefined): void {
  if (force) return;
  const problem = whyNotReplace(path, kind);
  if (problem) throw new OptionError(`${option} ${problem}`);
}

/** For an app that failed to import a module: which interpreters here import it, and the --python to pass. */
export function importHint(plan: SessionPlan, fatal: FatalMessage): string | null {
  return fatal.stage === "import" ? hintForImportError(fatal.message, plan.run.python, plan.run.cwd) : null;
}

export interface SessionHooks {
  /** Every recording line, as it is recorded (after the Analyzer has it): live views follow the run here. */
  line?(line: RecordLine): void;
  log?(source: string, message: LogMessage): void;
  bootFailed?(fatal: FatalMessage): void;
  /** The settings cannot work with the measured figures (budget below workers × baseline). */
  refused?(message: string): void;
  bootStalled?(message: string): void;
}

export class Session {
  /** Every line of the run, analysed as it comes. */
  readonly analyzer: Analyzer;
  readonly supervisor: Supervisor;
  private readonly writer: RecordWriter | null;
  private readonly record: (line: RecordLine) => void;

  constructor(readonly plan: SessionPlan, shimDir: string, hooks: SessionHooks = {}) {
    this.writer = plan.recordPath ? new RecordWriter(plan.recordPath) : null;
    this.analyzer = new Analyzer(plan.thresholds);
    const record = (this.record = (line: RecordLine): void => {
      this.analyzer.add(line);
      this.writer?.write(line);
      hooks.line?.(line);
    });
    record({ type: "start", version: RECORD_VERSION, t: Date.now(), run: plan.run, settings: plan.settings });
    this.supervisor = new Supervisor({
      settings: plan.settings,
      run: plan.run,
      shimDir,
      port: plan.port,
      record,
      log: hooks.log ?? printLog,
      bootFailed: hooks.bootFailed,
      refused: hooks.refused,
      bootStalled: hooks.bootStalled,
    });
  }

  /** Marks the calls that follow as the adaptive phase's (recording and analysis). */
  beginAdaptivePhase(routes: string[], budget: number): void {
    this.record({ type: "phase", t: Date.now(), phase: "adaptive", routes, budget });
  }

  report(): Report {
    return this.analyzer.report();
  }

  /**
   * tracemalloc on one route, in a worker of its own outside the pool, while the pool keeps
   * serving: the app's lines by what they hold at each call's peak and keep after it, and
   * their growth per call. The route is looked up in the report as it is now (its recorded
   * paths and flag); the result is recorded and becomes the report's deepDive. Rejects with
   * a DeepDiveError (unknown route, no path, a dive already running, the worker failed).
   */
  async deepDive(request: DeepDiveRequest, progress?: DeepDiveProgress): Promise<DeepDive> {
    const target = planDeepDive(this.report(), request);
    const calls = await this.supervisor.deepDive(target, progress);
    const poolRoute = this.report().routes.find((route) => route.method === target.method && route.route === target.route);
    const result = summarizeDeepDive(target, calls, poolRoute);
    this.record({ type: "deep", t: Date.now(), event: "result", result });
    return result;
  }

  /** Every line recorded so far on disk now (another reader is about to open the file). */
  flushRecording(): void {
    this.writer?.flush();
  }

  async stop(reason: string): Promise<void> {
    await this.supervisor.stop(reason, this.plan.settings.timeoutSec > 0 ? Math.min(this.plan.settings.timeoutSec, 30) : 30);
    this.writer?.close();
  }
}

/** A log line on stderr: the app's output keeps its lines, but no escape sequence reaches the terminal. */
export function printLog(source: string, message: LogMessage): void {
  const prefix = `[balloon] ${escapeControl(source)}: `;
  const text = escapeControlInLines(message.message).replace(/\n/g, `\n${prefix}`);
  process.stderr.write(`${prefix}${text}\n`);
}
