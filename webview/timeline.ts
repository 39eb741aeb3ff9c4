// The memory timeline the panel holds: per worker slot a series of points, a total line (what the
// memory budget is about: all workers together), and the pool's markers. Pure and immutable.
// Points arrive as chunks (one per batch, never changed afterwards), so appending copies a list
// of chunk references, not 100k points, and a chart can append just the chunks it has not drawn.
import type { PoolEvent, SamplePoint, TimelineBatch } from "../profiler/protocol";

/** x: ms since the timeline's origin; y: MiB. The shape chart.js reads without parsing. */
export interface TimelinePoint {
  readonly x: number;
  readonly y: number;
  readonly pid: number;
}

export type Chunk = readonly TimelinePoint[];

export interface Series {
  /** The worker slot (the pool's worker id); TOTAL_SERIES for all workers together. */
  readonly worker: number;
  readonly chunks: readonly Chunk[];
  readonly count: number;
  /** Unix ms of the last point (x values must grow: chart.js is told the data is sorted). */
  readonly lastT: number;
}

export const TOTAL_SERIES = -1;

export type MarkerKind = "recycle" | "crash" | "timeout";

export interface Marker {
  readonly x: number;
  readonly kind: MarkerKind;
  readonly worker: number;
  readonly pid: number;
  readonly detail: string;
}

export interface Timeline {
  readonly sessionId: string | null;
  /** Bumped by every reset: a chart that drew another epoch starts over. */
  readonly epoch: number;
  /** Unix ms at x = 0: the first sample (or event) seen after a reset. */
  readonly origin: number | null;
  /** Sorted by worker slot. */
  readonly workers: readonly Series[];
  readonly total: Series;
  readonly markers: readonly Marker[];
  /** MiB, 0: none. */
  readonly budgetMiB: number;
  /** The last RSS of each worker slot's live process: what the total line adds up. */
  readonly live: Readonly<Record<number, { readonly pid: number; readonly rssKiB: number }>>;
}

const MARKER_KINDS: ReadonlySet<string> = new Set<MarkerKind>(["recycle", "crash", "timeout"]);
/** Events after which a process no longer counts in the total. */
const GONE_KINDS: ReadonlySet<string> = new Set<PoolEvent["kind"]>(["recycle", "crash", "timeout", "exit"]);

const emptySeries = (worker: number): Series => ({ worker, chunks: [], count: 0, lastT: -Infinity });

export function emptyTimeline(epoch = 0): Timeline {
  return { sessionId: null, epoch, origin: null, workers: [], total: emptySeries(TOTAL_SERIES), markers: [], budgetMiB: 0, live: {} };
}

/** A whole timeline replaces what was held. */
export function resetTimeline(previous: Timeline, batch: TimelineBatch): Timeline {
  return appendTimeline({ ...emptyTimeline(previous.epoch + 1), sessionId: batch.sessionId }, batch);
}

/** Appends a batch; a batch of another session starts a new timeline. Unchanged: the same object. */
export function appendTimeline(previous: Timeline, batch: TimelineBatch): Timeline {
  if (previous.sessionId !== null && previous.sessionId !== batch.sessionId) return resetTimeline(previous, batch);
  const budgetMiB = batch.budgetMiB > 0 ? batch.budgetMiB : 0;
  if (batch.samples.length === 0 && batch.events.length === 0) {
    return budgetMiB === previous.budgetMiB && previous.sessionId !== null ? previous : { ...previous, sessionId: batch.sessionId, budgetMiB };
  }
  const samples = byTime(batch.samples);
  const events = byTime(batch.events);
  const origin = previous.origin ?? Math.min(samples[0]?.t ?? Infinity, events[0]?.t ?? Infinity);

  const lastT = new Map(previous.workers.map((series) => [series.worker, series.lastT]));
  const added = new Map<number, TimelinePoint[]>();
  const totals: TimelinePoint[] = [];
  let totalLastT = previous.total.lastT;
  const live = { ...previous.live };
  const markers: Marker[] = [];

  // Samples and events in time order (an event first on a tie: a process gone before its successor's sample).
  let i = 0;
  let j = 0;
  while (i < samples.length || j < events.length) {
    const takeEvent = j < events.length && (i >= samples.length || events[j].t <= samples[i].t);
    const t = takeEvent ? events[j].t : samples[i].t;
    let liveChanged = false;
    if (takeEvent) {
      const event = events[j++];
      if (MARKER_KINDS.has(event.kind)) {
        markers.push({ x: event.t - origin, kind: event.kind as MarkerKind, worker: event.worker, pid: event.pid, detail: event.detail });
      }
      if (GONE_KINDS.has(event.kind) && live[event.worker]?.pid === event.pid) {
        delete live[event.worker];
        liveChanged = true;
      }
    } else {
      const sample = samples[i++];
      if (sample.t > (lastT.get(sample.worker) ?? -Infinity)) {
        lastT.set(sample.worker, sample.t);
        let points = added.get(sample.worker);
        if (!points) added.set(sample.worker, (points = []));
        points.push({ x: sample.t - origin, y: sample.rssKiB / 1024, pid: sample.pid });
        live[sample.worker] = { pid: sample.pid, rssKiB: sample.rssKiB };
        liveChanged = true;
      }
    }
    const nextT = Math.min(samples[i]?.t ?? Infinity, events[j]?.t ?? Infinity);
    // One total point per instant, after every sample and exit of that instant is counted.
    if (liveChanged && nextT !== t && t > totalLastT) {
      totals.push({ x: t - origin, y: sumKiB(live) / 1024, pid: 0 });
      totalLastT = t;
    }
  }

  return {
    sessionId: batch.sessionId,
    epoch: previous.epoch,
    origin,
    workers: mergeSeries(previous.workers, added, lastT),
    total: totals.length > 0 ? extend(previous.total, totals, totalLastT) : previous.total,
    markers: markers.length > 0 ? [...previous.markers, ...markers] : previous.markers,
    budgetMiB,
    live,
  };
}

/** Every point of a series, in order (for a chart drawing it from scratch). */
export function seriesPoints(series: Series, fromChunk = 0): TimelinePoint[] {
  return series.chunks.slice(fromChunk).flat();
}

function byTime<T extends SamplePoint | PoolEvent>(items: readonly T[]): readonly T[] {
  for (let k = 1; k < items.length; k++) {
    if (items[k].t < items[k - 1].t) return [...items].sort((a, b) => a.t - b.t);
  }
  return items;
}

function sumKiB(live: Timeline["live"]): number {
  let sum = 0;
  for (const key in live) sum += live[key].rssKiB;
  return sum;
}

function extend(series: Series, points: TimelinePoint[], lastT: number): Series {
  return { worker: series.worker, chunks: [...series.chunks, points], count: series.count + points.length, lastT };
}

function mergeSeries(previous: readonly Series[], added: Map<number, TimelinePoint[]>, lastT: Map<number, number>): readonly Series[] {
  if (added.size === 0) return previous;
  const byWorker = new Map(previous.map((series) => [series.worker, series]));
  for (const [worker, points] of added) {
    byWorker.set(worker, extend(byWorker.get(worker) ?? emptySeries(worker), points, lastT.get(worker) ?? -Infinity));
  }
  return [...byWorker.values()].sort((a, b) => a.worker - b.worker);
}
