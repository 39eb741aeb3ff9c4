// The arbiter: accepts requests, queues them, hands one to each free worker, kills the
// ones that time out, recycles by request count, RSS and the memory budget, keeps the pool
// at size, reaps, samples memory, and records all of it.
import type { Socket } from "node:net";
import { describeExit, signalName } from "./exitcause";
import { requestLine, type Exchange } from "./exchange";
import { HttpFront } from "./http";
import { Launcher, shimConfig } from "./launcher";
import type { RecordLine, RequestOutcome, RunInfo, Settings, WorkerEventName, WorkerLine } from "../record/model";
import { BootBackoff, decidePool, pickBudgetVictim, recycleReason, requestLimit } from "./pool";
import { BootWatch, type Importing } from "./boot-watch";
import { ExitCode, type ExitReason, type FatalMessage, type HelloMessage, type LogMessage, type RequestStats } from "./shim-protocol";
import { Sampler, type ProcessReader } from "./sampler";
import { waitUntil } from "./wait";
import { Worker, type WorkerEvents } from "./worker";
import { WorkerTable } from "./workers";

export interface SupervisorOptions {
  settings: Settings;
  run: RunInfo;
  shimDir: string;
  port: number;
  record(line: RecordLine): void;
  log(source: string, message: LogMessage): void;
  /** The app failed to load (import error): the CLI decides whether to go on retrying. */
  bootFailed?(fatal: FatalMessage): void;
  /** No worker is ready after --boot-timeout: which process is still importing, for how long (or that every attempt failed). */
  bootStalled?(message: string): void;
  now?: () => number;
  random?: () => number;
  readProcesses?: ProcessReader;
  sampleIntervalMs?: number;
}

/** How long a dead worker's exit status may lag behind its socket closing. */
const EXIT_STATUS_WAIT_MS = 1000;

export class Supervisor implements WorkerEvents {
  private readonly workers = new WorkerTable();
  private readonly queue: Exchange[] = [];
  private readonly launcher: Launcher;
  private readonly http: HttpFront;
  private readonly sampler: Sampler;
  private readonly now: () => number;
  private readonly random: () => number;
  private nextWorkerId = 1;
  private readonly boot = new BootBackoff();
  private appRecorded = false;
  private shuttingDown = false;
  private maintaining = false;
  private masterReady = false;
  private masterStartedAt = 0;
  /** When each worker was forked (the app's import starts then), by worker id. */
  private readonly forkedAt = new Map<number, number>();
  private readonly bootWatch: BootWatch;
  private tick: NodeJS.Timeout | null = null;
  port = 0;

  constructor(private readonly options: SupervisorOptions) {
    const { settings, run } = options;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.bootWatch = new BootWatch(settings.bootTimeoutSec);
    this.launcher = new Launcher({ python: run.python, shimDir: options.shimDir, config: shimConfig(run, settings) }, {
      workerHello: (hello, socket, leftover) => this.onWorkerHello(hello, socket, leftover),
      masterReady: (hello) => this.onMasterReady(hello),
      forked: ({ workerId, pid }) => {
        const worker = this.workers.get(workerId);
        if (!worker || worker.pid !== 0) return;
        worker.pid = pid;
        this.forkedAt.set(workerId, this.now());
        this.recordWorker("forked", worker);
      },
      workerExit: (pid, exitCode, signal) => this.onWorkerExit(pid, exitCode, signal),
      masterExit: (pid, exitCode, signal) => this.onMasterExit(pid, exitCode, signal),
      fatal: (fatal) => this.onFatal(fatal),
      output: (source, message) => options.log(source, message),
    });
    this.http = new HttpFront({
      port: options.port,
      maxBodyBytes: settings.maxBodyMiB * 1024 * 1024,
      submit: (exchange) => this.submit(exchange),
      log: (level, message) => options.log("http", { level, message }),
    });
    this.sampler = new Sampler(
      options.sampleIntervalMs ?? 250,
      () => this.workers.pids(),
      (samples) => this.onSamples(samples),
      options.readProcesses,
    );
  }

  async start(): Promise<number> {
    await this.launcher.listen();
    try {
      this.port = await this.http.listen();
    } catch (error) {
      await this.launcher.close();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE") throw new Error(`port ${this.options.port} is in use on 127.0.0.1 (--port 0 picks a free one)`);
      throw error;
    }
    this.launcher.serverPort = this.port; // known only now when --port 0 picked one
    this.bootWatch.started(this.now());
    this.startMaster();
    this.maintainPool();
    this.tick = setInterval(() => this.onTick(), 200);
    this.sampler.start();
    return this.port;
  }

