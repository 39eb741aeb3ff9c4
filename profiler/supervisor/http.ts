// The HTTP front: node:http on 127.0.0.1 (keep-alive, chunked bodies, HEAD), turning each
// request into an Exchange for the supervisor and its answer back into HTTP.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { HttpSink } from "./http-sink";
import type { Exchange } from "./exchange";

/** Where Balloon serves. Never anything but loopback: the user's app is under a profiler. */
export const LOOPBACK = "127.0.0.1";

export interface HttpFrontOptions {
  port: number;
  maxBodyBytes: number;
  /** Whole request head within this long, else 408 (0: Node's default of 60 s). */
  headerTimeoutSec: number;
  submit(exchange: Exchange): void;
  /** The front answered without a worker: 413 for an exchange, 400/408/431 for a request too malformed to be one. */
  rejected(exchange: Exchange | null, status: number, message: string): void;
  log(level: "info" | "warning" | "error", message: string): void;
  now(): number;
}

let nextRequestId = 1;

function toExchange(req: IncomingMessage, sink: HttpSink, body: Buffer | null, arrivedAt: number): Exchange {
  const url = req.url ?? "/";
  const question = url.indexOf("?");
  let path = question < 0 ? url : url.slice(0, question);
  // Absolute-form request targets ("http://host/path") carry the path after the authority.
  if (path.charCodeAt(0) !== 0x2f) {
    const match = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)?$/i.exec(path);
    path = match ? (match[1] ?? "/") : `/${path}`;
  }
  const raw = req.rawHeaders;
  const headers: Array<[string, string]> = new Array(raw.length >> 1);
  for (let i = 0; i < raw.length; i += 2) headers[i >> 1] = [raw[i], raw[i + 1]];
  const socket = req.socket;
  return {
    head: {
      id: nextRequestId++,
      method: req.method ?? "GET",
      path,
      query: question < 0 ? "" : url.slice(question + 1),
      protocol: req.httpVersion === "1.1" ? "HTTP/1.1" : `HTTP/${req.httpVersion}`,
      headers,
      remoteAddr: socket.remoteAddress ?? LOOPBACK,
      remotePort: socket.remotePort ?? 0,
    },
    body,
    sink,
    arrivedAt,
    startedAt: 0,
    inFlight: 0,
    headersSent: false,
    status: 0,
  };
}

const tooLarge = (limit: number): string => `Content Too Large: the body is over the ${limit}-byte limit (--max-body)`;

export class HttpFront {
  private readonly server: Server;

  constructor(private readonly options: HttpFrontOptions) {
    const headersTimeout = options.headerTimeoutSec > 0 ? options.headerTimeoutSec * 1000 : 60_000;
    this.server = createServer({
      keepAliveTimeout: 5000,
      headersTimeout,
      // requestTimeout bounds head and body together; it must not be shorter than headersTimeout.
      requestTimeout: Math.max(300_000, headersTimeout),
      // Node checks those timeouts this often (default 30 s: a 10 s header timeout fired after up to 40 s).
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
    }, (req, res) => this.onRequest(req, res));
    this.server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => this.onCheckContinue(req, res));
    this.server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => this.onClientError(error, socket));
  }

  /** `Expect: 100-continue`: a body that will be refused gets its 413 instead of an invitation. */
  private onCheckContinue(req: IncomingMessage, res: ServerResponse): void {
    const declared = Number(req.headers["content-length"]);
    if (!(declared > this.options.maxBodyBytes)) res.writeContinue();
    this.onRequest(req, res);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const sink = new HttpSink(res, req.method === "HEAD", this.options.log);
    const { maxBodyBytes, submit } = this.options;
    const declared = req.headers["content-length"];
    if (declared === undefined && req.headers["transfer-encoding"] === undefined) {
      req.resume();
      submit(toExchange(req, sink, null, this.options.now()));
      return;
    }
    if (declared !== undefined && Number(declared) > maxBodyBytes) {
      this.refuseBody(req, sink);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        refused = true;
        this.refuseBody(req, sink);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!refused) submit(toExchange(req, sink, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), this.options.now()));
    });
    req.on("error", () => undefined); // the client went away while sending: nothing to run
  }

  private refuseBody(req: IncomingMessage, sink: HttpSink): void {
    const message = tooLarge(this.options.maxBodyBytes);
    sink.closeAfterResponse();
    sink.fail(413, message);
    req.resume();
    const exchange = toExchange(req, sink, null, this.options.now());
    exchange.status = 413;
    this.options.rejected(exchange, 413, message);
  }

  private onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason] =
      error.code === "HPE_HEADER_OVERFLOW" ? [431, "Request Header Fields Too Large"] :
      error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? [408, "Request Timeout"] : [400, "Bad Request"];
    const why = status === 408
      ? `the request head did not arrive within ${this.options.headerTimeoutSec} s (--header-timeout)`
      : `malformed HTTP request (${error.code ?? error.message})`;
    const text = `${status} ${reason}: ${why}\n`;
    this.options.log("warning", `${status} to a client: ${why}`);
    this.options.rejected(null, status, why);
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen({ port: this.options.port, host: LOOPBACK, backlog: LISTEN_BACKLOG }, () => {
        this.server.off("error", reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting; idle keep-alive connections close now, busy ones after their response. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  /** Cuts every connection left (end of a shutdown). */
  closeAll(): void {
    this.server.closeAllConnections();
  }
}

/** gunicorn's default listen backlog: connections the kernel holds before we accept them. */
const LISTEN_BACKLOG = 2048;
