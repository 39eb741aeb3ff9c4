// One rule per setting: the value from the measured figures, and the sentence that names the
// figure behind it. Pure; recommend.ts composes them and checks the result by replay.
import type { Figures } from "./figures";
import { routeName } from "./figures";
import type { Workload } from "./workload";

const mib = (value: number): string => `${value.toFixed(1)} MiB`;
const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? "" : "s"}`;

/** Memory one worker may need at worst: its steady size, what it grows before a recycle, and `threads` biggest requests at once. */
export function workerWorstMiB(figures: Figures, threads: number, growthMiB = 0): number {
  return figures.baselineRssMiB + figures.keptMiB + growthMiB + threads * figures.biggestPeakMiB;
}

/**
 * Threads: they share one interpreter, so T threads cost one steady size plus T peaks where T
 * processes cost T of each. But CPython runs one thread at a time: they only add capacity when
 * requests mostly wait (I/O). Below 50% CPU over the time requests ran, a thread is as good as a
 * process for throughput; above it, threads would queue on the GIL.
 */
export const IO_BOUND_CPU_SHARE = 0.5;
const THREAD_CHOICES = [1, 2, 4, 8] as const;

export function chooseThreads(figures: Figures, budgetMiB: number, target: number, cpuShare: number | null): { threads: number; reason: string } {
  if (cpuShare === null) return { threads: 1, reason: "1: no CPU figures in the recording to show requests wait on I/O; one request per worker keeps each request's memory figures exact" };
  if (cpuShare >= IO_BOUND_CPU_SHARE) {
    return { threads: 1, reason: `1: requests kept the CPU busy ${Math.round(cpuShare * 100)}% of the time they ran (≥ ${IO_BOUND_CPU_SHARE * 100}%): threads would wait on the GIL` };
  }
  let best: { threads: number; capacity: number } = { threads: 1, capacity: 0 };
  for (const threads of THREAD_CHOICES) {
    const workers = Math.floor(budgetMiB / workerWorstMiB(figures, threads));
    const capacity = Math.min(target, workers * threads);
    if (capacity > best.capacity) best = { threads, capacity };
  }
  if (best.threads === 1) return { threads: 1, reason: "1: more threads would not fit more simultaneous requests in the budget" };
  return {
    threads: best.threads,
    reason: `${best.threads}: requests used the CPU ${Math.round(cpuShare * 100)}% of the time they ran (I/O-bound), and ${best.threads} threads share one ${mib(figures.baselineRssMiB + figures.keptMiB)} worker, fitting ${best.capacity} simultaneous requests`,
  };
}

export function chooseWorkers(figures: Figures, budgetMiB: number, threads: number, target: number): { workers: number; fit: number; reason: string } {
  const worst = workerWorstMiB(figures, threads);
  const fit = Math.floor(budgetMiB / worst);
  const wanted = Math.max(1, Math.ceil(target / threads));
  const workers = Math.max(1, Math.min(wanted, fit));
  const perWorker = `${mib(figures.baselineRssMiB)} fresh + ${mib(figures.keptMiB)} kept + ${threads > 1 ? `${threads} × ` : ""}${mib(figures.biggestPeakMiB)} biggest request = ${mib(worst)}`;
  const reason = fit >= wanted
    ? `${workers}: ${plural(wanted * threads, "simultaneous request")} wanted, and ${plural(fit, "worker")} of ${perWorker} fit in ${mib(budgetMiB)}`
    : `${workers}: only ${plural(fit, "worker")} of ${perWorker} fit in ${mib(budgetMiB)} (${plural(wanted, "worker")} wanted)`;
  return { workers, fit, reason };
}

/** Round numbers people recognise for max-requests, largest first. */
const NICE_MAX_REQUESTS = [10_000, 5000, 2000, 1000, 500, 250, 100, 50, 25];

export function chooseMaxRequests(figures: Figures, budgetMiB: number, workers: number, threads: number): { maxRequests: number; jitter: number; reason: string; jitterReason: string } {
  if (figures.leakMiBPerRequest <= 0) {
    return {
      maxRequests: 0, jitter: 0,
      reason: "0 (never): no route leaks, so recycling by count would only pay for new workers",
      jitterReason: "0: no recycling by count",
    };
  }
  const headroom = budgetMiB / workers - workerWorstMiB(figures, threads);
  const most = headroom > 0 ? Math.floor(headroom / figures.leakMiBPerRequest) : 0;
  // The jitter (+10%) lets a worker run that much longer: it must fit too.
  const maxRequests = NICE_MAX_REQUESTS.find((value) => value * 1.1 <= most) ?? NICE_MAX_REQUESTS[NICE_MAX_REQUESTS.length - 1];
  const worst = figures.leaks[0];
  // gunicorn's advice: jitter so that workers started together do not all restart together.
  const jitter = Math.max(1, Math.round(maxRequests / 10));
  return {
    maxRequests,
    jitter,
    reason: `${maxRequests}: leaking routes keep ${figures.leakMiBPerRequest.toFixed(3)} MiB per request on average (worst: ${worst ? `${routeName(worst)}, ${mib(worst.retainedMiB.perRequest)} per call` : "—"}); ` +
      `a worker has ${mib(Math.max(0, headroom))} of headroom in its ${mib(budgetMiB / workers)} share, which ${headroom > 0 ? `${most} requests` : "none"} would fill`,
    jitterReason: `${jitter}: 10% of max-requests, so workers started together do not all restart at once`,
  };
}

/**
 * RSS limit (checked after each request, like uWSGI's reload-on-rss): a worker bigger than its
 * budget share minus the biggest request could not take that request without going over.
 */
export function chooseRssLimit(figures: Figures, budgetMiB: number, workers: number, threads: number): { limitMiB: number; reason: string; tight: boolean } {
  const share = budgetMiB / workers;
  const steady = figures.baselineRssMiB + figures.keptMiB;
  const room = Math.floor(share - threads * figures.biggestPeakMiB);
  // Never below the steady size (plus a 10% margin for allocator noise): that would recycle every worker after every request.
  const floor = Math.ceil(steady * 1.1);
  const tight = room < floor;
  const limitMiB = Math.max(room, floor);
  const reason = tight
    ? `${limitMiB} MiB: the steady worker (${mib(steady)}) plus 10%; its ${mib(share)} share cannot also hold the biggest request (${mib(figures.biggestPeakMiB)})`
    : `${limitMiB} MiB: a worker's ${mib(share)} share minus ${threads > 1 ? `${threads} × ` : ""}the biggest request (${mib(figures.biggestPeakMiB)}${figures.biggestPeak ? `, ${routeName(figures.biggestPeak)}` : ""}); a worker bigger than that after a request could not take it again`;
  return { limitMiB, reason, tight };
}

