// One HTTP request on its way through the supervisor: what the worker gets and how its
// answer goes back. http.ts makes them; the supervisor dispatches them to workers.
import type { RequestStats, RequestHead } from "./protocol";

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

export type FinishedStats = RequestStats;
