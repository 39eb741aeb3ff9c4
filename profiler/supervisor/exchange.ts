// One HTTP request on its way through the supervisor: what the worker gets and how its
// answer goes back. http.ts makes them; the supervisor dispatches them to workers.
import type { RequestLine, RequestOutcome } from "../record/model";
import type { RequestStats, RequestHead } from "./shim-protocol";

/** How the answer reaches the client; http.ts implements it over node:http. */
export interface ResponseSink {
  /** True when the client went away before it had the whole response. */
  readonly clientGone: boolean;
  /** Why the supervisor answered 502 in the app's place (an invalid status or header), else null. */
  readonly invalidResponse: string | null;
  /** Response body bytes handed to the client so far. */
  readonly bytesSent: number;
  start(status: string, headers: Array<[string, string]>): void;
  /** False when the client's socket is full: call whenWritable before writing more. */
  write(chunk: Buffer): boolean;
  /** Calls back once the client can take more, or is gone (either way, stop waiting). */
  whenWritable(callback: () => void): void;
  end(): void;
  /** Whole response at once (the common case). */
  full(status: string, headers: Array<[string, string]>, body: Buffer): void;
  /** A response made by the supervisor itself (400, 502, 503, 504…). */
  fail(statusCode: number, message: string): void;
  /** The worker died after the headers went out: cut the connection. */
  abort(): void;
  /** Calls back if the client goes away before its response is complete. */
  onGone(callback: () => void): void;
}

export interface Exchange {
  head: RequestHead;
  body: Buffer | null;
  sink: ResponseSink;
  /** Unix ms when the request (with its body) had arrived. */
  arrivedAt: number;
  /** Unix ms when a worker took it (0 while waiting). */
  startedAt: number;
  /** Requests in the workers once it was dispatched, itself included (0 while waiting). */
  inFlight: number;
  headersSent: boolean;
  status: number;
}

/** The numeric status code of a WSGI status line ("404 Not Found" → 404). */
export function statusCode(status: string): number {
  const code = Number.parseInt(status, 10);
  return Number.isInteger(code) && code >= 100 && code <= 999 ? code : 500;
}

/** Who served the request: the worker, or nobody (the supervisor answered it itself). */
export interface Server {
  id: number;
  pid: number;
  requests: number;
}

/** The supervisor answered without a worker (503, 413, 400, 408): recorded under worker 0. */
export const NO_WORKER: Server = { id: 0, pid: 0, requests: 0 };

/** What a recording line needs of an exchange. */
export type RecordedExchange = Pick<Exchange, "head" | "body" | "arrivedAt" | "startedAt" | "status"> & Partial<Pick<Exchange, "inFlight">> & { sink: Pick<ResponseSink, "bytesSent"> };

/** The recording line of a finished exchange; `stats` is empty when the worker never answered. */
export function requestLine(
  server: Server,
  exchange: RecordedExchange,
  outcome: RequestOutcome,
  stats: Partial<RequestStats>,
  now: number,
  error?: string,
): RequestLine {
  const { head, startedAt, arrivedAt } = exchange;
  const began = startedAt || now;
  return {
    type: "request",
    t: began,
    arrivedAt,
    waitMs: Math.max(0, began - arrivedAt),
    inFlight: exchange.inFlight || undefined,
    worker: server.id,
    pid: server.pid,
    seq: server.requests,
    method: head.method,
    path: head.path,
    query: head.query,
    route: stats.route ?? head.path,
    handler: stats.handler ?? null,
    status: exchange.status,
    outcome,
    durationMs: stats.durationMs ?? Math.max(0, Math.round(now - began)),
    requestBytes: exchange.body?.length ?? 0,
    responseBytes: exchange.sink.bytesSent,
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

/** Recorded as the route of requests too malformed to have a method or path. */
export const MALFORMED_ROUTE = "<malformed>";

export function malformedRequest(status: number, now: number): RecordedExchange {
  return {
    head: { id: 0, method: "", path: "", query: "", protocol: "", headers: [], remoteAddr: "", remotePort: 0 },
    body: null, sink: { bytesSent: 0 }, arrivedAt: now, startedAt: now, status,
  };
}
