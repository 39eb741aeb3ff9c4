// When the arbiter hands a busy worker its next request ahead (ArbiterSettings.prefetch).
//
// Why: with the router hop, a worker that has sent its answer waits for the front's next turn
// of the event loop to get another request; under load both sides idle in turn. Measured on
// 2 cores, hello app, 2 workers, wrk -c64, interleaved pairs: 6 503 / 6 053 / 3 964 req/s
// without, 8 355 / 7 914 / 7 093 with one request buffered per worker (+28–79 %); -c8 +24–38 %.
//
// When not: a worker that may retire after its current request (reload-on-rss or the memory
// budget decide on the RSS after it, which nobody knows before; max-requests reached), so the
// buffered request never runs on a worker that should have left; threads > 1 (the shim runs
// those at once, and a buffered one would read as overlapping); a dynamic pool (it scales on
// the queue, which buffering would hide); a request with a body over PREFETCH_BODY_BYTES (it
// would sit in the supervisor's socket buffer instead of counting against the queue's bound).
import type { ArbiterSettings, WorkerModel } from "./arbiter-types";

/** A Unix socket's default buffer takes a head and a small body without blocking the writer. */
export const PREFETCH_BODY_BYTES = 64 * 1024;

export function prefetchAllowed(settings: ArbiterSettings): boolean {
  return settings.prefetch === true && settings.threads === 1 && settings.workers !== null && settings.reloadOnRssMiB <= 0 && settings.memoryBudgetMiB <= 0;
}

/** The busy worker to hand `bodyBytes` ahead to: one running, none waiting, its current request the oldest; or null. */
export function aheadWorker(workers: Iterable<WorkerModel>, settings: ArbiterSettings, bodyBytes: number): WorkerModel | null {
  if (!prefetchAllowed(settings) || bodyBytes > PREFETCH_BODY_BYTES) return null;
  let best: WorkerModel | null = null;
  for (const worker of workers) {
    if (worker.phase !== "busy" || worker.inflight.size !== 1 || worker.waiting.length > 0) continue;
    if (worker.retireAfterRequest || worker.killedFor !== null || worker.requests + 1 >= worker.requestLimit) continue;
    if (!best || worker.runningSince < best.runningSince) best = worker;
  }
  return best;
}
