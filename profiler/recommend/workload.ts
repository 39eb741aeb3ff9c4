// A recording as traffic to replay: when each request arrived, how long it ran, and what it
// did to its worker's memory; plus the per-route models the replay falls back on when a
// request lands on a worker in another state than the one it was recorded in. Built line by
// line (the recording is streamed), pure.
import type { RecordLine, Report, RequestLine, Settings } from "../record/model";
import { median } from "../analysis/stats";

/** Most requests replayed: past this the most recent ones are kept (the replay of each candidate stays under a few seconds). */
export const MAX_REPLAYED_REQUESTS = 200_000;

export interface RouteModel {
  key: string;
  /** Retained by a worker's first call of the route (an inflation's step), KiB (median over workers). */
  firstRetainedKiB: number;
  /** Retained by a repeat call (a leak's growth per call), KiB (median). */
  repeatRetainedKiB: number;
  /** Peak above the RSS before the call, KiB (median), for calls recorded without figures. */
  peakKiB: number;
  calls: number;
}

/** Requests as parallel arrays (compact: a long recording holds hundreds of thousands). */
export interface Requests {
  /** ms after the first arrival. */
  arrivalMs: number[];
  route: number[];
  durationMs: number[];
  /** This call's peak above its RSS before, KiB. */
  peakKiB: number[];
  /** This call's RSS after minus before, KiB. */
  retainedKiB: number[];
  /** It was its worker's first call of the route when recorded. */
  firstCall: boolean[];
}

export interface Workload {
  requests: Requests;
  routes: RouteModel[];
  /** RSS of a fresh worker (median at "ready"), KiB; USS likewise when it was read (null otherwise). */
  baselineRssKiB: number;
  baselineUssKiB: number | null;
  /** Spawn to ready, ms (median): how long a replacement worker takes. */
  spawnToReadyMs: number;
  /** Most requests running at once in the recording. */
  concurrencySeen: number;
  /** Settings the recording was made with (null when its start line is lost). */
  settings: Settings | null;
  /** CPU time the workers spent over the time they were busy with requests (0–1; null without samples): low means I/O-bound. */
  cpuShare: number | null;
  /** Requests left out (beyond MAX_REPLAYED_REQUESTS, or without timing). */
  dropped: number;
  recordedAt: number | null;
}

interface RouteTally {
  first: number[];
  repeat: number[];
  peaks: number[];
  calls: number;
}

/** Reads a recording line by line into a Workload. */
export class WorkloadBuilder {
  private readonly lines: RequestLine[] = [];
  private readonly readyRss: number[] = [];
  private readonly readyUss: number[] = [];
  private readonly spawnedAt = new Map<number, number>();
  private readonly bootMs: number[] = [];
  private settings: Settings | null = null;
  private recordedAt: number | null = null;
  private dropped = 0;
  /** Per worker process: the last sample's time, for CPU ms between samples. */
  private readonly lastSample = new Map<string, number>();
  private cpuMs = 0;
  private busyMs = 0;

  add(line: RecordLine): void {
    if (line.type === "start") {
      this.settings = line.settings;
      this.recordedAt = line.t;
    } else if (line.type === "worker") {
      if (line.event === "spawn") this.spawnedAt.set(line.worker, line.t);
      if (line.event === "ready") {
        if (typeof line.rssKiB === "number") this.readyRss.push(line.rssKiB);
        if (typeof line.ussKiB === "number") this.readyUss.push(line.ussKiB);
        const spawned = this.spawnedAt.get(line.worker);
        if (spawned !== undefined) this.bootMs.push(line.t - spawned);
      }
    } else if (line.type === "sample") {
      const key = `${line.worker}/${line.pid}`;
      const previous = this.lastSample.get(key);
      if (previous !== undefined) this.cpuMs += (line.cpu / 100) * (line.t - previous);
      this.lastSample.set(key, line.t);
    } else if (line.type === "request") {
      // Answered by the supervisor (503, 413...): no worker ran it, nothing to replay.
      if (line.worker === 0) return;
      this.busyMs += line.durationMs;
      this.lines.push(line);
      if (this.lines.length > MAX_REPLAYED_REQUESTS * 1.25) this.trim();
    }
  }

