// From a route's evidence to its verdicts: every behaviour the evidence supports (a balloon can
// also leak), primary first by MiB at stake, each with one sentence in numbers; and where the
// evidence is too thin or falls between noise and threshold, one `undecided` verdict saying how
// many more calls would settle it. Pure.
//
// The thresholds below were chosen from series measured on real worker processes (balloon
// profile of small WSGI apps, interleaved request scripts, 1/2/4 workers; the figures are in
// the comments and in README "The flags").
import type { FlagLimits, RouteFlag, RouteVerdict, UndecidedQuestion } from "../record/model";
import type { RouteEvidence } from "./evidence";
import { median, round1, round2 } from "./stats";

/** Pooled repeat calls below which a growth rate is not read as a leak (it asks for more calls). */
export const MIN_REPEATS_FOR_LEAK = 4;
/**
 * Repeats one worker's series needs before growth under MARGINAL_LEAK_FACTOR × the bar reads as
 * a leak: a line through two points always fits and two steps always agree (see decideLeak).
 */
export const MIN_WORKER_REPEATS_FOR_LEAK = 3;
/** Growth under this many times the leak bar, without a clean fit, is only a leak over a settled series. */
export const MARGINAL_LEAK_FACTOR = 2;
/** A fit this clean is a leak's (every leak measured alone: 0.998–1.000), however short. */
export const R2_CLEAN_LEAK = 0.99;
/**
 * R² of the pooled fit at or above which growth is regular enough for a leak. Measured: every
 * leak of 0.5–4 MiB per call (small strings or bytes, alone with ok routes; 24 series) fit at
 * 0.998–1.000; leaks next to churns, read partly in whole arenas or filling holes the churns
 * left, at 0.75–0.97. Small-object churns of 87–124 MiB fit anywhere from 0.01 to 0.998 (a dict
 * churn's steady transfers fit a line as well as a leak): R² sorts out irregular noise, the
 * churn floor and the worker support below sort out the rest.
 */
export const R2_LEAK = 0.95;
/**
 * Or: at least this share of the repeats keep within ±50 % of their median. Measured: 1.00 for
 * every leak alone (24 series, 0.5–4 MiB, 1–4 workers); irregular churns 0.05–0.6 (string
 * churns mostly keep ≤ 0, where the share does not apply); only a dict churn's steady transfers
 * reach 0.66–0.87, and those sit under the churn floor, where the worker support decides.
 */
export const STEP_CONSISTENCY = 0.8;
/** Below this the growth is irregular noise, not a leak, once the series is long enough (churns: 0.01–0.8 typical). */
export const R2_NOT_LEAK = 0.8;
/**
 * Pooled repeats from which a growth rate below the bar or a poor fit is a "no", not a question:
 * three times the minimum, as the slope of a noisy cumulative series settles with the square root of its length.
 */
export const SETTLED_REPEATS = 3 * MIN_REPEATS_FOR_LEAK;
/**
 * The noise floor a leak must clear on a route that churns: this share of its peak per call.
 * Measured: routes building and dropping 87–124 MiB of small strings or dicts kept up to
 * 1.1 % of their peak per call for 5–60 calls without leaking (0.9–1.5 MiB at 124 MiB), some
 * of it memory other routes gave back later; 1.5 % leaves a margin over that.
 */
export const CHURN_NOISE_SHARE = 0.015;
/**
 * Repeats per worker needed to call growth under the churn noise floor a leak: enough that the
 * later half of a worker's series lies past the warm-up, in which small-object churns grow their
 * worker for real (measured: 13 → 33 MiB over the first ~25 requests, 5 calls of each of three
 * churn routes, then flat for 300 requests).
 */
export const CHURN_REPEATS_PER_WORKER = 12;
/**
 * Under the churn floor the workers must have gained this much of it: a real leak only adds to
 * its worker (measured 0.98–1.1 alone, more with other leaks), while a churn's transfers swing
 * with what the other routes happen to give back (0.1–0.3 over 60 calls, up to ~1 in a short window).
 */
