// The supervisor's I/O: accepts requests, runs the Python master and its workers, samples
// memory, records all of it, and carries out what the arbiter (arbiter.ts, pure policy)
// decides: dispatch, queue, recycle, spawn, kill, reject.
import type { Socket } from "node:net";
import { Arbiter, type ArbiterAction, type ArbiterEvent } from "./arbiter";
import { BootWatch } from "./boot-watch";
import type { DeepCallResult } from "../analysis/deep";
import { DEEP_CALL_TIMEOUT_FACTOR, DeepDiver, type DeepDiveProgress, type DeepDiveSpec } from "./deep-dive";
import { describeExit, killPid, signalName, type ExitCause } from "./exitcause";
import type { Exchange } from "./exchange";
import { HttpFront } from "./http";
import { Launcher, shimConfig } from "./launcher";
import type { RecordLine, RunInfo, Settings } from "../record/model";
import { PoolRecorder, RequestBook } from "./requests";
import { ExitCode, type ExitReason, type FatalMessage, type HelloMessage, type LogMessage, type RequestStats } from "./shim-protocol";
import { Sampler, type ProcessReader, type ProcessSample } from "./sampler";
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
  /** The settings cannot work with the measured figures (a budget below workers × baseline): the run should stop. */
  refused?(message: string): void;
  /** No worker is ready after --boot-timeout: which process is still importing, for how long (or that every attempt failed). */
  bootStalled?(message: string): void;
  now?: () => number;
  random?: () => number;
  /** Sees every event the arbiter is fed, with its clock reading and the actions it returned (tests: live and replay agree). */
  traceArbiter?(event: ArbiterEvent, at: number, actions: readonly ArbiterAction[]): void;
  readProcesses?: ProcessReader;
  sampleIntervalMs?: number;
}

/** How long a dead worker's exit status may lag behind its socket closing. */
const EXIT_STATUS_WAIT_MS = 1000;
/** Timeouts and pool upkeep are checked this often. */
const TICK_MS = 200;

export class Supervisor implements WorkerEvents {
  private readonly workers = new WorkerTable();
  private readonly requests: RequestBook;
  private readonly pool: PoolRecorder;
  private readonly exitCauses = new Map<number, ExitCause>();
  private readonly arbiter: Arbiter;
  private readonly launcher: Launcher;
  private readonly http: HttpFront;
  private readonly sampler: Sampler;
  private readonly now: () => number;
  private shuttingDown = false;
  private masterReady = false;
  private readonly bootWatch: BootWatch;
  private readonly deep: DeepDiver;
  private tick: NodeJS.Timeout | null = null;
  /** Monotonic ms of the event the arbiter is handling (its clock). */
  private eventAt = 0;
  port = 0;

