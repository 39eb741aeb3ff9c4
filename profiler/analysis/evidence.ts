// The evidence of one route, gathered call by call in bounded memory: what the verdicts are
// decided from. Only calls that ran alone in their worker count (concurrent > 1 shares every
// figure with the other call); they are split per worker process, since a series is what tells
// a leak from an inflation from a balloon, and a worker's series is the only honest one.
//
// Exact: counts, maxima, the fit of each worker's cumulative retained memory (running sums),
// the later-half figures while a worker has at most RECENT_REPEATS repeats of the route.
// Approximate past SAMPLE_CAPACITY calls of a route: medians come from a uniform sample of that
// size (exact below it). Past RECENT_REPEATS repeats in one worker the later half is the later
// half of the most recent RECENT_REPEATS.
import type { RequestLine } from "../record/model";
import type { HandlerInfo } from "../supervisor/shim-protocol";
import { LineFit, Reservoir, addFit, emptyFit, fitR2, fitSlope, kibToMiB, median, percentile, type FitSums } from "./stats";

/** Medians are exact up to this many calls of a route. */
export const SAMPLE_CAPACITY = 10_000;
/** Repeats per worker kept for the later-half figures. */
export const RECENT_REPEATS = 64;
/** Raw paths kept per route, for the adaptive phase to send again. */
const SAMPLE_PATHS = 8;

/** What the verdicts are decided from (MiB, unrounded; NaN where there is nothing to measure). */
export interface RouteEvidence {
  requests: number;
  errors: number;
  /** Calls that overlapped another in their worker: left out of everything below. */
  shared: number;
  extra: number;
  /** Solo calls with memory figures. */
  soloCalls: number;
  peakMedianMiB: number;
  peakMaxMiB: number;
  /**
   * What came and went in each solo call (its peak less what it kept), MiB, a sample of at most
   * SAMPLE_CAPACITY: of repeat calls, and of first calls that kept under FIRST_CALL_GAVE_BACK_KIB
   * (a first call that keeps more is an inflation's step, an import, a cache fill). A repeat call
   * that kept a buffer the allocator held on to counts its whole peak (KEPT_FREED_BUFFER).
   */
  transientPeaksMiB: number[];
  /** Peaks of the repeat calls among those whose freed buffer the allocator kept resident (KEPT_FREED_BUFFER), MiB. */
  keptFreedBufferPeaksMiB: number[];
  retainedMedianMiB: number;
  /** Median over workers of the retained memory of the route's first call there (when it ran alone). */
  firstRetainedMedianMiB: number;
  firstWorkers: number;
  /** Workers whose first call of the route overlapped another call, and the median of what those calls kept. */
  sharedFirsts: number;
  sharedFirstRetainedMedianMiB: number;
  /** Solo calls after the first in their worker. */
  repeats: number;
  repeatWorkers: number;
  /** The most repeats one worker's series has (a fit needs a third point to mean anything). */
  repeatsInOneWorker: number;
  repeatRetainedMedianMiB: number;
  repeatRetainedMeanMiB: number;
  /** Share of the repeats that kept within half to one and a half times the median (NaN when the median is not above 0). */
  repeatStepConsistency: number;
  /** The route's churn: median peak of its repeat calls. */
  repeatPeakMedianMiB: number;
  /** Pooled fit (one intercept per worker) of cumulative retained memory against the repeat index. */
  growthPerCallMiB: number;
  r2: number;
  /** Retained per call over the later half of each worker's repeats: does it keep growing? */
  laterGrowthPerCallMiB: number;
  /** Share of that later-half retained memory that the workers' RSS really gained over the same calls. */
  workerSupport: number;
  durationMedianMs: number;
  durationP90Ms: number;
  durationP99Ms: number;
  durationMaxMs: number;
  /** Time waiting for a worker: median and p99 (0 in recordings without waits). */
  waitMedianMs: number;
  waitP99Ms: number;
  /** False when a median came from a sample (more than SAMPLE_CAPACITY calls). */
  exact: boolean;
}

