// The recommendation: settings that fit a memory budget, the reason for each, what the
// what-if replay predicts for them, and alternatives. The JSON export is this object: the
// contract the editor, the exporters, `balloon run --settings` and the tests read.

export const RECOMMENDATION_VERSION = 1;

/** Server settings in Balloon's vocabulary; each exporter maps them to its server's. */
export interface RecommendedSettings {
  /** Fixed pool size (the exporters' processes / workers / MaxRequestWorkers). */
  workers: number;
  /** Dynamic pools (flup, Apache prefork, uWSGI cheaper): spare limits; null for a fixed pool. */
  minSpare: number | null;
  maxSpare: number | null;
  threads: number;
  /** 0: never recycle by count. */
  maxRequests: number;
  maxRequestsJitter: number;
  /** Recycle a worker after the request that took its RSS over this; 0: off. */
  reloadOnRssMiB: number;
  timeoutSec: number;
  /** Thread stack size (RLIMIT_STACK and threading.stack_size), KiB. */
  stackKiB: number;
  preload: boolean;
  /** SQLAlchemy (or similar) pool per worker process: follows threads. */
  dbPoolSize: number;
  dbMaxOverflow: number;
  /** Container / unit memory limits from the replay's peak: soft (throttle) and hard (OOM kill). */
  memoryHighMiB: number;
  memoryMaxMiB: number;
}

export type SettingName = keyof RecommendedSettings;

/** What the what-if replay predicts for a set of settings on the recorded traffic. */
export interface Prediction {
  /** Highest total RSS of all workers at once (their baseline, what they kept, requests' peaks). */
  peakTotalMiB: number;
  /** The same in USS (private memory; shared pages counted once): what the machine really spends. */
  peakTotalUssMiB: number;
  recyclesPer1000: number;
  /** Share of requests that waited for a free worker (0–1). */
  waitedShare: number;
  /** Requests answered 503 (queue full), 504 (timeout). */
  rejected: number;
  timedOut: number;
  requests: number;
}

export interface Alternative {
  /** What changes against the recommendation, in words ("max-requests 50"). */
  label: string;
  settings: RecommendedSettings;
  predicted: Prediction;
  /** Its workers × (baseline + kept + leak growth until recycled + the biggest request), MiB: with the replay's peak, what decides fits. */
  worstCaseMiB: number;
  fits: boolean;
}

export interface Recommendation {
  version: number;
  /** What it was measured from. */
  source: { app: string; framework: string; python: string; recordedAt: string; requests: number; file: string };
  budgetMiB: number;
  /** Where the budget came from ("--memory-budget", "75% of MemTotal 3.8 GiB"). */
  budgetSource: string;
  /** workers × (baseline + everything a worker keeps + the biggest request), MiB. */
  worstCaseMiB: number;
  fits: boolean;
  settings: RecommendedSettings;
  /** One sentence per setting naming the measured figure behind it. */
  reasons: Partial<Record<SettingName, string>>;
  predicted: Prediction;
  alternatives: Alternative[];
  /** Plain warnings: what does not fit, which route to fix first. */
  warnings: string[];
  /** Figures the settings were derived from, MiB unless named otherwise. */
  measured: {
    baselineRssMiB: number;
    baselineUssMiB: number | null;
    /** Everything a worker keeps once it has served every route once (inflations). */
    keptMiB: number;
    biggestPeakMiB: number;
    biggestPeakRoute: string | null;
    leakMiBPerRequest: number;
    concurrencySeen: number;
    cpuCount: number;
    p99DurationMs: number;
  };
}
