// The deep-dive worker, the supervisor's side: one worker forked outside the pool (the arbiter
// never sees it, so the pool keeps its workers for the traffic and the HTTP front never sends
// it anything), given one route's calls one at a time, and stopped when they are done. Each
// call's figures come back as a DeepCall frame after its response (shim deep_worker.py).
import type { Socket } from "node:net";
import { DeepDiveError, type DeepCallResult } from "../analysis/deep";
import type { RecordLine } from "../record/model";
import type { Exchange, ResponseSink } from "./exchange";
import type { DeepCallMessage, DeepWorkerConfig, FatalMessage, HelloMessage, LogMessage, RequestHead, RequestStats } from "./shim-protocol";
import { Worker, type WorkerEvents } from "./worker";

export interface DeepDiveSpec {
  method: string;
  route: string;
  paths: string[];
  calls: number;
  frames: number;
}

/** Call `done` of `total` has ended with `call`. */
export type DeepDiveProgress = (done: number, total: number, call: DeepCallResult) => void;

export interface DeepDiveHost {
  /** Asks the master to fork it; false when no master is connected. */
  fork(workerId: number, deep: DeepWorkerConfig): boolean;
  record(line: RecordLine): void;
  log(source: string, message: LogMessage): void;
  now(): number;
  /** The HTTP port, for the calls' Host header. */
  port(): number;
  /** How long the worker may take to load the app, and one call to run; 0: no limit. */
  bootTimeoutMs: number;
  callTimeoutMs: number;
}

/**
 * --timeout × this for one call in the deep worker: tracemalloc makes calls slower, the more
 * allocations they make (measured: a 96 MiB balloon 6×, a Django template render 40×, building
 * 340k strings 70×). A call that hangs still ends the dive.
 */
export const DEEP_CALL_TIMEOUT_FACTOR = 100;

/** How long a Fatal frame may trail the worker's exit and still be the reason given. */
const FATAL_AFTER_EXIT_MS = 250;

/** After Stop, how long the deep worker has to exit before SIGKILL (an idle worker leaves in milliseconds). */
const STOP_WAIT_MS = 2000;

/** The responses of the dive's calls go nowhere; only their size is counted. */
class DiscardSink implements ResponseSink {
  readonly clientGone = false;
  readonly invalidResponse = null;
  bytesSent = 0;
  start(): void {}
  write(chunk: Buffer): boolean {
    this.bytesSent += chunk.length;
    return true;
  }
  whenWritable(callback: () => void): void {
    callback();
  }
  end(): void {}
  full(_status: string, _headers: Array<[string, string]>, body: Buffer): void {
    this.bytesSent += body.length;
  }
  fail(): void {}
  abort(): void {}
  onGone(): void {}
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/** One dive's worker and the step it waits for (ready, then each call). */
class DeepRun {
  pid = 0;
  exited = false;
  failure: Error | null = null;
  readonly worker: Worker;
  current: { exchange: Exchange; path: string; stats: RequestStats | null; waiter: Waiter<DeepCallResult> } | null = null;
  ready: Waiter<void> | null = null;
  private exitWaiters: Array<() => void> = [];

  constructor(id: number, events: WorkerEvents, now: number, readonly spec: DeepDiveSpec) {
    this.worker = new Worker(id, events, now);
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.ready?.reject(error);
    this.current?.waiter.reject(error);
    this.ready = null;
    this.current = null;
  }

  gone(): void {
    this.exited = true;
    for (const wake of this.exitWaiters.splice(0)) wake();
  }