export const CHURN_WORKER_SUPPORT_SHARE = 0.8;
/** The later half of the repeats must keep growing at least this share of the fitted rate. */
export const LATER_GROWTH_SHARE = 0.5;
/**
 * And the workers' RSS must have gained at least this share of what the route claims over that
 * later half. Measured: a dict churn claimed +1.1 MiB per call for 60 calls (R² 0.998) while its
 * worker grew 7 MiB of the 66 MiB claimed (0.10): the other routes gave it back; real leaks 0.98–1.1.
 */
export const WORKER_SUPPORT_SHARE = 0.5;
/**
 * A first-call step must also clear this share of the route's churn (median peak of its repeats).
 * Measured: small-object churns of 87–124 MiB keep 0.3–16 MiB on their first or second call in a
 * worker (at most 15 % of the churn): that is the balloon's fragmentation, not a separate cache.
 */
export const INFLATE_CHURN_SHARE = 0.25;
/** Repeats needed to tell an inflation (a step, then flat) from a leak (a step every call). */
export const MIN_REPEATS_FOR_INFLATION = 2;
/** Solo calls below which a route is not decided at all. */
export const MIN_SOLO_CALLS = 3;
/**
 * Requests of a worker over which a leak's MiB at stake are counted (with --max-requests: that
 * many, the worker's life). 1000 is the recycle interval commonly given to gunicorn/uWSGI
 * (max_requests); a leak costs a worker what it accumulates until the worker goes.
 */
export const LEAK_HORIZON_REQUESTS = 1000;

export interface VerdictContext {
  limits: FlagLimits;
  /** Requests of a worker a leak's MiB at stake are counted over (LEAK_HORIZON_REQUESTS, or --max-requests). */
  horizonRequests: number;
  /** Calls of this route among them, at this run's traffic mix. */
  horizonCalls: number;
}

interface OpenQuestion {
  question: UndecidedQuestion;
  moreCalls: number;
  why: string;
}

type Decided = Exclude<RouteVerdict, { flag: "undecided" }>;
type LeakVerdict = Extract<RouteVerdict, { flag: "leak" }>;

