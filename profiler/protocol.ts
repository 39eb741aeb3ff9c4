// Every message between the editor and Balloon's engine, declared once:
// - the language server (`balloon lsp --stdio`, profiler/lsp/) and the VS Code extension
//   (extension/): custom LSP requests and notifications, each with its literal method name and
//   who sends it; the standard ones (diagnostics, code lenses, hovers) are plain LSP;
// - the extension and its webview panel (webview/): postMessage messages, a `type` each.
// Types only, no runtime dependency: the server and the client wrap these names in
// vscode-jsonrpc's RequestType/NotificationType; the webview imports nothing else of ours.
// (The shim's frames are another protocol: supervisor/shim-protocol.ts.)
import type { DeepDiveProblem } from "./analysis/deep";
import type { DeepDive, RecordLine, Report, Settings } from "./record/model";
import type { Recommendation } from "./recommend/model";

// ---- what a run is ----

/** The app to run, as the extension found it (balloon.app setting, manage.py, a module:callable). */
export interface AppTarget {
  /** "module:callable", or the Django project directory holding manage.py. */
  target: string;
  /** The app's directory (absolute). */
  cwd: string;
  framework: "auto" | "wsgi" | "django" | "flask" | "pyramid";
  /** The interpreter (absolute); null lets the engine choose. */
  python: string | null;
  /** Why that interpreter ("the Python extension's", "balloon.pythonPath", "./.venv"), shown beside it; absent with python null. */
  pythonWhy?: string;
}

/** Supervisor settings from the editor's settings, already validated (extension/config.ts); unset ones take the engine's defaults. */
export type RunSettings = Partial<Pick<Settings,
  "workers" | "threads" | "maxRequests" | "maxRequestsJitter" | "reloadOnRssMiB" | "memoryBudgetMiB" | "timeoutSec" | "stackKiB" | "preload">> & {
  /** 0: a free port. */
  port?: number;
};

export type SessionState = "starting" | "running" | "stopping" | "stopped" | "failed";

export interface SessionStatus {
  sessionId: string;
  state: SessionState;
  /** http://127.0.0.1:PORT once listening. */
  url: string | null;
  python: string;
  /** Why that interpreter ("the Python extension's", "balloon.pythonPath", "./.venv", ...). */
  pythonWhy: string;
  workers: number;
  requests: number;
  errors: number;
  /** The workers' RSS together now. */
  totalRssMiB: number;
  /** Set when state is "failed": what to tell the user (the import error, a refused budget). */
  failure: { message: string; traceback: string } | null;
  /** Opened from a saved recording or report: nothing runs. */
  readOnly: boolean;
}

/** One point of a worker's memory timeline. */
export interface SamplePoint {
  t: number;
  worker: number;
  pid: number;
  rssKiB: number;
}

/** A marker on the timeline: a worker ready, recycled, crashed, timed out. */
export interface PoolEvent {
  t: number;
  worker: number;
  pid: number;
  kind: "ready" | "recycle" | "crash" | "timeout" | "exit";
  /** Words: "max-requests: served 100 requests", "killed by signal 9 (SIGKILL) — out of memory?" */
  detail: string;
}

/** Samples and events since the last batch (the webview appends them). */
export interface TimelineBatch {
  sessionId: string;
  samples: SamplePoint[];
  events: PoolEvent[];
  /** The memory budget line, MiB (0: none). */
  budgetMiB: number;
}

// ---- language server ⇄ extension: custom methods ----

/** Method names, each with who sends it. */
export const Method = {
  /** client → server request: start the app under the supervisor. RunParams → SessionStatus. */
  run: "balloon/run",
  /** client → server request: stop a session (the app and every worker). StopParams → SessionStatus. */
  stop: "balloon/stop",
  /** client → server request: the sessions the server holds. {} → SessionStatus[]. */
  status: "balloon/status",
  /** client → server request: a session's report now. SessionParams → Report. */
  routes: "balloon/routes",
  /** client → server request: the whole timeline so far (a panel opened late). SessionParams → TimelineBatch. */
  samples: "balloon/samples",
  /** client → server request: settings for a budget, replayed on the session's traffic. RecommendParams → Recommendation. */
  recommend: "balloon/recommend",
  /** client → server request: a recommendation as a server's file. ExportParams → ExportResult. */
  export: "balloon/export",
  /** client → server request: a saved recording or report, as a read-only session. OpenRecordParams → SessionStatus. */
  openRecord: "balloon/openRecord",
  /** client → server request: run the app, send a requests file, stop. ProfileParams → SessionStatus (stopped, with its report). */
  profileRequests: "balloon/profileRequests",
  /**
   * client → server request: tracemalloc on one route in a worker of its own while the session
   * keeps serving (Session.deepDive). DeepDiveParams → DeepDive; the reportChanged holding it
   * goes out first. An error's message says what was wrong (a saved recording or a stopped run:
   * nothing to replay; unknown route with the known ones, no path, a dive already running, no
   * tracemalloc), its data (DeepDiveErrorData) which problem the engine's was.
   */
  deepDive: "balloon/deepDive",

  /** server → client notification: a session's status changed. SessionStatus. */
  statusChanged: "balloon/statusChanged",
  /** server → client notification: new timeline points, batched (at most 4 a second). TimelineBatch. */
  timeline: "balloon/timeline",
  /** server → client notification: the session's report changed (at most every 2 s). ReportChanged. */
  reportChanged: "balloon/reportChanged",
  /** server → client notification: a line of the supervisor's log or the app's stdout/stderr. LogLine. */
  log: "balloon/log",
  /** server → client notification: a deep dive's call ended (one under tracemalloc can take minutes). DeepDiveCallEnded. */
  deepDiveCall: "balloon/deepDiveCall",
} as const;

