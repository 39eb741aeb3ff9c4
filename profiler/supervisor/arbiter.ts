// The pool policy as one pure state machine (ARCHITECTURE.md "Arbiter core and replay"):
// events in, actions out, with an injected clock and random source. The live supervisor
// feeds it what its sockets and processes do; the what-if replay feeds it a recording on a
// virtual clock. One policy, two drivers: a replay cannot disagree with the supervisor
// about what a setting does.
import type { ExitReason } from "./shim-protocol";
import {
  QUEUE_BODY_LIMIT_BYTES, setPhase,
  type ArbiterAction, type ArbiterClock, type ArbiterEvent, type ArbiterSettings, type WorkerModel, type WorkerPhase, type WorkerView,
} from "./arbiter-types";
import { budgetRefusal, planBudget, type BudgetWorker } from "./budget";
import { BootBackoff, decidePool, recycleReason, requestLimit } from "./pool";
import { aheadWorker } from "./prefetch";

export { QUEUE_BODY_LIMIT_BYTES, type ArbiterAction, type ArbiterClock, type ArbiterEvent, type ArbiterSettings, type WorkerPhase, type WorkerView } from "./arbiter-types";

const MIB = 1024;

export class Arbiter {
  private readonly workers = new Map<number, WorkerModel>();
  private readonly queue: Array<{ id: number; bodyBytes: number }> = [];
  private queuedBytes = 0;
  private nextWorkerId = 1;
  private readonly boot = new BootBackoff();
  /** Why the app cannot serve while no worker is up (a load error, a boot past its timeout). */
  private unavailable: string | null = null;
  private shuttingDown = false;
  private keepingPool = false;
  private baselineKiB: number | null = null;
  private budgetCheckedAtStart = false;
  private lastBudgetRetireAt = Number.NEGATIVE_INFINITY;
  private budgetWarnedAt = Number.NEGATIVE_INFINITY;
  private actions: ArbiterAction[] = [];

  constructor(private readonly settings: ArbiterSettings, private readonly clock: ArbiterClock) {}

  /** Applies one event; returns what to do, in order. */
  handle(event: ArbiterEvent): ArbiterAction[] {
    this.actions = [];
    switch (event.type) {
      case "arrive":
        this.arrive(event.id, event.bodyBytes);
        break;
      case "abandon":
        this.abandon(event.id);
        break;
      case "ready":
        this.ready(event.worker, event.rssKiB);
        break;
      case "done":
        this.done(event.worker, event.id, event.rssAfterKiB);
        break;
      case "rss":
        this.noteRss(event.worker, event.rssKiB);
        break;
      case "exit":
        this.exit(event.worker, event.clean, event.withMaster ?? false);
        break;
      case "unavailable":
        this.unavailable = event.message;
        if (this.readyCount() === 0) this.rejectQueue(`Service Unavailable: ${event.message}`);
        break;
      case "master-exit":
        this.boot.failed(this.clock.now());
        break;
      case "tick":
        this.expireTimeouts();
        this.keepPool();
        break;
      case "shutdown":
        this.shuttingDown = true;
        this.rejectQueue("Service Unavailable: shutting down");
        for (const worker of this.workers.values()) if (worker.inflight.size === 0) this.stopWorker(worker, "shutdown");
        break;
    }
    this.drainQueue();
    const out = this.actions;
    this.actions = [];
    return out;
  }

  // ---- queries ----

  get queued(): number {
    return this.queue.length;
  }

  readyCount(): number {
    let ready = 0;
    for (const worker of this.workers.values()) if (worker.phase === "idle" || worker.phase === "busy") ready += 1;
    return ready;
  }

  /** Requests running in the workers now (not those handed ahead and waiting). */
  get inFlight(): number {
    let count = 0;
    for (const worker of this.workers.values()) count += worker.inflight.size - worker.waiting.length;
    return count;
  }

  get anyInflight(): boolean {
    for (const worker of this.workers.values()) if (worker.inflight.size > 0) return true;
    return false;
  }

  get size(): number {
    return this.workers.size;
  }

  view(): WorkerView[] {
    return [...this.workers.values()].map((w) => ({
      id: w.id, phase: w.phase, inflight: w.inflight.size, requests: w.requests, requestLimit: w.requestLimit, rssKiB: w.rssKiB,
    }));
  }

  phaseOf(worker: number): WorkerPhase | null {
    return this.workers.get(worker)?.phase ?? null;
  }

  // ---- requests ----

