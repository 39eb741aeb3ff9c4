// The recording (JSON lines, one RecordLine per line) and the report (JSON) formats.
// The recording is what the supervisor saw; the report is what analysis made of it.
import type { AppInfo, ExitReason, HandlerInfo, RequestStats } from "../supervisor/shim-protocol";

export const RECORD_VERSION = 1;
/** 2: verdicts, shared and extra calls per route; approximations and the adaptive phase per report. */
export const REPORT_VERSION = 2;

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

/** Settings of a recording that does not say them (its "start" line lost, a server's log): zeros, not guesses. */
export function unknownSettings(): Settings {
  return {
    workers: null, minSpare: null, maxSpare: null, maxWorkers: 0, threads: 0, maxRequests: 0, maxRequestsJitter: 0,
    reloadOnRssMiB: 0, memoryBudgetMiB: 0, timeoutSec: 0, bootTimeoutSec: 0, stackKiB: 0, preload: false, accounting: false,
    queueSize: 0, maxBodyMiB: 0, headerTimeoutSec: 0, pssIntervalSec: 0,
  };
}

export interface RunInfo {
  target: string;
  cwd: string;
  python: string;
  framework: string;
}

/**
 * What wrote a recording other than Balloon's own supervisor: the request recorder of an
 * exported gunicorn.conf.py (`balloon recommend --format gunicorn --record-to DIR`).
 */
export interface RecorderInfo {
  server: "gunicorn";
  serverVersion: string;
  /** The machine (socket.gethostname()): workers of several hosts are told apart by it. */
  host: string;
  /** False where /proc/self/clear_refs is not writable: a peak is seen only when it sets a new high for its worker. */
  peakReset: boolean;
}

/** First line of every recording. */
export interface StartLine {
  type: "start";
  version: number;
  /** Unix ms. */
  t: number;
  run: RunInfo;
  settings: Settings;
  /** Absent in recordings made by `balloon run` / `profile`. */
  recorder?: RecorderInfo;
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
  /** Requests in the workers when it was dispatched, itself included. */
  inFlight?: number;
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
  /** The gunicorn recorder: exceptions its hooks caught (and counted) in this worker. */
  hookErrors?: number;
}

/**
 * A phase of the run begins: every request line after it belongs to that phase. `balloon profile`
 * writes one before the extra calls of its adaptive phase (recordings without it: all calls are
 * the planned ones).
 */
export interface PhaseLine {
  type: "phase";
  t: number;
  phase: "adaptive";
  /** "GET /export", the routes sent again. */
  routes: string[];
  /** Extra calls the phase may send in all (--max-extra). */
  budget: number;
}

/**
 * The deep dive on one route (a worker of its own under tracemalloc, outside the pool). Its
 * calls are not request lines and its worker is not a pool worker: the analysis of the run
 * leaves all of it out, and keeps the last "result" as the report's deepDive.
 */
export type DeepLine =
  | { type: "deep"; t: number; event: "start"; worker: number; method: string; route: string; paths: string[]; calls: number; frames: number }
  | { type: "deep"; t: number; event: "ready"; worker: number; pid: number; rssKiB: number }
  | { type: "deep"; t: number; event: "call"; worker: number; pid: number; method: string; path: string; status: number; durationMs: number; capturedPeakKiB: number }
  /** The deep worker is gone (stopped at the end, or it failed: `detail` says how). */
  | { type: "deep"; t: number; event: "exit"; worker: number; pid: number; detail: string }
  | { type: "deep"; t: number; event: "result"; result: DeepDive };

export type RecordLine = StartLine | AppLine | RequestLine | WorkerLine | SampleLine | StopLine | PhaseLine | DeepLine;

// ---- Report (balloon profile --report, balloon report --json) ----

export type RouteFlag = "balloon" | "inflates" | "leak";

