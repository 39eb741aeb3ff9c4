// Writing the recording: append-only JSON lines, one RecordLine per line (reader.ts reads it).
// Writing must survive a SIGKILL of the supervisor: every line reaches the OS whole and soon,
// so lines of one event-loop tick go out in one write at setImmediate.
import * as fs from "node:fs";
import type { RecordLine } from "./model";

export interface RecordWriterOptions {
  /** Called when a deferred write fails; without it the error is thrown by the next write/flush/close. */
  onError?: (error: Error) => void;
}

export class RecordWriter {
  private readonly fd: number;
  private pending: string[] = [];
  private scheduled: NodeJS.Immediate | null = null;
  private deferredError: Error | null = null;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly options: RecordWriterOptions = {},
  ) {
    try {
      // A new run starts a new recording: two runs in one file would mix their workers.
      this.fd = fs.openSync(path, "w");
    } catch (error) {
      throw new Error(`cannot write the recording ${path}: ${describeError(error)}`);
    }
  }

  /** Queues one line; it is written at the end of this event-loop tick. */
  write(line: RecordLine): void {
    this.throwIfUnusable();
    this.pending.push(JSON.stringify(line) + "\n");
    this.scheduled ??= setImmediate(() => this.flushDeferred());
  }

  /** Writes every queued line now, synchronously. */
  flush(): void {
    this.throwIfUnusable();
    this.writePending();
  }

  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      fs.closeSync(this.fd);
    }
  }

  private flushDeferred(): void {
    this.scheduled = null;
    if (this.closed) return;
    try {
      this.writePending();
    } catch (error) {
      const wrapped = new Error(`cannot write the recording ${this.path}: ${describeError(error)}`);
      if (this.options.onError) this.options.onError(wrapped);
      else this.deferredError = wrapped;
    }
  }

  private writePending(): void {
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
    }
    if (this.pending.length === 0) return;
    const bytes = Buffer.from(this.pending.join(""), "utf8");
    this.pending = [];
    // writeSync may write less than asked (e.g. near a full disk): loop until all is out.
    let offset = 0;
    while (offset < bytes.length) offset += fs.writeSync(this.fd, bytes, offset, bytes.length - offset);
  }

  private throwIfUnusable(): void {
    if (this.closed) throw new Error(`the recording ${this.path} is closed`);
    if (this.deferredError) throw this.deferredError;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
