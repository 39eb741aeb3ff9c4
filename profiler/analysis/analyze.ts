// From a recording to a report: per-route memory figures and flags, per-worker summary.
// Pure: no fs, no clock. Single calls lie, series tell (ARCHITECTURE.md): flags come from
// medians over workers and over repeat calls, never from one reading.
import type {
  AppLine, FlagLimits, RecordLine, Report, RequestLine, RouteFlag, RouteReport, Settings, StartLine, Thresholds,
} from "../record/model";
import { REPORT_VERSION } from "../record/model";
import { summarizeWorkers } from "./workers";
import { cumulative, kibToMiB, maxOf, median, minOf, round1, theilSenSlope } from "./stats";

/**
 * Defaults for Python workers whose RSS at "ready" is 15–60 MiB. Each threshold is
 * max(absolute, fraction × baseline): a bigger app has more allocator noise and bigger
 * ordinary requests, so the bar rises with it, but never below the absolute floor.
 * - balloon 8 MiB / 25 %: ordinary routes peak < 1 MiB; planted balloons peak 20–100 MiB,
 *   above the bar even at a 60 MiB baseline (15 MiB).
 * - inflate 4 MiB / 10 %: a first call that imports modules or fills caches keeps 1–3 MiB;
 *   planted inflations keep 8–30 MiB, above the bar at 60 MiB (6 MiB).
 * - leak 0.5 MiB / 1 %: pymalloc grows in 1 MiB arenas and noise is about ±0.3 MiB per call;
 *   the smallest planted leak (1 MiB per call) must clear the bar at 60 MiB (0.6 MiB),
 *   which 2 % (1.2 MiB) would not.
 */
export const DEFAULT_THRESHOLDS: Thresholds = {
  balloonMiB: 8,
  balloonFraction: 0.25,
  inflateMiB: 4,
  inflateFraction: 0.1,
  leakMiB: 0.5,
  leakFraction: 0.01,
};

/** A leak needs this many repeat calls: fewer cannot tell growth from a one-off step. */
export const MIN_REPEATS_FOR_LEAK = 3;
/** Share of repeat calls that must keep at least half the leak threshold. */
const LEAK_STEADY_SHARE = 2 / 3;
/** A worker needs this many repeat calls for its growth slope to count. */
const MIN_REPEATS_FOR_SLOPE = 3;

/** Memory figures of one call, MiB; null when accounting was off. */
interface CallMemory {
  peakMiB: number;
  retainedMiB: number;
}

/** What the flags are decided from, unrounded. */
interface RouteEvidence {
  peaks: number[];
  /** Retained on each worker's first call of the route, one per worker that has it. */
  firstRetained: number[];
  /** Retained on 2nd and later calls, all workers. */
  repeatRetained: number[];
  workersWithRepeats: number;
  /** Median over workers of the Theil–Sen slope of the route's cumulative retained memory; NaN when no worker has enough repeats. */
  growthPerCallMiB: number;
}

export function resolveLimits(thresholds: Thresholds, baselineMiB: number): FlagLimits {
  return {
    baselineMiB: round1(baselineMiB),
    balloonMiB: Math.max(thresholds.balloonMiB, thresholds.balloonFraction * baselineMiB),
    inflateMiB: Math.max(thresholds.inflateMiB, thresholds.inflateFraction * baselineMiB),
    leakMiB: Math.max(thresholds.leakMiB, thresholds.leakFraction * baselineMiB),
  };
}

export function analyze(lines: readonly RecordLine[], thresholds: Partial<Thresholds> = {}, warnings: string[] = []): Report {
  const effective: Thresholds = { ...DEFAULT_THRESHOLDS, ...definedOnly(thresholds) };
  const start = lines.find((line): line is StartLine => line.type === "start");
  const appLine = lines.find((line): line is AppLine => line.type === "app");
  const requests = lines.filter((line): line is RequestLine => line.type === "request");

  const { workers, baselinesMiB } = summarizeWorkers(lines);
  const limits = resolveLimits(effective, baselinesMiB.length > 0 ? median(baselinesMiB) : 0);

  const routes = [...groupByRoute(requests).values()].map((calls) => reportRoute(calls, limits));
  routes.sort(
    (a, b) =>
      Number(b.flags.length > 0) - Number(a.flags.length > 0) ||
      b.peakMiB.median - a.peakMiB.median ||
      a.route.localeCompare(b.route) ||
      a.method.localeCompare(b.method),
  );

  const times = lines.map((line) => line.t);
  return {
    version: REPORT_VERSION,
    app: {
      target: start?.run.target ?? appLine?.app.target ?? "",
      cwd: start?.run.cwd ?? "",
      python: start?.run.python ?? appLine?.app.pythonExecutable ?? "",
      framework: appLine?.app.framework ?? start?.run.framework ?? "",
      ...(appLine ? { pythonVersion: appLine.app.pythonVersion, frameworkVersion: appLine.app.frameworkVersion } : {}),
    },
    settings: start?.settings ?? unknownSettings(),
    thresholds: effective,
    limits: { ...limits, balloonMiB: round1(limits.balloonMiB), inflateMiB: round1(limits.inflateMiB), leakMiB: roundLeak(limits.leakMiB) },
    routes,
    workers,
    totals: {
      requests: requests.length,
      errors: requests.filter((request) => request.outcome !== "ok").length,
      durationSec: times.length > 0 ? round1((maxOf(times) - minOf(times)) / 1000) : 0,
    },
    warnings: [...warnings],
  };
}