/** The figures a balloon verdict stands on (MiB, solo calls only). */
export interface BalloonFigures {
  /** Median and max over the solo calls of peak above the RSS before the call. */
  peakMedianMiB: number;
  peakMaxMiB: number;
  /** Median retained over the same calls: a balloon gives most of its peak back (absent when only some calls balloon). */
  retainedMedianMiB?: number;
  /** Only some calls balloon (a route of mixed sizes): how many, and the median peak of those. */
  bigCalls?: number;
  bigPeakMedianMiB?: number;
  calls: number;
  limitMiB: number;
}

export interface InflateFigures {
  /** Median over workers of the first call's retained memory, less the leak's own share of it. */
  stepMiB: number;
  workers: number;
  /** What a small-object churn of this route's size keeps on its first calls anyway (fragmentation). */
  allowanceMiB: number;
  repeats: number;
  repeatRetainedMedianMiB: number;
}

export interface LeakFigures {
  /** Slope of the cumulative retained memory of the repeat calls, fitted per worker and pooled. */
  growthPerCallMiB: number;
  /** Quality of that fit (1: every repeat kept the same). */
  r2: number;
  /** Share of the repeats that kept within ±50 % of their median (0 when the median is not above 0). */
  stepConsistency: number;
  repeats: number;
  workers: number;
  /** The bar the growth must clear: the leak threshold, or the route's own churn noise when higher. */
  noiseFloorMiB: number;
  /** Share of the route's claimed growth that its workers' RSS really gained over the later repeats (transfers between routes do not). */
  workerSupport: number;
  /** Calls of this route a worker takes in the horizon the MiB at stake are counted over. */
  horizonCalls: number;
}

export type UndecidedQuestion =
  /** Too few solo calls to read anything (threads shared the others). */
  | "too-few-calls"
  /** Growth between noise and threshold, or a fit not clean enough yet. */
  | "leak-or-noise"
  /** A first-call step with too few repeats to see whether it keeps growing. */
  | "inflation-or-leak"
  /** Every worker's first call overlapped another call and kept memory: whose, more calls cannot tell. */
  | "shared-first-call";

export interface UndecidedFigures {
  questions: UndecidedQuestion[];
  /** Solo calls of the route that would settle it (sent by the adaptive phase of profile); 0 when calls cannot. */
  moreCalls: number;
}

/** One behaviour the evidence supports, or an open question; the reason is one sentence in numbers. */
export type RouteVerdict =
  | { flag: "balloon"; reason: string; atStakeMiB: number; figures: BalloonFigures }
  | { flag: "inflates"; reason: string; atStakeMiB: number; figures: InflateFigures }
  | { flag: "leak"; reason: string; atStakeMiB: number; figures: LeakFigures }
  | { flag: "undecided"; reason: string; atStakeMiB: number; figures: UndecidedFigures };

export interface RouteReport {
  route: string;
  method: string;
  handler: HandlerInfo | null;
  requests: number;
  /** Requests that did not end "ok" (app error, worker died, timeout, rejected) or that the app answered with 5xx. */
  errors: number;
  /** Peak above the pre-request RSS. */
  peakMiB: { median: number; max: number };
  /** RSS after minus RSS before: on a worker's first call of the route, and per repeat call (median). */
  retainedMiB: { first: number; perRequest: number };
  /** Time in the worker, ms (p90/p99 absent in reports before version 2). */
  durationMs: { median: number; p90?: number; p99?: number; max: number };
  /** Time waiting for a free worker, ms. */
  waitMs?: { median: number; p99: number };
  /** Every behaviour the evidence supports, primary (most MiB at stake) first. */
  flags: RouteFlag[];
  /** One sentence per flag saying why, in numbers. */
  reasons: string[];
  /** The flags' verdicts in the same order, then the undecided one (if any), with their figures. */
  verdicts: RouteVerdict[];
  /** Calls that overlapped another call in their worker (threads): their figures are shared, left out of the verdicts. */
  shared: number;
  /** Calls sent by the adaptive phase of `balloon profile`. */
  extra: number;
  /** Targets seen for the route (a few: path and query string as requested), for sending it again. */
  samplePaths: string[];
  /** The target of the call that peaked highest (absent in older reports and without solo calls). */
  peakPath?: string;
}

