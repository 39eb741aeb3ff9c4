// What the supervisor records of its requests and pool. RequestBook holds the requests the
// arbiter knows about, from arrival until answered, and every way one ends: served, rejected
// (queue full, shutdown, no worker), timed out, or held by a worker that died; each end answers
// the client and records one request line. The supervisor carries out the arbiter's decisions
// through it; it decides nothing itself.
import type { ArbiterEvent } from "./arbiter";
import { MALFORMED_ROUTE, NO_WORKER, malformedRequest, requestLine, type Exchange } from "./exchange";
import type { RecordLine, RequestOutcome, WorkerEventName, WorkerLine } from "../record/model";
import type { HelloMessage, RequestStats } from "./shim-protocol";
import type { Worker } from "./worker";

export interface RequestBookDeps {
  record(line: RecordLine): void;
  now(): number;
  /** Hands the arbiter an event (arrive, abandon, done). */
  act(event: ArbiterEvent): void;
}

export class RequestBook {
  /** By request id, until answered. */
  private readonly exchanges = new Map<number, Exchange>();

  constructor(private readonly deps: RequestBookDeps) {}

  /** A request whole from the HTTP front: the arbiter queues or dispatches it. */
  submit(exchange: Exchange): void {
    const id = exchange.head.id;
    this.exchanges.set(id, exchange);
    exchange.sink.onGone(() => {
      if (exchange.startedAt === 0 && this.exchanges.delete(id)) this.deps.act({ type: "abandon", id });
    });
    this.deps.act({ type: "arrive", id, bodyBytes: exchange.body?.length ?? 0 });
  }

  dispatch(id: number, worker: Worker | undefined, inFlight: number): void {
    const exchange = this.exchanges.get(id);
    if (!exchange || !worker) return;
    exchange.startedAt = this.deps.now();
    exchange.inFlight = inFlight;
    worker.send(exchange);
  }

  /** Handed to a busy worker ahead, it now runs: its wait for a worker ends here. */
  started(id: number): void {
    const exchange = this.exchanges.get(id);
    if (exchange) exchange.startedAt = this.deps.now();
  }

  /** The arbiter turned it away (503: queue full, shutting down, no worker can start). */
  reject(id: number, status: number, message: string): void {
    const exchange = this.exchanges.get(id);
    if (!exchange) return;
    this.exchanges.delete(id);
    exchange.sink.fail(status, message);
    exchange.status = status;
    this.deps.record(requestLine(NO_WORKER, exchange, "rejected", {}, this.deps.now(), message));
  }

  /** The HTTP front answered it itself (400, 408, 413, 431); a head too broken to parse has no exchange. */
  rejectedByFront(exchange: Exchange | null, status: number, message: string): void {
    const now = this.deps.now();
    this.deps.record(exchange
      ? requestLine(NO_WORKER, exchange, "rejected", {}, now, message)
      : requestLine(NO_WORKER, malformedRequest(status, now), "rejected", { route: MALFORMED_ROUTE }, now, message));
  }

  finished(worker: Worker, exchange: Exchange, stats: RequestStats): void {
    this.exchanges.delete(exchange.head.id);
    const { sink } = exchange;
    let outcome: RequestOutcome = sink.invalidResponse !== null ? "invalid-response" : sink.clientGone ? "client-gone" : stats.error ? "app-error" : "ok";
    if (outcome === "invalid-response") exchange.status = 502;
    // The app raised after its headers went out: the client got a cut stream.
    if (outcome === "ok" && stats.error) outcome = "app-error";
    // No log of stats.error here: the shim already sent the traceback as a Log frame.
    const error = sink.invalidResponse ?? stats.error?.type;
    this.deps.record(requestLine(worker, exchange, outcome, stats, this.deps.now(), error));
    this.deps.act({ type: "done", worker: worker.id, id: exchange.head.id, rssAfterKiB: stats.rssAfterKiB });
  }

  /** Answers the requests that ran over the timeout with 504; returns "METHOD PATH" of each. */
  timedOut(worker: Worker, expired: readonly number[], timeoutSec: number): string[] {
    const what: string[] = [];
    for (const id of expired) {
      const exchange = worker.forget(id);
      this.exchanges.delete(id);
      if (!exchange) continue;
      what.push(`${exchange.head.method} ${exchange.head.path}`);
      exchange.sink.fail(504, `Gateway Timeout: the handler ran over ${timeoutSec} s (--timeout); worker ${worker.id} (pid ${worker.pid}) was killed and replaced`);
      exchange.status = 504;
      this.deps.record(requestLine(worker, exchange, "timeout", {}, this.deps.now(), `ran over ${timeoutSec} s`));
    }
    return what;
  }

  /**
   * The worker is gone: what it held gets 502 (or a cut stream once its headers went out),
   * but for `requeued`, handed to it ahead and never started, which the arbiter queues again.
   */
  workerDied(worker: Worker, who: string, words: string, requeued: readonly number[] = []): void {
    for (const exchange of worker.inflight.values()) {
      if (requeued.includes(exchange.head.id)) {
        exchange.startedAt = 0; // waiting again: a client that leaves now abandons it
        continue;
      }
      this.exchanges.delete(exchange.head.id);
      if (exchange.headersSent) exchange.sink.abort();
      else exchange.sink.fail(502, `Bad Gateway: ${who} ${words}`);
      exchange.status = 502;
      this.deps.record(requestLine(worker, exchange, "worker-died", {}, this.deps.now(), words));
    }
    worker.inflight.clear();
  }
}

/** Worker events and the app's identity (once), as record lines. */
export class PoolRecorder {
  private appRecorded = false;

  constructor(private readonly record: (line: RecordLine) => void, private readonly now: () => number) {}

  worker(event: WorkerEventName, worker: { id: number; pid: number }, more: Partial<WorkerLine> = {}): void {
    this.record({ type: "worker", t: this.now(), event, worker: worker.id, pid: worker.pid, ...more });
  }

  app(hello: HelloMessage): void {
    if (this.appRecorded || !hello.app) return;
    this.appRecorded = true;
    this.record({ type: "app", t: this.now(), app: hello.app });
  }
}
