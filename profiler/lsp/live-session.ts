// One session the language server holds: a running app (a Session: supervisor, recording,
// Analyzer) or a saved recording opened read-only. It follows the recording lines as they come
// and tells the client in batches: timeline points at most 4 a second, the status at most once a
// second, the report at most every 2 s and only when it changed (the Analyzer is incremental;
// its report is drawn from bounded state, never by re-reading the run).
import type { DeepDiveCallEnded, DeepDiveParams, LogLine, ReportChanged, SessionState, SessionStatus, TimelineBatch } from "../protocol";
import type { DeepDive, RecordLine, Report } from "../record/model";
import { Session, type SessionPlan } from "../session";
import type { FatalMessage, LogMessage } from "../supervisor/shim-protocol";
import { hintForImportErrorAsync } from "../supervisor/python";
import { Throttle, systemClock, type TimerClock } from "./throttle";
import { Timeline } from "../report/timeline";

export const TIMELINE_EVERY_MS = 250;
export const STATUS_EVERY_MS = 1000;
export const REPORT_EVERY_MS = 2000;

/** Where a session's news goes (the server sends each as its notification). */
export interface SessionListener {
  status(status: SessionStatus): void;
  timeline(batch: TimelineBatch): void;
  report(changed: ReportChanged): void;
  log(line: LogLine): void;
  deepDiveCall(ended: DeepDiveCallEnded): void;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

export class LiveSession {
  private state: SessionState = "starting";
  private url: string | null = null;
  private failure: SessionStatus["failure"] = null;
  private errors = 0;
  private session: Session | null = null;
  private lastReport: Report | null = null;
  /** Lines since the last report was drawn. */
  private reportDirty = false;
  /** Lines since the last report was sent (a routes request draws one without sending it). */
  private reportUnsent = false;
  private stopped: Promise<void> | null = null;
  readonly timeline: Timeline;
  private readonly timelineThrottle: Throttle;
  private readonly statusThrottle: Throttle;
  private readonly reportThrottle: Throttle;

  private constructor(
    readonly id: string,
    private readonly plan: Pick<SessionPlan, "run" | "pythonWhy"> & { settings: { memoryBudgetMiB: number } },
    /** The recording the jobs (recommend, export) read. */
    readonly recordPath: string,
    readonly readOnly: boolean,
    private readonly listener: SessionListener,
    clock: TimerClock,
  ) {
    this.timeline = new Timeline(id, plan.settings.memoryBudgetMiB);
    this.timelineThrottle = new Throttle(TIMELINE_EVERY_MS, () => this.timeline.hasPending && listener.timeline(this.timeline.takePending()), clock);
    this.statusThrottle = new Throttle(STATUS_EVERY_MS, () => listener.status(this.status()), clock);
    this.reportThrottle = new Throttle(REPORT_EVERY_MS, () => this.publishReport(), clock);
  }

  /** Starts the app; resolves once the supervisor listens (workers come up after: state "running"). */
  static async start(id: string, plan: SessionPlan, shimDir: string, listener: SessionListener, clock: TimerClock = systemClock): Promise<LiveSession> {
    if (!plan.recordPath) throw new Error("a live session needs a recording path");
    const live = new LiveSession(id, plan, plan.recordPath, false, listener, clock);
    live.session = new Session(plan, shimDir, {
      line: (line) => live.onLine(line),
      log: (source, message) => live.onLog(source, message),
      bootFailed: (fatal) => void live.onBootFailed(fatal),
      refused: (message) => live.fail({ message, traceback: "" }),
      bootStalled: (message) => live.onLog("boot", { level: "error", message: `${message}; requests get 503 until a worker is ready` }),
    });
    try {
      const port = await live.session.supervisor.start();
      live.url = `http://127.0.0.1:${port}`;
    } catch (error) {
      live.state = "failed";
      live.failure = { message: (error as Error).message, traceback: "" };
      await live.session.stop("could not start").catch(() => undefined);
      throw error;
    }
    live.listener.status(live.status());
    return live;
  }

  /** A saved recording or report, already analysed (job-work.ts): nothing runs. */
  static opened(id: string, path: string, report: Report, timeline: TimelineBatch, listener: SessionListener): LiveSession {
    const run = { target: report.app.target, cwd: report.app.cwd, python: report.app.python, framework: report.app.framework };
    const live = new LiveSession(id, { run, pythonWhy: "as recorded", settings: report.settings }, path, true, listener, systemClock);
    live.state = "stopped";
    live.lastReport = report;
    live.errors = report.totals.errors;
    live.timeline.seed(timeline);
    return live;
  }

  get appDir(): string {
    return this.plan.run.cwd;
  }

  get port(): number {
    return this.session?.supervisor.port ?? 0;
  }

  get readyWorkers(): number {
    return this.session?.supervisor.readyWorkers ?? 0;
  }

