// The sessions the language server holds, through typed calls (protocol.ts's params, no CLI
// strings): run, stop, profile a requests file, open a saved recording; their reports,
// timelines, recommendations, exports and deep dives. Recommendations and opening a file run in a
// worker thread (jobs.ts); a deep dive's calls run in a worker process of the app's (the server
// only waits); the interpreter probe is async: nothing here blocks the server's loop.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { sendRequests } from "../commands/client";
import type {
  DeepDiveParams, ExportParams, ExportResult, OpenRecordParams, ProfileParams, RecommendParams, RunParams, SessionStatus, TimelineBatch,
} from "../protocol";
import type { DeepDive, Report } from "../record/model";
import type { Recommendation } from "../recommend/model";
import { expandRequests, parseRequestsFile } from "../requests";
import { planFromApp } from "../session";
import type { ShownReport } from "./code-view";
import { runInWorker } from "./jobs";
import { LiveSession, type SessionListener } from "./live-session";

/** Stopped and opened sessions kept for their reports and exports; the oldest go first. */
const MAX_KEPT_SESSIONS = 8;

export interface HostOptions {
  shimDir: string;
  /** The server's own directory: recordings of runs that asked for none. */
  tempDir: string;
  listener: SessionListener;
  /** The worker-thread runner (tests may inject their own). */
  runJob?: typeof runInWorker;
}

export class SessionError extends Error {}

export class SessionHost {
  private readonly sessions = new Map<string, LiveSession>();
  private readonly runJob: typeof runInWorker;

  constructor(private readonly options: HostOptions) {
    this.runJob = options.runJob ?? runInWorker;
  }

  async run(params: RunParams): Promise<SessionStatus> {
    return (await this.start(params)).status();
  }

  async stop(sessionId: string): Promise<SessionStatus> {
    const session = this.get(sessionId);
    await session.stop("stopped from the editor");
    return session.status();
  }

  statuses(): SessionStatus[] {
    return [...this.sessions.values()].map((session) => session.status());
  }

  routes(sessionId: string): Report {
    return this.get(sessionId).report();
  }

  samples(sessionId: string): TimelineBatch {
    return this.get(sessionId).timeline.whole();
  }

  async recommend(params: RecommendParams): Promise<Recommendation> {
    const session = this.get(params.sessionId);
    await session.flushRecording();
    return this.runJob({ kind: "recommend", path: session.recordPath, budgetMiB: params.budgetMiB });
  }

  async export(params: ExportParams): Promise<ExportResult> {
    const session = this.get(params.sessionId);
    await session.flushRecording();
    return this.runJob({ kind: "export", path: session.recordPath, budgetMiB: params.budgetMiB, format: params.format });
  }

  /** Rejects with the engine's DeepDiveError (unknown route, a dive already running, ...) or why the session cannot dive. */
  async deepDive(params: DeepDiveParams): Promise<DeepDive> {
    const { sessionId, ...request } = params;
    return await this.get(sessionId).deepDive(request);
  }

  async openRecord(params: OpenRecordParams): Promise<SessionStatus> {
    const id = newId();
    const opened = await this.runJob({ kind: "open", path: params.path, sessionId: id });
    const session = LiveSession.opened(id, params.path, opened.report, opened.timeline, this.options.listener);
    this.add(session);
    this.options.listener.status(session.status());
    this.options.listener.report({ sessionId: id, report: opened.report });
    return session.status();
  }

  /** Runs the app, sends every request of the file (as many at once as the pool serves), stops. */
  async profileRequests(params: ProfileParams): Promise<SessionStatus> {
    let text: string;
    try {
      text = await readFile(params.requestsPath, "utf8");
    } catch (error) {
      throw new SessionError(`cannot read the requests file ${params.requestsPath}: ${(error as Error).message}`);
    }
    const requests = expandRequests(parseRequestsFile(text, params.requestsPath));
    const session = await this.start(params);
    try {
      const settings = session.report().settings;
      const initial = settings.workers ?? Math.max(1, settings.minSpare ?? 1);
      if (await session.whenReady(initial)) await sendRequests(session.port, requests, initial * settings.threads, () => undefined);
    } finally {
      await session.stop("requests file sent");
    }
    return session.status();
  }

  /** The latest report of every live session, and (keepStopped) of the last stopped one of each app directory not running now. */
  shownReports(keepStopped: boolean): ShownReport[] {
    const shownOf = (session: LiveSession): ShownReport | null =>
      session.latestReport ? { report: session.latestReport, sessionId: session.id, running: session.isRunning } : null;
    const live = [...this.sessions.values()].filter((session) => session.isLive);
    const shown = live.map(shownOf).filter((report): report is ShownReport => report !== null);
    if (!keepStopped) return shown;
    const dirs = new Set(live.map((session) => session.appDir));
    for (const session of [...this.sessions.values()].reverse()) {
      const report = shownOf(session);
      if (session.isLive || dirs.has(session.appDir) || !report) continue;
      dirs.add(session.appDir);
      shown.push(report);
    }
    return shown;
  }

  /** Every app and worker stopped (the server shuts down). */
  async stopAll(reason: string): Promise<void> {
    await Promise.all([...this.sessions.values()].map((session) => session.stop(reason)));
  }

  /** Last resort as the process exits: SIGKILL every app process still there (synchronous). */
  killAll(): void {
    for (const session of this.sessions.values()) session.killAll();
  }

  private async start(params: RunParams): Promise<LiveSession> {
    const id = newId();
    const plan = await planFromApp(params.app, params.settings, { recordPath: params.recordPath ?? join(this.options.tempDir, `${id}.balloon.jsonl`) });
    const session = await LiveSession.start(id, plan, this.options.shimDir, this.options.listener);
    this.add(session);
    return session;
  }

  private add(session: LiveSession): void {
    this.sessions.set(session.id, session);
    const kept = [...this.sessions.values()].filter((s) => !s.isLive);
    for (const old of kept.slice(0, Math.max(0, kept.length - MAX_KEPT_SESSIONS))) this.sessions.delete(old.id);
  }

  private get(sessionId: string): LiveSession {
    const session = this.sessions.get(sessionId);
    if (!session) throw new SessionError(`no session ${sessionId} (it ended, or the server restarted)`);
    return session;
  }
}

function newId(): string {
  return randomBytes(6).toString("hex");
}
