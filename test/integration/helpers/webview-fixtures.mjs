// What the extension sends the panel in the webview tests and benchmark: a running session's
// status, a report with a route for each flag (and an undecided and clean ones), a recommendation
// with alternatives. Shaped like the engine's Report and Recommendation.
import { baseRecommendation } from "../../unit/helpers/recommendations.mjs";

export const SESSION_ID = "s1";

export function runningStatus(overrides = {}) {
  return {
    sessionId: SESSION_ID,
    state: "running",
    url: "http://127.0.0.1:8765",
    python: "/srv/app/.venv/bin/python",
    pythonWhy: "./.venv",
    workers: 4,
    requests: 12480,
    errors: 3,
    totalRssMiB: 412.5,
    failure: null,
    readOnly: false,
    ...overrides,
  };
}

const settings = {
  workers: 4, minSpare: null, maxSpare: null, maxWorkers: 4, threads: 1, maxRequests: 2500, maxRequestsJitter: 0, reloadOnRssMiB: 0,
  memoryBudgetMiB: 1024, timeoutSec: 30, bootTimeoutSec: 60, stackKiB: 0, preload: false, accounting: true, queueSize: 64, maxBodyMiB: 64,
  headerTimeoutSec: 10, pssIntervalSec: 0,
};

function route(method, path, { handler = null, requests = 100, peak = [2, 4], retained = [0.1, 0], verdicts = [], errors = 0 } = {}) {
  const flags = verdicts.filter((v) => v.flag !== "undecided").map((v) => v.flag);
  return {
    route: path,
    method,
    handler,
    requests,
    errors,
    peakMiB: { median: peak[0], max: peak[1] },
    retainedMiB: { first: retained[0], perRequest: retained[1] },
    durationMs: { median: 12, p90: 30, p99: 55, max: 80 },
    waitMs: { median: 0, p99: 3 },
    flags,
    reasons: verdicts.filter((v) => v.flag !== "undecided").map((v) => v.reason),
    verdicts,
    shared: 0,
    extra: 0,
    samplePaths: [path.replace("<int:uid>", "42")],
  };
}

export const EXPORT_ROUTE = {
  key: "GET /export",
  handler: { qualname: "views.export_csv", file: "shop/views.py", line: 42 },
  reason: "GET /export inflates each worker by 148 MiB on its first call (4 workers, step 148 MiB over an allowance of 3 MiB); repeats keep 0.1 MiB.",
};

export function flaggedReport() {
  return {
    version: 2,
    app: { target: "shop.wsgi:application", cwd: "/srv/app", python: "/srv/app/.venv/bin/python", framework: "django" },
    settings,
    thresholds: { balloonMiB: 50, balloonFraction: 0.5, inflateMiB: 10, inflateFraction: 0.1, leakMiB: 0.5, leakFraction: 0.01 },
    limits: { baselineMiB: 44, balloonMiB: 50, inflateMiB: 10, leakMiB: 0.5 },
    routes: [
      route("GET", "/health", { handler: { qualname: "views.health", file: "shop/views.py", line: 12 }, requests: 6000, peak: [0, 0.1], retained: [0, 0] }),
      route("GET", "/export", {
        handler: EXPORT_ROUTE.handler,
        requests: 14,
        peak: [150, 152],
        retained: [148, 0.1],
        verdicts: [{ flag: "inflates", reason: EXPORT_ROUTE.reason, atStakeMiB: 592, figures: { stepMiB: 148, workers: 4, allowanceMiB: 3, repeats: 10, repeatRetainedMedianMiB: 0.1 } }],
      }),
      route("POST", "/reports/<int:uid>/render", {
        handler: { qualname: "ReportView.post", file: "/srv/app/shop/reports.py", line: 118 },
        requests: 220,
        peak: [96, 131],
        retained: [1.2, 0.9],
        verdicts: [
          { flag: "balloon", reason: "POST /reports/<int:uid>/render peaks at 96 MiB (max 131 MiB) over 200 solo calls and gives back all but 1 MiB.", atStakeMiB: 131, figures: { peakMedianMiB: 96, peakMaxMiB: 131, retainedMedianMiB: 0.9, calls: 200, limitMiB: 50 } },
          { flag: "leak", reason: "POST /reports/<int:uid>/render keeps 0.9 MiB more on every call (R² 0.998 over 180 repeats on 4 workers).", atStakeMiB: 90, figures: { growthPerCallMiB: 0.9, r2: 0.998, stepConsistency: 0.97, repeats: 180, workers: 4, noiseFloorMiB: 0.5, workerSupport: 0.95, horizonCalls: 100 } },
        ],
      }),
      route("GET", "/users/<int:uid>", { handler: { qualname: "views.user_detail", file: "shop/views.py", line: 30 }, requests: 5200, peak: [1.5, 3.2], retained: [0.3, 0] }),
      route("GET", "/search", {
        handler: { qualname: "views.search", file: "shop/views.py", line: 77 },
        requests: 6,
        peak: [8, 20],
        retained: [4, 0.6],
        verdicts: [{ flag: "undecided", reason: "GET /search: a first-call step of 4 MiB with too few repeats (2) to tell an inflation from a leak; 8 more calls would settle it.", atStakeMiB: 4, figures: { questions: ["inflation-or-leak"], moreCalls: 8 } }],
      }),
      route("GET", "/static/<path>", { handler: null, requests: 1240, peak: [0.2, 0.6], retained: [0, 0] }),
    ],
    workers: [1, 2, 3, 4].map((id) => ({ id, pid: 1000 + id * 100, requests: 3120, rssMiB: { start: 44, max: 196, end: 190 }, exit: null })),
    totals: { requests: 12480, errors: 3, durationSec: 6250 },
    warnings: [],
    approximations: [],
    adaptive: null,
  };
}

export function recommendation() {
  const base = baseRecommendation({ workers: 4, maxRequests: 250, maxRequestsJitter: 25, reloadOnRssMiB: 220 });
  const alternative = (label, settingsChange, predicted, fits) => ({ label, settings: { ...base.settings, ...settingsChange }, predicted: { ...base.predicted, ...predicted }, worstCaseMiB: fits ? 990 : 1400, fits });
  return {
    ...base,
    budgetMiB: 1024,
    budgetSource: "--memory-budget",
    alternatives: [
      alternative("max-requests 1000", { maxRequests: 1000 }, { peakTotalMiB: 910, recyclesPer1000: 1.1 }, true),
      alternative("no RSS limit", { reloadOnRssMiB: 0 }, { peakTotalMiB: 1180, recyclesPer1000: 4 }, false),
      alternative("6 workers", { workers: 6 }, { peakTotalMiB: 1310, waitedShare: 0.002 }, false),
    ],
    warnings: ["GET /export inflates each worker by 148 MiB: fix it first (592 MiB over 4 workers)."],
  };
}