  /** True once `count` workers are ready; false when the run failed or stopped first. */
  whenReady(count: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        if (this.readyWorkers >= count) resolve(true);
        else if (!this.isLive) resolve(false);
        else return false;
        return true;
      };
      if (check()) return;
      const timer = setInterval(() => check() && clearInterval(timer), 50);
    });
  }

  get isLive(): boolean {
    return this.state === "starting" || this.state === "running";
  }

  /** Its app serves requests (a deep dive can run). */
  get isRunning(): boolean {
    return this.state === "running";
  }

  status(): SessionStatus {
    const analyzer = this.session?.analyzer;
    return {
      sessionId: this.id,
      state: this.state,
      url: this.isLive ? this.url : null,
      python: this.plan.run.python,
      pythonWhy: this.plan.pythonWhy,
      workers: this.isLive ? this.readyWorkers : 0,
      requests: analyzer ? analyzer.requests : this.lastReport?.totals.requests ?? 0,
      errors: this.errors,
      totalRssMiB: this.isLive && this.session ? round1(this.session.supervisor.workersRssMiB) : 0,
      failure: this.failure,
      readOnly: this.readOnly,
    };
  }

  /** The report now (drawn from the Analyzer when lines came since the last one). */
  report(): Report {
    if (this.session && (this.reportDirty || !this.lastReport)) {
      this.lastReport = this.session.report();
      this.reportDirty = false;
    }
    return this.lastReport as Report;
  }

  /** The last report drawn, without drawing one (code lenses and hovers between batches). */
  get latestReport(): Report | null {
    return this.lastReport;
  }

  /**
   * tracemalloc on one route in a worker of its own while the app keeps serving (Session.deepDive;
   * rejects with its DeepDiveError). Each call's end is told as it comes; the report with the dive
   * goes out before the answer, so the panel has the lines when the editor shows the tab.
   */
  async deepDive(params: Omit<DeepDiveParams, "sessionId">): Promise<DeepDive> {
    if (!this.session || this.readOnly) throw new Error("a deep dive needs the app running: Run App with Balloon first (this is a saved recording)");
    if (!this.isLive) throw new Error(`a deep dive needs the app running: Run App with Balloon first (this run has ${this.state})`);
    const dive = await this.session.deepDive(params, (done, total, call) => this.listener.deepDiveCall({
      sessionId: this.id, method: params.method, route: params.route, done, total, status: call.status, durationMs: call.durationMs,
    }));
    this.reportThrottle.flushNow();
    return dive;
  }

  /** Resolves when every line is in the recording file (a job is about to read it): now, or once a stop has closed it. */
  flushRecording(): Promise<void> {
    if (this.stopped) return this.stopped;
    this.session?.flushRecording();
    return Promise.resolve();
  }

  /** Stops the app and every worker; the last figures go out at once. Idempotent. */
  stop(reason: string): Promise<void> {
    this.stopped ??= this.doStop(reason);
    return this.stopped;
  }

  /** SIGKILL to every process of the app (the server is exiting without a stop). */
  killAll(): void {
    if (this.isLive || this.state === "stopping") this.session?.supervisor.killAll();
  }

  private async doStop(reason: string): Promise<void> {
    if (!this.session) return;
    if (this.state !== "failed") this.state = "stopping";
    this.listener.status(this.status());
    try {
      await this.session.stop(reason);
    } finally {
      if (this.state !== "failed") this.state = "stopped";
      this.timelineThrottle.flushNow();
      this.reportDirty = true;
      this.reportUnsent = true;
      this.reportThrottle.flushNow();
      this.statusThrottle.cancel();
      this.listener.status(this.status());
    }
  }

  private onLine(line: RecordLine): void {
    if (this.timeline.add(line)) this.timelineThrottle.poke();
    if (line.type === "request" && line.outcome !== "ok") this.errors += 1;
    if (line.type === "worker" && line.event === "ready" && this.state === "starting") {
      this.state = "running";
      this.statusThrottle.flushNow();
    } else if (line.type === "request" || line.type === "worker" || line.type === "sample") {
      this.statusThrottle.poke();
    }
    // A deep dive's result becomes the report's deepDive; its other lines change nothing there.
    if (line.type === "request" || line.type === "worker" || line.type === "app" || (line.type === "deep" && line.event === "result")) {
      this.reportDirty = true;
      this.reportUnsent = true;
      this.reportThrottle.poke();
    }
  }

  private publishReport(): void {
    if (!this.session || !this.reportUnsent) return;
    this.reportUnsent = false;
    this.listener.report({ sessionId: this.id, report: this.report() });
  }

  private onLog(source: string, message: LogMessage): void {
    this.listener.log({ sessionId: this.id, source, level: message.level, message: message.message });
  }

  private async onBootFailed(fatal: FatalMessage): Promise<void> {
    if (this.failure) return; // the pool retries the boot: the first failure is the one to tell
    const what = fatal.stage === "import" ? "the app failed to load" : "the workers could not start";
    this.failure = { message: `${what}: ${fatal.message}`, traceback: fatal.traceback };
    const hint = fatal.stage === "import" ? await hintForImportErrorAsync(fatal.message, this.plan.run.python, this.plan.run.cwd) : null;
    this.fail({ message: hint ? `${this.failure.message}\n${hint}` : this.failure.message, traceback: fatal.traceback });
  }

  /** The run cannot go on (import error, refused settings): say why and stop everything. */
  private fail(failure: NonNullable<SessionStatus["failure"]>): void {
    if (this.state === "failed") return;
    this.failure = failure;
    this.state = "failed";
    this.listener.status(this.status());
    void this.stop("failed");
  }
}