interface LaterHalf {
  growthKiB: number;
  claimedKiB: number;
  calls: number;
}

/** One worker process's calls of one route. */
class WorkerSeries {
  /** Calls of the route here, of any kind: the first one is the first, with figures or not. */
  calls = 0;
  repeats = 0;
  /** What the route's first call here gave back, when that was most of its peak (a buffer), KiB; else 0. */
  firstBufferKiB = 0;
  /** What that first call kept beside it (a leak's share, say), KiB. */
  firstKeptKiB = 0;
  private cumulativeKiB = 0;
  readonly fit = new LineFit();
  private readonly recentBefore: number[] = [];
  private readonly recentAfter: number[] = [];
  private oldest = 0;

  addRepeat(beforeKiB: number, afterKiB: number): void {
    if (this.repeats === 0) this.fit.add(0, 0);
    this.repeats += 1;
    this.cumulativeKiB += afterKiB - beforeKiB;
    this.fit.add(this.repeats, kibToMiB(this.cumulativeKiB));
    if (this.recentBefore.length < RECENT_REPEATS) {
      this.recentBefore.push(beforeKiB);
      this.recentAfter.push(afterKiB);
    } else {
      this.recentBefore[this.oldest] = beforeKiB;
      this.recentAfter[this.oldest] = afterKiB;
      this.oldest = (this.oldest + 1) % RECENT_REPEATS;
    }
  }

  /** RSS growth of the worker and the route's own retained memory over the later half of the recent repeats. */
  laterHalf(): LaterHalf {
    const kept = this.recentBefore.length;
    if (kept === 0) return { growthKiB: 0, claimedKiB: 0, calls: 0 };
    const at = (i: number): number => (this.oldest + i) % kept;
    const from = kept >> 1;
    let claimedKiB = 0;
    for (let i = from; i < kept; i++) claimedKiB += this.recentAfter[at(i)] - this.recentBefore[at(i)];
    return { growthKiB: this.recentAfter[at(kept - 1)] - this.recentBefore[at(from)], claimedKiB, calls: kept - from };
  }
}

function addLater(total: LaterHalf, part: LaterHalf): void {
  total.growthKiB += part.growthKiB;
  total.claimedKiB += part.claimedKiB;
  total.calls += part.calls;
}

const toMiB = (values: readonly number[]): number => kibToMiB(median(values));

/** Share of the steps within [0.5, 1.5] × their median: a leak keeps about the same on every call. */
function stepConsistency(steps: readonly number[]): number {
  const middle = median(steps);
  if (!(middle > 0)) return Number.NaN;
  let near = 0;
  for (const step of steps) if (step >= 0.5 * middle && step <= 1.5 * middle) near += 1;
  return near / steps.length;
}

/**
 * A request that failed: the supervisor or the worker did not answer it as the app meant (an
 * app error, a dead or timed-out worker, a rejected request...), or the app answered 5xx itself
 * (Django turns an exception into a 500 page, and the client saw an error all the same).
 */
export function failed(line: RequestLine): boolean {
  return line.outcome !== "ok" || line.status >= 500;
}

/** A first call that kept less than this gave its peak back: allocator noise is ±0.3 MiB, the smallest inflation bar 4 MiB. */
const FIRST_CALL_GAVE_BACK_KIB = 1024;

