// The recommendation engine: from measured figures to settings that fit a memory budget, each
// with its reason, checked by replaying the recorded traffic under them (replay.ts), with a
// small table of alternatives. Pure: the CLI reads files, MemTotal and the CPU count.
import type { Report } from "../record/model";
import type { ArbiterSettings } from "../supervisor/arbiter";
import { measuredFigures, routeName } from "./figures";
import { RECOMMENDATION_VERSION, type Alternative, type Prediction, type Recommendation, type RecommendedSettings, type SettingName } from "./model";
import { replay, type ReplayOptions, type ReplayResult } from "./replay";
import {
  chooseDbPool, chooseMaxRequests, choosePreload, chooseRssLimit, chooseThreads, chooseTimeout, chooseWorkers,
  DEFAULT_DB_MAX_CONNECTIONS, workerWorstMiB,
} from "./rules";
import { workloadFromReport, type Workload } from "./workload";

export interface RecommendInput {
  report: Report;
  /** From the recording; null when only a report is at hand (traffic is then synthesised from it). */
  workload: Workload | null;
  budgetMiB: number;
  budgetSource: string;
  cpuCount: number;
  /** Simultaneous requests to serve; default: what the recording saw, at least 2 × CPUs + 1 (gunicorn's rule of thumb). */
  targetConcurrency?: number;
  dbMaxConnections?: number;
  /** What-if: arrivals faster than recorded, or a closed loop of N clients. */
  replay?: ReplayOptions;
  source: Recommendation["source"];
}

/** Balloon's own default (supervisor/options.ts), the users' `ulimit -s 512` and `thread.stack_size(512*1024)`. */
const STACK_KIB = 512;
/** MemoryHigh / MemoryMax above the predicted peak: throttle at +10%, kill at +25% (never past the budget). */
const MEMORY_HIGH_MARGIN = 1.1;
const MEMORY_MAX_MARGIN = 1.25;

