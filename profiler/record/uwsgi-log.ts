// uWSGI's log (its default request log format) as Balloon's recording lines. With
// --memory-report each request line starts with the worker's address space and RSS *after* the
// request (checked on Debian's uWSGI 2.0.21):
//
//   {address space usage: 64475136 bytes/61MB} {rss usage: 14192640 bytes/13MB} [pid: 12384|app: 0|req: 2/2]
//   127.0.0.1 () {24 vars in 266 bytes} [Tue Dec  1 23:59:04 2026] GET /leak/small => generated 13 bytes
//   in 1 msecs (HTTP/1.1 200) 2 headers in 71 bytes (1 switches on core 0)
//
// so, as pyuwsgimemhog reads it, a request's RSS before is its worker's previous RSS after (a
// worker's first request has none), and no peak is logged: it is read as the larger of the two,
// which shows inflations and leaks (steps that stay) and hides balloons (memory given back
// before the line is written). The worker lines ("spawned uWSGI worker 1 (pid: P, cores: C)",
// "DAMN ! worker 1 (pid: P) died", "...The work of process P is done. Seeya!") say which
// process is which. Lines are found anywhere in a line (a syslog or journald prefix is fine);
// anything else (tracebacks, the app's own output) is skipped. Pure: lines in, lines out.
import { unknownSettings, type RecordLine, type RequestLine, type StartLine } from "./model";
import { foldPath, uriPath } from "./fold-path";
import type { LineConsumer, RecordSink } from "./reader";

export type UwsgiEvent =
  | {
      kind: "request";
      pid: number;
      /** --memory-report figures after the request, bytes; null without it. */
      addressSpaceBytes: number | null;
      rssBytes: number | null;
      /** When the request started, Unix ms, reading uWSGI's local time as UTC (only differences matter). */
      t: number;
      method: string;
      uri: string;
      durationMs: number;
      status: number;
    }
  | { kind: "spawned"; worker: number; pid: number; cores: number }
  | { kind: "died"; worker: number; pid: number; signal: number | null }
  | { kind: "done"; pid: number }
  | { kind: "harakiri"; worker: number; pid: number }
  | { kind: "buried"; worker: number }
  | { kind: "starting"; version: string; t: number }
  | { kind: "setting"; name: "host" | "cwd" | "python"; value: string };

const REQUEST = new RegExp(
  String.raw`(?:\{address space usage: (\d+) bytes/\d+MB\} )?(?:\{rss usage: (\d+) bytes/\d+MB\} )?` +
    String.raw`\[pid: (\d+)\|app: -?\d+\|req: -?\d+/\d+\] \S* \(.*?\) \{\d+ vars in \d+ bytes\} \[([^\]]+)\] ` +
    String.raw`(\S+) (.+?) => generated \d+ bytes in (\d+) (msecs|micros) \(\S+ (\d{3})\)`,
);
const SPAWNED = /(?:spawned|Respawned) uWSGI worker (\d+) \((?:new )?pid: (\d+)(?:, cores: (\d+))?\)/;
const DIED = /DAMN ! worker (\d+) \(pid: (\d+)\) died(?:, killed by signal (\d+))?/;
const DONE = /\.\.\.The work of process (\d+) is done\. Seeya!/;
const HARAKIRI = /HARAKIRI ON WORKER (\d+) \(pid: (\d+)/;
const BURIED = /worker (\d+) buried after \d+ seconds/;
const STARTING = /\*\*\* Starting uWSGI (\S+) .*?on \[([^\]]+)\] \*\*\*/;
const SETTINGS: Array<[RegExp, "host" | "cwd" | "python"]> = [
  [/^nodename: (\S+)$/, "host"],
  [/^chdir\(\) to (.+)$/, "cwd"],
  [/^current working directory: (.+)$/, "cwd"],
  [/^Python version: (\d+\.\d+\.\d+)/, "python"],
];
const UNKNOWN_WORKER_BASE = 1000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "Tue Dec  1 23:58:05 2026" (ctime) → Unix ms, as UTC; NaN when it is not one. */
export function parseCtime(text: string): number {
  const match = /^\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(text.trim());
  const month = match ? MONTHS.indexOf(match[1]) : -1;
  if (!match || month < 0) return Number.NaN;
  return Date.UTC(Number(match[6]), month, Number(match[2]), Number(match[3]), Number(match[4]), Number(match[5]));
}