const mib = (value: number): string => `${round1(value).toFixed(1)} MiB`;
const mib2 = (value: number): string => `${round2(value).toFixed(2)} MiB`;
/** Figures as the report carries them: MiB to 0.01 (0.25 stays 0.25), a fit's R² to 4 places. */
const fig = (value: number): number => (Number.isNaN(value) ? 0 : round2(value));
const fig4 = (value: number): number => (Number.isNaN(value) ? 0 : Math.round(value * 10_000) / 10_000);
const limitMiB = (value: number): string => (value < 1 ? mib2(value) : mib(value));
const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? "" : "s"}`;
const r2Text = (r2: number): string => (Number.isNaN(r2) ? "n/a" : r2.toFixed(3));

export function decideVerdicts(evidence: RouteEvidence, context: VerdictContext): RouteVerdict[] {
  if (evidence.soloCalls === 0 && evidence.shared === 0) return []; // no memory figures (accounting off)
  const decided: Decided[] = [];
  const open: OpenQuestion[] = [];
  const leak = decideLeak(evidence, context, open);
  if (leak) decided.push(leak);
  const inflation = decideInflation(evidence, context.limits, leak ? leak.figures.growthPerCallMiB : 0, open);
  if (inflation) decided.push(inflation);
  const balloon = decideBalloon(evidence, context.limits, open);
  if (balloon) decided.push(balloon);
  // A question more calls cannot settle (a shared first call) must not hide that too few ran
  // alone: CI, bodies_wsgi on 2 workers x 4 threads, /export's 8 calls all overlapped another,
  // its one open question asked for 0 calls, so none was sent and its balloon went unreported.
  if (evidence.soloCalls < MIN_SOLO_CALLS && decided.length === 0 && open.every((question) => question.moreCalls === 0)) {
    open.push(tooFewCalls(evidence));
  }
  decided.sort((a, b) => b.atStakeMiB - a.atStakeMiB);
  const verdicts: RouteVerdict[] = [...decided];
  if (open.length > 0) {
    verdicts.push({
      flag: "undecided",
      reason: open.map((question) => question.why).join("; "),
      atStakeMiB: 0,
      figures: { questions: open.map((question) => question.question), moreCalls: Math.max(...open.map((question) => question.moreCalls)) },
    });
  }
  return verdicts;
}

function tooFewCalls(evidence: RouteEvidence): OpenQuestion {
  const moreCalls = MIN_SOLO_CALLS - evidence.soloCalls;
  const sharedWords = evidence.shared > 0 ? `; ${evidence.shared} overlapped another call and are left out` : "";
  return {
    question: "too-few-calls",
    moreCalls,
    why: `only ${plural(evidence.soloCalls, "call")} ran alone with memory figures${sharedWords}: ${moreCalls} more to decide`,
  };
}

function decideLeak(e: RouteEvidence, context: VerdictContext, open: OpenQuestion[]): LeakVerdict | null {
  const { limits } = context;
  const more = (count: number): string => `${plural(Math.max(1, count), "more call")} to tell a leak from allocator noise`;
  if (e.repeats < MIN_REPEATS_FOR_LEAK) {
    // Too few repeats to fit; ask only when what they kept looks like a leak.
    if (e.repeats > 0 && e.repeatRetainedMeanMiB >= limits.leakMiB / 2) {
      const moreCalls = MIN_REPEATS_FOR_LEAK - e.repeats;
      open.push({ question: "leak-or-noise", moreCalls, why: `repeat calls keep ${mib2(e.repeatRetainedMeanMiB)} on average over only ${plural(e.repeats, "call")}: ${more(moreCalls)}` });
    }
    return null;
  }
  // Consistent across repeats, one of two ways: the cumulative retained memory fits a line (this
  // holds for leaks read in whole arenas, 0, 1, 0, 1), or nearly every repeat keeps the same (this
  // holds when a call or two coincided with memory another route gave back; the median is then the rate).
  const fits = e.r2 >= R2_LEAK;
  const sameSteps = e.repeatStepConsistency >= STEP_CONSISTENCY;
  const growth = fits || !sameSteps ? e.growthPerCallMiB : Math.max(e.growthPerCallMiB, e.repeatRetainedMedianMiB);
  const regular = fits || sameSteps;
  // Memory that stopped coming, or that the worker did not gain (another route's calls gave it back), is no leak.
  const steady = e.laterGrowthPerCallMiB >= LATER_GROWTH_SHARE * growth && e.workerSupport >= WORKER_SUPPORT_SHARE;
  // A short series can miss the bar either way: between half the bar and the bar, with a poor fit,
  // or slowing, it asks for more calls until the series is long enough to say no.
  const short = e.repeats < SETTLED_REPEATS;
  const ask = (why: string): null => {
    if (short) open.push({ question: "leak-or-noise", moreCalls: SETTLED_REPEATS - e.repeats, why: `${why} over ${plural(e.repeats, "repeat call")}: ${more(SETTLED_REPEATS - e.repeats)}` });
    return null;
  };
  if (!(growth >= limits.leakMiB)) {
    return steady && growth >= limits.leakMiB / 2 ? ask(`held memory grows ${mib2(growth)} per call, just under the leak threshold ${limitMiB(limits.leakMiB)}`) : null;
  }
  if (!regular && !(e.r2 >= R2_NOT_LEAK)) return steady ? ask(`held memory grows ${mib2(growth)} per call but irregularly (R² ${r2Text(e.r2)})`) : null;
  if (!steady) return ask(`held memory grew ${mib2(growth)} per call but not steadily`);
  if (!regular) {
    // Between a clean fit and noise: double the series, up to four times the settled length
    // (a leak's fit tightens as its drift outgrows the noise; one that does not is no leak).
    if (e.repeats < 4 * SETTLED_REPEATS) {
      open.push({ question: "leak-or-noise", moreCalls: e.repeats, why: `held memory grows ${mib2(growth)} per call but irregularly (R² ${r2Text(e.r2)} over ${plural(e.repeats, "repeat call")}): ${more(e.repeats)}` });
    }
    return null;
  }
  const churnFloor = CHURN_NOISE_SHARE * (Number.isNaN(e.repeatPeakMedianMiB) ? 0 : e.repeatPeakMedianMiB);
  const noiseFloor = Math.max(limits.leakMiB, churnFloor);
  if (growth < churnFloor) {
    const needed = CHURN_REPEATS_PER_WORKER * Math.max(1, e.repeatWorkers);
    if (e.repeats >= needed && !(e.workerSupport >= CHURN_WORKER_SUPPORT_SHARE)) return null;
    if (e.repeats < needed) {
      open.push({
        question: "leak-or-noise",
        moreCalls: needed - e.repeats,
        why: `held memory grows ${mib2(growth)} per call, within the ${mib2(churnFloor)} a ${mib(e.repeatPeakMedianMiB)} churn moves per call: ${more(needed - e.repeats)}`,
      });
      return null;
    }
  }
  // Just over the bar, the evidence must be more than a line can always give. Measured:
  // churn_flask's /catalog (an inflation whose repeats keep 0–0.9 MiB) read 0.92 MiB per call at
  // R² 1.000 from 2 repeats in each of 2 workers, and 0.54 MiB at R² 0.957 from 3 in each, in
  // about 1 run of 4; every leak alone fit at 0.998–1.000 (R2_CLEAN_LEAK), and one at the bar
  // still shows over SETTLED_REPEATS. Twice the bar or more skips the marginal checks below,
  // not the settled-per-worker one.
  const marginal = growth < MARGINAL_LEAK_FACTOR * limits.leakMiB;
  if (marginal && e.repeatsInOneWorker < MIN_WORKER_REPEATS_FOR_LEAK) {
    // Interleaved calls spread over the workers: enough for one of them to reach the third repeat.
    const moreCalls = (MIN_WORKER_REPEATS_FOR_LEAK - e.repeatsInOneWorker) * Math.max(1, e.repeatWorkers);
    open.push({ question: "leak-or-noise", moreCalls, why: `held memory grows ${mib2(growth)} per call, but no worker has repeated the route ${MIN_WORKER_REPEATS_FOR_LEAK} times: ${more(moreCalls)}` });
    return null;
  }
  // Settled per worker, not pooled: each worker warms up on its own (a small-object churn's
  // arenas; a big response's allocations), so 4 workers of 5 repeats are one short series four
  // times. CI: churn_flask's /catalog read 0.66 MiB per call at R² 0.961 over 20 repeats in 4
  // workers, every one in its warm-up; Radicale's PROPFIND of 2 000 items read 1.21 MiB per call
  // at R² 0.969 over 4 repeats in a worker, and alone kept 5.7, 0, 1.0, 1.0, 1.0, 3.0, 0.5 MiB on
  // its repeats, then 0 for the next 8. Without a clean fit it waits for 12 repeats in a worker.
  if (e.repeatsInOneWorker < SETTLED_REPEATS && !(e.r2 >= R2_CLEAN_LEAK)) {
    const moreCalls = (SETTLED_REPEATS - e.repeatsInOneWorker) * Math.max(1, e.repeatWorkers);
    const bar = marginal ? `, within ${MARGINAL_LEAK_FACTOR}× the leak threshold ${limitMiB(limits.leakMiB)},` : "";
    open.push({
      question: "leak-or-noise",
      moreCalls,
      why: `held memory grows ${mib2(growth)} per call${bar} over at most ${plural(e.repeatsInOneWorker, "repeat call")} in a worker (R² ${r2Text(e.r2)}): ${more(moreCalls)}`,
    });
    return null;
  }
  // Steady steps without a fit are a dict churn's transfers as often as a leak's here (CI:
  // /catalog kept 0.95 MiB on 92 % of 12 repeats in 4 workers, R² under 0.95): a line must fit.
  if (marginal && !fits && e.repeats < 2 * SETTLED_REPEATS) {
    const moreCalls = 2 * SETTLED_REPEATS - e.repeats;
    open.push({ question: "leak-or-noise", moreCalls, why: `held memory grows ${mib2(growth)} per call in steady steps but not along a line (R² ${r2Text(e.r2)}) over ${plural(e.repeats, "repeat call")}: ${more(moreCalls)}` });
    return null;
  }
  const atStake = growth * context.horizonCalls;
  const workers = plural(e.repeatWorkers, "worker");
  const how = fits ? `R² ${r2Text(e.r2)}` : `${Math.round(e.repeatStepConsistency * 100)} % of them keeping about that`;
  return {
    flag: "leak",
    reason:
      `held memory grows ${mib2(growth)} per call (${how} over ${plural(e.repeats, "repeat call")} in ${workers}, ` +
      `noise floor ${limitMiB(noiseFloor)}) and the workers' RSS grew with it: ≈ ${mib(atStake)} per worker over ${context.horizonRequests} requests of this traffic mix`,
    atStakeMiB: round1(atStake),
    figures: {
      growthPerCallMiB: fig(growth),
      r2: fig4(e.r2),
      stepConsistency: fig(e.repeatStepConsistency),
      repeats: e.repeats,
      workers: e.repeatWorkers,
      noiseFloorMiB: fig(noiseFloor),
      workerSupport: fig(e.workerSupport),
      horizonCalls: round1(context.horizonCalls),
    },
  };
}