export function recommend(input: RecommendInput): Recommendation {
  const { report, budgetMiB, cpuCount } = input;
  const workload = input.workload ?? workloadFromReport(report);
  const figures = measuredFigures(report, input.workload);
  const target = input.targetConcurrency ?? Math.max(figures.concurrencySeen, 2 * cpuCount + 1);
  const reasons: Partial<Record<SettingName, string>> = {};
  const warnings: string[] = [];
  const replays = new Map<string, ReplayResult>();

  const threads = chooseThreads(figures, budgetMiB, target, workload.cpuShare);
  reasons.threads = threads.reason;
  const pool = chooseWorkers(figures, budgetMiB, threads.threads, target);
  reasons.workers = pool.reason;
  let settings = derive(pool.workers);

  // The replay has the last word: fewer workers while the predicted peak is over the budget.
  while (predict(settings).peakTotalMiB > budgetMiB && settings.workers > 1) {
    const over = predict(settings).peakTotalMiB;
    settings = derive(settings.workers - 1);
    reasons.workers = `${settings.workers}: the replay of the recorded traffic peaks at ${over.toFixed(1)} MiB with ${settings.workers + 1} workers, over the ${budgetMiB.toFixed(1)} MiB budget`;
  }
  settings = cheapestRecycling(settings);
  const predicted = predict(settings);
  limits(settings, predicted);

  const worstCaseMiB = round1(staticWorstMiB(settings));
  const fits = worstCaseMiB <= budgetMiB && pool.fit >= 1;
  if (!fits) warnings.push(doesNotFit(figures, settings, worstCaseMiB, budgetMiB));
  if (pool.fit >= 1 && pool.fit * settings.threads < target) {
    warnings.push(`only ${pool.fit * settings.threads} simultaneous requests fit in ${budgetMiB.toFixed(1)} MiB, ${target} wanted: requests will wait for a worker at busy times`);
  }
  const db = chooseDbPool(settings.workers, settings.threads, input.dbMaxConnections ?? DEFAULT_DB_MAX_CONNECTIONS);
  if (db.warning) warnings.push(db.warning);
  reasons.dbPoolSize = db.reason;
  reasons.dbMaxOverflow = db.overflowReason;
  reasons.memoryHighMiB = `${settings.memoryHighMiB} MiB: the replay's peak total (${predicted.peakTotalMiB.toFixed(1)} MiB) + 10%, where the kernel starts reclaiming`;
  reasons.memoryMaxMiB = `${settings.memoryMaxMiB} MiB: the replay's peak + 25%, at most the budget: over it the kernel kills (OOM)`;

  return {
    version: RECOMMENDATION_VERSION,
    source: input.source,
    budgetMiB,
    budgetSource: input.budgetSource,
    worstCaseMiB,
    fits,
    settings,
    reasons,
    predicted: toPrediction(predicted),
    alternatives: alternatives(settings),
    warnings,
    measured: {
      baselineRssMiB: figures.baselineRssMiB,
      baselineUssMiB: figures.baselineUssMiB,
      keptMiB: figures.keptMiB,
      biggestPeakMiB: figures.biggestPeakMiB,
      biggestPeakRoute: figures.biggestPeak ? routeName(figures.biggestPeak) : null,
      leakMiBPerRequest: figures.leakMiBPerRequest,
      concurrencySeen: figures.concurrencySeen,
      cpuCount,
      p99DurationMs: figures.p99DurationMs,
    },
  };

  /** Every setting for a pool of `workers`, with the reasons that depend on it. */
  function derive(workers: number): RecommendedSettings {
    const count = chooseMaxRequests(figures, budgetMiB, workers, threads.threads);
    const rss = chooseRssLimit(figures, budgetMiB, workers, threads.threads);
    const timeout = chooseTimeout(figures);
    const preload = choosePreload(figures, workload, workers);
    reasons.maxRequests = count.reason;
    reasons.maxRequestsJitter = count.jitterReason;
    reasons.reloadOnRssMiB = rss.reason;
    reasons.timeoutSec = timeout.reason;
    reasons.preload = preload.reason;
    reasons.stackKiB = `${STACK_KIB}: thread stacks of 512 KiB instead of glibc's 8 MiB default cut each thread's virtual size by 7.5 MiB (VmSize, which hosts and reload-on-as count)`;
    return {
      workers, minSpare: null, maxSpare: null, threads: threads.threads,
      maxRequests: count.maxRequests, maxRequestsJitter: count.jitter, reloadOnRssMiB: rss.limitMiB, timeoutSec: timeout.timeoutSec,
      stackKiB: STACK_KIB, preload: preload.preload, dbPoolSize: threads.threads, dbMaxOverflow: 0, memoryHighMiB: 0, memoryMaxMiB: 0,
    };
  }

  /** workers × (fresh + kept + what a worker may grow before it recycles + its threads' biggest requests); Infinity for a leak never recycled. */
  function staticWorstMiB(candidate: RecommendedSettings): number {
    const steady = figures.baselineRssMiB + figures.keptMiB;
    const growth = figures.leakMiBPerRequest <= 0 ? 0
      : Math.min(
        candidate.maxRequests > 0 ? (candidate.maxRequests + candidate.maxRequestsJitter) * figures.leakMiBPerRequest : Number.POSITIVE_INFINITY,
        candidate.reloadOnRssMiB > 0 ? Math.max(0, candidate.reloadOnRssMiB - steady) + (figures.leaks[0]?.retainedMiB.perRequest ?? 0) : Number.POSITIVE_INFINITY,
      );
    return candidate.workers * workerWorstMiB(figures, candidate.threads, growth);
  }

  function fitsBudget(candidate: RecommendedSettings, result: ReplayResult): boolean {
    return !result.refused && result.peakTotalMiB <= budgetMiB && staticWorstMiB(candidate) <= budgetMiB;
  }

  function predict(candidate: RecommendedSettings): ReplayResult {
    const key = JSON.stringify(arbiterSettings(candidate));
    let result = replays.get(key);
    if (!result) {
      result = replay(workload, arbiterSettings(candidate), input.replay);
      replays.set(key, result);
    }
    return result;
  }

  function limits(candidate: RecommendedSettings, result: ReplayResult): void {
    candidate.memoryHighMiB = Math.ceil(result.peakTotalMiB * MEMORY_HIGH_MARGIN);
    candidate.memoryMaxMiB = Math.max(candidate.memoryHighMiB, Math.min(Math.ceil(budgetMiB), Math.ceil(result.peakTotalMiB * MEMORY_MAX_MARGIN)));
  }

  /**
   * Of the recycling settings that still fit (by the replay and by the worst case), the one
   * that recycles least, then makes fewest requests wait, then peaks lowest: recycles cost a
   * fresh worker's boot and its warm-up each time.
   */
  function cheapestRecycling(rules: RecommendedSettings): RecommendedSettings {
    const counts = [rules.maxRequests, 0, 50, 100, 500].filter((n, i, all) => all.indexOf(n) === i);
    const candidates: RecommendedSettings[] = [];
    for (const maxRequests of counts) {
      for (const reloadOnRssMiB of [rules.reloadOnRssMiB, 0]) {
        candidates.push({ ...rules, maxRequests, maxRequestsJitter: maxRequests > 0 ? Math.max(1, Math.round(maxRequests / 10)) : 0, reloadOnRssMiB });
      }
    }
    const fitting = candidates.filter((candidate) => fitsBudget(candidate, predict(candidate)));
    if (fitting.length === 0) return rules;
    const cost = (c: RecommendedSettings): number[] => {
      const p = predict(c);
      return [p.recyclesPer1000, p.waitedShare, p.peakTotalMiB];
    };
    fitting.sort((a, b) => compareCosts(cost(a), cost(b)));
    const best = fitting[0];
    const ruled = predict(rules);
    const bestPrediction = predict(best);
    const versus = `the replay recycles ${bestPrediction.recyclesPer1000} per 1000 requests this way, ${ruled.recyclesPer1000} with max-requests ${rules.maxRequests || "never"} and reload-on-rss ${rules.reloadOnRssMiB} MiB, and still fits`;
    if (best.maxRequests !== rules.maxRequests) {
      reasons.maxRequests = `${best.maxRequests > 0 ? best.maxRequests : "0 (never)"}: ${versus}`;
      reasons.maxRequestsJitter = best.maxRequests > 0 ? `${best.maxRequestsJitter}: 10% of max-requests, so workers started together do not all restart at once` : "0: no recycling by count";
    }
    if (best.reloadOnRssMiB !== rules.reloadOnRssMiB) reasons.reloadOnRssMiB = `${best.reloadOnRssMiB > 0 ? `${best.reloadOnRssMiB} MiB` : "0 (off)"}: ${versus}`;
    return best;
  }

  /** max-requests 50 / 100 / 500 / none, and two RSS limits, each replayed. */
  function alternatives(chosen: RecommendedSettings): Alternative[] {
    const rssLimit = chosen.reloadOnRssMiB > 0 ? chosen.reloadOnRssMiB : chooseRssLimit(figures, budgetMiB, chosen.workers, chosen.threads).limitMiB;
    const variants: Array<[string, Partial<RecommendedSettings>]> = [
      ...[50, 100, 500].map((n): [string, Partial<RecommendedSettings>] => [`max-requests ${n}`, { maxRequests: n, maxRequestsJitter: Math.max(1, Math.round(n / 10)) }]),
      ["max-requests none", { maxRequests: 0, maxRequestsJitter: 0 }],
      [`reload-on-rss ${rssLimit} MiB`, { reloadOnRssMiB: rssLimit }],
      [`reload-on-rss ${Math.round(rssLimit * 0.8)} MiB`, { reloadOnRssMiB: Math.round(rssLimit * 0.8) }],
      ["reload-on-rss off", { reloadOnRssMiB: 0 }],
    ];
    const seen = new Set([JSON.stringify(arbiterSettings(chosen))]);
    const out: Alternative[] = [];
    for (const [label, change] of variants) {
      const candidate = { ...chosen, ...change };
      const key = JSON.stringify(arbiterSettings(candidate));
      if (seen.has(key)) continue; // the recommendation itself, or a duplicate
      seen.add(key);
      const result = predict(candidate);
      limits(candidate, result);
      out.push({ label, settings: candidate, predicted: toPrediction(result), worstCaseMiB: round1(staticWorstMiB(candidate)), fits: fitsBudget(candidate, result) });
    }
    return out;
  }
}

