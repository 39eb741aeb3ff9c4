// The HTTP front: node:http on 127.0.0.1 (keep-alive, chunked bodies, HEAD), turning each
// request into an Exchange for the supervisor and its answer back into HTTP.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { statusCode, type Exchange, type ResponseSink } from "./exchange";

/** Where Balloon serves. Never anything but loopback: the user's app is under a profiler. */
export const LOOPBACK = "127.0.0.1";

export interface HttpFrontOptions {
  port: number;
  maxBodyBytes: number;
  submit(exchange: Exchange): void;
  log(level: "info" | "warning" | "error", message: string): void;
}

function flatHeaders(headers: Array<[string, string]>, extra: Array<[string, string]> = []): string[] {
  const flat: string[] = [];
  for (const [name, value] of headers) flat.push(name, value);
  for (const [name, value] of extra) flat.push(name, value);
  return flat;
}

function hasHeader(headers: Array<[string, string]>, name: string): boolean {
  return headers.some(([key]) => key.length === name.length && key.toLowerCase() === name);
}

/** "200 OK" → [200, "OK"]; a reason that is missing falls back to the standard one. */
function splitStatus(status: string): [number, string] {
  const code = statusCode(status);
  const space = status.indexOf(" ");
  // An unreadable status became 500: its words are not that status's reason.
  const reason = space >= 0 && Number.parseInt(status, 10) === code ? status.slice(space + 1) : "";
  return [code, reason || STATUS_CODES[code] || ""];
}

class HttpSink implements ResponseSink {
  private gone = false;

  constructor(private readonly res: ServerResponse, private readonly log: HttpFrontOptions["log"]) {
    res.on("close", () => {
      if (!res.writableFinished) this.gone = true;
    });
  }

  get clientGone(): boolean {
    return this.gone;
  }

  private writeHead(status: string, headers: Array<[string, string]>, extra?: Array<[string, string]>): boolean {
    const [code, reason] = splitStatus(status);
    try {
      this.res.writeHead(code, reason, flatHeaders(headers, extra));
      return true;
    } catch (error) {
      this.log("error", `the app sent a response Node cannot send (${(error as Error).message}); answering 502`);
      this.fail(502, `Bad Gateway: the app sent an invalid response (${(error as Error).message})`);
      return false;
    }
  }

  start(status: string, headers: Array<[string, string]>): void {
    if (this.gone) return;
    this.writeHead(status, headers);
  }

  write(chunk: Buffer): void {
    if (!this.gone && this.res.headersSent) this.res.write(chunk);
  }

  end(): void {
    if (!this.gone && this.res.headersSent) this.res.end();
  }

  full(status: string, headers: Array<[string, string]>, body: Buffer): void {
    if (this.gone) return;
    const extra: Array<[string, string]> = hasHeader(headers, "content-length") ? [] : [["Content-Length", String(body.length)]];
    if (this.writeHead(status, headers, extra)) this.res.end(body);
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
    this.res.end(text);
  }

  abort(): void {
    this.res.destroy();
  }
}

let nextRequestId = 1;

function toExchange(req: IncomingMessage, sink: ResponseSink, body: Buffer | null): Exchange {
  const url = req.url ?? "/";
  const question = url.indexOf("?");
  let path = question < 0 ? url : url.slice(0, question);
  // Absolute-form request targets ("http://host/path") carry the path after the authority.
  if (!path.startsWith("/")) {
    const match = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)?$/i.exec(path);
    path = match ? (match[1] ?? "/") : `/${path}`;
  }
  const raw = req.rawHeaders;
  const headers: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) headers.push([raw[i], raw[i + 1]]);
  return {
    head: {
      id: nextRequestId++,
      method: req.method ?? "GET",
      path,
      query: question < 0 ? "" : url.slice(question + 1),
      protocol: `HTTP/${req.httpVersion}`,
      headers,
      remoteAddr: req.socket.remoteAddress ?? LOOPBACK,
      remotePort: req.socket.remotePort ?? 0,
    },
    body,
    sink,
    state: "queued",
    startedAt: 0,
    deadline: 0,
    headersSent: false,
    status: 0,
  };
}

export class HttpFront {
  private readonly server: Server;

  constructor(private readonly options: HttpFrontOptions) {
    this.server = createServer({ keepAliveTimeout: 5000 }, (req, res) => this.onRequest(req, res));
    this.server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => this.onClientError(error, socket));
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const sink = new HttpSink(res, this.options.log);
    const { maxBodyBytes, submit } = this.options;
    const declared = req.headers["content-length"];
    if (declared === undefined && req.headers["transfer-encoding"] === undefined) {
      req.resume();
      submit(toExchange(req, sink, null));
      return;
    }
    if (declared !== undefined && Number(declared) > maxBodyBytes) {
      res.setHeader("Connection", "close");
      sink.fail(413, `Content Too Large: the body is over the ${maxBodyBytes}-byte limit (--max-body)`);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        if (!tooLarge) {
          tooLarge = true;
          res.setHeader("Connection", "close");
          sink.fail(413, `Content Too Large: the body is over the ${maxBodyBytes}-byte limit (--max-body)`);
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!tooLarge) submit(toExchange(req, sink, Buffer.concat(chunks, size)));
    });
    req.on("error", () => undefined); // the client went away while sending: nothing to run
  }

  private onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
    const reason = status === 431 ? "Request Header Fields Too Large" : "Bad Request";
    const text = `${status} ${reason}: malformed HTTP request (${error.code ?? error.message})\n`;
    this.options.log("warning", `malformed request from a client: ${error.code ?? error.message}`);
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, LOOPBACK, () => {
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
