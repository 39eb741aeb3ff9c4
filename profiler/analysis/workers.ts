// Per-worker summary, kept line by line: request count, RSS at start / max / end, how the
// worker ended, and the baseline RSS the flag thresholds are scaled by. One small tally per
// worker process, whatever the number of requests.
import type { RecordLine, WorkerLine, WorkerReport } from "../record/model";
import type { ExitReason } from "../supervisor/shim-protocol";
import type { MasterReport } from "../record/model";
import { kibToMiB, median, round1 } from "./stats";

/** Boots kept for the spawn-to-ready figure (a long run recycles thousands of workers). */
const BOOT_SAMPLES = 1000;

interface WorkerTally {
  id: number;
  pid: number;
  requests: number;
  readyKiB: number | null;
  /** First request's RSS before it ran (lowest seq), the baseline when "ready" had no figure. */
  firstRequestKiB: { seq: number; kib: number } | null;
  /** Earliest figure of any kind, the start when "ready" had none. */
  earliest: { t: number; kib: number } | null;
  latest: { t: number; kib: number } | null;
  maxKiB: number;
  /** USS and VmSize at "ready", and the largest VmSize seen (requests carry it). */
  readyUssKiB: number | null;
  readyVmSizeKiB: number | null;
  maxVmSizeKiB: number;
  exit: { reason: ExitReason; detail: string } | null;
}

/** A process is (worker id, pid): key by both so a reused id never merges two processes. */
export function workerKey(id: number, pid: number): string {
  return `${id}/${pid}`;
}

const ENDING_EVENTS: ReadonlySet<WorkerLine["event"]> = new Set(["recycle", "crash", "exit", "boot-failed"]);

/** Whether the line says this worker process is gone (its series can be folded away). */
export function endsWorker(line: WorkerLine): boolean {
  return ENDING_EVENTS.has(line.event) && line.pid !== 0;
}

function exitOf(line: WorkerLine): { reason: ExitReason; detail: string } {
  const fallback: ExitReason = line.event === "recycle" ? "max-requests" : line.event === "exit" ? "shutdown" : "crash";
  const detail = line.detail ?? (line.event === "boot-failed" ? "failed to boot" : line.event);
  return { reason: line.reason ?? fallback, detail };
}

function noteFigure(tally: WorkerTally, t: number, kib: number | undefined): void {
  if (typeof kib !== "number" || !Number.isFinite(kib)) return;
  tally.maxKiB = Math.max(tally.maxKiB, kib);
  if (!tally.earliest || t < tally.earliest.t) tally.earliest = { t, kib };
  if (!tally.latest || t >= tally.latest.t) tally.latest = { t, kib };
}

export class WorkerTracker {
  private readonly tallies = new Map<string, WorkerTally>();
  /** When each worker id was asked for ("spawn"), and spawn-to-ready times seen (ms). */
  private readonly spawnedAt = new Map<number, number>();
  private readonly bootMs: number[] = [];
  private master: MasterReport | null = null;

  add(line: RecordLine): void {
    if (line.type === "worker") this.notePool(line);
    // Worker 0 is nobody's process: the master ("master-ready") or the supervisor answering itself (503, 413).
    if ((line.type === "worker" || line.type === "request") && line.worker === 0) return;
    if (line.type === "worker") {
      // pid 0: the process does not exist yet ("spawn"); nothing to attach figures to.
      if (line.pid === 0) return;
      const tally = this.tallyOf(line.worker, line.pid);
      noteFigure(tally, line.t, line.rssKiB);
      if (line.event === "ready") {
        if (typeof line.rssKiB === "number") tally.readyKiB = line.rssKiB;
        if (typeof line.ussKiB === "number") tally.readyUssKiB = line.ussKiB;
        if (typeof line.vmSizeKiB === "number") {
          tally.readyVmSizeKiB = line.vmSizeKiB;
          tally.maxVmSizeKiB = Math.max(tally.maxVmSizeKiB, line.vmSizeKiB);
        }
      }
      if (ENDING_EVENTS.has(line.event) && !tally.exit) tally.exit = exitOf(line);
    } else if (line.type === "sample") {
      noteFigure(this.tallyOf(line.worker, line.pid), line.t, line.rssKiB);
    } else if (line.type === "request") {
      const tally = this.tallyOf(line.worker, line.pid);
      tally.requests += 1;
      noteFigure(tally, line.t, line.rssBeforeKiB);
      noteFigure(tally, line.t, line.peakKiB);
      noteFigure(tally, line.t + line.durationMs, line.rssAfterKiB);
      if (typeof line.vmSizeKiB === "number") tally.maxVmSizeKiB = Math.max(tally.maxVmSizeKiB, line.vmSizeKiB);
      if (typeof line.rssBeforeKiB === "number" && (!tally.firstRequestKiB || line.seq < tally.firstRequestKiB.seq)) {
        tally.firstRequestKiB = { seq: line.seq, kib: line.rssBeforeKiB };
      }
    }
  }