function decideInflation(e: RouteEvidence, limits: FlagLimits, leakPerCallMiB: number, open: OpenQuestion[]): Decided | null {
  const churn = Number.isNaN(e.repeatPeakMedianMiB) ? 0 : e.repeatPeakMedianMiB;
  const allowance = Math.max(limits.inflateMiB, INFLATE_CHURN_SHARE * churn);
  if (e.firstWorkers === 0) {
    // A first call happens once per worker: when every one overlapped another call, more calls
    // cannot show whose memory its shared figures kept.
    if (e.sharedFirsts > 0 && e.sharedFirstRetainedMedianMiB - Math.max(0, leakPerCallMiB) >= allowance) {
      open.push({
        question: "shared-first-call",
        moreCalls: 0,
        why:
          `the first call in ${plural(e.sharedFirsts, "worker")} overlapped another call and the worker kept ${mib(e.sharedFirstRetainedMedianMiB)} (median): ` +
          "whether this route or the other keeps it cannot be told from shared figures (profile with --threads 1 to tell)",
      });
    }
    return null;
  }
  // A leak's first call keeps its per-call share too: the step is what comes on top.
  const step = e.firstRetainedMedianMiB - Math.max(0, leakPerCallMiB);
  if (!(step >= allowance)) return null;
  if (e.repeats < MIN_REPEATS_FOR_INFLATION) {
    const moreCalls = MIN_REPEATS_FOR_INFLATION - e.repeats;
    open.push({
      question: "inflation-or-leak",
      moreCalls,
      why: `first call keeps ${mib(step)} but only ${plural(e.repeats, "repeat call")} followed: ${plural(moreCalls, "more call")} to tell an inflation from a leak`,
    });
    return null;
  }
  const workers = plural(e.firstWorkers, "worker");
  const bar = allowance > limits.inflateMiB ? `${limitMiB(allowance)} (a quarter of its ${mib(churn)} churn)` : `the inflate threshold ${limitMiB(allowance)}`;
  return {
    flag: "inflates",
    reason: `first call keeps ${mib(step)} (median over ${workers}), over ${bar}; repeat calls then retain ${mib(e.repeatRetainedMedianMiB)} (median of ${e.repeats})`,
    atStakeMiB: round1(step),
    figures: {
      stepMiB: fig(step),
      workers: e.firstWorkers,
      allowanceMiB: fig(allowance),
      repeats: e.repeats,
      repeatRetainedMedianMiB: fig(e.repeatRetainedMedianMiB),
    },
  };
}