/** A request may take 3x the slowest one seen (p99) before it is killed, and never under 30 s (gunicorn's default). */
export function chooseTimeout(figures: Figures): { timeoutSec: number; reason: string } {
  const timeoutSec = Math.min(600, Math.max(30, Math.ceil((3 * figures.p99DurationMs) / 1000)));
  const slowest = figures.slowest ? `; slowest route ${routeName(figures.slowest)} took up to ${(figures.slowest.durationMs.max / 1000).toFixed(2)} s` : "";
  return { timeoutSec, reason: `${timeoutSec} s: 3 × the p99 request time (${(figures.p99DurationMs / 1000).toFixed(2)} s), at least 30 s${slowest}` };
}

/**
 * Preloading imports the app once in the master and forks workers that share it copy-on-write.
 * Measured, not guessed: with --preload, each worker shares RSS − USS with the master; without
 * it, a worker's private memory at start (USS, from smaps_rollup) is what it made by importing
 * the app after the fork, which a preload would share.
 */
export function choosePreload(figures: Figures, workload: Workload, workers: number): { preload: boolean; reason: string } {
  const others = Math.max(0, workers - 1);
  if (figures.baselineUssMiB === null) {
    return { preload: false, reason: "false: the recording has no USS reading of the workers at start to measure what preloading would share" };
  }
  if (workload.settings?.preload) {
    const sharedMiB = figures.baselineRssMiB - figures.baselineUssMiB;
    return {
      preload: sharedMiB * others >= PRELOAD_WORTH_MIB,
      reason: `${sharedMiB * others >= PRELOAD_WORTH_MIB}: measured with --preload, each worker shares ${mib(sharedMiB)} with the master (RSS ${mib(figures.baselineRssMiB)} − USS ${mib(figures.baselineUssMiB)} at start): ${plural(workers, "worker")} save ${mib(sharedMiB * others)}`,
    };
  }
  const importMiB = figures.baselineUssMiB;
  const preload = importMiB * others >= PRELOAD_WORTH_MIB;
  return {
    preload,
    reason: `${preload}: each worker holds ${mib(importMiB)} of private memory at start (USS), made importing the app after the fork; ` +
      `preloading would share up to ${mib(importMiB * others)} over ${plural(workers, "worker")}` +
      (preload ? " (confirm with a --preload run: CPython's reference counts unshare some pages over time)" : `, under ${PRELOAD_WORTH_MIB} MiB`),
  };
}

/** Below this in all, preloading is not worth its restriction (a code change needs a full restart, not a graceful reload). */
const PRELOAD_WORTH_MIB = 32;

/** PostgreSQL's default max_connections. */
export const DEFAULT_DB_MAX_CONNECTIONS = 100;

export function chooseDbPool(workers: number, threads: number, dbMaxConnections: number): { poolSize: number; maxOverflow: number; reason: string; overflowReason: string; warning: string | null } {
  const total = workers * threads;
  return {
    poolSize: threads,
    maxOverflow: 0,
    reason: `${threads}: one connection per thread of a worker (SQLAlchemy's default of 5 + 10 overflow per process would open up to ${workers * 15} connections)`,
    overflowReason: `0: a worker never runs more than its ${plural(threads, "thread")} at once; ${total} connections in all against the database's ${dbMaxConnections}`,
    warning: total > dbMaxConnections ? `${total} database connections (${workers} workers × ${threads} threads) exceed the database's ${dbMaxConnections} (max_connections)` : null,
  };
}
