// One response on its way to an HTTP client (ResponseSink over node:http's ServerResponse):
// the app's status and headers checked and cleaned, the body streamed with backpressure,
// and whether the client really had its whole response before it went away.
import { STATUS_CODES, type ServerResponse } from "node:http";
import { statusCode, type ResponseSink } from "./exchange";

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, and this one is ours: the
 * app's would sit beside our own framing (its "Transfer-Encoding: chunked" next to our
 * Content-Length). PEP 3333 forbids apps to send them; gunicorn drops them too, honouring
 * "Connection: close".
 */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

/** "200 OK" → [200, "OK"]; a reason that is missing falls back to the standard one. */
function splitStatus(status: string): [number, string] {
  const code = statusCode(status);
  const space = status.indexOf(" ");
  // An unreadable status became 500: its words are not that status's reason.
  const reason = space >= 0 && Number.parseInt(status, 10) === code ? status.slice(space + 1) : "";
  return [code, reason || STATUS_CODES[code] || ""];
}

/** Statuses whose responses never carry a body: complete once their head is out. */
const BODYLESS = (code: number): boolean => code === 204 || code === 304 || (code >= 100 && code < 200);

export class HttpSink implements ResponseSink {
  private gone = false;
  /** The client has, or is being sent, the whole response: a close after this is not "gone". */
  private complete = false;
  private declaredLength = -1;
  private sent = 0;
  private invalid: string | null = null;
  private waiters: Array<() => void> = [];
  private goneCallbacks: Array<() => void> = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly head: boolean,
    private readonly log: (level: "error", message: string) => void,
  ) {
    res.on("close", () => this.onClose());
  }

  get clientGone(): boolean {
    return this.gone;
  }

  get invalidResponse(): string | null {
    return this.invalid;
  }

  get bytesSent(): number {
    return this.sent;
  }

  onGone(callback: () => void): void {
    if (this.gone) callback();
    else this.goneCallbacks.push(callback);
  }

  closeAfterResponse(): void {
    this.res.shouldKeepAlive = false;
  }

  private onClose(): void {
    if (!this.complete && !this.res.writableFinished) {
      this.gone = true;
      for (const callback of this.goneCallbacks.splice(0)) callback();
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  whenWritable(callback: () => void): void {
    if (this.gone || this.res.destroyed || !this.res.writableNeedDrain) {
      callback();
      return;
    }
    // Listened for only when a write filled the socket: most responses never need it.
    if (this.waiters.length === 0) this.res.once("drain", () => this.wake());
    this.waiters.push(callback);
  }

  /** Writes the status and the app's headers, minus hop-by-hop ones; false (after a 502) when HTTP cannot carry them. */
  private writeHead(status: string, headers: Array<[string, string]>, bodyLength: number): boolean {
    const [code, reason] = splitStatus(status);
    const flat: string[] = [];
    let hasLength = false;
    for (const [name, value] of headers) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) {
        if (lower === "connection" && /\bclose\b/i.test(value)) this.res.shouldKeepAlive = false;
        continue;
      }
      if (lower === "content-length") {
        hasLength = true;
        this.declaredLength = Number(value);
      }
      flat.push(name, value);
    }
    if (!hasLength && bodyLength >= 0) {
      flat.push("Content-Length", String(bodyLength));
      this.declaredLength = bodyLength;
    }
    try {
      this.res.writeHead(code, reason, flat);
    } catch (error) {
      this.invalid = (error as Error).message;
      this.log("error", `the app sent a response HTTP cannot carry (${this.invalid}); answering 502`);
      this.fail(502, `Bad Gateway: the app sent an invalid response (${this.invalid})`);
      return false;
    }
    if (this.head || BODYLESS(code) || this.declaredLength === 0) this.complete = true;
    return true;
  }

  start(status: string, headers: Array<[string, string]>): void {
    if (this.gone) return;
    this.writeHead(status, headers, -1);
  }

  write(chunk: Buffer): boolean {
    if (this.gone || this.invalid !== null || !this.res.headersSent) return true;
    this.sent += chunk.length;
    // With a Content-Length the client knows its response is whole once the last byte is
    // here, and may close before the worker's end-of-response frame reaches us.
    if (this.declaredLength >= 0 && this.sent >= this.declaredLength) this.complete = true;
    return this.res.write(chunk);
  }

  end(): void {
    if (this.gone || this.invalid !== null || !this.res.headersSent) return;
    this.complete = true;
    this.res.end();
  }

  full(status: string, headers: Array<[string, string]>, body: Buffer): void {
    if (this.gone) return;
    if (!this.writeHead(status, headers, body.length)) return;
    this.complete = true;
    this.sent = this.head ? 0 : body.length;
    this.res.end(body);
  }

  fail(statusCode: number, message: string): void {
    if (this.gone) return;
    if (this.res.headersSent) {
      this.abort();
      return;
    }
    const text = `${statusCode} ${message}\n`;
    this.res.writeHead(statusCode, {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": Buffer.byteLength(text),
    });
    this.complete = true;
    this.sent = Buffer.byteLength(text);
    this.res.end(text);
  }

  abort(): void {
    this.res.destroy();
  }
}