/**
 * More calls asked of a route with one big call among small ones: enough to meet a second big
 * one when a fifth of its calls are big (1 − 0.8⁶ ≈ 74 %), and the adaptive phase asks again.
 */
const SOME_CALLS_MORE = 6;

/** Solo calls a balloon needs: one peak may be a first call's import or cache fill. */
const MIN_CALLS_FOR_BALLOON = 2;

function decideBalloon(e: RouteEvidence, limits: FlagLimits, open: OpenQuestion[]): Decided | null {
  // What comes and goes: a route that keeps what it peaks at is a leak or an inflation, not a balloon.
  const transient = e.peakMedianMiB - Math.max(0, e.retainedMedianMiB);
  // Where the allocator kept a freed buffer, later calls reuse it and read ~0: the median of all
  // calls understates what each needs (heap_bodies_wsgi, 2 workers: 4 calls at 19.9 MiB, 4 at 0,
  // median 9.9), so the calls that showed their need decide it.
  const keptBuffers = e.keptFreedBufferPeaksMiB.filter((peak) => peak >= limits.balloonMiB).length;
  if (transient >= limits.balloonMiB && keptBuffers === 0) {
    if (e.soloCalls < MIN_CALLS_FOR_BALLOON) {
      open.push({ question: "too-few-calls", moreCalls: MIN_CALLS_FOR_BALLOON - e.soloCalls, why: `one call peaked ${mib(e.peakMedianMiB)}: 1 more call to confirm a balloon` });
      return null;
    }
    return {
      flag: "balloon",
      reason:
        `peaks ${mib(e.peakMedianMiB)} above the RSS before the call (median of ${plural(e.soloCalls, "solo call")}, max ${mib(e.peakMaxMiB)}) ` +
        `and gives it back (retains ${mib(e.retainedMedianMiB)} per call), over the balloon threshold ${limitMiB(limits.balloonMiB)}`,
      atStakeMiB: round1(e.peakMedianMiB),
      figures: {
        peakMedianMiB: fig(e.peakMedianMiB), peakMaxMiB: fig(e.peakMaxMiB), retainedMedianMiB: fig(e.retainedMedianMiB),
        calls: e.soloCalls, limitMiB: fig(limits.balloonMiB),
      },
    };
  }
  return someCallsBalloon(e, limits, open, keptBuffers);
}

