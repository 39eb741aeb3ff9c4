// The arbiter's vocabulary: the events it takes, the actions it returns, its model of a
// worker and the phases a worker goes through. arbiter.ts is the policy over them.
import type { Settings } from "../record/model";
import type { ExitReason } from "./shim-protocol";

/** The settings the policy acts on: those of a run (record/model.ts), whoever drives it. */
export type ArbiterSettings = Pick<Settings,
  "workers" | "minSpare" | "maxSpare" | "maxWorkers" | "threads" | "maxRequests" | "maxRequestsJitter" |
  "reloadOnRssMiB" | "memoryBudgetMiB" | "timeoutSec" | "queueSize"> & {
  /**
   * Hand a busy worker its next request before it finishes (one, buffered in its socket), so it
   * never waits for the front between two (prefetch.ts says when). The live supervisor sets it;
   * the replay, on a virtual clock with no hand-off to wait for, leaves it off.
   */
  prefetch?: boolean;
};

/**
 * Request bodies held by waiting requests, all together, before new ones get 503. The
 * count limit (queueSize) alone would let 2048 uploads of 10 MiB pile up 20 GiB in the
 * supervisor; 256 MiB keeps the queue's memory below one large worker's.
 */
export const QUEUE_BODY_LIMIT_BYTES = 256 * 1024 * 1024;

export type WorkerPhase = "starting" | "idle" | "busy" | "draining" | "stopping";

export const TRANSITIONS: Record<WorkerPhase, readonly WorkerPhase[]> = {
  starting: ["idle", "stopping"],
  idle: ["busy", "draining", "stopping"],
  busy: ["idle", "draining", "stopping"],
  draining: ["stopping"],
  stopping: [],
};

export type ArbiterEvent =
  /** A request reached the front (its body, if any, is read whole). */
  | { type: "arrive"; id: number; bodyBytes: number }
  /** The client of a waiting request went away. */
  | { type: "abandon"; id: number }
  | { type: "ready"; worker: number; rssKiB: number }
  /** A request finished in the worker (answered, or the app raised). */
  | { type: "done"; worker: number; id: number; rssAfterKiB?: number }
  /** A memory reading from outside the request path (the sampler). */
  | { type: "rss"; worker: number; rssKiB: number }
  /** The worker's process is gone. `clean`: exit code 0. `withMaster`: it died because its master did (counted once, as master-exit). */
  | { type: "exit"; worker: number; clean: boolean; withMaster?: boolean }
  /** The app cannot serve (it failed to load, or is past --boot-timeout): while no worker is up, requests are told at once. */
  | { type: "unavailable"; message: string }
  /** The Python master died before or while forking: one failed boot. */
  | { type: "master-exit" }
  | { type: "tick" }
  | { type: "shutdown" };

export type ArbiterAction =
  /** Send it to the worker; `ahead`: the worker is busy and starts it after its current one. */
  | { type: "dispatch"; worker: number; id: number; ahead?: true }
  /** A request handed ahead now runs (its wait for a worker ends). */
  | { type: "started"; id: number }
  | { type: "reject"; id: number; status: 503; message: string }
  | { type: "spawn"; worker: number }
  /** The worker takes no more requests; it stops once what it runs is done. */
  | { type: "retire"; worker: number; reason: ExitReason; detail: string; rssKiB: number }
  /** Nothing runs in the worker any more: tell it to exit. */
  | { type: "stop"; worker: number; reason: ExitReason }
  /** Kill the process now; `expired` requests ran over the timeout (504). */
  | { type: "kill"; worker: number; reason: "timeout"; detail: string; expired: number[] }
  /** The worker left the pool; `reason` says why, `detail` in words. */
  | { type: "exited"; worker: number; reason: ExitReason; detail: string; wasStarting: boolean; requeued: number[] }
  /** Settings that cannot work with the measured figures (the run should stop). */
  | { type: "refuse"; message: string }
  | { type: "warn"; message: string };

export interface WorkerModel {
  id: number;
  phase: WorkerPhase;
  /** Request id → deadline (clock ms; Infinity when no timeout, or not started yet). */
  inflight: Map<number, number>;
  /** Of those, handed ahead and not started yet, oldest first (prefetch). */
  waiting: number[];
  /** Clock ms its current request started (threads 1: which busy worker frees up first). */
  runningSince: number;
  requests: number;
  requestLimit: number;
  rssKiB: number;
  /** Clock ms it last had nothing to do: the longest idle goes first, so work spreads evenly. */
  idleSince: number;
  spawnedAt: number;
  readyAt: number | null;
  retireReason: ExitReason | null;
  retireDetail: string;
  /** The memory budget chose it while busy: no other is chosen until its request is done. */
  retireAfterRequest: boolean;
  killedFor: ExitReason | null;
}

/** What the pool looks like from outside: for status lines, tests, and the replay's bookkeeping. */
export interface WorkerView {
  id: number;
  phase: WorkerPhase;
  inflight: number;
  requests: number;
  requestLimit: number;
  rssKiB: number;
}

export interface ArbiterClock {
  now(): number;
  random(): number;
}


export function setPhase(worker: WorkerModel, next: WorkerPhase): void {
  if (next === worker.phase) return;
  if (!TRANSITIONS[worker.phase].includes(next)) throw new Error(`worker ${worker.id}: bad transition ${worker.phase} → ${next}`);
  worker.phase = next;
}
