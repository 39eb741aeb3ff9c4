// What-if replay: a recorded request stream through the arbiter core (arbiter.ts, the same
// policy the live supervisor runs) on a virtual clock, under candidate settings. Each request
// keeps its own measured behaviour: how long it ran, how high it peaked above the RSS it
// started from, and what it left behind; a request that lands on a worker that has not
// served its route yet leaves the route's first-call step (an inflation) instead.
// Predicts peak total memory (RSS, and USS with shared pages counted once), recycles, waits.
//
// Within a request its memory is taken to ramp up to its peak over the request and to drop
// at its end: CPython touches pages as it builds what it computes, and frees it when the
// request's objects go. Holding every peak for the whole request instead over-counts what
// overlapping requests hold at once: on the wsgi_app fixture with 4 workers that predicted
// 620 MiB against 495 MiB polled from /proc (test/bench/replay.mjs).
import { Arbiter, type ArbiterAction, type ArbiterEvent, type ArbiterSettings } from "../supervisor/arbiter";
import type { Prediction } from "./model";
import type { Workload } from "./workload";

export interface ReplayOptions {
  /** Arrivals come this many times faster than recorded (2: twice the traffic). */
  speed?: number;
  /** Instead of the recorded arrivals, this many clients sending back to back (closed loop). */
  concurrency?: number;
  /** Seed of the jitter random source (max-requests jitter), for repeatable predictions. */
  seed?: number;
}

/** Pool upkeep and timeouts are checked this often, as in the supervisor. */
const TICK_MS = 200;
/** The supervisor samples RSS 4 times a second: a request this long has its peak seen by the budget. */
const SAMPLE_MS = 250;
/** A request waited when its worker took it later than this after it arrived. */
const WAIT_EPSILON_MS = 0.5;

interface Running {
  peakKiB: number;
  startedAt: number;
  durationMs: number;
}

interface WorkerState {
  rssKiB: number;
  routesSeen: Set<number>;
  /** The requests running in it now. */
  inflight: Map<number, Running>;
}

/** What a running request holds above its worker's RSS at `now`: its peak, reached at its end. */
function heldKiB(running: Running, now: number): number {
  if (running.durationMs <= 0) return running.peakKiB;
  return running.peakKiB * Math.min(1, Math.max(0, (now - running.startedAt) / running.durationMs));
}

type Pending =
  | { kind: "arrive"; request: number }
  | { kind: "done"; worker: number; request: number }
  | { kind: "peak"; worker: number }
  | { kind: "ready"; worker: number }
  | { kind: "exit"; worker: number; clean: boolean }
  | { kind: "tick" };

/** A binary min-heap of timed events; ties keep insertion order. */
class Timeline {
  private readonly heap: Array<{ t: number; seq: number; event: Pending }> = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(t: number, event: Pending): void {
    const heap = this.heap;
    heap.push({ t, seq: this.seq++, event });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  pop(): { t: number; event: Pending } {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop() as (typeof heap)[number];
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    }
    return top;
  }
}

function before(a: { t: number; seq: number }, b: { t: number; seq: number }): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

/** Deterministic random source (mulberry32): the same seed, the same jitter, the same prediction. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ReplayResult extends Prediction {
  /** The settings cannot run this traffic at all (e.g. a budget below workers × baseline): see messages. */
  refused: boolean;
  recycles: number;
  /** Recycles by reason ("max-requests", "rss-limit", "budget", ...). */
  recyclesBy: Record<string, number>;
  /** The arbiter's warnings and refusals, as it would have said them. */
  messages: string[];
}