  constructor(private readonly options: SupervisorOptions) {
    const { settings, run } = options;
    this.now = options.now ?? Date.now;
    const random = options.random ?? Math.random;
    // Prefetch where it is safe (prefetch.ts): a worker never waits for the front between two requests.
    this.arbiter = new Arbiter({ ...settings, prefetch: true }, { now: () => this.eventAt, random });
    this.bootWatch = new BootWatch(settings.bootTimeoutSec);
    this.pool = new PoolRecorder(options.record, this.now);
    this.requests = new RequestBook({ record: options.record, now: this.now, act: (event) => this.act(event) });
    this.launcher = new Launcher({ python: run.python, shimDir: options.shimDir, config: shimConfig(run, settings) }, {
      workerHello: (hello, socket, leftover) => this.onWorkerHello(hello, socket, leftover),
      masterReady: (hello) => this.onMasterReady(hello),
      forked: ({ workerId, pid }) => {
        if (this.deep.owns(workerId)) return this.deep.forked(workerId, pid);
        const worker = this.workers.get(workerId);
        if (!worker || worker.pid !== 0) return;
        worker.pid = pid;
        this.bootWatch.forked(workerId, this.now());
        this.pool.worker("forked", worker);
      },
      workerExit: (pid, exitCode, signal) => this.onWorkerExit(pid, exitCode, signal),
      masterExit: (pid, exitCode, signal) => this.onMasterExit(pid, exitCode, signal),
      fatal: (fatal) => this.onFatal(fatal),
      output: (source, message) => options.log(source, message),
    });
    this.http = new HttpFront({
      port: options.port,
      maxBodyBytes: settings.maxBodyMiB * 1024 * 1024,
      headerTimeoutSec: settings.headerTimeoutSec,
      submit: (exchange) => this.requests.submit(exchange),
      rejected: (exchange, status, message) => this.requests.rejectedByFront(exchange, status, message),
      log: (level, message) => options.log("http", { level, message }),
      now: this.now,
    });
    this.deep = new DeepDiver({
      fork: (workerId, deep) => this.launcher.fork(workerId, deep),
      record: options.record,
      log: options.log,
      now: this.now,
      port: () => this.port,
      bootTimeoutMs: settings.bootTimeoutSec * 1000,
      callTimeoutMs: settings.timeoutSec * DEEP_CALL_TIMEOUT_FACTOR * 1000,
    });
    this.sampler = new Sampler(options.sampleIntervalMs ?? 250, () => this.workers.pids(), (samples) => this.onSamples(samples), options.readProcesses);
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
    this.act({ type: "tick" });
    this.tick = setInterval(() => this.onTick(), TICK_MS);
    this.sampler.start();
    return this.port;
  }

  /** Workers that are up and taking requests. */
  get readyWorkers(): number {
    return this.arbiter.readyCount();
  }

  /**
   * Requests the pool's workers hold now. A client can have its whole body (Content-Length)
   * before the worker's end frame brings the request's figures: graphite's 34 MiB /render
   * ended 140 ms after its client had the body, so a report read then missed its biggest call.
   */
  get requestsInWorkers(): number {
    let held = 0;
    for (const worker of this.workers.all()) held += worker.inflight.size;
    return held;
  }

  /** The workers' RSS together now (their latest readings), MiB. */
  get workersRssMiB(): number {
    let kib = 0;
    for (const worker of this.workers.all()) kib += worker.rssKiB;
    return kib / 1024;
  }

  /**
   * Runs one route's calls in a worker of its own under tracemalloc, outside the pool (which
   * keeps serving), and stops it; one dive at a time. Rejects with a DeepDiveError.
   */
  deepDive(spec: DeepDiveSpec, progress?: DeepDiveProgress): Promise<DeepCallResult[]> {
    return this.deep.dive(spec, progress);
  }

  // ---- the arbiter's decisions, carried out ----

  private act(event: ArbiterEvent): void {
    // One clock reading per event: the arbiter decides on it, a trace replays it.
    this.eventAt = performance.now();
    const actions = this.arbiter.handle(event);
    this.options.traceArbiter?.(event, this.eventAt, actions);
    for (const action of actions) this.apply(action);
  }

  private apply(action: ArbiterAction): void {
    switch (action.type) {
      case "dispatch":
        this.requests.dispatch(action.id, this.workers.get(action.worker), this.arbiter.inFlight);
        return;
      case "started":
        this.requests.started(action.id);
        return;
      case "reject":
        this.requests.reject(action.id, action.status, action.message);
        return;
      case "spawn":
        this.spawnWorker(action.worker);
        return;
      case "retire": {
        const worker = this.workers.get(action.worker);
        if (worker) this.pool.worker("recycle", worker, { reason: action.reason, detail: action.detail, rssKiB: action.rssKiB });
        return;
      }
      case "stop":
        this.workers.get(action.worker)?.stop(action.reason);
        return;
      case "kill":
        this.killForTimeout(action.worker, action.expired);
        return;
      case "exited":
        this.onExited(action.worker, action.reason, action.detail, action.wasStarting, action.requeued);
        return;
      case "refuse":
        this.options.log("supervisor", { level: "error", message: action.message });
        this.options.refused?.(action.message);
        return;
      case "warn":
        this.options.log("supervisor", { level: "warning", message: action.message });
        return;
    }
  }

