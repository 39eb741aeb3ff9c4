// The recording (JSON lines, one RecordLine per line) and the report (JSON) formats.
// The recording is what the supervisor saw; the report is what analysis made of it.
import type { AppInfo, ExitReason, HandlerInfo, RequestStats } from "../supervisor/shim-protocol";

export const RECORD_VERSION = 1;
export const REPORT_VERSION = 1;

/** The settings a run used, as given on the command line (after defaults). */
export interface Settings {
  /** Fixed pool size; null when the pool is dynamic (minSpare/maxSpare/maxWorkers). */
  workers: number | null;
  minSpare: number | null;
  maxSpare: number | null;
  maxWorkers: number;
  threads: number;
  maxRequests: number;
  maxRequestsJitter: number;
  reloadOnRssMiB: number;
  memoryBudgetMiB: number;
  timeoutSec: number;
  /** A worker (or, with --preload, the master) still importing the app after this long is reported; 0: never. */
  bootTimeoutSec: number;
  stackKiB: number;
  preload: boolean;
  accounting: boolean;
  queueSize: number;
  maxBodyMiB: number;
  /** The request head must arrive within this long, else 408 (absent in older recordings). */
  headerTimeoutSec: number;
  pssIntervalSec: number;
}

export interface RunInfo {
  target: string;
  cwd: string;
  python: string;
  framework: string;
}

/** First line of every recording. */
export interface StartLine {
  type: "start";
  version: number;
  /** Unix ms. */
  t: number;
  run: RunInfo;
  settings: Settings;
}

/** The app as the first worker (or the master, with --preload) reported it. */
export interface AppLine {
  type: "app";
  t: number;
  app: AppInfo;
}

/**
 * ok: answered by the app. app-error: the app raised (500, or a cut stream). worker-died,
 * timeout: the worker never finished it (502, 504). client-gone: the client left before it
 * had the whole response. invalid-response: the app answered something HTTP cannot carry
 * (a CR/LF in a header, a bad status) and the supervisor sent 502 instead. rejected: the
 * supervisor answered without a worker (503 queue full or shutting down, 413, 400, 408, 431).
 */
export type RequestOutcome = "ok" | "app-error" | "worker-died" | "timeout" | "client-gone" | "invalid-response" | "rejected";

/** The worker's memory figures of a request, as the shim sent them (absent with accounting off). */
type RequestMemory = Pick<RequestStats, "rssBeforeKiB" | "peakKiB" | "rssAfterKiB" | "vmSizeKiB" | "ussKiB" | "pssKiB" | "concurrent">;

export interface RequestLine extends RequestMemory {
  type: "request";
  /** Unix ms when the worker got the request (when the supervisor answered, for worker 0). */
  t: number;
  /** Unix ms when the request, body included, had arrived (absent in recordings before 0.2). */
  arrivedAt?: number;
  /** Time it waited for a worker, ms. */
  waitMs?: number;
  /** 0 when the supervisor answered without a worker (outcome "rejected"). */
  worker: number;
  pid: number;
  /** 1-based count of requests this worker has taken, this one included. */
  seq: number;
  method: string;
  path: string;
  /** Raw query string without "?". */
  query?: string;
  route: string;
  handler: HandlerInfo | null;
  status: number;
  outcome: RequestOutcome;
  durationMs: number;
  /** Request body bytes the app was given; response body bytes sent to the client. */
  requestBytes?: number;
  responseBytes?: number;
  /** Exception type or the death cause, when the outcome is not "ok". */
  error?: string;
}

/** spawn: the supervisor asked for a worker (pid 0); forked: the master forked it (its pid); ready: the app is loaded. */
export type WorkerEventName = "spawn" | "forked" | "ready" | "recycle" | "crash" | "exit" | "boot-failed" | "master-ready";

export interface WorkerLine {
  type: "worker";
  t: number;
  event: WorkerEventName;
  worker: number;
  /** 0 until the process exists. */
  pid: number;
  reason?: ExitReason;
  /** Human words: "killed by signal 9 (SIGKILL) — out of memory?" */
  detail?: string;
  exitCode?: number | null;
  signal?: string | null;
  rssKiB?: number;
  vmSizeKiB?: number;
  /** USS / PSS (smaps_rollup) at "ready" and "master-ready" (worker 0: the master, with its app imported under --preload). */
  ussKiB?: number;
  pssKiB?: number;
  stackLimitKiB?: number;
  threadStackKiB?: number;
}

/** A timeline sample of one worker (pidusage, ~4 Hz). */
export interface SampleLine {
  type: "sample";
  t: number;
  worker: number;
  pid: number;
  rssKiB: number;
  /** CPU percent of one core since the previous sample. */
  cpu: number;
}

export interface StopLine {
  type: "stop";
  t: number;
  reason: string;
}

export type RecordLine = StartLine | AppLine | RequestLine | WorkerLine | SampleLine | StopLine;

// ---- Report (balloon profile --report, balloon report --json) ----

export type RouteFlag = "balloon" | "inflates" | "leak";

export interface RouteReport {
  route: string;
  method: string;
  handler: HandlerInfo | null;
  requests: number;
  /** Requests that did not end "ok" (app error, worker died, timeout). */
  errors: number;
  /** Peak above the pre-request RSS. */
  peakMiB: { median: number; max: number };
  /** RSS after minus RSS before: on a worker's first call of the route, and per repeat call (median). */
  retainedMiB: { first: number; perRequest: number };
  durationMs: { median: number; max: number };
  flags: RouteFlag[];
  /** One sentence per flag saying why, in numbers. */
  reasons: string[];
}

export interface WorkerReport {
  id: number;
  pid: number;
  requests: number;
  rssMiB: { start: number; max: number; end: number };
  exit: { reason: ExitReason; detail: string } | null;
}

export interface Report {
  version: number;
  app: { target: string; cwd: string; python: string; framework: string; pythonVersion?: string; frameworkVersion?: string };
  settings: Settings;
  thresholds: Thresholds;
  /** The thresholds as applied to this run: each max(absolute, fraction × baseline). */
  limits: FlagLimits;
  routes: RouteReport[];
  workers: WorkerReport[];
  totals: { requests: number; errors: number; durationSec: number };
  /** Problems reading the recording (corrupt lines), with line numbers. */
  warnings: string[];
}

/** Flag thresholds. Each is max(absolute MiB, fraction × the worker's baseline RSS). */
export interface Thresholds {
  balloonMiB: number;
  balloonFraction: number;
  inflateMiB: number;
  inflateFraction: number;
  leakMiB: number;
  leakFraction: number;
}

/** Thresholds resolved against the run's baseline (median over workers of RSS when ready). */
export interface FlagLimits {
  /** 0 when no worker reported a memory figure (accounting off): the absolute thresholds apply. */
  baselineMiB: number;
  balloonMiB: number;
  inflateMiB: number;
  leakMiB: number;
}
