// A supervisor run with its recording: the start line, lines kept in memory for analysis,
// the optional file, and log lines on stderr. Shared by `balloon run` and `balloon profile`.
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { analyze } from "./analysis/analyze";
import type { RecordLine, Report, RunInfo, Settings, Thresholds } from "./record/model";
import { RECORD_VERSION } from "./record/model";
import { OptionError, checkStack, toFramework, toSettings, toThresholds, type RawPoolOptions } from "./options";
import type { FatalMessage, LogMessage } from "./supervisor/shim-protocol";
import { choosePython, guessFramework, hintForImportError } from "./supervisor/python";
import { RecordWriter } from "./record/recording";
import { Supervisor } from "./supervisor/supervisor";

export interface AppOptions extends RawPoolOptions {
  app?: string;
  cwd?: string;
  python?: string;
  framework?: string;
  record?: string;
  port?: string;
  threshold?: string[];
}

export interface SessionPlan {
  run: RunInfo;
  settings: Settings;
  port: number;
  recordPath: string | null;
  pythonWhy: string;
  thresholds: Partial<Thresholds>;
}

/** Checks everything that can be checked before a process starts. Throws OptionError. */
export function planSession(options: AppOptions): SessionPlan {
  if (!options.app) throw new OptionError("missing --app TARGET (module:callable, or a Django project directory)");
  let cwd = resolve(options.cwd ?? ".");
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) throw new OptionError(`--cwd ${cwd}: no such directory`);
  let target = options.app;
  if (!target.includes(":")) {
    const dir = resolve(cwd, target);
    if (!existsSync(join(dir, "manage.py"))) {
      throw new OptionError(`--app ${target}: expected module:callable, or a Django project directory holding manage.py`);
    }
    // The project directory is the app directory: sys.path, handler file names, the venv.
    cwd = dir;
    target = ".";
  }
  const framework = toFramework(options.framework);
  const settings = toSettings(options);
  checkStack(settings);
  const port = options.port === undefined ? 8000 : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OptionError(`--port needs 0-65535, got "${options.port}"`);
  const choice = choosePython({ explicit: options.python, cwd, target, framework: framework === "auto" ? guessFramework(target, cwd) : framework });
  return {
    run: { target, cwd, python: choice.python, framework },
    settings,
    port,
    recordPath: options.record ? resolve(options.record) : null,
    pythonWhy: choice.why,
    thresholds: toThresholds(options.threshold),
  };
}

/** For an app that failed to import a module: which interpreters here import it, and the --python to pass. */
export function importHint(plan: SessionPlan, fatal: FatalMessage): string | null {
  return fatal.stage === "import" ? hintForImportError(fatal.message, plan.run.python, plan.run.cwd) : null;
}

export interface SessionHooks {
  /** Lines kept in memory (KEEP_LINES). */
  keepLines?: number;
  log?(source: string, message: LogMessage): void;
  bootFailed?(fatal: FatalMessage): void;
  line?(line: RecordLine): void;
}

/**
 * Lines kept in memory for the live table and the report: past this the oldest request and
 * sample lines go (the recording file keeps all). `profile` keeps a whole run of a large
 * requests file; `run` keeps recent traffic, since a long-lived heap of lines costs every
 * request garbage-collection time.
 */
export const KEEP_LINES = { profile: 200_000, run: 20_000 } as const;

export class Session {
  lines: RecordLine[] = [];
  readonly supervisor: Supervisor;
  private readonly writer: RecordWriter | null;
  private readonly keepLines: number;

  constructor(readonly plan: SessionPlan, shimDir: string, hooks: SessionHooks = {}) {
    this.writer = plan.recordPath ? new RecordWriter(plan.recordPath) : null;
    this.keepLines = hooks.keepLines ?? KEEP_LINES.profile;
    const record = (line: RecordLine): void => {
      this.lines.push(line);
      if (this.lines.length > this.keepLines) this.forgetOldest();
      this.writer?.write(line);
      hooks.line?.(line);
    };
    record({ type: "start", version: RECORD_VERSION, t: Date.now(), run: plan.run, settings: plan.settings });
    this.supervisor = new Supervisor({
      settings: plan.settings,
      run: plan.run,
      shimDir,
      port: plan.port,
      record,
      log: hooks.log ?? printLog,
      bootFailed: hooks.bootFailed,
    });
  }

  private forgetOldest(): void {
    let drop = Math.ceil(this.keepLines / 10);
    this.lines = this.lines.filter((line) => {
      if (drop > 0 && (line.type === "request" || line.type === "sample")) {
        drop -= 1;
        return false;
      }
      return true;
    });
  }

  report(): Report {
    return analyze(this.lines, this.plan.thresholds);
  }

  async stop(reason: string): Promise<void> {
    await this.supervisor.stop(reason, this.plan.settings.timeoutSec > 0 ? Math.min(this.plan.settings.timeoutSec, 30) : 30);
    this.writer?.close();
  }
}

export function printLog(source: string, message: LogMessage): void {
  const text = message.message.replace(/\n/g, `\n[balloon] ${source}: `);
  process.stderr.write(`[balloon] ${source}: ${text}\n`);
}