/** One line of uWSGI's log as an event, or null when it says nothing Balloon reads. */
export function parseUwsgiLine(line: string): UwsgiEvent | null {
  if (line.includes(" => generated ")) {
    const m = REQUEST.exec(line);
    const t = m ? parseCtime(m[4]) : Number.NaN;
    if (!m || Number.isNaN(t)) return null;
    return {
      kind: "request", pid: Number(m[3]), addressSpaceBytes: m[1] === undefined ? null : Number(m[1]),
      rssBytes: m[2] === undefined ? null : Number(m[2]), t, method: m[5], uri: m[6],
      durationMs: m[8] === "micros" ? Number(m[7]) / 1000 : Number(m[7]), status: Number(m[9]),
    };
  }
  let m = SPAWNED.exec(line);
  if (m) return { kind: "spawned", worker: Number(m[1]), pid: Number(m[2]), cores: m[3] === undefined ? 0 : Number(m[3]) };
  if ((m = DIED.exec(line))) return { kind: "died", worker: Number(m[1]), pid: Number(m[2]), signal: m[3] === undefined ? null : Number(m[3]) };
  if ((m = DONE.exec(line))) return { kind: "done", pid: Number(m[1]) };
  if ((m = HARAKIRI.exec(line))) return { kind: "harakiri", worker: Number(m[1]), pid: Number(m[2]) };
  if ((m = BURIED.exec(line))) return { kind: "buried", worker: Number(m[1]) };
  if ((m = STARTING.exec(line))) return { kind: "starting", version: m[1], t: parseCtime(m[2]) };
  for (const [pattern, name] of SETTINGS) if ((m = pattern.exec(line.trim()))) return { kind: "setting", name, value: m[1] };
  return null;
}

interface WorkerState {
  worker: number;
  pid: number;
  /** Threads (uWSGI's cores); 0 when its spawn line was not in the log. */
  cores: number;
  seq: number;
  lastRssKiB: number | null;
  timedOut: boolean;
}

/** What the log could not say, for the report's "held in part" notes. */
export interface UwsgiLogSummary {
  requests: number;
  /** Requests with memory figures (--memory-report) that had a previous reading in their worker. */
  measured: number;
  host: string | null;
  /** "2.0.21-debian", from the "*** Starting uWSGI" line; "" when the log began later. */
  version: string;
  /** Worker processes that ran more than one request at a time (cores > 1): their requests are shared. */
  threadedWorkers: number;
}

/** Turns uWSGI events into recording lines for a sink, worker by worker. */
export class UwsgiLogConverter {
  private readonly byPid = new Map<number, WorkerState>();
  /** The current process of each uWSGI worker number. */
  private readonly byWorker = new Map<number, WorkerState>();
  /** Threads per uWSGI worker number: a respawn line does not repeat them. */
  private readonly cores = new Map<number, number>();
  private started = false;
  private host: string | null = null;
  private cwd = "";
  private python = "";
  private version = "";
  private startT: number | null = null;
  /** The latest time the log gave: worker lines have none of their own. */
  private lastT = 0;
  private unknownPids = 0;
  private requests = 0;
  private measured = 0;
  private readonly threaded = new Set<number>();

  constructor(private readonly sink: RecordSink) {}

  event(event: UwsgiEvent): void {
    switch (event.kind) {
      case "setting":
        if (event.name === "host") this.host = event.value;
        else if (event.name === "cwd") this.cwd = event.value;
        else this.python = event.value;
        return;
      case "starting":
        this.version = event.version;
        if (!Number.isNaN(event.t)) {
          this.startT ??= event.t;
          this.lastT = Math.max(this.lastT, event.t);
        }
        return;
      case "spawned":
        this.spawned(event.worker, event.pid, event.cores);
        return;
      case "harakiri": {
        const state = this.byPid.get(event.pid);
        if (state) state.timedOut = true;
        return;
      }
      case "died": {
        const state = this.byPid.get(event.pid);
        const cause = event.signal === null ? "died" : `killed by signal ${event.signal}`;
        this.ended(event.pid, state?.timedOut ? "timeout" : "crash", `uWSGI: worker ${event.worker} ${cause}`, "crash");
        return;
      }
      case "done":
        this.ended(event.pid, "shutdown", "ended by uWSGI after a request: max-requests, reload-on-rss or a reload (its log does not say which)", "exit");
        return;
      case "buried": {
        const state = this.byWorker.get(event.worker);
        if (state) this.ended(state.pid, "shutdown", "uWSGI stopped or reloaded", "exit");
        return;
      }
      case "request":
        this.request(event);
        return;
    }
  }