  // ---- requests ----

  private submit(exchange: Exchange): void {
    if (this.shuttingDown) {
      exchange.sink.fail(503, "Service Unavailable: shutting down");
      return;
    }
    const worker = this.freeWorker();
    const stillLoading = worker ? null : this.bootWatch.unavailable(this.now(), this.readyWorkers);
    if (worker) {
      this.dispatch(worker, exchange);
    } else if (this.boot.fatal && this.readyWorkers === 0) {
      // Holding it until the next boot attempt (up to 30 s of backoff) would only delay the same answer.
      exchange.sink.fail(503, `Service Unavailable: the app failed to load: ${this.boot.fatal.message}`);
    } else if (stillLoading) {
      // Importing past --boot-timeout: say so now rather than hold the request.
      exchange.sink.fail(503, `Service Unavailable: ${stillLoading}`);
    } else if (this.queue.length >= this.options.settings.queueSize) {
      exchange.sink.fail(503, `Service Unavailable: all workers busy and ${this.queue.length} requests queued (--queue)`);
    } else {
      this.queue.push(exchange);
      this.maintainPool();
    }
  }

  private freeWorker(): Worker | null {
    return this.workers.free(this.options.settings.threads);
  }

  private dispatch(worker: Worker, exchange: Exchange): void {
    exchange.startedAt = this.now();
    const timeout = this.options.settings.timeoutSec;
    exchange.deadline = timeout > 0 ? performance.now() + timeout * 1000 : 0;
    worker.send(exchange);
  }

  private drainQueue(): void {
    while (this.queue.length > 0) {
      const worker = this.freeWorker();
      if (!worker) return;
      const exchange = this.queue.shift() as Exchange;
      if (exchange.sink.clientGone) continue; // nobody waits for it any more
      this.dispatch(worker, exchange);
    }
  }

  finished(worker: Worker, exchange: Exchange, stats: RequestStats): void {
    const outcome: RequestOutcome = exchange.sink.clientGone ? "client-gone" : stats.error ? "app-error" : "ok";
    // No log of stats.error here: the shim already sent the traceback as a Log frame (see log()).
    this.recordRequest(worker, exchange, outcome, stats, stats.error?.type);
    const { maxRequests, reloadOnRssMiB } = this.options.settings;
    const recycle = maxRequests > 0 || reloadOnRssMiB > 0 ? recycleReason(worker.requests, worker.requestLimit, stats.rssAfterKiB, reloadOnRssMiB) : null;
    if (recycle) this.retire(worker, recycle.reason, recycle.detail);
    if (worker.state === "draining" && worker.inflight.size === 0) worker.stop(worker.retireReason ?? "shutdown");
    this.enforceBudget();
    this.drainQueue();
  }

  private recordRequest(worker: Worker, exchange: Exchange, outcome: RequestOutcome, stats: Partial<RequestStats>, error?: string): void {
    this.options.record(requestLine({ id: worker.id, pid: worker.pid, requests: worker.requests }, exchange, outcome, stats, this.now(), error));
  }


  // ---- pool ----

  private maintainPool(): void {
    // Re-entry (retire() asks for a replacement) would decide again on a half-applied
    // decision and retire or spawn twice.
    if (this.shuttingDown || this.maintaining) return;
    this.maintaining = true;
    try {
      this.applyPoolDecision();
    } finally {
      this.maintaining = false;
    }
  }

  private applyPoolDecision(): void {
    const { settings } = this.options;
    const decision = decidePool(this.workers.poolView(this.queue.length), {
      workers: settings.workers,
      minSpare: settings.minSpare ?? 1,
      maxSpare: settings.maxSpare ?? 1,
      maxWorkers: settings.maxWorkers,
    });
    if (decision.spawn > 0 && this.boot.allowsSpawn(this.now())) {
      for (let i = 0; i < decision.spawn; i++) this.spawnWorker();
    }
    for (let i = 0; i < decision.retireIdle; i++) {
      const idle = this.workers.all().find((w) => w.state === "idle");
      if (idle) this.retire(idle, "scale-down", `more than ${settings.maxSpare} idle workers (--max-spare)`);
    }
  }

  private spawnWorker(): void {
    const { settings } = this.options;
    const worker = new Worker(this.nextWorkerId++, requestLimit(settings.maxRequests, settings.maxRequestsJitter, this.random), this, this.now());
    this.workers.add(worker);
    if (!this.launcher.masterAlive && !this.launcher.masterConnected) this.startMaster();
    this.launcher.fork(worker.id); // no master yet: forked when it says it is ready
    this.recordWorker("spawn", worker);
  }