  private trim(): void {
    const excess = this.lines.length - MAX_REPLAYED_REQUESTS;
    if (excess <= 0) return;
    this.lines.splice(0, excess);
    this.dropped += excess;
  }

  build(): Workload {
    this.trim();
    const requests = this.lines.map((line) => ({ line, arrival: line.arrivedAt ?? line.t - (line.waitMs ?? 0) }));
    requests.sort((a, b) => a.arrival - b.arrival);
    const routeIndex = new Map<string, number>();
    const tallies: RouteTally[] = [];
    const seen = new Set<string>();
    const out: Requests = { arrivalMs: [], route: [], durationMs: [], peakKiB: [], retainedKiB: [], firstCall: [] };
    const t0 = requests.length > 0 ? requests[0].arrival : 0;
    // First calls are counted in the order each worker took them, not in arrival order.
    const byWorker = [...this.lines].sort((a, b) => a.seq - b.seq);
    const firstOf = new Set<RequestLine>();
    for (const line of byWorker) {
      const key = `${line.worker}/${line.pid} ${line.method} ${line.route}`;
      if (!seen.has(key)) {
        seen.add(key);
        firstOf.add(line);
      }
    }
    for (const { line, arrival } of requests) {
      const key = `${line.method} ${line.route}`;
      let index = routeIndex.get(key);
      if (index === undefined) {
        index = tallies.length;
        routeIndex.set(key, index);
        tallies.push({ first: [], repeat: [], peaks: [], calls: 0 });
      }
      const tally = tallies[index];
      tally.calls += 1;
      const figures = memoryOf(line);
      const first = firstOf.has(line);
      if (figures) {
        (first ? tally.first : tally.repeat).push(figures.retainedKiB);
        tally.peaks.push(figures.peakKiB);
      }
      out.arrivalMs.push(arrival - t0);
      out.route.push(index);
      out.durationMs.push(Math.max(0, line.durationMs));
      out.peakKiB.push(figures?.peakKiB ?? Number.NaN);
      out.retainedKiB.push(figures?.retainedKiB ?? Number.NaN);
      out.firstCall.push(first);
    }
    const routes: RouteModel[] = [...routeIndex.keys()].map((key, i) => {
      const tally = tallies[i];
      return {
        key,
        firstRetainedKiB: orZero(median(tally.first)),
        repeatRetainedKiB: orZero(median(tally.repeat)),
        peakKiB: orZero(median(tally.peaks)),
        calls: tally.calls,
      };
    });
    // Calls recorded without figures (accounting off) take their route's medians.
    for (let i = 0; i < out.route.length; i++) {
      const route = routes[out.route[i]];
      if (Number.isNaN(out.peakKiB[i])) out.peakKiB[i] = route.peakKiB;
      if (Number.isNaN(out.retainedKiB[i])) out.retainedKiB[i] = out.firstCall[i] ? route.firstRetainedKiB : route.repeatRetainedKiB;
    }
    return {
      requests: out,
      routes,
      baselineRssKiB: orZero(median(this.readyRss)),
      baselineUssKiB: this.readyUss.length > 0 ? median(this.readyUss) : null,
      spawnToReadyMs: this.bootMs.length > 0 ? median(this.bootMs) : DEFAULT_SPAWN_TO_READY_MS,
      // Dispatch counts when recorded; else the overlap of the requests' spans.
      concurrencySeen: Math.max(
        this.lines.reduce((most, line) => Math.max(most, line.inFlight ?? 0), 0),
        maxConcurrency(out.arrivalMs, requests.map(({ line }) => (line.waitMs ?? 0) + line.durationMs)),
      ),
      settings: this.settings,
      cpuShare: this.cpuMs > 0 && this.busyMs > 0 ? Math.min(1, this.cpuMs / this.busyMs) : null,
      dropped: this.dropped,
      recordedAt: this.recordedAt,
    };
  }
}