export function replay(workload: Workload, settings: ArbiterSettings, options: ReplayOptions = {}): ReplayResult {
  const { requests, routes } = workload;
  const count = requests.route.length;
  const speed = options.speed ?? 1;
  const closedLoop = options.concurrency !== undefined && options.concurrency > 0;
  let now = 0;
  const arbiter = new Arbiter(settings, { now: () => now, random: seeded(options.seed ?? 1) });
  const timeline = new Timeline();
  const workers = new Map<number, WorkerState>();
  const baseline = workload.baselineRssKiB;
  const sharedKiB = workload.baselineUssKiB === null ? 0 : Math.max(0, baseline - workload.baselineUssKiB);
  const dispatchedAt = new Float64Array(count);
  const arrivedAt = new Float64Array(count);
  const result: ReplayResult = {
    peakTotalMiB: 0, peakTotalUssMiB: 0, recyclesPer1000: 0, waitedShare: 0, rejected: 0, timedOut: 0, requests: count,
    refused: false, recycles: 0, recyclesBy: {}, messages: [],
  };
  let peakTotalKiB = 0;
  let waited = 0;
  let finished = 0;
  let nextClosedLoop = 0;
  let refused = false;
  // A request that can never finish (no worker can ever take it) must not spin the clock for ever.
  let lastArrival = 0;
  let longest = 0;
  for (let i = 0; i < count; i++) {
    lastArrival = Math.max(lastArrival, requests.arrivalMs[i]);
    longest = Math.max(longest, requests.durationMs[i]);
  }
  const giveUpAt = workload.spawnToReadyMs + (closedLoop ? 0 : lastArrival / speed) + count * Math.max(1, longest) + 60_000;

  const totalKiB = (): number => {
    let total = 0;
    for (const worker of workers.values()) {
      total += worker.rssKiB;
      for (const running of worker.inflight.values()) total += heldKiB(running, now);
    }
    return total;
  };
  const notePeak = (): void => {
    peakTotalKiB = Math.max(peakTotalKiB, totalKiB());
  };
  const scheduleArrival = (request: number, t: number): void => timeline.push(t, { kind: "arrive", request });
  const requestEnded = (): void => {
    finished += 1;
    if (closedLoop && nextClosedLoop < count) scheduleArrival(nextClosedLoop++, now);
  };

  const apply = (actions: ArbiterAction[]): void => {
    for (const action of actions) {
      switch (action.type) {
        case "dispatch": {
          const worker = workers.get(action.worker) as WorkerState;
          const request = action.id;
          dispatchedAt[request] = now;
          if (now - arrivedAt[request] > WAIT_EPSILON_MS) waited += 1;
          const duration = requests.durationMs[request];
          worker.inflight.set(request, { peakKiB: requests.peakKiB[request], startedAt: now, durationMs: duration });
          notePeak();
          if (duration >= SAMPLE_MS) timeline.push(now + Math.min(duration / 2, SAMPLE_MS), { kind: "peak", worker: action.worker });
          timeline.push(now + duration, { kind: "done", worker: action.worker, request });
          break;
        }
        case "reject":
          result.rejected += 1;
          requestEnded();
          break;
        case "spawn":
          // It holds its baseline from ready on: a fork starts with a few pages and grows while it
          // imports, by when the worker it replaces has usually gone (a busy one stays: both count).
          workers.set(action.worker, { rssKiB: 0, routesSeen: new Set(), inflight: new Map() });
          timeline.push(now + workload.spawnToReadyMs, { kind: "ready", worker: action.worker });
          break;
        case "retire":
          result.recycles += 1;
          result.recyclesBy[action.reason] = (result.recyclesBy[action.reason] ?? 0) + 1;
          break;
        case "stop":
          timeline.push(now, { kind: "exit", worker: action.worker, clean: true });
          break;
        case "kill": {
          const worker = workers.get(action.worker);
          for (const request of action.expired) {
            result.timedOut += 1;
            worker?.inflight.delete(request);
            requestEnded();
          }
          timeline.push(now, { kind: "exit", worker: action.worker, clean: false });
          break;
        }
        case "exited": {
          const worker = workers.get(action.worker);
          // What still ran in it (threads beside a timed-out request) died with it.
          if (worker) for (let i = 0; i < worker.inflight.size; i++) requestEnded();
          workers.delete(action.worker);
          break;
        }
        case "refuse":
          result.messages.push(action.message);
          refused = true;
          break;
        case "warn":
          result.messages.push(action.message);
          break;
      }
    }
  };
  const handle = (event: ArbiterEvent): void => apply(arbiter.handle(event));

  // The recorded traffic began once the pool was up: so does the replayed one.
  const warmUp = workload.spawnToReadyMs + TICK_MS;
  if (closedLoop) {
    while (nextClosedLoop < Math.min(count, options.concurrency as number)) scheduleArrival(nextClosedLoop++, warmUp);
  } else {
    for (let i = 0; i < count; i++) scheduleArrival(i, warmUp + requests.arrivalMs[i] / speed);
  }
  handle({ type: "tick" });
  timeline.push(TICK_MS, { kind: "tick" });

  while (timeline.size > 0 && finished < count && !refused) {
    const { t, event } = timeline.pop();
    if (t > giveUpAt) {
      result.messages.push(`replay stopped at ${Math.round(t / 1000)} s of virtual time with ${count - finished} requests unfinished`);
      break;
    }
    now = t;
    switch (event.kind) {
      case "arrive":
        arrivedAt[event.request] = now;
        handle({ type: "arrive", id: event.request, bodyBytes: 0 });
        break;
      case "done": {
        const worker = workers.get(event.worker);
        if (!worker || !worker.inflight.has(event.request)) break; // timed out or died meanwhile
        const request = event.request;
        const route = requests.route[request];
        const retained = worker.routesSeen.has(route)
          ? (requests.firstCall[request] ? routes[route].repeatRetainedKiB : requests.retainedKiB[request])
          : routes[route].firstRetainedKiB;
        worker.routesSeen.add(route);
        notePeak(); // its peak, reached as it ends, beside what the others hold by now
        worker.inflight.delete(request);
        worker.rssKiB = Math.max(baseline, worker.rssKiB + retained);
        requestEnded();
        handle({ type: "done", worker: event.worker, id: request, rssAfterKiB: worker.rssKiB });
        break;
      }
      case "peak": {
        const worker = workers.get(event.worker);
        if (worker && worker.inflight.size > 0) {
          let held = 0;
          for (const running of worker.inflight.values()) held += heldKiB(running, now);
          handle({ type: "rss", worker: event.worker, rssKiB: worker.rssKiB + held });
        }
        break;
      }
      case "ready": {
        const worker = workers.get(event.worker);
        if (!worker) break;
        worker.rssKiB = baseline;
        notePeak();
        handle({ type: "ready", worker: event.worker, rssKiB: worker.rssKiB });
        break;
      }
      case "exit":
        handle({ type: "exit", worker: event.worker, clean: event.clean });
        break;
      case "tick":
        handle({ type: "tick" });
        if (finished < count) timeline.push(now + TICK_MS, { kind: "tick" });
        break;
    }
  }

  result.refused = refused;
  result.peakTotalMiB = round1(peakTotalKiB / 1024);
  // USS: each worker's private part; the pages all workers share (baseline RSS − USS) once.
  const workerCount = Math.max(1, settings.workers ?? settings.maxWorkers);
  result.peakTotalUssMiB = round1(Math.max(0, peakTotalKiB - sharedKiB * (workerCount - 1)) / 1024);
  result.recyclesPer1000 = count > 0 ? round1((result.recycles * 1000) / count) : 0;
  result.waitedShare = count > 0 ? Math.round((waited / count) * 1000) / 1000 : 0;
  return result;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10 + 0;
}