export interface WorkerReport {
  id: number;
  pid: number;
  /** The host (or file) the worker's lines came from, when a report reads several. */
  host?: string;
  requests: number;
  rssMiB: { start: number; max: number; end: number };
  /** Private memory at start (null when smaps_rollup was not read). */
  ussMiB?: { start: number | null };
  /** Virtual size at start and at its largest (thread stacks count here). */
  vmSizeMiB?: { start: number | null; max: number };
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
  /** What the figures hold only in part (sampled medians, merged routes); empty when everything is exact. */
  approximations: string[];
  /** The adaptive phase of `balloon profile`, when it ran. */
  adaptive: AdaptiveSummary | null;
  /** What a recommender needs of the pool (absent in reports before this field). */
  pool?: PoolReport;
  /** The last deep dive of the run (`balloon profile --deep`), absent when none ran. */
  deepDive?: DeepDive;
}

/** An app line the deep dive found holding memory (file relative like HandlerInfo.file). */
export interface DeepSite {
  file: string;
  line: number;
  /** The source line, stripped. */
  code: string;
  /** What the line had allocated during a call and still held at the call's traced peak: median over the calls whose peak was captured. */
  peakKiB: number;
  /** What the line still held after the last call of what the dive's calls allocated (after the last minus before the first; < 0: it freed more). */
  retainedKiB: number;
  /** Blocks behind the figure `top` is ordered by (peakCount or retainedCount). */
  count: number;
  peakCount: number;
  retainedCount: number;
}

export interface DeepGrowth {
  file: string;
  line: number;
  code: string;
  /** Retained by the line per call over the repeats (calls 2..N): the snapshot after the last call minus after the first, / (N - 1). */
  kibPerCall: number;
}

export interface DeepDive {
  route: string;
  method: string;
  /** Calls made (and answered). */
  calls: number;
  /** Paths called, in turn. */
  paths: string[];
  /** Frames kept per traceback (tracemalloc.start). */
  frames: number;
  /** The route's primary flag when the dive ran (null: none), which decides the ordering of `top`. */
  flag: RouteFlag | null;
  /** peak for a balloon (and a route not flagged), retained for an inflation or a leak. */
  orderedBy: "peak" | "retained";
  top: DeepSite[];
  /** Lines that kept memory on every repeat, most per call first (empty with fewer than 2 calls). */
  growth: DeepGrowth[];
  /** How close the captured peak came to tracemalloc's own (medians over the calls; exact null before Python 3.9). */
  peak: { capturedKiB: number; exactKiB: number | null; coverage: number | null; capturedCalls: number; snapshots: number };
  /** Memory with no app frame among the `frames` innermost (framework, libraries), at the peak (median) and retained;
   * the truncated part had its traceback cut at `frames` (more frames would place it). */
  outsideApp: { peakKiB: number; retainedKiB: number; truncatedPeakKiB: number; truncatedRetainedKiB: number };
  /** HTTP status → calls. */
  statuses: Record<string, number>;
  /** Time per call in the deep worker (tracemalloc makes it slower than the pool's). */
  durationMs: { median: number; max: number };
  /** Why calls answered neither 2xx nor 3xx, in words (absent: none did, or an older recording). */
  failure?: string;
}

export interface MasterReport {
  rssMiB: number;
  ussMiB: number | null;
  pssMiB: number | null;
}

export interface PoolReport {
  /** Most requests in the workers at once (dispatch counts; the overlaps of `concurrent` in older recordings). */
  concurrencySeen: number;
  /** Spawn to ready of the workers, ms. */
  spawnToReadyMs: { median: number; max: number } | null;
  /** The Python master once ready: with --preload, RSS/PSS of the imported app the workers share. */
  master: MasterReport | null;
}

export interface AdaptiveSummary {
  /** Calls sent after the planned ones, over all routes. */
  extraCalls: number;
  /** The most it was allowed (--max-extra). */
  budget: number;
  routes: Array<{ method: string; route: string; calls: number }>;
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