/**
 * Traffic synthesised from a report alone (no recording at hand): each route's calls at its
 * median duration, peak and retained figures, interleaved in proportion to their counts,
 * at the run's average arrival rate.
 */
export function workloadFromReport(report: Report): Workload {
  const routes = report.routes.filter((route) => route.requests > 0 && route.route !== "<malformed>");
  const models: RouteModel[] = routes.map((route) => ({
    key: `${route.method} ${route.route}`,
    firstRetainedKiB: route.retainedMiB.first * 1024,
    repeatRetainedKiB: route.retainedMiB.perRequest * 1024,
    peakKiB: route.peakMiB.median * 1024,
    calls: route.requests,
  }));
  const total = routes.reduce((sum, route) => sum + route.requests, 0);
  const gapMs = total > 0 ? (report.totals.durationSec * 1000) / total : 0;
  const out: Requests = { arrivalMs: [], route: [], durationMs: [], peakKiB: [], retainedKiB: [], firstCall: [] };
  const sent = routes.map(() => 0);
  for (let i = 0; i < total; i++) {
    // The route furthest behind its share goes next: interleaved, not grouped.
    let next = 0;
    for (let r = 1; r < routes.length; r++) if (sent[r] / routes[r].requests < sent[next] / routes[next].requests) next = r;
    const route = routes[next];
    out.arrivalMs.push(i * gapMs);
    out.route.push(next);
    out.durationMs.push(route.durationMs.median);
    out.peakKiB.push((sent[next] === 0 ? route.peakMiB.max : route.peakMiB.median) * 1024);
    out.retainedKiB.push((sent[next] === 0 ? route.retainedMiB.first : route.retainedMiB.perRequest) * 1024);
    out.firstCall.push(sent[next] === 0);
    sent[next] += 1;
  }
  const starts = report.workers.map((worker) => worker.rssMiB.start).filter((value) => value > 0);
  return {
    requests: out,
    routes: models,
    baselineRssKiB: (starts.length > 0 ? median(starts) : report.limits.baselineMiB) * 1024,
    baselineUssKiB: null,
    spawnToReadyMs: DEFAULT_SPAWN_TO_READY_MS,
    concurrencySeen: Math.max(1, (report.settings.workers ?? 1) * Math.max(1, report.settings.threads)),
    settings: report.settings,
    cpuShare: null,
    dropped: 0,
    recordedAt: null,
  };
}

/** A replacement worker's boot when the recording has none (a small app boots in 60–400 ms). */
const DEFAULT_SPAWN_TO_READY_MS = 300;

function memoryOf(line: RequestLine): { peakKiB: number; retainedKiB: number } | null {
  const { rssBeforeKiB, peakKiB, rssAfterKiB } = line;
  if (typeof rssBeforeKiB !== "number" || typeof peakKiB !== "number" || typeof rssAfterKiB !== "number") return null;
  // Calls that overlapped others (threads) share their figures: no single call's to replay.
  if ((line.concurrent ?? 1) > 1) return null;
  return { peakKiB: Math.max(0, peakKiB - rssBeforeKiB), retainedKiB: rssAfterKiB - rssBeforeKiB };
}

function orZero(value: number): number {
  return Number.isNaN(value) ? 0 : value;
}

/** Most intervals [arrival, arrival + span) open at once. */
function maxConcurrency(arrivals: readonly number[], spans: readonly number[]): number {
  const edges: Array<[number, number]> = [];
  for (let i = 0; i < arrivals.length; i++) {
    edges.push([arrivals[i], 1], [arrivals[i] + spans[i], -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) {
    open += step;
    if (open > most) most = open;
  }
  return most;
}