  summary(): UwsgiLogSummary {
    return { requests: this.requests, measured: this.measured, host: this.host, version: this.version, threadedWorkers: this.threaded.size };
  }

  private emit(line: RecordLine): void {
    this.sink.add(line);
  }

  private spawned(worker: number, pid: number, cores: number): WorkerState {
    if (cores > 0) this.cores.set(worker, cores);
    const state: WorkerState = { worker, pid, cores: this.cores.get(worker) ?? 0, seq: 0, lastRssKiB: null, timedOut: false };
    this.byPid.set(pid, state);
    this.byWorker.set(worker, state);
    if (this.started) this.emit({ type: "worker", t: this.lastT, event: "forked", worker, pid });
    return state;
  }

  private ended(pid: number, reason: "crash" | "timeout" | "shutdown", detail: string, event: "crash" | "exit"): void {
    const state = this.byPid.get(pid);
    if (!state) return;
    this.byPid.delete(pid);
    if (this.byWorker.get(state.worker) === state) this.byWorker.delete(state.worker);
    if (this.started) this.emit({ type: "worker", t: this.lastT, event, worker: state.worker, pid, reason, detail, ...(state.lastRssKiB === null ? {} : { rssKiB: state.lastRssKiB }) });
  }

  /** The start line, once the first request shows what the log said before it. */
  private start(t: number): void {
    this.started = true;
    this.startT ??= t;
    const workers = [...this.byWorker.values()];
    const threads = Math.max(0, ...workers.map((state) => state.cores));
    const start: StartLine = {
      type: "start", version: 1, t: this.startT,
      run: { target: "", cwd: this.cwd, python: "", framework: "" },
      settings: { ...unknownSettings(), workers: workers.length || null, maxWorkers: workers.length, threads },
    };
    this.emit(start);
    this.emit({ type: "app", t: this.startT, app: { target: "", framework: "wsgi", pythonVersion: this.python, pythonExecutable: "", frameworkVersion: "" } });
    for (const state of workers) this.emit({ type: "worker", t: this.startT, event: "forked", worker: state.worker, pid: state.pid });
  }

  private request(event: Extract<UwsgiEvent, { kind: "request" }>): void {
    if (!this.started) this.start(event.t);
    this.lastT = Math.max(this.lastT, event.t);
    let state = this.byPid.get(event.pid);
    if (!state) {
      // A log that begins after the spawn lines (rotated): its processes numbered from 1001 as
      // they come, apart from uWSGI's own 1..N.
      this.unknownPids += 1;
      state = this.spawned(UNKNOWN_WORKER_BASE + this.unknownPids, event.pid, 0);
    }
    this.requests += 1;
    state.seq += 1;
    const { path } = uriPath(event.uri);
    const afterKiB = event.rssBytes === null ? null : Math.round(event.rssBytes / 1024);
    const beforeKiB = state.lastRssKiB;
    const line: RequestLine = {
      type: "request", t: event.t, worker: state.worker, pid: event.pid, seq: state.seq, method: event.method, path,
      route: foldPath(path), handler: null, status: event.status, outcome: event.status >= 500 ? "app-error" : "ok",
      durationMs: event.durationMs, concurrent: 1,
    };
    if (beforeKiB !== null && afterKiB !== null) {
      this.measured += 1;
      line.rssBeforeKiB = beforeKiB;
      line.peakKiB = Math.max(beforeKiB, afterKiB);
      line.rssAfterKiB = afterKiB;
      if (event.addressSpaceBytes !== null) line.vmSizeKiB = Math.round(event.addressSpaceBytes / 1024);
    }
    if (state.cores > 1) {
      // Threads: the RSS steps of overlapping requests land on whichever line comes next.
      line.concurrent = state.cores;
      this.threaded.add(state.pid);
    }
    if (afterKiB !== null) state.lastRssKiB = afterKiB;
    this.emit(line);
  }
}

/** A LineSplitter's consumer for a uWSGI log: each line parsed, its events converted. */
export class UwsgiLogParser implements LineConsumer {
  readonly converter: UwsgiLogConverter;

  constructor(sink: RecordSink) {
    this.converter = new UwsgiLogConverter(sink);
  }

  line(raw: string): void {
    const event = parseUwsgiLine(raw);
    if (event) this.converter.event(event);
  }

  /** Over 4 MiB: the app's own output, never a line uWSGI writes about a request. */
  overlong(): void {}

  end(): void {}
}