  whenGone(ms: number): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export class DeepDiver implements WorkerEvents {
  private run: DeepRun | null = null;
  /** Deep workers take ids below 0: never a pool worker's. */
  private nextId = -1;
  private nextRequestId = 1;

  constructor(private readonly host: DeepDiveHost) {}

  /** The running dive's route, or null. */
  get running(): string | null {
    return this.run ? `${this.run.spec.method} ${this.run.spec.route}` : null;
  }

  /**
   * Forks the deep worker, makes the calls, stops it; resolves with each call's figures once it
   * is gone. `progress` hears of each call as it ends (a call under tracemalloc can take minutes).
   */
  async dive(spec: DeepDiveSpec, progress?: DeepDiveProgress): Promise<DeepCallResult[]> {
    if (this.run) throw new DeepDiveError("unavailable", `a deep dive on ${this.running} is running; one at a time`);
    const run = new DeepRun(this.nextId--, this, this.host.now(), spec);
    this.run = run;
    const { method, route, paths, calls, frames } = spec;
    this.host.record({ type: "deep", t: this.host.now(), event: "start", worker: run.worker.id, method, route, paths, calls, frames });
    try {
      if (!this.host.fork(run.worker.id, { frames })) throw new DeepDiveError("unavailable", "the Python master is not running (the app is starting or restarting): try again once workers are ready");
      await this.step(run, (waiter) => (run.ready = waiter), this.host.bootTimeoutMs, "to load the app");
      const results: DeepCallResult[] = [];
      for (let i = 0; i < calls; i++) {
        results.push(await this.call(run, paths[i % paths.length]));
        progress?.(i + 1, calls, results[i]);
      }
      return results;
    } finally {
      await this.end(run);
      this.run = null;
    }
  }

  /** The supervisor is stopping: the dive fails and its worker is stopped. */
  abort(reason: string): void {
    this.run?.fail(new DeepDiveError("unavailable", reason));
  }

  /** Pid of the deep worker while one runs (to kill with the rest), else 0. */
  get pid(): number {
    return this.run && !this.run.exited ? this.run.pid : 0;
  }

  // ---- what the supervisor routes here ----

  owns(workerId: number): boolean {
    return workerId < 0;
  }

  forked(workerId: number, pid: number): void {
    if (this.run && this.run.worker.id === workerId) this.run.pid = pid;
  }

  hello(hello: HelloMessage, socket: Socket, leftover: Buffer | null): void {
    const run = this.run;
    if (!run || run.worker.id !== hello.workerId || run.worker.socket !== null || run.failure) {
      socket.destroy();
      return;
    }
    run.worker.attach(socket, hello, leftover);
  }

  /** A child the master reaped: true when it was the deep worker. */
  exited(pid: number, words: string): boolean {
    const run = this.run;
    if (!run || pid === 0 || run.pid !== pid) return false;
    run.gone();
    // Its Fatal frame (why it could not start) comes on its own socket, and may come after the
    // master's word of its exit (CI saw "exited: the worker failed to boot" win): let it.
    const failure = new DeepDiveError("worker-failed", `the deep worker (pid ${pid}) ${words}`);
    setTimeout(() => run.fail(failure), FATAL_AFTER_EXIT_MS);
    return true;
  }

  fatal(fatal: FatalMessage): void {
    const run = this.run;
    if (!run || run.worker.id !== fatal.workerId) return;
    const what = fatal.stage === "import" ? "the app failed to load in the deep worker" : "the deep worker could not start";
    run.fail(new DeepDiveError("worker-failed", `${what}: ${fatal.message}`));
  }

  /** The master died: the deep worker dies with it (PDEATHSIG) and nobody will report its exit. */
  masterGone(words: string): void {
    if (!this.run) return;
    this.run.fail(new DeepDiveError("worker-failed", `the deep worker died with its master: ${words}`));
    this.run.gone();
  }

  // ---- WorkerEvents of the deep worker ----

  ready(worker: Worker, hello: HelloMessage): void {
    const run = this.run;
    if (!run || run.worker !== worker) return;
    this.host.record({ type: "deep", t: this.host.now(), event: "ready", worker: worker.id, pid: worker.pid, rssKiB: hello.memory.rssKiB });
    run.ready?.resolve();
    run.ready = null;
  }

  finished(worker: Worker, exchange: Exchange, stats: RequestStats): void {
    const current = this.run?.current;
    if (current && this.run?.worker === worker && current.exchange === exchange) current.stats = stats;
  }

  deepCall(worker: Worker, message: DeepCallMessage): void {
    const run = this.run;
    const current = run?.current;
    if (!run || !current || current.exchange.head.id !== message.id) return;
    run.current = null;
    const durationMs = current.stats?.durationMs ?? 0;
    const { method } = run.spec;
    this.host.record({
      type: "deep", t: this.host.now(), event: "call", worker: worker.id, pid: worker.pid, method, path: current.path,
      status: current.exchange.status, durationMs, capturedPeakKiB: Math.round(message.peak.capturedBytes / 1024),
    });
    current.waiter.resolve({ path: current.path, status: current.exchange.status, durationMs, figures: message });
  }

  log(worker: Worker, message: LogMessage): void {
    const exchange = message.id === undefined ? undefined : worker.inflight.get(message.id);
    const text = exchange ? `${exchange.head.method} ${exchange.head.path}: ${message.message.trimEnd()}` : message.message;
    this.host.log("deep worker", { ...message, message: text });
  }

  disconnected(worker: Worker): void {
    const run = this.run;
    if (run && run.worker === worker) run.fail(new DeepDiveError("worker-failed", `the deep worker (pid ${worker.pid}) lost its connection to the supervisor`));
  }

  // ---- steps ----

  private step<T>(run: DeepRun, arm: (waiter: Waiter<T>) => void, timeoutMs: number, what: string): Promise<T> {
    if (run.failure) return Promise.reject(run.failure);
    return new Promise<T>((resolve, reject) => {
      const timer = timeoutMs > 0
        ? setTimeout(() => run.fail(new DeepDiveError("worker-failed", `the deep worker took over ${timeoutMs / 1000} s ${what}`)), timeoutMs)
        : null;
      const done = (): void => {
        if (timer) clearTimeout(timer);
      };
      arm({ resolve: (value) => (done(), resolve(value)), reject: (error) => (done(), reject(error)) });
    });
  }

  private call(run: DeepRun, target: string): Promise<DeepCallResult> {
    const query = target.indexOf("?");
    const path = query < 0 ? target : target.slice(0, query);
    const head: RequestHead = {
      id: this.nextRequestId++, method: run.spec.method, path, query: query < 0 ? "" : target.slice(query + 1), protocol: "HTTP/1.1",
      headers: [["Host", `127.0.0.1:${this.host.port()}`], ["User-Agent", "balloon-deep-dive"]], remoteAddr: "127.0.0.1", remotePort: 0,
    };
    const now = this.host.now();
    const exchange: Exchange = { head, body: null, sink: new DiscardSink(), arrivedAt: now, startedAt: now, inFlight: 1, headersSent: false, status: 0 };
    return this.step<DeepCallResult>(run, (waiter) => {
      run.current = { exchange, path: target, stats: null, waiter };
      run.worker.send(exchange);
    }, this.host.callTimeoutMs, `on ${run.spec.method} ${target}`);
  }

  /** Stop, then SIGKILL if it lingers; resolves once the master reported it gone (or it never existed). */
  private async end(run: DeepRun): Promise<void> {
    const failure = run.failure;
    run.fail(new DeepDiveError("unavailable", "the deep dive ended")); // nothing may wait on it any more
    if (run.pid > 0 && !run.exited) {
      run.worker.stop("shutdown");
      await run.whenGone(STOP_WAIT_MS);
      if (!run.exited) {
        killQuietly(run.pid);
        await run.whenGone(STOP_WAIT_MS);
      }
    }
    run.worker.socket?.destroy();
    const detail = failure ? failure.message : "stopped";
    this.host.record({ type: "deep", t: this.host.now(), event: "exit", worker: run.worker.id, pid: run.pid, detail });
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}