  // ---- requests ----

  finished(worker: Worker, exchange: Exchange, stats: RequestStats): void {
    this.requests.finished(worker, exchange, stats);
  }

  private killForTimeout(workerId: number, expired: number[]): void {
    const worker = this.workers.get(workerId);
    if (!worker) return;
    const timeout = this.options.settings.timeoutSec;
    const what = this.requests.timedOut(worker, expired, timeout);
    worker.exitDetail = `a request ran over ${timeout} s: ${what.join(", ")}`;
    this.options.log(`worker ${worker.id}`, { level: "error", message: `${what.join(", ")} ran over ${timeout} s; killing pid ${worker.pid}` });
    killPid(worker.pid);
  }

  // ---- workers ----

  private spawnWorker(id: number): void {
    const worker = new Worker(id, this, this.now());
    this.workers.add(worker);
    if (!this.launcher.masterAlive && !this.launcher.masterConnected) this.startMaster();
    this.launcher.fork(worker.id); // no master yet: forked when it says it is ready
    this.pool.worker("spawn", worker);
  }

  private startMaster(): void {
    this.bootWatch.masterStarted(this.now());
    this.launcher.startMaster();
  }

  private onMasterReady(hello: HelloMessage): void {
    this.masterReady = true;
    this.pool.app(hello);
    const { rssKiB, vmSizeKiB, ussKiB, pssKiB } = hello.memory;
    this.pool.worker("master-ready", { id: 0, pid: hello.pid }, { rssKiB, vmSizeKiB, ussKiB, pssKiB });
    for (const worker of this.workers.all()) if (worker.pid === 0 && worker.socket === null) this.launcher.fork(worker.id);
  }

  private onWorkerHello(hello: HelloMessage, socket: Socket, leftover: Buffer | null): void {
    if (this.deep.owns(hello.workerId)) return this.deep.hello(hello, socket, leftover);
    const worker = this.workers.get(hello.workerId);
    if (!worker || worker.socket !== null || this.arbiter.phaseOf(worker.id) !== "starting") {
      socket.destroy();
      return;
    }
    worker.attach(socket, hello, leftover);
  }

  ready(worker: Worker, hello: HelloMessage): void {
    this.bootWatch.ready();
    this.pool.app(hello);
    const { memory, stackLimitKiB, threadStackKiB } = hello;
    this.pool.worker("ready", worker, {
      rssKiB: memory.rssKiB, vmSizeKiB: memory.vmSizeKiB, ussKiB: memory.ussKiB, pssKiB: memory.pssKiB, stackLimitKiB, threadStackKiB,
    });
    this.act({ type: "ready", worker: worker.id, rssKiB: memory.rssKiB });
  }

  log(worker: Worker, message: LogMessage): void {
    // Lines of a request (tracebacks, wsgi.errors) say which request they belong to.
    const exchange = message.id === undefined ? undefined : worker.inflight.get(message.id);
    const text = exchange ? `${exchange.head.method} ${exchange.head.path}: ${message.message.trimEnd()}` : message.message;
    this.options.log(`worker ${worker.id}`, { ...message, message: text });
  }

  disconnected(worker: Worker): void {
    // Give the exit status a moment to arrive so the 502 can say how the worker died.
    setTimeout(() => this.finalize(worker, { words: "lost its connection to the supervisor", exitCode: null, signal: null, withMaster: false }), EXIT_STATUS_WAIT_MS).unref();
  }

  private onWorkerExit(pid: number, exitCode: number | null, signal: number | null): void {
    if (this.deep.exited(pid, describeExit(exitCode, signal))) return;
    const worker = this.workers.withPid(pid);
    if (worker) this.finalize(worker, { words: describeExit(exitCode, signal), exitCode, signal, withMaster: false });
  }