/**
 * A call that keeps its whole peak, about the size of the buffer a first call of the route gave
 * back (between `low` and `high` shares of it, plus what that first call kept beside it, a
 * leak's share), kept a freed buffer, not live objects. It is glibc's dynamic mmap threshold:
 * a buffer of up to 32 MiB is mmapped and unmapped on the first call,
 * which raises the threshold to its size (and the trim threshold to twice that), so the next
 * call's buffer comes from the heap and stays resident once freed; later calls reuse it and peak
 * ~0 above their RSS before. Measured with /usr/bin/python3, `b"y" * (20 << 20)` then del, three
 * times: RSS after +0, +20, +20 MiB with peaks 20, 20, 0 above before (the second peak 1 % over
 * the first, all of it kept; 40 MiB is unmapped every time). A worker whose threshold another
 * route raised keeps it on its very first call (Flask, a 30 MiB route before a 20 MiB one: /big
 * read as an inflation of 10 MiB, 20 kept in one worker, 0 in the other). A repeat is judged
 * against what its own worker's first call gave back: that is the sequence measured, and a
 * route that fills a cache on its first call and churns as much on repeats (the accuracy
 * benchmark's noisy inflation: 238 of 2000 lost their inflation when any give-back counted)
 * does not follow it. A first call is judged against the route's biggest first-call give-back,
 * and only once a repeat somewhere has followed the sequence: an inflation whose first call fell
 * into free memory in one worker is not taken for a buffer in the others. Its peak is what it
 * needed and freed, a balloon's, not an inflation's step. The window allows a body that varies
 * by query; `whole` the reading jitter; what keeps much less than the buffer is something else
 * (the same app: 30 MiB calls kept 1.3–2.1 MiB of a leaking route's growth).
 */
const KEPT_FREED_BUFFER = { low: 0.5, high: 1.1, whole: 0.8 };

/** A call that kept `keptKiB` of its `peakKiB` kept a freed buffer of `bufferKiB` (and `besideKiB` of its own, a leak's share). */
function keptFreedBuffer(keptKiB: number, peakKiB: number, bufferKiB: number, besideKiB = 0): boolean {
  return bufferKiB >= FIRST_CALL_GAVE_BACK_KIB && keptKiB >= KEPT_FREED_BUFFER.whole * peakKiB &&
    keptKiB >= KEPT_FREED_BUFFER.low * bufferKiB && keptKiB <= KEPT_FREED_BUFFER.high * bufferKiB + Math.max(0, besideKiB);
}

/** A first call gave back a buffer when what came and went was most of its peak. */
const gaveBackBuffer = (keptKiB: number, peakKiB: number): number => (peakKiB - keptKiB >= 0.5 * peakKiB ? peakKiB - keptKiB : 0);

export class RouteAccumulator {
  requests = 0;
  errors = 0;
  shared = 0;
  extra = 0;
  handler: HandlerInfo | null = null;
  /** Request targets as sent (path and query string), for sending the route again. */
  readonly samplePaths: string[] = [];
  /** The target of the solo call that peaked highest: what a balloon's deep dive must send. */
  peakPath: string | null = null;
  private soloCalls = 0;
  private readonly durations = new Reservoir(SAMPLE_CAPACITY, 11);
  private durationMaxMs = 0;
  private readonly waits = new Reservoir(SAMPLE_CAPACITY, 31);
  private readonly firstRetained = new Reservoir(SAMPLE_CAPACITY, 13);
  // The seed of firstRetained: both sample the same calls, so firsts pair with their peaks.
  private readonly firstPeaks = new Reservoir(SAMPLE_CAPACITY, 13);
  private readonly repeatRetained = new Reservoir(SAMPLE_CAPACITY, 19);
  private readonly repeatPeaks = new Reservoir(SAMPLE_CAPACITY, 23);
  private peakMaxKiB = Number.NEGATIVE_INFINITY;
  private readonly transientPeaks = new Reservoir(SAMPLE_CAPACITY, 37);
  private readonly keptFreedBufferPeaks = new Reservoir(SAMPLE_CAPACITY, 41);
  /** The biggest buffer a first call of the route gave back (WorkerSeries.firstBufferKiB), KiB. */
  private firstBufferKiB = 0;
  private readonly sharedFirstRetained = new Reservoir(SAMPLE_CAPACITY, 29);
  private repeatRetainedSumKiB = 0;
  private readonly live = new Map<string, WorkerSeries>();
  /** Series of workers that have ended, folded into sums. */
  private readonly closedFit: FitSums = emptyFit();
  private readonly closedLater: LaterHalf = { growthKiB: 0, claimedKiB: 0, calls: 0 };
  private closedRepeatWorkers = 0;
  private closedMostRepeats = 0;
  /** The last evidence(), until a call or a worker's end changes it (the live table asks every 2 s). */
  private cached: RouteEvidence | null = null;