  private arrive(id: number, bodyBytes: number): void {
    if (this.shuttingDown) {
      this.reject(id, "Service Unavailable: shutting down");
      return;
    }
    const worker = this.freeWorker();
    if (worker && this.queue.length === 0) {
      this.dispatch(worker, id);
      if (this.settings.workers === null) this.keepPool(); // a dynamic pool keeps its spares
      return;
    }
    if (this.unavailable !== null && this.readyCount() === 0) {
      // Holding it until the next boot attempt (up to 30 s of backoff) would only delay the same answer.
      this.reject(id, `Service Unavailable: ${this.unavailable}`);
      return;
    }
    // Handed ahead to a busy worker is waiting too: --queue bounds them all.
    const waiting = this.queue.length + this.waitingInWorkers();
    if (waiting >= this.settings.queueSize) {
      this.reject(id, `Service Unavailable: all workers busy and ${waiting} requests queued (--queue ${this.settings.queueSize})`);
      return;
    }
    if (bodyBytes > 0 && this.queuedBytes + bodyBytes > QUEUE_BODY_LIMIT_BYTES) {
      const held = (this.queuedBytes / (MIB * MIB)).toFixed(1);
      this.reject(id, `Service Unavailable: all workers busy and the waiting requests already hold ${held} MiB of bodies`);
      return;
    }
    const ahead = this.queue.length === 0 ? aheadWorker(this.workers.values(), this.settings, bodyBytes) : null;
    if (ahead) {
      this.dispatchAhead(ahead, id);
      return;
    }
    this.queue.push({ id, bodyBytes });
    this.queuedBytes += bodyBytes;
    this.keepPool();
  }

  private waitingInWorkers(): number {
    let count = 0;
    for (const worker of this.workers.values()) count += worker.waiting.length;
    return count;
  }

  private abandon(id: number): void {
    const index = this.queue.findIndex((entry) => entry.id === id);
    if (index < 0) return;
    this.queuedBytes -= this.queue[index].bodyBytes;
    this.queue.splice(index, 1);
  }

  private reject(id: number, message: string): void {
    this.actions.push({ type: "reject", id, status: 503, message });
  }

  private rejectQueue(message: string): void {
    for (const entry of this.queue.splice(0)) this.reject(entry.id, message);
    this.queuedBytes = 0;
  }

  /** The least loaded worker with a free thread; among equals, the one idle longest. */
  private freeWorker(): WorkerModel | null {
    let best: WorkerModel | null = null;
    for (const worker of this.workers.values()) {
      if (worker.phase !== "idle" && worker.phase !== "busy") continue;
      if (worker.inflight.size >= this.settings.threads) continue;
      const better = !best || worker.inflight.size < best.inflight.size ||
        (worker.inflight.size === best.inflight.size && worker.idleSince < best.idleSince);
      if (better) best = worker;
    }
    return best;
  }

  private dispatch(worker: WorkerModel, id: number): void {
    this.begin(worker, id);
    worker.requests += 1;
    setPhase(worker, "busy");
    this.actions.push({ type: "dispatch", worker: worker.id, id });
  }

  /** To a busy worker, which starts it once its current request is done (startNext). */
  private dispatchAhead(worker: WorkerModel, id: number): void {
    worker.inflight.set(id, Number.POSITIVE_INFINITY); // its timeout runs from its start
    worker.waiting.push(id);
    worker.requests += 1;
    this.actions.push({ type: "dispatch", worker: worker.id, id, ahead: true });
  }

  private startNext(worker: WorkerModel): void {
    const id = worker.waiting.shift();
    if (id === undefined) return;
    this.begin(worker, id);
    this.actions.push({ type: "started", id });
  }

  /** The request runs in the worker from now: its timeout counts from here. */
  private begin(worker: WorkerModel, id: number): void {
    const timeoutMs = this.settings.timeoutSec * 1000;
    worker.inflight.set(id, timeoutMs > 0 ? this.clock.now() + timeoutMs : Number.POSITIVE_INFINITY);
    worker.runningSince = this.clock.now();
  }

  private drainQueue(): void {
    while (this.queue.length > 0) {
      const free = this.freeWorker();
      const ahead = free ? null : aheadWorker(this.workers.values(), this.settings, this.queue[0].bodyBytes);
      if (!free && !ahead) return;
      const entry = this.queue.shift() as { id: number; bodyBytes: number };
      this.queuedBytes -= entry.bodyBytes;
      if (free) this.dispatch(free, entry.id);
      else this.dispatchAhead(ahead as WorkerModel, entry.id);
    }
  }

