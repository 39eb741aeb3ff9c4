// A session's memory timeline for the panel: worker samples and pool events (ready, recycle,
// crash, timeout, exit) from the recording lines, kept bounded (the oldest points go first,
// so a day-long run does not grow the server), with what is new since the last batch. Pure.
import type { PoolEvent, SamplePoint, TimelineBatch } from "../protocol";
import type { RecordLine, WorkerLine } from "../record/model";

/** Points kept for a panel opened late: ~3.5 h of 2 workers sampled at 4 Hz. */
export const MAX_SAMPLES = 100_000;
export const MAX_EVENTS = 10_000;

/** The pool event a worker line stands for, or null (spawn, forked, boot-failed, master-ready are not markers). */
export function poolEventOf(line: WorkerLine): PoolEvent | null {
  const base = { t: line.t, worker: line.worker, pid: line.pid, detail: line.detail ?? "" };
  switch (line.event) {
    case "ready":
      return { ...base, kind: "ready" };
    case "recycle":
      return { ...base, kind: "recycle" };
    case "crash":
      return { ...base, kind: "crash" };
    case "exit":
      return { ...base, kind: line.reason === "timeout" ? "timeout" : "exit" };
    default:
      return null;
  }
}

/** Appends to `items`, dropping the oldest beyond `max` in chunks (amortised O(1)). */
function pushBounded<T>(items: T[], item: T, max: number): void {
  items.push(item);
  if (items.length > max + max / 10) items.splice(0, items.length - max);
}

export class Timeline {
  private readonly samples: SamplePoint[] = [];
  private readonly events: PoolEvent[] = [];
  private pendingSamples: SamplePoint[] = [];
  private pendingEvents: PoolEvent[] = [];

  constructor(private readonly sessionId: string, private budgetMiB: number) {}

  /** Takes the lines a timeline is made of; true when the line added something. */
  add(line: RecordLine): boolean {
    if (line.type === "start") {
      this.budgetMiB = line.settings.memoryBudgetMiB;
      return false;
    }
    if (line.type === "sample") {
      const point = { t: line.t, worker: line.worker, pid: line.pid, rssKiB: line.rssKiB };
      pushBounded(this.samples, point, MAX_SAMPLES);
      pushBounded(this.pendingSamples, point, MAX_SAMPLES);
      return true;
    }
    if (line.type !== "worker") return false;
    const event = poolEventOf(line);
    if (!event) return false;
    pushBounded(this.events, event, MAX_EVENTS);
    pushBounded(this.pendingEvents, event, MAX_EVENTS);
    return true;
  }

  /** What a saved recording's timeline held (nothing pending: a panel asks for the whole). */
  seed(batch: TimelineBatch): void {
    this.budgetMiB = batch.budgetMiB;
    for (const point of batch.samples) pushBounded(this.samples, point, MAX_SAMPLES);
    for (const event of batch.events) pushBounded(this.events, event, MAX_EVENTS);
  }

  get hasPending(): boolean {
    return this.pendingSamples.length > 0 || this.pendingEvents.length > 0;
  }

  /** What came since the last call. */
  takePending(): TimelineBatch {
    const batch = { sessionId: this.sessionId, samples: this.pendingSamples, events: this.pendingEvents, budgetMiB: this.budgetMiB };
    this.pendingSamples = [];
    this.pendingEvents = [];
    return batch;
  }

  /** Everything kept (a panel opened late, or recreated). */
  whole(): TimelineBatch {
    return { sessionId: this.sessionId, samples: [...this.samples], events: [...this.events], budgetMiB: this.budgetMiB };
  }
}