  /** The worker's process is gone: the arbiter says why it left; what it held is answered. */
  private finalize(worker: Worker, cause: ExitCause): void {
    if (this.workers.get(worker.id) !== worker || this.exitCauses.has(worker.id)) return;
    this.exitCauses.set(worker.id, cause);
    this.act({ type: "exit", worker: worker.id, clean: cause.exitCode === 0, withMaster: cause.withMaster });
  }

  private onExited(id: number, reason: ExitReason, detail: string, wasStarting: boolean, requeued: readonly number[]): void {
    const worker = this.workers.get(id);
    const cause = this.exitCauses.get(id) ?? { words: "exited", exitCode: null, signal: null, withMaster: false };
    this.exitCauses.delete(id);
    if (!worker) return;
    this.workers.remove(worker);
    this.bootWatch.gone(`worker ${worker.id}`);
    worker.socket?.destroy();
    const who = `worker ${worker.id} (pid ${worker.pid || "?"})`;
    this.requests.workerDied(worker, who, cause.words, requeued);
    const crashed = reason === "crash";
    this.pool.worker(crashed ? "crash" : "exit", worker, {
      reason, detail: crashed ? cause.words : worker.exitDetail ?? (detail || cause.words), exitCode: cause.exitCode, signal: signalName(cause.signal), rssKiB: worker.rssKiB,
    });
    if (crashed && !cause.withMaster && cause.exitCode !== ExitCode.AppLoadError && !wasStarting) this.options.log(who, { level: "error", message: cause.words });
    else if (crashed && wasStarting && !cause.withMaster && cause.exitCode !== ExitCode.AppLoadError) this.options.log(who, { level: "error", message: `${cause.words} while starting` });
  }

  // ---- the master ----

  private onFatal(fatal: FatalMessage): void {
    // The backoff counts when the process is seen gone (its exit, or the master's): its exit
    // status and this frame travel on different sockets, in either order.
    if (this.deep.owns(fatal.workerId)) return this.deep.fatal(fatal);
    const who = fatal.workerId === 0 ? "the master" : `worker ${fatal.workerId}`;
    const what = fatal.stage === "import" ? "the app failed to load" : "could not start";
    const traceback = fatal.traceback ? `\n${fatal.traceback.trimEnd()}` : "";
    this.options.log(who, { level: "error", message: `${what}: ${fatal.message}${traceback}` });
    this.pool.worker("boot-failed", { id: fatal.workerId, pid: fatal.pid }, { detail: fatal.message });
    this.options.bootFailed?.(fatal);
    this.act({ type: "unavailable", message: `the app failed to load: ${fatal.message}` });
  }

  private onMasterExit(pid: number, exitCode: number | null, signal: string | null): void {
    const wasReady = this.masterReady;
    this.masterReady = false;
    this.bootWatch.gone("master");
    this.deep.masterGone(`the Python master (pid ${pid}) ${describeExit(exitCode, signal)}`);
    if (this.shuttingDown) {
      // Forked workers are reported by the master as it reaps them; unforked ones never will be.
      for (const worker of this.workers.all()) {
        if (worker.pid === 0) this.finalize(worker, { words: "never forked: stopped before the master was ready", exitCode: null, signal: null, withMaster: true });
      }
      return;
    }
    const cause = pid ? `the Python master (pid ${pid}) ${describeExit(exitCode, signal)}` : "the Python master did not start";
    if (exitCode !== ExitCode.AppLoadError) {
      this.options.log("master", { level: "error", message: cause });
      // Dead before it could fork anything (bad interpreter, broken environment): as final
      // as an import error for `balloon profile`. Import errors came as a Fatal already.
      if (!wasReady) this.options.bootFailed?.({ stage: "boot", workerId: 0, pid, message: `${cause} before it was ready; see its output above`, traceback: "" });
    }
    this.act({ type: "master-exit" });
    // Its workers die with it (PDEATHSIG) and the ones it never forked will not come: count
    // them all gone now, with the real cause, so the pool asks again.
    for (const worker of this.workers.all()) {
      const words = worker.pid === 0 ? `was never forked: ${cause}` : `died with its master: ${cause}`;
      this.finalize(worker, { words, exitCode: null, signal: "SIGKILL", withMaster: true });
      killPid(worker.pid);
    }
  }