/** The leak threshold is sub-MiB: keep two decimals so 0.25 does not print as 0.3. */
function roundLeak(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Partial<Thresholds> from a CLI may carry undefined for options not given: they must not erase defaults. */
function definedOnly(thresholds: Partial<Thresholds>): Partial<Thresholds> {
  return Object.fromEntries(Object.entries(thresholds).filter(([, value]) => typeof value === "number" && Number.isFinite(value)));
}

/** Settings of a recording whose "start" line is lost (a warning says so): zeros, not guesses. */
function unknownSettings(): Settings {
  return {
    workers: null, minSpare: null, maxSpare: null, maxWorkers: 0, threads: 0, maxRequests: 0, maxRequestsJitter: 0,
    reloadOnRssMiB: 0, memoryBudgetMiB: 0, timeoutSec: 0, bootTimeoutSec: 0, stackKiB: 0, preload: false, accounting: false,
    queueSize: 0, maxBodyMiB: 0, headerTimeoutSec: 0, pssIntervalSec: 0,
  };
}

function groupByRoute(requests: readonly RequestLine[]): Map<string, RequestLine[]> {
  const groups = new Map<string, RequestLine[]>();
  for (const request of requests) {
    const key = `${request.method} ${request.route}`;
    const group = groups.get(key);
    if (group) group.push(request);
    else groups.set(key, [request]);
  }
  return groups;
}

function callMemory(request: RequestLine): CallMemory | null {
  const { rssBeforeKiB, peakKiB, rssAfterKiB } = request;
  if (typeof rssBeforeKiB !== "number" || typeof peakKiB !== "number" || typeof rssAfterKiB !== "number") return null;
  return {
    // VmHWM is reset just before the call, so it cannot be below RSS before; clamp reading jitter.
    peakMiB: Math.max(0, kibToMiB(peakKiB - rssBeforeKiB)),
    retainedMiB: kibToMiB(rssAfterKiB - rssBeforeKiB),
  };
}

/** Splits a route's calls per worker process, each in the order the worker took them. */
function callsPerWorker(calls: readonly RequestLine[]): RequestLine[][] {
  const perWorker = new Map<string, RequestLine[]>();
  for (const call of calls) {
    const key = `${call.worker}/${call.pid}`;
    const list = perWorker.get(key);
    if (list) list.push(call);
    else perWorker.set(key, [call]);
  }
  return [...perWorker.values()].map((list) => [...list].sort((a, b) => a.seq - b.seq || a.t - b.t));
}

export function gatherEvidence(calls: readonly RequestLine[]): RouteEvidence {
  const evidence: RouteEvidence = { peaks: [], firstRetained: [], repeatRetained: [], workersWithRepeats: 0, growthPerCallMiB: Number.NaN };
  const slopes: number[] = [];
  for (const workerCalls of callsPerWorker(calls)) {
    // The first call is the worker's first of this route, with or without figures: a figure-less
    // first call must not promote the second call to "first".
    const [first, ...repeats] = workerCalls.map(callMemory);
    if (first) evidence.firstRetained.push(first.retainedMiB);
    const repeatFigures = repeats.filter((memory): memory is CallMemory => memory !== null);
    for (const memory of [first, ...repeatFigures]) if (memory) evidence.peaks.push(memory.peakMiB);
    const retained = repeatFigures.map((memory) => memory.retainedMiB);
    evidence.repeatRetained.push(...retained);
    if (retained.length > 0) evidence.workersWithRepeats += 1;
    // Slope of the route's own retained memory summed over calls, not of RSS after: RSS after
    // also moves with whatever other routes did in between.
    if (retained.length >= MIN_REPEATS_FOR_SLOPE) slopes.push(theilSenSlope(cumulative(retained)));
  }
  if (slopes.length > 0) evidence.growthPerCallMiB = median(slopes);
  return evidence;
}

const mib = (value: number): string => `${round1(value).toFixed(1)} MiB`;
const limitMiB = (value: number): string => `${value < 1 ? roundLeak(value).toString() : round1(value).toFixed(1)} MiB`;

/** The one flag a route earns (leak > inflates > balloon) and the sentence saying why. */
export function decideFlag(evidence: RouteEvidence, limits: FlagLimits): { flag: RouteFlag; reason: string } | null {
  const repeats = evidence.repeatRetained;
  const repeatMedian = median(repeats);
  const growth = evidence.growthPerCallMiB;
  const hasGrowth = !Number.isNaN(growth);

  if (repeats.length >= MIN_REPEATS_FOR_LEAK && repeatMedian >= limits.leakMiB) {
    const steady = repeats.filter((value) => value >= limits.leakMiB / 2).length;
    const steadyEnough = steady >= LEAK_STEADY_SHARE * repeats.length;
    // When a worker has a series, held memory must really rise: alternating +1/−1 is not a leak.
    const growthHolds = !hasGrowth || growth >= limits.leakMiB / 2;
    if (growthHolds && (steadyEnough || (hasGrowth && growth >= limits.leakMiB))) {
      const growthWords = hasGrowth ? `; held memory grows ${mib(growth)} per call` : "";
      return {
        flag: "leak",
        reason:
          `retains ${mib(repeatMedian)} per call (median of ${repeats.length} repeat calls in ${evidence.workersWithRepeats} ` +
          `worker${evidence.workersWithRepeats === 1 ? "" : "s"}, ${steady} of them ≥ ${limitMiB(limits.leakMiB / 2)}), ` +
          `at or over the leak threshold ${limitMiB(limits.leakMiB)}${growthWords}`,
      };
    }
  }

  const firstMedian = median(evidence.firstRetained);
  const tooFewRepeats = repeats.length < MIN_REPEATS_FOR_LEAK;
  if (firstMedian >= limits.inflateMiB && (tooFewRepeats || repeatMedian < limits.leakMiB)) {
    const repeatWords = tooFewRepeats
      ? `only ${repeats.length} repeat call${repeats.length === 1 ? "" : "s"}: call it again to tell an inflation from a leak`
      : `repeat calls then retain ${mib(repeatMedian)} (median of ${repeats.length})`;
    return {
      flag: "inflates",
      reason:
        `first call retains ${mib(firstMedian)} (median over ${evidence.firstRetained.length} ` +
        `worker${evidence.firstRetained.length === 1 ? "" : "s"}), at or over the inflate threshold ${limitMiB(limits.inflateMiB)}; ${repeatWords}`,
    };
  }

  const peakMedian = median(evidence.peaks);
  if (peakMedian >= limits.balloonMiB) {
    const allRetained = [...evidence.firstRetained, ...repeats];
    return {
      flag: "balloon",
      reason:
        `peaks ${mib(peakMedian)} above the RSS before the call (median of ${evidence.peaks.length} calls, ` +
        `max ${mib(maxOf(evidence.peaks))}), at or over the balloon threshold ${limitMiB(limits.balloonMiB)}, ` +
        `and gives most of it back (retains ${mib(median(allRetained))} per call)`,
    };
  }
  return null;
}

function reportRoute(calls: readonly RequestLine[], limits: FlagLimits): RouteReport {
  const evidence = gatherEvidence(calls);
  const decision = decideFlag(evidence, limits);
  const durations = calls.map((call) => call.durationMs);
  const orZero = (value: number): number => (Number.isNaN(value) ? 0 : round1(value));
  // The latest handler seen: a reload may have moved the function.
  const handler = [...calls].reverse().find((call) => call.handler !== null)?.handler ?? null;
  return {
    route: calls[0].route,
    method: calls[0].method,
    handler,
    requests: calls.length,
    errors: calls.filter((call) => call.outcome !== "ok").length,
    peakMiB: {
      median: orZero(median(evidence.peaks)),
      max: evidence.peaks.length > 0 ? round1(maxOf(evidence.peaks)) : 0,
    },
    retainedMiB: { first: orZero(median(evidence.firstRetained)), perRequest: orZero(median(evidence.repeatRetained)) },
    durationMs: { median: round1(median(durations)), max: round1(maxOf(durations)) },
    flags: decision ? [decision.flag] : [],
    reasons: decision ? [decision.reason] : [],
  };
}