  constructor(
    readonly method: string,
    readonly route: string,
  ) {}

  add(call: RequestLine, workerKey: string, extra: boolean): void {
    this.cached = null;
    this.requests += 1;
    if (failed(call)) this.errors += 1;
    if (extra) this.extra += 1;
    // The latest handler seen: a reload may have moved the function.
    if (call.handler !== null) this.handler = call.handler;
    // With its query: /render?target=app.*&from=-10d balloons where /render alone does not.
    const target = call.query ? `${call.path}?${call.query}` : call.path;
    if (this.samplePaths.length < SAMPLE_PATHS && !this.samplePaths.includes(target)) this.samplePaths.push(target);
    this.durations.add(call.durationMs);
    this.durationMaxMs = Math.max(this.durationMaxMs, call.durationMs);
    this.waits.add(call.waitMs ?? 0);

    let series = this.live.get(workerKey);
    if (!series) {
      series = new WorkerSeries();
      this.live.set(workerKey, series);
    }
    const isFirst = series.calls === 0;
    series.calls += 1;
    const { rssBeforeKiB: before, peakKiB, rssAfterKiB: after } = call;
    if ((call.concurrent ?? 1) > 1) {
      this.shared += 1;
      if (isFirst && typeof before === "number" && typeof after === "number") this.sharedFirstRetained.add(after - before);
      return;
    }
    if (typeof before !== "number" || typeof peakKiB !== "number" || typeof after !== "number") return;
    this.soloCalls += 1;
    // The mark is reset just before the call, so it cannot be below RSS before; clamp reading jitter.
    const peak = Math.max(0, peakKiB - before);
    if (peak > this.peakMaxKiB) {
      this.peakMaxKiB = peak;
      this.peakPath = target;
    }
    const kept = Math.max(0, after - before);
    const gaveBack = kept < FIRST_CALL_GAVE_BACK_KIB;
    if (isFirst) { // sorted out in gather(): a give-back may come later, in another worker
      series.firstBufferKiB = gaveBackBuffer(kept, peak);
      series.firstKeptKiB = kept;
      this.firstBufferKiB = Math.max(this.firstBufferKiB, series.firstBufferKiB);
      this.firstRetained.add(after - before);
      this.firstPeaks.add(peak);
      if (gaveBack) this.transientPeaks.add(peak - kept);
      return;
    }
    // A freed buffer kept is not the route's retention: what it keeps beside it (a leak's share) is.
    const freedBuffer = keptFreedBuffer(kept, peak, series.firstBufferKiB, series.firstKeptKiB);
    const ownAfter = freedBuffer ? after - Math.min(kept, series.firstBufferKiB) : after;
    this.repeatRetained.add(ownAfter - before);
    this.repeatPeaks.add(peak);
    this.transientPeaks.add(freedBuffer ? peak : peak - kept);
    if (freedBuffer) this.keptFreedBufferPeaks.add(peak);
    this.repeatRetainedSumKiB += ownAfter - before;
    series.addRepeat(before, ownAfter);
  }

  /** The worker process is gone: fold its series into the sums (bounded memory over recycled workers). */
  endWorker(workerKey: string): void {
    const series = this.live.get(workerKey);
    if (!series) return;
    this.cached = null;
    this.live.delete(workerKey);
    if (series.repeats === 0) return;
    addFit(this.closedFit, series.fit.sums);
    addLater(this.closedLater, series.laterHalf());
    this.closedRepeatWorkers += 1;
    this.closedMostRepeats = Math.max(this.closedMostRepeats, series.repeats);
  }

