// Per-worker summary, kept line by line: request count, RSS at start / max / end, how the
// worker ended, and the baseline RSS the flag thresholds are scaled by. One small tally per
// worker process, whatever the number of requests.
import type { RecordLine, WorkerLine, WorkerReport } from "../record/model";
import type { ExitReason } from "../supervisor/shim-protocol";
import { kibToMiB, round1 } from "./stats";

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

  add(line: RecordLine): void {
    // Worker 0 is nobody's process: the master ("master-ready") or the supervisor answering itself (503, 413).
    if ((line.type === "worker" || line.type === "request") && line.worker === 0) return;
    if (line.type === "worker") {
      // pid 0: the process does not exist yet ("spawn"); nothing to attach figures to.
      if (line.pid === 0) return;
      const tally = this.tallyOf(line.worker, line.pid);
      noteFigure(tally, line.t, line.rssKiB);
      if (line.event === "ready" && typeof line.rssKiB === "number") tally.readyKiB = line.rssKiB;
      if (ENDING_EVENTS.has(line.event) && !tally.exit) tally.exit = exitOf(line);
    } else if (line.type === "sample") {
      noteFigure(this.tallyOf(line.worker, line.pid), line.t, line.rssKiB);
    } else if (line.type === "request") {
      const tally = this.tallyOf(line.worker, line.pid);
      tally.requests += 1;
      noteFigure(tally, line.t, line.rssBeforeKiB);
      noteFigure(tally, line.t, line.peakKiB);
      noteFigure(tally, line.t + line.durationMs, line.rssAfterKiB);
      if (typeof line.rssBeforeKiB === "number" && (!tally.firstRequestKiB || line.seq < tally.firstRequestKiB.seq)) {
        tally.firstRequestKiB = { seq: line.seq, kib: line.rssBeforeKiB };
      }
    }
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
      exit: tally.exit,
    }));
    return workers.sort((a, b) => a.id - b.id || a.pid - b.pid);
  }

  private tallyOf(id: number, pid: number): WorkerTally {
    const key = workerKey(id, pid);
    let tally = this.tallies.get(key);
    if (!tally) {
      tally = { id, pid, requests: 0, readyKiB: null, firstRequestKiB: null, earliest: null, latest: null, maxKiB: 0, exit: null };
      this.tallies.set(key, tally);
    }
    return tally;
  }
}
