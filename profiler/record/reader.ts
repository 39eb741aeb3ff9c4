// Reading a recording of any size: the file is read in chunks, split into lines without ever
// building one string of the whole file, and each line is parsed and handed to a sink at once.
// Memory is bounded by the chunk size plus the longest line kept (MAX_LINE_BYTES). Bad lines
// become numbered warnings and the rest is still read (a killed writer leaves a torn last line).
import { createReadStream } from "node:fs";
import { RECORD_VERSION, type RecordLine } from "./model";
import { escapeControl } from "../report/escape";

/** Where the lines go: an analysis that takes one line at a time. */
export interface RecordSink {
  add(line: RecordLine): void;
  /** "line N: cause", 1-based; or a remark on the whole recording. */
  warn(text: string): void;
}

/**
 * The longest line read. The longest lines we write are request lines (~0.5 KiB plus the
 * path, which the HTTP front bounds with the request head at 16 KiB) and boot-failed lines
 * with an exception message: 4 MiB is 256 times the head bound, yet small beside Node's own
 * ~50 MiB. A longer line is not ours (or is garbage) and is skipped with a warning.
 */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

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
  deep: { t: "number", event: "string" },
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

/** What takes the lines a LineSplitter cuts: a recording's parser, or a server log's. */
export interface LineConsumer {
  /** One line without its "\n"; `unterminated`: the file ended inside it. */
  line(raw: string, lineNumber: number, unterminated: boolean): void;
  overlong(lineNumber: number, bytes: number, limit: number): void;
  /** After the last line. */
  end(): void;
}

/**
 * Parses the lines split from a recording and hands them to the sink. Warnings are escaped:
 * JSON.parse quotes the bytes it choked on, and a binary file's bytes must not reach a terminal.
 */
export class RecordLineParser implements LineConsumer {
  private sawStart = false;

  constructor(private readonly sink: RecordSink) {}

  /** One line without its "\n"; `unterminated`: the file ended inside it. */
  line(raw: string, lineNumber: number, unterminated: boolean): void {
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      this.warn(lineNumber, `${unterminated ? "truncated" : "invalid JSON"} (${describeError(error)})`);
      return;
    }
    const problem = lineProblem(value);
    if (problem) {
      this.warn(lineNumber, problem);
      return;
    }
    const line = value as RecordLine;
    if (line.type === "start") {
      this.sawStart = true;
      if (line.version !== RECORD_VERSION) this.warn(lineNumber, `recording version ${line.version}, this balloon reads version ${RECORD_VERSION}`);
    }
    this.sink.add(line);
  }

  overlong(lineNumber: number, bytes: number, limit: number): void {
    const limitText = limit % (1024 * 1024) === 0 ? `${limit / 1024 / 1024} MiB` : `${limit} bytes`;
    this.warn(lineNumber, `longer than ${limitText} (${bytes} bytes read), skipped`);
  }

  /** After the last line. */
  end(): void {
    if (!this.sawStart) this.sink.warn('no "start" line: the beginning of the recording is missing (run and settings unknown)');
  }

  private warn(lineNumber: number, cause: string): void {
    this.sink.warn(`line ${lineNumber}: ${escapeControl(cause)}`);
  }
}

/**
 * Splits chunks of bytes into lines. A line within one chunk is decoded in place; one that
 * spans chunks is held as pieces until its newline; past maxLineBytes its bytes are dropped
 * until the next newline and it is reported as over-long.
 */
export class LineSplitter {
  private pieces: Buffer[] = [];
  private heldBytes = 0;
  /** Bytes of the current line, counted even once they are no longer held. */
  private lineBytes = 0;
  private lineNumber = 1;

  constructor(private readonly parser: LineConsumer, private readonly maxLineBytes = MAX_LINE_BYTES) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(NEWLINE, start); newline !== -1; newline = chunk.indexOf(NEWLINE, start)) {
      this.finishLine(chunk, start, newline, false);
      start = newline + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
  }

  /** The end of the input: a last line without a newline is parsed as unterminated. */
  end(): void {
    if (this.lineBytes > 0) this.finishLine(Buffer.alloc(0), 0, 0, true);
    this.parser.end();
  }

  private hold(piece: Buffer): void {
    this.lineBytes += piece.length;
    if (this.lineBytes > this.maxLineBytes) {
      this.pieces = [];
      this.heldBytes = 0;
      return;
    }
    this.pieces.push(piece);
    this.heldBytes += piece.length;
  }

  private finishLine(chunk: Buffer, start: number, end: number, unterminated: boolean): void {
    const total = this.lineBytes + (end - start);
    if (total > this.maxLineBytes) {
      this.parser.overlong(this.lineNumber, total, this.maxLineBytes);
    } else if (this.heldBytes === 0) {
      this.parser.line(chunk.toString("utf8", start, end), this.lineNumber, unterminated);
    } else {
      this.pieces.push(chunk.subarray(start, end));
      this.parser.line(Buffer.concat(this.pieces).toString("utf8"), this.lineNumber, unterminated);
    }
    this.pieces = [];
    this.heldBytes = 0;
    this.lineBytes = 0;
    this.lineNumber += 1;
  }
}

/** Reads the recording at `path` line by line into `sink`. Rejects only when the file cannot be read. */
export async function readRecordingInto(path: string, sink: RecordSink, options: { chunkBytes?: number; maxLineBytes?: number } = {}): Promise<void> {
  await readLinesInto(path, new RecordLineParser(sink), { ...options, what: "recording" });
}

/** Reads the file at `path` line by line into `consumer`; `what` names it in errors ("recording", "log"). */
export async function readLinesInto(path: string, consumer: LineConsumer, options: { chunkBytes?: number; maxLineBytes?: number; what: string }): Promise<void> {
  const splitter = new LineSplitter(consumer, options.maxLineBytes);
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: options.chunkBytes ?? CHUNK_BYTES })) {
      splitter.push(chunk as Buffer);
    }
  } catch (error) {
    if (!isFileError(error)) throw error; // the sink's own failure, not the file's
    if (error.code === "ENOENT") throw new Error(`no ${options.what} at ${path}`);
    throw new Error(`cannot read the ${options.what} ${path}: ${error.message}`);
  }
  splitter.end();
}

export interface ParsedRecording {
  lines: RecordLine[];
  warnings: string[];
}

/** A whole recording already in memory (tests, small files): the same parsing as readRecordingInto. */
export function parseRecording(text: string): ParsedRecording {
  const parsed: ParsedRecording = { lines: [], warnings: [] };
  const splitter = new LineSplitter(new RecordLineParser({ add: (line) => parsed.lines.push(line), warn: (text) => parsed.warnings.push(text) }));
  splitter.push(Buffer.from(text, "utf8"));
  splitter.end();
  return parsed;
}

function isFileError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === "string";
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