export type MethodName = (typeof Method)[keyof typeof Method];

export interface SessionParams {
  sessionId: string;
}

export interface RunParams {
  app: AppTarget;
  settings: RunSettings;
  /** Also write the recording here (absolute), else the server keeps it in its own temp dir. */
  recordPath?: string;
}

export interface StopParams {
  sessionId: string;
}

export interface RecommendParams {
  sessionId: string;
  /** MiB; absent: 75% of MemTotal (or the container's limit). */
  budgetMiB?: number;
}

export type ExportFormat = "gunicorn" | "uwsgi" | "mod_wsgi" | "apache" | "flup" | "systemd" | "kubernetes" | "json";

export interface ExportParams extends RecommendParams {
  format: ExportFormat;
}

export interface ExportResult {
  fileName: string;
  text: string;
}

export interface OpenRecordParams {
  /** A recording (.jsonl) or a JSON report, absolute. */
  path: string;
}

export interface ProfileParams extends RunParams {
  /** The requests file: `METHOD PATH [xN]` lines. */
  requestsPath: string;
}

export interface DeepDiveParams {
  sessionId: string;
  /** "GET", as the report's route has it. */
  method: string;
  /** The route as the report shows it ("/users/<int>"), or a raw path seen for it. */
  route: string;
  /** Call this path rather than the ones recorded for the route. */
  path?: string;
  /** Default 5. */
  calls?: number;
  /** Frames per allocation traceback, default 40. */
  frames?: number;
}

/** The data of a refused balloon/deepDive (the error's message says it in words). */
export interface DeepDiveErrorData {
  problem: DeepDiveProblem;
}

/**
 * The arguments of the `balloon.deepDive` command: a handler's code lens and the panel's route
 * row name the route (and the lens its session); the palette passes none and asks.
 */
export interface DeepDiveCommandArgs {
  method: string;
  route: string;
  /** Absent: the session the panel follows, if it runs. */
  sessionId?: string;
}

/** Call `done` of a dive's `total` ended, answered `status` after `durationMs`. */
export interface DeepDiveCallEnded {
  sessionId: string;
  method: string;
  route: string;
  done: number;
  total: number;
  status: number;
  durationMs: number;
}

/** A deep dive the extension is waiting for (the panel's Deep dive tab says so). */
export interface DeepDiveRunning {
  method: string;
  route: string;
  calls: number;
}

export interface ReportChanged {
  sessionId: string;
  report: Report;
}

export interface LogLine {
  sessionId: string;
  source: string;
  level: "info" | "warning" | "error";
  message: string;
}

/** Request method → params and result: both sides derive their typed calls from this. */
export interface Requests {
  [Method.run]: { params: RunParams; result: SessionStatus };
  [Method.stop]: { params: StopParams; result: SessionStatus };
  [Method.status]: { params: Record<string, never>; result: SessionStatus[] };
  [Method.routes]: { params: SessionParams; result: Report };
  [Method.samples]: { params: SessionParams; result: TimelineBatch };
  [Method.recommend]: { params: RecommendParams; result: Recommendation };
  [Method.export]: { params: ExportParams; result: ExportResult };
  [Method.openRecord]: { params: OpenRecordParams; result: SessionStatus };
  [Method.profileRequests]: { params: ProfileParams; result: SessionStatus };
  [Method.deepDive]: { params: DeepDiveParams; result: DeepDive };
}

/** Notification method → params. */
export interface Notifications {
  [Method.statusChanged]: SessionStatus;
  [Method.timeline]: TimelineBatch;
  [Method.reportChanged]: ReportChanged;
  [Method.log]: LogLine;
  [Method.deepDiveCall]: DeepDiveCallEnded;
}

// ---- extension ⇄ webview: postMessage ----

/** extension → webview. */
export type ToWebview =
  | { type: "status"; status: SessionStatus }
  | { type: "timeline"; batch: TimelineBatch }
  /** A whole timeline (the panel opened, or was recreated): replaces what the webview holds. */
  | { type: "timelineReset"; batch: TimelineBatch }
  | { type: "report"; report: Report }
  | { type: "recommendation"; recommendation: Recommendation }
  | { type: "error"; message: string }
  /** Show a tab (a deep dive just finished: its tab). */
  | { type: "showTab"; tab: PanelTab }
  /** A deep dive started (its route and calls) or ended (null). */
  | { type: "deepDiveRunning"; running: DeepDiveRunning | null };

/** The panel's tabs (webview/tabs.ts holds their titles and order). */
export type PanelTab = "memory" | "routes" | "recommendations" | "deep";

/** webview → extension. */
export type FromWebview =
  /** The webview loaded (or was restored) and wants everything it shows. */
  | { type: "ready" }
  /** Go to a handler's line (file as the report gives it: relative to the app's directory, or absolute). */
  | { type: "openHandler"; file: string; line: number }
  | { type: "recommend"; budgetMiB?: number }
  | { type: "export"; format: ExportFormat }
  /** The Deep dive button of a route's opened row. */
  | { type: "deepDive"; method: string; route: string };

/** What the recording lines a timeline is built from look like (the server turns RecordLines into batches). */
export type TimelineSource = Extract<RecordLine, { type: "sample" | "worker" }>;
