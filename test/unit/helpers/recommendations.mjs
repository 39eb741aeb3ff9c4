// Recommendation fixtures for the exporter tests (unit and integration): one base shaped like
// the engine's output for the wsgi_app fixture, and variants for each pool shape the exporters
// map differently. Each variant is a fresh object, so a test may change it.

const BASE_SETTINGS = {
  workers: 3,
  minSpare: null,
  maxSpare: null,
  threads: 1,
  maxRequests: 100,
  maxRequestsJitter: 10,
  reloadOnRssMiB: 160,
  timeoutSec: 30,
  stackKiB: 512,
  preload: false,
  dbPoolSize: 1,
  dbMaxOverflow: 2,
  memoryHighMiB: 600,
  memoryMaxMiB: 720,
};

const PREDICTION = { peakTotalMiB: 540.4, peakTotalUssMiB: 470.2, recyclesPer1000: 12.5, waitedShare: 0.031, rejected: 0, timedOut: 0, requests: 1200 };

/** One sentence per setting naming its value, as the engine writes them. */
function reasonsFor(s) {
  return {
    workers: `${s.workers} workers: ${s.workers} x (40 MiB baseline + 30 MiB kept + 96 MiB biggest request) fits the 768 MiB budget.`,
    minSpare: `keep ${s.minSpare} idle worker(s): bursts of 2 concurrent requests were seen.`,
    maxSpare: `retire idle workers above ${s.maxSpare}: each idle worker holds 70 MiB.`,
    threads: `${s.threads} thread(s) per worker: the routes wait on I/O for 60% of their time.`,
    maxRequests: `recycle after ${s.maxRequests} requests: /leak/small keeps 2 MiB per call.`,
    maxRequestsJitter: `${s.maxRequestsJitter} requests of jitter so the workers do not restart together.`,
    reloadOnRssMiB: `recycle over ${s.reloadOnRssMiB} MiB: baseline 40 MiB + kept 30 MiB + 90 MiB headroom.`,
    timeoutSec: `${s.timeoutSec} s: the slowest request took 1.2 s.`,
    stackKiB: `${s.stackKiB} KiB thread stacks: the deepest stack seen used 90 KiB.`,
    preload: s.preload ? "preload: the master's pages shared copy-on-write save 25 MiB per worker (PSS)." : "no preload: sharing the master's pages would save only 3 MiB per worker.",
    dbPoolSize: `pool_size ${s.dbPoolSize}: one connection per thread.`,
    dbMaxOverflow: `max_overflow ${s.dbMaxOverflow}: total connections stay under the database's 100.`,
    memoryHighMiB: `soft limit ${s.memoryHighMiB} MiB: the replay's peak 540 MiB plus 10%.`,
    memoryMaxMiB: `hard limit ${s.memoryMaxMiB} MiB: the worst case 612 MiB plus 15%.`,
  };
}

export function baseRecommendation(settings = {}) {
  const merged = { ...BASE_SETTINGS, ...settings };
  return {
    version: 1,
    source: { app: "app:application", framework: "wsgi", python: "3.11.2", recordedAt: "2026-07-01T10:00:00.000Z", requests: 1200, file: "/tmp/record.jsonl" },
    budgetMiB: 768,
    budgetSource: "--memory-budget",
    worstCaseMiB: 612,
    fits: true,
    settings: merged,
    reasons: reasonsFor(merged),
    predicted: { ...PREDICTION },
    alternatives: [{ label: "max-requests 500", settings: { ...merged, maxRequests: 500 }, predicted: { ...PREDICTION, peakTotalMiB: 610 }, worstCaseMiB: 900, fits: true }],
    warnings: ["/balloon/large peaks at 96 MiB: fix it first."],
    measured: {
      baselineRssMiB: 40,
      baselineUssMiB: 34,
      keptMiB: 30,
      biggestPeakMiB: 96,
      biggestPeakRoute: "/balloon/large",
      leakMiBPerRequest: 2,
      concurrencySeen: 2,
      cpuCount: 2,
      p99DurationMs: 120,
    },
  };
}

/** The variants the exporters map differently, by name. */
export const VARIANTS = {
  fixed: () => baseRecommendation(),
  dynamic: () => baseRecommendation({ workers: 6, minSpare: 1, maxSpare: 3 }),
  threaded: () => baseRecommendation({ workers: 2, threads: 4, dbPoolSize: 4, dbMaxOverflow: 2 }),
  recyclingOff: () => baseRecommendation({ maxRequests: 0, maxRequestsJitter: 0, reloadOnRssMiB: 0 }),
  preload: () => baseRecommendation({ preload: true }),
};

export const EXPORT_OPTIONS = { app: "app:application", appDir: "/srv/app", bind: "127.0.0.1:8000", python: "/usr/bin/python3" };