  private startMaster(): void {
    this.masterStartedAt = this.now();
    this.launcher.startMaster();
  }

  private onMasterReady(hello: HelloMessage): void {
    this.masterReady = true;
    this.recordApp(hello);
    for (const worker of this.workers.all()) {
      if (worker.state === "starting" && worker.pid === 0) this.launcher.fork(worker.id);
    }
  }

  private recordWorker(event: WorkerEventName, worker: { id: number; pid: number }, more: Partial<WorkerLine> = {}): void {
    this.options.record({ type: "worker", t: this.now(), event, worker: worker.id, pid: worker.pid, ...more });
  }

  private recordApp(hello: HelloMessage): void {
    if (this.appRecorded || !hello.app) return;
    this.appRecorded = true;
    this.options.record({ type: "app", t: this.now(), app: hello.app });
  }

  private onWorkerHello(hello: HelloMessage, socket: Socket, leftover: Buffer | null): void {
    const worker = this.workers.get(hello.workerId);
    if (!worker || worker.state !== "starting") {
      socket.destroy();
      return;
    }
    worker.attach(socket, hello, leftover);
  }

  ready(worker: Worker, hello: HelloMessage): void {
    this.boot.succeeded();
    this.bootWatch.ready();
    this.recordApp(hello);
    const { memory, stackLimitKiB, threadStackKiB } = hello;
    this.recordWorker("ready", worker, { rssKiB: memory.rssKiB, vmSizeKiB: memory.vmSizeKiB, stackLimitKiB, threadStackKiB });
    if (this.shuttingDown) {
      worker.stop("shutdown");
      return;
    }
    this.maintainPool(); // a dynamic pool may now be over its spare count
    this.drainQueue();
  }

  private retire(worker: Worker, reason: ExitReason, detail: string): void {
    if (!worker.serving) return;
    worker.retireReason = reason;
    worker.retireDetail = detail;
    worker.setState("draining");
    this.recordWorker("recycle", worker, { reason, detail, rssKiB: worker.rssKiB });
    this.maintainPool(); // the replacement starts before the old one leaves
    if (worker.inflight.size === 0) worker.stop(reason);
  }

  private enforceBudget(): void {
    const budgetMiB = this.options.settings.memoryBudgetMiB;
    if (budgetMiB <= 0) return;
    const live = this.workers.all().filter((w) => w.live);
    if (live.some((w) => w.retireReason === "budget")) return; // one at a time: wait for it to leave
    const victimId = pickBudgetVictim(live.map((w) => ({ id: w.id, rssKiB: w.rssKiB, idle: w.state === "idle" })), budgetMiB * 1024);
    if (victimId === null) return;
    const victim = this.workers.get(victimId) as Worker;
    const total = live.reduce((sum, w) => sum + w.rssKiB, 0);
    this.retire(victim, "budget", `workers hold ${(total / 1024).toFixed(1)} MiB, over --memory-budget ${budgetMiB} MiB; this one held ${(victim.rssKiB / 1024).toFixed(1)} MiB`);
  }

  // ---- faults ----

  private onFatal(fatal: FatalMessage): void {
    // The backoff counts when the process is seen gone (finalize, onMasterExit): its exit
    // status and this frame travel on different sockets, in either order.
    this.boot.fatal = fatal;
    const who = fatal.workerId === 0 ? "the master" : `worker ${fatal.workerId}`;
    const what = fatal.stage === "import" ? "the app failed to load" : "could not start";
    const traceback = fatal.traceback ? `\n${fatal.traceback.trimEnd()}` : "";
    this.options.log(who, { level: "error", message: `${what}: ${fatal.message}${traceback}` });
    this.recordWorker("boot-failed", { id: fatal.workerId, pid: fatal.pid }, { detail: fatal.message });
    this.options.bootFailed?.(fatal);
    if (!this.freeWorker()) {
      for (const exchange of this.queue.splice(0)) exchange.sink.fail(503, `Service Unavailable: the app failed to load: ${fatal.message}`);
    }
  }

  log(worker: Worker, message: LogMessage): void {
    // Lines of a request (tracebacks, wsgi.errors) say which request they belong to.
    const exchange = message.id === undefined ? undefined : worker.inflight.get(message.id);
    const text = exchange ? `${exchange.head.method} ${exchange.head.path}: ${message.message.trimEnd()}` : message.message;
    this.options.log(`worker ${worker.id}`, { ...message, message: text });
  }

