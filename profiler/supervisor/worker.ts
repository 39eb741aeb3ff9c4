// One worker process's lifecycle as an explicit state machine, and its side of the socket.
//
//   starting ──hello──▶ idle ⇄ busy ──retire──▶ draining ──(in-flight done)──▶ stopping ──▶ exited
//       └───────────────── process gone (any state) ─────────────────────────────────────▶ exited
//
// The supervisor decides policy (when to retire, whom to dispatch to); this file keeps the
// facts straight: which requests run here, what the worker answered, how it ended.
import type { Socket } from "node:net";
import { Frame, type ExitReason, type FullResponseHead, type HelloMessage, type LogMessage, type RequestStats, type ResponseEnd, type ResponseStart } from "./shim-protocol";
import { FrameDecoder, encodeFrame, encodeHeadFrame, splitBody, splitHead } from "./wire";
import { statusCode, type Exchange } from "./exchange";

export type WorkerState = "starting" | "idle" | "busy" | "draining" | "stopping" | "exited";

const transitions: Record<WorkerState, readonly WorkerState[]> = {
  starting: ["idle", "stopping", "exited"],
  idle: ["busy", "draining", "stopping", "exited"],
  busy: ["idle", "busy", "draining", "stopping", "exited"],
  draining: ["stopping", "exited"],
  stopping: ["exited"],
  exited: [],
};

export interface WorkerEvents {
  ready(worker: Worker, hello: HelloMessage): void;
  /** A request finished in the worker (answered, or the app raised: stats.error). */
  finished(worker: Worker, exchange: Exchange, stats: RequestStats): void;
  log(worker: Worker, message: LogMessage): void;
  /** The socket closed: the process is gone or going. */
  disconnected(worker: Worker): void;
}

export class Worker {
  state: WorkerState = "starting";
  pid = 0;
  socket: Socket | null = null;
  readonly inflight = new Map<number, Exchange>();
  /** Requests taken so far. */
  requests = 0;
  /** Latest RSS seen (request stats or sampler), KiB. */
  rssKiB = 0;
  /** When it last had nothing to do (ms, monotonic): the longest idle goes first, so work spreads evenly. */
  idleSince = 0;
  retireReason: ExitReason | null = null;
  retireDetail = "";
  /** Set when the supervisor killed it on purpose (timeout), so the exit is not a crash. */
  killedFor: ExitReason | null = null;
  readonly spawnedAt: number;
  private readonly decoder = new FrameDecoder();

  constructor(
    readonly id: number,
    /** This worker retires after this many requests (max-requests + jitter; Infinity when off). */
    readonly requestLimit: number,
    private readonly events: WorkerEvents,
    now: number,
  ) {
    this.spawnedAt = now;
  }

  get live(): boolean {
    return this.state !== "exited";
  }

  /** Counts toward the pool: not on its way out. */
  get serving(): boolean {
    return this.state === "starting" || this.state === "idle" || this.state === "busy";
  }

  setState(next: WorkerState): void {
    if (next === this.state) return;
    if (!transitions[this.state].includes(next)) {
      throw new Error(`worker ${this.id}: bad transition ${this.state} → ${next}`);
    }
    this.state = next;
  }

  /** Binds the worker's socket after its Hello; frames after the Hello are handed over too. */
  attach(socket: Socket, hello: HelloMessage, leftover: Buffer | null): void {
    this.socket = socket;
    this.pid = hello.pid;
    this.rssKiB = hello.memory.rssKiB;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("close", () => this.events.disconnected(this));
    socket.on("error", () => undefined); // "close" follows and carries the news
    this.setState("idle");
    this.idleSince = performance.now();
    this.events.ready(this, hello);
    if (leftover && leftover.length > 0) this.onData(leftover);
  }

  send(exchange: Exchange): void {
    this.inflight.set(exchange.head.id, exchange);
    this.requests += 1;
    exchange.state = "running";
    this.socket?.write(encodeHeadFrame(Frame.Request, exchange.head, exchange.body));
    this.setState("busy");
  }

  /** Asks the worker to finish what it runs and exit. */
  stop(reason: ExitReason): void {
    if (this.state === "stopping" || this.state === "exited") return;
    this.setState("stopping");
    this.socket?.write(encodeFrame(Frame.Stop, JSON.stringify({ reason })));
  }

  private onData(chunk: Buffer): void {
    // A garbled stream (bad length, bad JSON) must not take the supervisor down: the worker
    // is cut off and handled like one that died.
    try {
      for (const frame of this.decoder.push(chunk)) this.onFrame(frame.type, frame.payload);
    } catch (error) {
      this.events.log(this, { level: "error", message: `worker ${this.id} sent a malformed frame (${(error as Error).message}); closing it` });
      this.socket?.destroy();
    }
  }

  private onFrame(type: number, payload: Buffer): void {
    switch (type) {
      case Frame.FullResponse: {
        const { head, body } = splitHead<FullResponseHead>(payload);
        const exchange = this.inflight.get(head.id);
        if (!exchange) return;
        exchange.status = statusCode(head.status);
        exchange.headersSent = true;
        exchange.sink.full(head.status, head.headers, body);
        this.complete(exchange, head.stats);
        return;
      }
      case Frame.ResponseStart: {
        const head = JSON.parse(payload.toString("utf8")) as ResponseStart;
        const exchange = this.inflight.get(head.id);
        if (!exchange) return;
        exchange.status = statusCode(head.status);
        exchange.headersSent = true;
        exchange.sink.start(head.status, head.headers);
        return;
      }
      case Frame.Body: {
        const { id, chunk } = splitBody(payload);
        this.inflight.get(id)?.sink.write(chunk);
        return;
      }
      case Frame.ResponseEnd: {
        const end = JSON.parse(payload.toString("utf8")) as ResponseEnd;
        const exchange = this.inflight.get(end.id);
        if (!exchange) return;
        // An error after the headers went out cannot become a 500: cut the connection.
        if (end.stats.error && exchange.headersSent) exchange.sink.abort();
        else exchange.sink.end();
        this.complete(exchange, end.stats);
        return;
      }
      case Frame.Log:
        this.events.log(this, JSON.parse(payload.toString("utf8")) as LogMessage);
        return;
      default:
        this.events.log(this, { level: "warning", message: `worker ${this.id}: unexpected frame 0x${type.toString(16)}` });
    }
  }

  private complete(exchange: Exchange, stats: RequestStats): void {
    this.inflight.delete(exchange.head.id);
    exchange.state = "done";
    if (typeof stats.rssAfterKiB === "number") this.rssKiB = stats.rssAfterKiB;
    if (this.state === "busy" && this.inflight.size === 0) {
      this.setState("idle");
      this.idleSince = performance.now();
    }
    this.events.finished(this, exchange, stats);
  }
}