  // ---- ticks: timeouts, the pool, the boot timeout ----

  private onTick(): void {
    this.checkBootTimeout();
    this.act({ type: "tick" });
  }

  /** Names each process still importing past --boot-timeout (boot-watch.ts); requests get 503 meanwhile. */
  private checkBootTimeout(): void {
    if (this.shuttingDown) return;
    const { stalls, unavailable } = this.bootWatch.check(this.now(), {
      preloadMaster: this.options.settings.preload && !this.masterReady && this.launcher.masterAlive ? this.launcher.masterPid : null,
      starting: this.workers.all().filter((w) => w.pid > 0 && this.arbiter.phaseOf(w.id) === "starting").map((w) => ({ id: w.id, pid: w.pid })),
      readyWorkers: this.arbiter.readyCount(),
    });
    for (const words of stalls) {
      // A CLI that stops on it says it itself; otherwise it is logged and the run goes on.
      if (this.options.bootStalled) this.options.bootStalled(words);
      else this.options.log("boot", { level: "error", message: `${words}; requests get 503 until a worker is ready` });
    }
    if (unavailable) this.act({ type: "unavailable", message: unavailable });
  }

  // ---- recording ----

  private onSamples(samples: ProcessSample[]): void {
    const byPid = new Map(samples.map((s) => [s.pid, s]));
    const t = this.now();
    for (const worker of this.workers.all()) {
      const sample = byPid.get(worker.pid);
      // 0: the process is gone or a zombie (its exit is on its way), not a worker that shrank.
      if (!sample || sample.rssKiB === 0) continue;
      worker.rssKiB = sample.rssKiB;
      this.options.record({ type: "sample", t, worker: worker.id, pid: worker.pid, rssKiB: sample.rssKiB, cpu: sample.cpu });
      this.act({ type: "rss", worker: worker.id, rssKiB: sample.rssKiB });
    }
  }

  // ---- shutdown ----

  /** Graceful stop: no new requests, in-flight ones finish (up to graceSec), every child reaped. */
  async stop(reason: string, graceSec = 10): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.act({ type: "shutdown" });
    this.deep.abort("the supervisor is stopping");
    const httpClosed = this.http.close();
    await waitUntil(() => !this.arbiter.anyInflight && this.deep.running === null, graceSec * 1000);
    for (const worker of this.workers.all()) worker.stop("shutdown");
    // An idle worker leaves on its Stop within milliseconds; the master's own stop would
    // SIGTERM it meanwhile and record a clean exit as "killed by signal 15".
    await waitUntil(() => this.workers.size === 0, 2000);
    this.launcher.stopMaster();
    await waitUntil(() => this.workers.size === 0 && this.launcher.ownProcesses.length === 0, 3000);
    for (const worker of this.workers.all()) killPid(worker.pid);
    for (const child of this.launcher.ownProcesses) child.kill("SIGKILL");
    await waitUntil(() => this.workers.size === 0 && this.launcher.ownProcesses.length === 0, 2000);
    for (const worker of this.workers.all()) this.finalize(worker, { words: "killed at shutdown", exitCode: null, signal: "SIGKILL", withMaster: false });
    if (this.tick) clearInterval(this.tick);
    this.sampler.stop();
    this.http.closeAll();
    await httpClosed;
    await this.launcher.close();
    this.options.record({ type: "stop", t: this.now(), reason });
  }

  /** A second Ctrl-C: stop waiting for requests to finish, kill every process now. */
  killAll(): void {
    killPid(this.deep.pid);
    for (const worker of this.workers.all()) killPid(worker.pid);
    for (const child of this.launcher.ownProcesses) child.kill("SIGKILL");
  }
}