  disconnected(worker: Worker): void {
    if (!worker.live) return;
    // Nothing more can reach it: take it out of dispatch now, not when its exit status comes.
    if (worker.state !== "stopping") worker.setState("stopping");
    // Give the exit status a moment to arrive so the 502 can say how the worker died.
    setTimeout(() => this.finalize(worker, "lost its connection to the supervisor", null, null), EXIT_STATUS_WAIT_MS).unref();
  }

  private onMasterExit(pid: number, exitCode: number | null, signal: string | null): void {
    // Its workers die with it (PDEATHSIG); the pool starts another master once backoff allows.
    const wasReady = this.masterReady;
    this.masterReady = false;
    this.bootWatch.gone("master");
    if (this.shuttingDown) {
      // Forked workers are reported by the master as it reaps them; unforked ones never will be.
      for (const worker of this.workers.all()) if (worker.pid === 0) this.finalize(worker, "never forked: stopped before the master was ready", null, null, true);
      return;
    }
    const cause = pid ? `the Python master (pid ${pid}) ${describeExit(exitCode, signal)}` : "the Python master did not start";
    if (exitCode !== ExitCode.AppLoadError) {
      this.options.log("master", { level: "error", message: cause });
      // Dead before it could fork anything (bad interpreter, broken environment): as final
      // as an import error for `balloon profile`. Import errors came as a Fatal already.
      if (!wasReady) this.options.bootFailed?.({ stage: "boot", workerId: 0, pid, message: `${cause} before it was ready; see its output above`, traceback: "" });
    }
    this.boot.failed(this.now());
    // Its workers die with it (PDEATHSIG) and the ones it never forked will not come: count
    // them all gone now, with the real cause, so the pool asks again.
    for (const worker of this.workers.all()) {
      const words = worker.pid === 0 ? `was never forked: ${cause}` : `died with its master: ${cause}`;
      this.finalize(worker, words, null, "SIGKILL", true);
      this.killPid(worker.pid);
    }
  }

  private onWorkerExit(pid: number, exitCode: number | null, signal: number | null): void {
    const worker = this.workers.withPid(pid);
    if (worker) this.finalize(worker, describeExit(exitCode, signal), exitCode, signal);
  }

  /** The worker's process is gone: answer what it held, record why, keep the pool whole. */
  /** `masterGone`: the worker went with its master, whose exit was counted and logged once. */
  private finalize(worker: Worker, cause: string, exitCode: number | null, signal: number | string | null, masterGone = false): void {
    if (!worker.live) return;
    const wasStarting = worker.state === "starting";
    const clean = exitCode === 0 && worker.retireReason !== null;
    const reason: ExitReason = worker.killedFor ?? (clean ? (worker.retireReason as ExitReason) : this.shuttingDown ? "shutdown" : "crash");
    worker.setState("exited");
    this.workers.remove(worker);
    this.forkedAt.delete(worker.id);
    this.bootWatch.gone(`worker ${worker.id}`);
    worker.socket?.destroy();
    const who = `worker ${worker.id} (pid ${worker.pid || "?"})`;
    for (const exchange of worker.inflight.values()) {
      if (exchange.headersSent) exchange.sink.abort();
      else exchange.sink.fail(502, `Bad Gateway: ${who} ${cause}`);
      exchange.status = 502;
      this.recordRequest(worker, exchange, "worker-died", {}, cause);
    }
    worker.inflight.clear();
    const crashed = reason === "crash";
    const detail = crashed ? cause : worker.retireDetail || cause;
    this.recordWorker(crashed ? "crash" : "exit", worker, { reason, detail, exitCode, signal: signalName(signal), rssKiB: worker.rssKiB });
    if (crashed && !masterGone && exitCode !== ExitCode.AppLoadError) this.options.log(who, { level: "error", message: cause });
    if (wasStarting && crashed && !masterGone) this.boot.failed(this.now());
    this.maintainPool();
    this.drainQueue();
  }

  private onTick(): void {
    const now = performance.now();
    for (const worker of this.workers.all()) {
      for (const exchange of worker.inflight.values()) {
        if (exchange.deadline > 0 && now > exchange.deadline) this.killForTimeout(worker, exchange);
      }
    }
    this.checkBootTimeout();
    this.maintainPool();
    this.drainQueue();
  }

  // ---- boot timeout ----