function compareCosts(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** The arbiter's view of a recommendation (what the replay runs). */
export function arbiterSettings(settings: RecommendedSettings): ArbiterSettings {
  return {
    workers: settings.workers, minSpare: settings.minSpare, maxSpare: settings.maxSpare, maxWorkers: settings.workers,
    threads: settings.threads, maxRequests: settings.maxRequests, maxRequestsJitter: settings.maxRequestsJitter,
    reloadOnRssMiB: settings.reloadOnRssMiB, memoryBudgetMiB: 0, timeoutSec: settings.timeoutSec, queueSize: 2048,
  };
}

function toPrediction(result: ReplayResult): Prediction {
  const { peakTotalMiB, peakTotalUssMiB, recyclesPer1000, waitedShare, rejected, timedOut, requests } = result;
  return { peakTotalMiB, peakTotalUssMiB, recyclesPer1000, waitedShare, rejected, timedOut, requests };
}

function doesNotFit(figures: ReturnType<typeof measuredFigures>, settings: RecommendedSettings, worstCaseMiB: number, budgetMiB: number): string {
  const peak = figures.biggestPeak;
  const perWorker = workerWorstMiB(figures, 1);
  const most = Math.floor(budgetMiB / perWorker);
  const fix = peak ? ` Fix ${routeName(peak)} first: it peaks ${figures.biggestPeakMiB.toFixed(1)} MiB above the worker's RSS.` : "";
  return `Does not fit: ${settings.workers} worker${settings.workers === 1 ? "" : "s"} at worst need ${worstCaseMiB.toFixed(1)} MiB ` +
    `(each ${figures.baselineRssMiB.toFixed(1)} MiB fresh + ${figures.keptMiB.toFixed(1)} MiB kept + ${figures.biggestPeakMiB.toFixed(1)} MiB for its biggest request${settings.maxRequests > 0 ? " + leak growth before a recycle" : ""}), ` +
    `over the ${budgetMiB.toFixed(1)} MiB budget; at most ${Math.max(0, most)} such request${most === 1 ? "" : "s"} fit at once.${fix}`;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10 + 0;
}