  private notePool(line: WorkerLine): void {
    if (line.event === "spawn") this.spawnedAt.set(line.worker, line.t);
    else if (line.event === "ready") {
      const spawned = this.spawnedAt.get(line.worker);
      this.spawnedAt.delete(line.worker);
      // Bounded: the first BOOT_SAMPLES boots say how long a boot takes.
      if (spawned !== undefined && this.bootMs.length < BOOT_SAMPLES) this.bootMs.push(line.t - spawned);
    } else if (line.event === "master-ready" && typeof line.rssKiB === "number") {
      const mib = (kib: number | undefined): number | null => (typeof kib === "number" ? round1(kibToMiB(kib)) : null);
      this.master = { rssMiB: round1(kibToMiB(line.rssKiB)), ussMiB: mib(line.ussKiB), pssMiB: mib(line.pssKiB) };
    }
  }

  /** Spawn to ready, ms (median and max of the boots seen), or null when none was recorded. */
  spawnToReady(): { median: number; max: number } | null {
    if (this.bootMs.length === 0) return null;
    return { median: Math.round(median(this.bootMs)), max: Math.round(Math.max(...this.bootMs)) };
  }

  /** The Python master once ready: with --preload it holds the imported app that workers share. */
  masterReport(): MasterReport | null {
    return this.master;
  }

  /** Baseline RSS (MiB) of each worker that reported one: at "ready", else before its first request. */
  baselinesMiB(): number[] {
    const baselines: number[] = [];
    for (const tally of this.tallies.values()) {
      const baselineKiB = tally.readyKiB ?? tally.firstRequestKiB?.kib;
      if (baselineKiB !== undefined) baselines.push(kibToMiB(baselineKiB));
    }
    return baselines;
  }

  report(): WorkerReport[] {
    const workers = [...this.tallies.values()].map((tally) => ({
      id: tally.id,
      pid: tally.pid,
      requests: tally.requests,
      rssMiB: {
        start: round1(kibToMiB(tally.readyKiB ?? tally.earliest?.kib ?? 0)),
        max: round1(kibToMiB(tally.maxKiB)),
        end: round1(kibToMiB(tally.latest?.kib ?? 0)),
      },
      ussMiB: { start: tally.readyUssKiB === null ? null : round1(kibToMiB(tally.readyUssKiB)) },
      vmSizeMiB: { start: tally.readyVmSizeKiB === null ? null : round1(kibToMiB(tally.readyVmSizeKiB)), max: round1(kibToMiB(tally.maxVmSizeKiB)) },
      exit: tally.exit,
    }));
    return workers.sort((a, b) => a.id - b.id || a.pid - b.pid);
  }

  private tallyOf(id: number, pid: number): WorkerTally {
    const key = workerKey(id, pid);
    let tally = this.tallies.get(key);
    if (!tally) {
      tally = {
        id, pid, requests: 0, readyKiB: null, firstRequestKiB: null, earliest: null, latest: null, maxKiB: 0,
        readyUssKiB: null, readyVmSizeKiB: null, maxVmSizeKiB: 0, exit: null,
      };
      this.tallies.set(key, tally);
    }
    return tally;
  }
}
