// Several inputs read into one analysis: recordings (Balloon's own, or the gunicorn recorder's
// one file per worker) and uWSGI logs, each told by its content. Worker processes are keyed by
// (worker id, pid) in the analysis; two files can hold the same pair (the same pid on two
// hosts, gunicorn's worker numbers restarting with the arbiter), so each file's worker ids are
// renumbered apart from every other file's, and each worker remembers the host it came from.
// Totals are over everything. Pure: the commands read the files.
import type { RecordLine, Report } from "./model";
import type { RecordSink } from "./reader";
import { parseUwsgiLine } from "./uwsgi-log";

export type InputFormat = "report" | "recording" | "uwsgi-log" | "unknown";

/** The format of a file from its first bytes (a few KiB are enough). */
export function detectFormat(head: string): InputFormat {
  const lines = head.split("\n");
  const first = lines.find((line) => line.trim() !== "")?.trim() ?? "";
  // A pretty-printed report starts with a lone "{"; a recording's first line is a whole object with a type.
  if (first === "{") return "report";
  try {
    const value: unknown = JSON.parse(first);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return "type" in value ? "recording" : "report";
  } catch {
    // not JSON: a log?
  }
  // The last line of the head may be cut: only whole lines count.
  return lines.slice(0, -1).some((line) => parseUwsgiLine(line) !== null) ? "uwsgi-log" : "unknown";
}

/** One input's sink: its lines renumbered into the merged stream, its warnings named after it. */
export interface InputSink extends RecordSink {
  readonly label: string;
  /** The machine its workers ran on, when the input says (the gunicorn recorder's start line, uWSGI's "nodename"). */
  host: string | null;
}

const hasWorker = (line: RecordLine): line is Extract<RecordLine, { worker: number }> => "worker" in line;

export class SourceMerger {
  private nextWorker = 1;
  private readonly inputs: InputSink[] = [];
  /** Merged worker id → the input it came from. */
  private readonly origin = new Map<number, InputSink>();

  /** `several`: ids are renumbered and warnings named only when more than one input is read. */
  constructor(private readonly sink: RecordSink, private readonly several: boolean) {}

  input(label: string): InputSink {
    const ids = new Map<number, number>();
    const input: InputSink = {
      label,
      host: null,
      add: (line) => {
        if (line.type === "start" && line.recorder) input.host = line.recorder.host;
        this.sink.add(this.several ? this.renumbered(line, ids, input) : line);
      },
      warn: (text) => this.sink.warn(this.several ? `${label}: ${text}` : text),
    };
    this.inputs.push(input);
    return input;
  }

  /** The line with its input's worker id (`ids`: that input's own to merged) replaced. */
  private renumbered(line: RecordLine, ids: Map<number, number>, input: InputSink): RecordLine {
    // Worker 0 is nobody's process (the supervisor answering alone): it stays 0.
    if (!hasWorker(line) || line.worker === 0) return line;
    let id = ids.get(line.worker);
    if (id === undefined) {
      id = this.nextWorker++;
      ids.set(line.worker, id);
      this.origin.set(id, input);
    }
    return { ...line, worker: id };
  }

  /**
   * Distinct machines the inputs name (the files of one host's workers count once). Balloon's
   * own recordings name none: two of them are two runs, not two servers sharing traffic.
   */
  hosts(): string[] {
    return [...new Set(this.inputs.flatMap((input) => (input.host === null ? [] : [input.host])))];
  }

  /** The report's workers with the host each came from (several inputs only). */
  labelWorkers(report: Report): Report {
    if (!this.several) return report;
    return { ...report, workers: report.workers.map((worker) => {
      const input = this.origin.get(worker.id);
      return input ? { ...worker, host: input.host ?? input.label } : worker;
    }) };
  }
}