  private done(workerId: number, id: number, rssAfterKiB: number | undefined): void {
    const worker = this.workers.get(workerId);
    if (!worker || !worker.inflight.delete(id)) return;
    if (typeof rssAfterKiB === "number") worker.rssKiB = rssAfterKiB;
    const waited = worker.waiting.indexOf(id);
    if (waited >= 0) worker.waiting.splice(waited, 1); // answered before it was seen to start
    else if (worker.inflight.size === worker.waiting.length) this.startNext(worker);
    if (worker.phase === "busy" && worker.inflight.size === 0) {
      setPhase(worker, "idle");
      worker.idleSince = this.clock.now();
    }
    if (worker.phase === "idle" || worker.phase === "busy") {
      const { maxRequests, reloadOnRssMiB } = this.settings;
      const recycle = maxRequests > 0 || reloadOnRssMiB > 0 ? recycleReason(worker.requests, worker.requestLimit, rssAfterKiB, reloadOnRssMiB) : null;
      if (recycle) this.retire(worker, recycle.reason, recycle.detail);
      // Chosen by the budget while busy: decided again below on the figure after its
      // request (a balloon that gave its memory back leaves nothing to reclaim).
      else if (worker.inflight.size === 0) worker.retireAfterRequest = false;
    }
    if (worker.phase === "draining" && worker.inflight.size === 0) this.stopWorker(worker, worker.retireReason ?? "shutdown");
    if (this.shuttingDown && worker.inflight.size === 0) this.stopWorker(worker, "shutdown");
    this.enforceBudget();
  }

  private expireTimeouts(): void {
    const now = this.clock.now();
    for (const worker of this.workers.values()) {
      if (worker.killedFor) continue;
      const expired = [...worker.inflight].filter(([, deadline]) => now > deadline).map(([id]) => id);
      if (expired.length === 0) continue;
      for (const id of expired) worker.inflight.delete(id);
      worker.killedFor = "timeout";
      const detail = `a request ran over ${this.settings.timeoutSec} s`;
      worker.retireDetail = detail;
      if (worker.phase === "idle" || worker.phase === "busy") setPhase(worker, "draining");
      this.actions.push({ type: "kill", worker: worker.id, reason: "timeout", detail, expired });
    }
  }

  // ---- the pool ----

  private keepPool(): void {
    // Re-entry (retire() asks for a replacement) would decide again on a half-applied
    // decision and retire or spawn twice.
    if (this.shuttingDown || this.keepingPool) return;
    this.keepingPool = true;
    try {
      this.applyPoolDecision();
    } finally {
      this.keepingPool = false;
    }
  }

  private applyPoolDecision(): void {
    const view = { starting: 0, idle: 0, busy: 0, queued: this.queue.length };
    for (const worker of this.workers.values()) {
      if (worker.phase === "starting") view.starting += 1;
      else if (worker.phase === "idle") view.idle += 1;
      else if (worker.phase === "busy") view.busy += 1;
    }
    const { workers, minSpare, maxSpare, maxWorkers } = this.settings;
    const decision = decidePool(view, { workers, minSpare: minSpare ?? 1, maxSpare: maxSpare ?? 1, maxWorkers });
    if (decision.spawn > 0 && this.boot.allowsSpawn(this.clock.now())) {
      for (let i = 0; i < decision.spawn; i++) this.spawn();
    }
    for (let i = 0; i < decision.retireIdle; i++) {
      const idle = [...this.workers.values()].find((w) => w.phase === "idle");
      if (idle) this.retire(idle, "scale-down", `more than ${maxSpare} idle workers (--max-spare)`);
    }
  }

  private spawn(): void {
    const { maxRequests, maxRequestsJitter } = this.settings;
    const now = this.clock.now();
    const worker: WorkerModel = {
      id: this.nextWorkerId++,
      phase: "starting",
      inflight: new Map(),
      waiting: [],
      runningSince: now,
      requests: 0,
      requestLimit: requestLimit(maxRequests, maxRequestsJitter, () => this.clock.random()),
      rssKiB: 0,
      idleSince: now,
      spawnedAt: now,
      readyAt: null,
      retireReason: null,
      retireDetail: "",
      retireAfterRequest: false,
      killedFor: null,
    };
    this.workers.set(worker.id, worker);
    this.actions.push({ type: "spawn", worker: worker.id });
  }

