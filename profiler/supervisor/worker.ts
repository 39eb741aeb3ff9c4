// One worker process's side of the socket: which requests run there, what it answers, and
// how its answers reach the clients. The arbiter (arbiter.ts) decides policy and keeps the
// worker's lifecycle phase; this file keeps the I/O straight.
//
// Response bodies stream through: each Body frame is written to the client as it comes,
// and when the client's socket is full the worker's socket is paused, so the worker blocks
// in its write instead of the supervisor buffering the body (backpressure end to end).
import type { Socket } from "node:net";
import { Frame, type DeepCallMessage, type ExitReason, type FullResponseHead, type HelloMessage, type LogMessage, type RequestStats, type ResponseEnd, type ResponseStart } from "./shim-protocol";
import { FrameDecoder, encodeFrame, splitHead, writeHeadFrame, type DecodedFrame } from "./wire";
import { statusCode, type Exchange } from "./exchange";

export interface WorkerEvents {
  ready(worker: Worker, hello: HelloMessage): void;
  /** A request finished in the worker (answered, or the app raised: stats.error). */
  finished(worker: Worker, exchange: Exchange, stats: RequestStats): void;
  log(worker: Worker, message: LogMessage): void;
  /** The socket closed: the process is gone or going. */
  disconnected(worker: Worker): void;
  /** The deep-dive worker's figures of a call, after its response (deep-dive.ts). */
  deepCall?(worker: Worker, message: DeepCallMessage): void;
}

export class Worker {
  pid = 0;
  socket: Socket | null = null;
  readonly inflight = new Map<number, Exchange>();
  /** Requests handed to it so far (the recording's per-worker sequence number). */
  requests = 0;
  /** Latest RSS seen (hello, request stats or sampler), KiB. */
  rssKiB = 0;
  /** Words for its exit that only the supervisor knows (which requests ran over the timeout). */
  exitDetail: string | null = null;
  readonly spawnedAt: number;
  /** Body frames stream through in pieces (see FrameDecoder). */
  private readonly decoder = new FrameDecoder(Frame.Body);
  /** Requests whose client is not keeping up: the socket stays paused until all drain. */
  private readonly stalled = new Set<number>();

  constructor(readonly id: number, private readonly events: WorkerEvents, now: number) {
    this.spawnedAt = now;
  }

  /** Binds the worker's socket after its Hello; frames after the Hello are handed over too. */
  attach(socket: Socket, hello: HelloMessage, leftover: Buffer | null): void {
    this.socket = socket;
    this.pid = hello.pid;
    this.rssKiB = hello.memory.rssKiB;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("close", () => this.events.disconnected(this));
    socket.on("error", () => undefined); // "close" follows and carries the news
    this.events.ready(this, hello);
    if (leftover && leftover.length > 0) this.onData(leftover);
  }

  send(exchange: Exchange): void {
    this.inflight.set(exchange.head.id, exchange);
    this.requests += 1;
    if (this.socket) writeHeadFrame(this.socket, Frame.Request, exchange.head, exchange.body);
  }

  /** Asks the worker to finish what it runs and exit. */
  stop(reason: ExitReason): void {
    this.socket?.write(encodeFrame(Frame.Stop, JSON.stringify({ reason })));
  }

  /** Takes a request out (timed out, or its worker died): nothing it sends later counts. */
  forget(id: number): Exchange | undefined {
    const exchange = this.inflight.get(id);
    this.inflight.delete(id);
    this.unstall(id);
    return exchange;
  }

  private onData(chunk: Buffer): void {
    // A garbled stream (bad length, bad JSON) must not take the supervisor down: the worker
    // is cut off and handled like one that died.
    try {
      for (const frame of this.decoder.push(chunk)) this.onFrame(frame);
    } catch (error) {
      this.events.log(this, { level: "error", message: `worker ${this.id} sent a malformed frame (${(error as Error).message}); closing it` });
      this.socket?.destroy();
    }
  }

  private onFrame({ type, payload, id }: DecodedFrame): void {
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
        const exchange = this.inflight.get(id as number);
        if (exchange && payload.length > 0 && !exchange.sink.write(payload)) this.stall(id as number, exchange);
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
      case Frame.DeepCall:
        if (this.events.deepCall) {
          this.events.deepCall(this, JSON.parse(payload.toString("utf8")) as DeepCallMessage);
          return;
        }
        break;
      default:
        break;
    }
    this.events.log(this, { level: "warning", message: `worker ${this.id}: unexpected frame 0x${type.toString(16)}` });
  }

  /** The client of `id` is not reading fast enough: stop reading the worker until it is. */
  private stall(id: number, exchange: Exchange): void {
    if (this.stalled.has(id)) return;
    this.stalled.add(id);
    this.socket?.pause();
    exchange.sink.whenWritable(() => this.unstall(id));
  }

  private unstall(id: number): void {
    if (!this.stalled.delete(id)) return;
    if (this.stalled.size === 0) this.socket?.resume();
  }

  private complete(exchange: Exchange, stats: RequestStats): void {
    this.inflight.delete(exchange.head.id);
    this.unstall(exchange.head.id);
    if (typeof stats.rssAfterKiB === "number") this.rssKiB = stats.rssAfterKiB;
    this.events.finished(this, exchange, stats);
  }
}