  /** Names each process still importing past --boot-timeout (boot-watch.ts); requests get 503 meanwhile. */
  private checkBootTimeout(): void {
    if (this.shuttingDown) return;
    const now = this.now();
    const importing: Importing[] = [];
    if (this.options.settings.preload && !this.masterReady && this.launcher.masterAlive) {
      importing.push({ key: "master", what: `the master (pid ${this.launcher.masterPid}) is still importing it (--preload)`, since: this.masterStartedAt });
    }
    for (const worker of this.workers.all()) {
      const since = this.forkedAt.get(worker.id);
      if (worker.state === "starting" && since !== undefined) importing.push({ key: `worker ${worker.id}`, what: `worker ${worker.id} (pid ${worker.pid}) is still importing it`, since });
    }
    for (const stall of this.bootWatch.overdue(now, importing, this.readyWorkers)) {
      const words = this.bootWatch.words(stall, now);
      // A CLI that stops on it says it itself; otherwise it is logged and the run goes on.
      if (this.options.bootStalled) this.options.bootStalled(words);
      else this.options.log("boot", { level: "error", message: `${words}; requests get 503 until a worker is ready` });
    }
    const unavailable = this.bootWatch.unavailable(now, this.readyWorkers);
    if (unavailable) for (const exchange of this.queue.splice(0)) exchange.sink.fail(503, `Service Unavailable: ${unavailable}`);
  }

  private killForTimeout(worker: Worker, exchange: Exchange): void {
    const timeout = this.options.settings.timeoutSec;
    worker.inflight.delete(exchange.head.id);
    exchange.sink.fail(504, `Gateway Timeout: the handler ran over ${timeout} s (--timeout); worker ${worker.id} (pid ${worker.pid}) was killed and replaced`);
    exchange.status = 504;
    this.recordRequest(worker, exchange, "timeout", {}, `ran over ${timeout} s`);
    if (worker.killedFor) return;
    worker.killedFor = "timeout";
    worker.retireDetail = `a request ran over ${timeout} s: ${exchange.head.method} ${exchange.head.path}`;
    this.options.log(`worker ${worker.id}`, { level: "error", message: `${exchange.head.method} ${exchange.head.path} ran over ${timeout} s; killing pid ${worker.pid}` });
    if (worker.serving) worker.setState("draining");
    this.maintainPool();
    this.killPid(worker.pid);
  }

  private killPid(pid: number): void {
    if (pid <= 0) return;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }

  private onSamples(samples: Array<{ pid: number; rssKiB: number; cpu: number }>): void {
    const byPid = new Map(samples.map((s) => [s.pid, s]));
    const t = this.now();
    for (const worker of this.workers.all()) {
      const sample = byPid.get(worker.pid);
      if (!sample) continue;
      worker.rssKiB = sample.rssKiB;
      this.options.record({ type: "sample", t, worker: worker.id, pid: worker.pid, rssKiB: sample.rssKiB, cpu: sample.cpu });
    }
    this.enforceBudget();
  }

  // ---- shutdown ----

  /** Workers that are up and taking requests. */
  get readyWorkers(): number {
    return this.workers.ready;
  }

  /** Graceful stop: no new requests, in-flight ones finish (up to graceSec), every child reaped. */
  async stop(reason: string, graceSec = 10): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const exchange of this.queue.splice(0)) exchange.sink.fail(503, "Service Unavailable: shutting down");
    const httpClosed = this.http.close();
    await waitUntil(() => !this.workers.anyInflight, graceSec * 1000);
    for (const worker of this.workers.all()) worker.stop("shutdown");
    this.launcher.stopMaster();
    await waitUntil(() => this.workers.size === 0 && this.launcher.ownProcesses.length === 0, 3000);
    for (const worker of this.workers.all()) this.killPid(worker.pid);
    for (const child of this.launcher.ownProcesses) child.kill("SIGKILL");
    await waitUntil(() => this.workers.size === 0 && this.launcher.ownProcesses.length === 0, 2000);
    for (const worker of this.workers.all()) this.finalize(worker, "killed at shutdown", null, "SIGKILL");
    if (this.tick) clearInterval(this.tick);
    this.sampler.stop();
    this.http.closeAll();
    await httpClosed;
    await this.launcher.close();
    this.options.record({ type: "stop", t: this.now(), reason });
  }

  /** A second Ctrl-C: stop waiting for requests to finish, kill every process now. */
  killAll(): void {
    for (const worker of this.workers.all()) this.killPid(worker.pid);
    for (const child of this.launcher.ownProcesses) child.kill("SIGKILL");
  }

}