  evidence(): RouteEvidence {
    this.cached ??= this.gather();
    return this.cached;
  }

  private gather(): RouteEvidence {
    const fit: FitSums = { ...this.closedFit };
    const later: LaterHalf = { ...this.closedLater };
    let repeatWorkers = this.closedRepeatWorkers;
    let repeatsInOneWorker = this.closedMostRepeats;
    for (const series of this.live.values()) {
      if (series.repeats === 0) continue;
      addFit(fit, series.fit.sums);
      addLater(later, series.laterHalf());
      repeatWorkers += 1;
      repeatsInOneWorker = Math.max(repeatsInOneWorker, series.repeats);
    }
    // First calls that kept a freed buffer gave their peak back to the allocator: no step.
    const firstPeaks = this.firstPeaks.sample();
    const freedFirstPeaks: number[] = [];
    const firsts = this.firstRetained.sample().map((kept, i) => {
      if (this.keptFreedBufferPeaks.count === 0 || !keptFreedBuffer(kept, firstPeaks[i], this.firstBufferKiB)) return kept;
      freedFirstPeaks.push(firstPeaks[i]);
      return 0;
    });
    const repeats = this.repeatRetained.sample();
    const repeatCount = this.repeatRetained.count;
    const allPeaks = [...firstPeaks, ...this.repeatPeaks.sample()];
    return {
      requests: this.requests,
      errors: this.errors,
      shared: this.shared,
      extra: this.extra,
      soloCalls: this.soloCalls,
      peakMedianMiB: toMiB(allPeaks),
      peakMaxMiB: this.soloCalls > 0 ? kibToMiB(this.peakMaxKiB) : Number.NaN,
      transientPeaksMiB: [...this.transientPeaks.sample(), ...freedFirstPeaks].map(kibToMiB),
      keptFreedBufferPeaksMiB: [...this.keptFreedBufferPeaks.sample(), ...freedFirstPeaks].map(kibToMiB),
      retainedMedianMiB: toMiB([...firsts, ...repeats]),
      firstRetainedMedianMiB: toMiB(firsts),
      firstWorkers: this.firstRetained.count,
      sharedFirsts: this.sharedFirstRetained.count,
      sharedFirstRetainedMedianMiB: toMiB(this.sharedFirstRetained.sample()),
      repeats: repeatCount,
      repeatWorkers,
      repeatsInOneWorker,
      repeatRetainedMedianMiB: toMiB(repeats),
      repeatStepConsistency: stepConsistency(repeats),
      repeatRetainedMeanMiB: repeatCount > 0 ? kibToMiB(this.repeatRetainedSumKiB / repeatCount) : Number.NaN,
      repeatPeakMedianMiB: toMiB(this.repeatPeaks.sample()),
      growthPerCallMiB: fitSlope(fit),
      r2: fitR2(fit),
      laterGrowthPerCallMiB: later.calls > 0 ? kibToMiB(later.claimedKiB / later.calls) : Number.NaN,
      workerSupport: later.claimedKiB > 0 ? later.growthKiB / later.claimedKiB : Number.NaN,
      durationMedianMs: median(this.durations.sample()),
      durationP90Ms: percentile(this.durations.sample(), 0.9),
      durationP99Ms: percentile(this.durations.sample(), 0.99),
      durationMaxMs: this.durationMaxMs,
      waitMedianMs: median(this.waits.sample()),
      waitP99Ms: percentile(this.waits.sample(), 0.99),
      exact: [this.durations, this.transientPeaks, this.firstRetained, this.firstPeaks, this.repeatRetained, this.repeatPeaks, this.sharedFirstRetained, this.keptFreedBufferPeaks].every((sample) => sample.exact),
    };
  }
}
