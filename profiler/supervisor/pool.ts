// Pool policy as pure functions: how many workers to start or retire, when a worker
// recycles, how long to wait after failed boots. The arbiter (arbiter.ts) applies them.
import type { ExitReason } from "./shim-protocol";

export interface PoolView {
  starting: number;
  idle: number;
  busy: number;
  /** Requests waiting for a worker. */
  queued: number;
}

export interface PoolLimits {
  /** Fixed size, or null for a dynamic pool (flup / Apache prefork spare-server model). */
  workers: number | null;
  minSpare: number;
  maxSpare: number;
  maxWorkers: number;
}

export interface PoolDecision {
  spawn: number;
  /** Idle workers to retire (dynamic pool over maxSpare). */
  retireIdle: number;
}

export function decidePool(view: PoolView, limits: PoolLimits): PoolDecision {
  const serving = view.starting + view.idle + view.busy;
  if (limits.workers !== null) {
    return { spawn: Math.max(0, limits.workers - serving), retireIdle: 0 };
  }
  const room = Math.max(0, limits.maxWorkers - serving);
  const spare = view.starting + view.idle;
  // Waiting requests count as demand for workers not yet on their way.
  const demand = Math.max(0, view.queued - view.starting);
  const spawn = Math.min(room, Math.max(limits.minSpare - spare, demand, 0));
  const retireIdle = view.queued === 0 && view.idle > limits.maxSpare ? view.idle - limits.maxSpare : 0;
  return { spawn, retireIdle };
}

/** max-requests plus a random jitter in [0, jitter], so workers do not all recycle at once. */
export function requestLimit(maxRequests: number, jitter: number, random: () => number): number {
  if (maxRequests <= 0) return Number.POSITIVE_INFINITY;
  return maxRequests + Math.floor(random() * (jitter + 1));
}

/** Why a worker should recycle after a request, or null. Never mid-request: callers ask after. */
export function recycleReason(
  requests: number,
  limit: number,
  rssKiB: number | undefined,
  reloadOnRssMiB: number,
): { reason: ExitReason; detail: string } | null {
  if (requests >= limit) return { reason: "max-requests", detail: `served ${requests} requests (limit ${limit})` };
  if (reloadOnRssMiB > 0 && rssKiB !== undefined && rssKiB > reloadOnRssMiB * 1024) {
    return { reason: "rss-limit", detail: `RSS ${(rssKiB / 1024).toFixed(1)} MiB over --reload-on-rss ${reloadOnRssMiB} MiB` };
  }
  return null;
}

/** Delay before the next spawn after `failures` boots in a row failed: 0.5 s doubling to 30 s. */
export function bootBackoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(30_000, 500 * 2 ** (failures - 1));
}

/** Boots that failed in a row, and when the next spawn may happen. */
export class BootBackoff {
  private failures = 0;
  private nextSpawnAt = 0;

  failed(now: number): void {
    this.failures += 1;
    this.nextSpawnAt = now + bootBackoffMs(this.failures);
  }

  succeeded(): void {
    this.failures = 0;
  }

  allowsSpawn(now: number): boolean {
    return now >= this.nextSpawnAt;
  }
}
