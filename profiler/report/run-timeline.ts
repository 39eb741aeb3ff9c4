// A whole recording's memory timeline, for the offline HTML report: unlike the live panel's
// Timeline (which drops the oldest points), a report must show the run from its start, so past
// its bound it halves its resolution evenly: of each worker's consecutive samples, the highest
// of every `stride` stays (a balloon's peak is never thinned away). Pool events are fewer (one
// per ready, recycle, exit) and kept whole up to their own bound. Pure.
import type { PoolEvent, SamplePoint, TimelineBatch } from "../protocol";
import type { RecordLine } from "../record/model";
import { poolEventOf } from "./timeline";

/**
 * Samples in the file: 200k points are ~9 MB of JSON and draw in ~0.6 s with decimation
 * (npm run bench:webview: 100k samples 342 ms). A 1.9M-request recording at 4 Hz × 2 workers over
 * ~10 h holds ~290k samples: thinned once to 145k.
 */
export const REPORT_MAX_SAMPLES = 200_000;
/** Events: a run recycling every 100 requests over 1.9M requests has ~38k (ready + recycle). */
export const REPORT_MAX_EVENTS = 100_000;

interface Window {
  best: SamplePoint;
  count: number;
}

export class RunTimeline {
  private samples: SamplePoint[] = [];
  private readonly events: PoolEvent[] = [];
  private droppedEvents = 0;
  private budgetMiB = 0;
  /** Raw samples per kept sample, per worker: doubles at each thinning. */
  private stride = 1;
  private readonly windows = new Map<number, Window>();

  constructor(private readonly maxSamples = REPORT_MAX_SAMPLES, private readonly maxEvents = REPORT_MAX_EVENTS) {}

  add(line: RecordLine): void {
    if (line.type === "start") this.budgetMiB = line.settings.memoryBudgetMiB;
    else if (line.type === "sample") this.addSample({ t: line.t, worker: line.worker, pid: line.pid, rssKiB: line.rssKiB });
    else if (line.type === "worker") {
      const event = poolEventOf(line);
      if (!event) return;
      if (this.events.length < this.maxEvents) this.events.push(event);
      else this.droppedEvents++;
    }
  }

  private addSample(point: SamplePoint): void {
    const window = this.windows.get(point.worker);
    if (!window) {
      this.windows.set(point.worker, { best: point, count: 1 });
    } else {
      if (point.rssKiB > window.best.rssKiB) window.best = point;
      window.count++;
    }
    const current = this.windows.get(point.worker) as Window;
    if (current.count < this.stride) return;
    this.samples.push(current.best);
    this.windows.delete(point.worker);
    if (this.samples.length > this.maxSamples) this.thin();
  }

  /** Halves the kept samples: each worker's consecutive pairs become their higher point. */
  private thin(): void {
    const firstOfPair = new Map<number, SamplePoint>();
    const kept: SamplePoint[] = [];
    for (const point of this.samples) {
      const first = firstOfPair.get(point.worker);
      if (!first) {
        firstOfPair.set(point.worker, point);
        continue;
      }
      firstOfPair.delete(point.worker);
      kept.push(point.rssKiB > first.rssKiB ? point : first);
    }
    kept.push(...firstOfPair.values());
    this.samples = kept.sort((a, b) => a.t - b.t);
    this.stride *= 2;
  }

  /** Everything kept, each worker's unfinished window included; and what was thinned, in words. */
  whole(sessionId: string): { batch: TimelineBatch; notes: string[] } {
    const samples = [...this.samples, ...[...this.windows.values()].map((window) => window.best)].sort((a, b) => a.t - b.t);
    const notes: string[] = [];
    if (this.stride > 1) notes.push(`the memory timeline shows the highest of every ${this.stride} samples of each worker (${samples.length} points)`);
    if (this.droppedEvents > 0) notes.push(`the timeline's markers stop after ${this.maxEvents} pool events (${this.droppedEvents} more not drawn)`);
    return { batch: { sessionId, samples, events: [...this.events], budgetMiB: this.budgetMiB }, notes };
  }
}