  private ready(workerId: number, rssKiB: number): void {
    const worker = this.workers.get(workerId);
    if (!worker || worker.phase !== "starting") return;
    this.boot.succeeded();
    this.unavailable = null;
    worker.rssKiB = rssKiB;
    worker.readyAt = this.clock.now();
    worker.idleSince = worker.readyAt;
    setPhase(worker, "idle");
    if (this.baselineKiB === null && rssKiB > 0) this.baselineKiB = rssKiB;
    if (this.shuttingDown) {
      this.stopWorker(worker, "shutdown");
      return;
    }
    this.checkBudgetFits();
    this.drainQueue(); // before the pool decision: what it takes now is no longer demand
    this.keepPool(); // a dynamic pool may now be over its spare count
    this.enforceBudget();
  }

  private retire(worker: WorkerModel, reason: ExitReason, detail: string): void {
    if (worker.phase !== "starting" && worker.phase !== "idle" && worker.phase !== "busy") return;
    worker.retireReason = reason;
    worker.retireDetail = detail;
    worker.retireAfterRequest = false;
    setPhase(worker, "draining");
    this.actions.push({ type: "retire", worker: worker.id, reason, detail, rssKiB: worker.rssKiB });
    this.keepPool(); // the replacement starts before the old one leaves
    if (worker.inflight.size === 0) this.stopWorker(worker, reason);
  }

  private stopWorker(worker: WorkerModel, reason: ExitReason): void {
    if (worker.phase === "stopping") return;
    setPhase(worker, "stopping");
    this.actions.push({ type: "stop", worker: worker.id, reason });
  }

  private exit(workerId: number, clean: boolean, withMaster: boolean): void {
    const worker = this.workers.get(workerId);
    if (!worker) return;
    this.workers.delete(workerId);
    const wasStarting = worker.phase === "starting";
    const retired = clean && worker.retireReason !== null;
    const reason: ExitReason = worker.killedFor ?? (retired ? (worker.retireReason as ExitReason) : this.shuttingDown ? "shutdown" : "crash");
    // Handed ahead, never started: another worker takes them, first in line.
    const requeued = this.shuttingDown ? [] : worker.waiting.splice(0);
    this.actions.push({ type: "exited", worker: workerId, reason, detail: worker.retireDetail, wasStarting, requeued });
    this.queue.unshift(...requeued.map((id) => ({ id, bodyBytes: 0 })));
    if (wasStarting && reason === "crash" && !withMaster) this.boot.failed(this.clock.now());
    this.keepPool();
  }

  // ---- memory ----

  private noteRss(workerId: number, rssKiB: number): void {
    const worker = this.workers.get(workerId);
    if (!worker || worker.phase === "starting") return;
    worker.rssKiB = rssKiB;
    this.enforceBudget();
  }

  /** A budget that cannot hold the pool's idle workers is refused as soon as a baseline is known. */
  private checkBudgetFits(): void {
    const budgetMiB = this.settings.memoryBudgetMiB;
    if (budgetMiB <= 0 || this.budgetCheckedAtStart || this.baselineKiB === null) return;
    this.budgetCheckedAtStart = true;
    const minimum = this.settings.workers ?? Math.max(1, this.settings.minSpare ?? 1);
    const message = budgetRefusal(budgetMiB, minimum, this.baselineKiB);
    if (message) this.actions.push({ type: "refuse", message });
  }

  private enforceBudget(): void {
    const budgetMiB = this.settings.memoryBudgetMiB;
    if (budgetMiB <= 0 || this.shuttingDown || this.baselineKiB === null) return;
    const now = this.clock.now();
    const live: BudgetWorker[] = [...this.workers.values()].map((w) => ({
      id: w.id,
      rssKiB: w.phase === "starting" ? (this.baselineKiB as number) : w.rssKiB,
      idle: w.phase === "idle",
      retiring: w.phase === "draining" || w.phase === "stopping" || w.phase === "starting" || w.retireAfterRequest,
    }));
    const plan = planBudget(live, budgetMiB * MIB, this.baselineKiB, now - this.lastBudgetRetireAt);
    if (plan.kind === "none" || plan.kind === "wait") return;
    if (plan.kind === "unreachable") {
      if (now - this.budgetWarnedAt >= BUDGET_WARN_INTERVAL_MS) {
        this.budgetWarnedAt = now;
        this.actions.push({ type: "warn", message: plan.detail });
      }
      return;
    }
    const worker = this.workers.get(plan.worker) as WorkerModel;
    if (plan.kind === "retire-now") {
      this.lastBudgetRetireAt = now;
      this.retire(worker, "budget", plan.detail);
    } else {
      worker.retireAfterRequest = true;
    }
  }
}

/** How often "the budget cannot be met" is said again while it stays true. */
const BUDGET_WARN_INTERVAL_MS = 30_000;

