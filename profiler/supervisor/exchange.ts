// One HTTP request on its way through the supervisor: what the worker gets and how its
// answer goes back. http.ts makes them; the supervisor dispatches them to workers.
import type { RequestLine, RequestOutcome } from "../record/model";
import type { RequestStats, RequestHead } from "./shim-protocol";

export type ExchangeState = "queued" | "running" | "done";

/** How the answer reaches the client; http.ts implements it over node:http. */
export interface ResponseSink {
  /** True once the client went away: the answer is dropped, the worker still finishes. */
  readonly clientGone: boolean;
  start(status: string, headers: Array<[string, string]>): void;
  write(chunk: Buffer): void;
  end(): void;
  /** Whole response at once (the common case). */
  full(status: string, headers: Array<[string, string]>, body: Buffer): void;
  /** A response made by the supervisor itself (400, 502, 503, 504…). */
  fail(statusCode: number, message: string): void;
  /** The worker died after the headers went out: cut the connection. */
  abort(): void;
}

export interface Exchange {
  head: RequestHead;
  body: Buffer | null;
  sink: ResponseSink;
  state: ExchangeState;
  /** Unix ms when a worker took it. */
  startedAt: number;
  /** Monotonic ms deadline (0: none). */
  deadline: number;
  headersSent: boolean;
  status: number;
}

/** The numeric status code of a WSGI status line ("404 Not Found" → 404). */
export function statusCode(status: string): number {
  const code = Number.parseInt(status, 10);
  return Number.isInteger(code) && code >= 100 && code <= 999 ? code : 500;
}

/** The recording line of a finished exchange; `stats` is empty when the worker never answered. */
export function requestLine(
  worker: { id: number; pid: number; requests: number },
  exchange: Exchange,
  outcome: RequestOutcome,
  stats: Partial<RequestStats>,
  now: number,
  error?: string,
): RequestLine {
  const { head } = exchange;
  return {
    type: "request",
    t: exchange.startedAt,
    worker: worker.id,
    pid: worker.pid,
    seq: worker.requests,
    method: head.method,
    path: head.path,
    route: stats.route ?? head.path,
    handler: stats.handler ?? null,
    status: exchange.status,
    outcome,
    durationMs: stats.durationMs ?? Math.round(now - exchange.startedAt),
    rssBeforeKiB: stats.rssBeforeKiB,
    peakKiB: stats.peakKiB,
    rssAfterKiB: stats.rssAfterKiB,
    vmSizeKiB: stats.vmSizeKiB,
    ussKiB: stats.ussKiB,
    pssKiB: stats.pssKiB,
    concurrent: stats.concurrent ?? 1,
    error,
  };
}
