// The recording: append-only JSON lines, one RecordLine per line.
// Writing must survive a SIGKILL of the supervisor: every line reaches the OS whole and soon,
// so lines of one event-loop tick go out in one write at setImmediate.
import * as fs from "node:fs";
import { RECORD_VERSION, type RecordLine } from "./model";

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

export interface ParsedRecording {
  lines: RecordLine[];
  /** "line N: cause", 1-based. */
  warnings: string[];
}

type FieldKind = "number" | "string" | "object";

/** Fields the analysis relies on, per line type; a line without them is reported, not read. */
const REQUIRED_FIELDS: Record<RecordLine["type"], Record<string, FieldKind>> = {
  start: { version: "number", t: "number", run: "object", settings: "object" },
  app: { t: "number", app: "object" },
  request: {
    t: "number", worker: "number", pid: "number", seq: "number", method: "string",
    route: "string", outcome: "string", durationMs: "number",
  },
  worker: { t: "number", event: "string", worker: "number", pid: "number" },
  sample: { t: "number", worker: "number", pid: "number", rssKiB: "number" },
  stop: { t: "number" },
  phase: { t: "number", phase: "string", routes: "object", budget: "number" },
};

function isLineType(value: unknown): value is RecordLine["type"] {
  return typeof value === "string" && Object.hasOwn(REQUIRED_FIELDS, value);
}

/** Why a parsed value is not a usable RecordLine, or null when it is one. */
function lineProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const fields = value as Record<string, unknown>;
  if (!("type" in fields)) return 'missing "type"';
  if (!isLineType(fields.type)) return `unknown type ${JSON.stringify(fields.type)}`;
  for (const [name, kind] of Object.entries(REQUIRED_FIELDS[fields.type])) {
    const field = fields[name];
    const ok = kind === "object" ? typeof field === "object" && field !== null : typeof field === kind;
    if (!ok) return `${fields.type} line without ${kind} "${name}"`;
  }
  return null;
}

/** Reads a recording, keeping every good line; bad lines become warnings (a killed writer leaves a truncated last line). */
export function parseRecording(text: string): ParsedRecording {
  const lines: RecordLine[] = [];
  const warnings: string[] = [];
  const rawLines = text.split("\n");
  rawLines.forEach((raw, index) => {
    const lineNumber = index + 1;
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      const truncated = index === rawLines.length - 1 && !text.endsWith("\n");
      warnings.push(`line ${lineNumber}: ${truncated ? "truncated" : "invalid JSON"} (${describeError(error)})`);
      return;
    }
    const problem = lineProblem(value);
    if (problem) {
      warnings.push(`line ${lineNumber}: ${problem}`);
      return;
    }
    const line = value as RecordLine;
    if (line.type === "start" && line.version !== RECORD_VERSION) {
      warnings.push(`line ${lineNumber}: recording version ${line.version}, this balloon reads version ${RECORD_VERSION}`);
    }
    lines.push(line);
  });
  if (!lines.some((line) => line.type === "start")) {
    warnings.push('no "start" line: the beginning of the recording is missing (run and settings unknown)');
  }
  return { lines, warnings };
}

export function readRecording(path: string): ParsedRecording {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (error) {
    if (isErrnoCode(error, "ENOENT")) throw new Error(`no recording at ${path}`);
    throw new Error(`cannot read the recording ${path}: ${describeError(error)}`);
  }
  return parseRecording(text);
}

function isErrnoCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