/**
 * A route whose calls differ in size (a report of 10 days beside one of an hour, on one route
 * template) balloons on its big calls while its median stays small: on graphite-web's /render,
 * 3 of 15 calls peaked 229 MiB, the median 2.6 MiB. What fits in memory is decided by the big
 * ones, and a peak is an exact reading (VmHWM), not allocator noise: MIN_CALLS_FOR_BALLOON
 * solo calls over the bar are enough (of first calls, only those that gave their peak back: an
 * inflation's first call peaks at the step it keeps), and what is at stake is their median.
 */
function someCallsBalloon(e: RouteEvidence, limits: FlagLimits, open: OpenQuestion[], keptBuffers: number): Decided | null {
  const big = e.transientPeaksMiB.filter((peak) => peak >= limits.balloonMiB);
  if (big.length === 1) {
    open.push({
      question: "too-few-calls", moreCalls: SOME_CALLS_MORE,
      why: `one call peaked ${mib(big[0])} over the balloon threshold and gave it back: ${SOME_CALLS_MORE} more calls to tell whether its big calls balloon`,
    });
    return null;
  }
  if (big.length < MIN_CALLS_FOR_BALLOON) return null;
  const bigMedian = median(big);
  const sampled = e.transientPeaksMiB.length;
  const kept = keptBuffers > 0
    ? `; ${keptBuffers} of them left the freed buffer to the allocator, which kept it resident (glibc does, up to 32 MiB), so later calls reuse it and peak less`
    : "";
  return {
    flag: "balloon",
    reason:
      `${big.length} of ${plural(sampled, "solo call")} peak over the balloon threshold ${limitMiB(limits.balloonMiB)} and give it back: ` +
      `${mib(bigMedian)} above the RSS before the call (median of those, max ${mib(e.peakMaxMiB)}); the route's median peak is ${mib(e.peakMedianMiB)}${kept}`,
    atStakeMiB: round1(bigMedian),
    figures: {
      peakMedianMiB: fig(e.peakMedianMiB), peakMaxMiB: fig(e.peakMaxMiB), bigCalls: big.length, bigPeakMedianMiB: fig(bigMedian),
      calls: sampled, limitMiB: fig(limits.balloonMiB),
    },
  };
}

/** The decided flags of a verdict list, in its order. */
export function flagsOf(verdicts: readonly RouteVerdict[]): RouteFlag[] {
  return verdicts.flatMap((verdict) => (verdict.flag === "undecided" ? [] : [verdict.flag]));
}
