// Every message between the supervisor (Node) and the Python shim.
// profiler/shim/balloon_shim/protocol.py mirrors the frame codes and field names;
// test/unit/protocol.test.mjs checks that the two agree.
//
// Transport: one Unix stream socket connection per Python process (the master, and each
// worker it forks), to the supervisor's private socket (BALLOON_SOCKET, inside a 0700 dir).
// Frame: u32 big-endian length of (type byte + payload), u8 type, payload.
// JSON payloads are UTF-8. "JSON head + \n + body" payloads split at the first 0x0A
// (JSON text never contains a raw newline).

/** Frame type codes. Who sends each is in the comment. */
export const Frame = {
  /** supervisor → worker: a request. Payload: RequestHead JSON, "\n", body bytes. */
  Request: 0x01,
  /** supervisor → worker or master: finish in-flight requests, then exit. Payload: StopMessage JSON. */
  Stop: 0x02,
  /** supervisor → master (preload): fork one worker. Payload: ForkMessage JSON. */
  Fork: 0x03,

  /** worker → supervisor: app loaded, ready for requests. Payload: HelloMessage JSON. */
  Hello: 0x10,
  /** worker → supervisor: response status and headers (streamed responses). Payload: ResponseStart JSON. */
  ResponseStart: 0x11,
  /** worker → supervisor: a chunk of response body, at most BODY_CHUNK_BYTES. Payload: u32 request id, bytes. */
  Body: 0x12,
  /** worker → supervisor: request finished (streamed responses). Payload: ResponseEnd JSON. */
  ResponseEnd: 0x13,
  /** worker → supervisor: whole response in one frame (the common case: the app returned a list
   * of at most 64 KiB; bigger bodies are streamed). Payload: FullResponseHead JSON, "\n", body bytes. */
  FullResponse: 0x14,
  /** worker or master → supervisor: a log line (wsgi.errors, tracebacks). Payload: LogMessage JSON. */
  Log: 0x15,
  /** worker or master → supervisor: the app could not be loaded; the process exits with ExitCode.AppLoadError. Payload: FatalMessage JSON. */
  Fatal: 0x16,
  /** master → supervisor: ready to fork (with --preload, the app is imported). Payload: HelloMessage JSON (role "master"). */
  MasterReady: 0x17,
  /** master → supervisor: a worker was forked. Payload: ForkedMessage JSON. */
  Forked: 0x18,
  /** master → supervisor: a forked worker exited (the master reaps it). Payload: ChildExitMessage JSON. */
  ChildExit: 0x19,
  /** deep-dive worker → supervisor: what one call allocated, after its response's last frame. Payload: DeepCallMessage JSON. */
  DeepCall: 0x1a,
} as const;
export type FrameType = (typeof Frame)[keyof typeof Frame];

/** Process exit codes of the shim (gunicorn's convention for boot failures). */
export const ExitCode = {
  Ok: 0,
  /** Bad arguments or environment given to the shim (a supervisor bug, not the app's). */
  Usage: 2,
  /** The worker could not boot (socket, handshake). */
  WorkerBootError: 3,
  /** The app failed to import or is not a WSGI callable. */
  AppLoadError: 4,
  /** The supervisor went away (socket closed). */
  SupervisorGone: 5,
  /** The app called sys.exit() while serving a request (the worker sent a Log naming it). */
  AppExit: 6,
} as const;

/**
 * The largest Body frame payload a worker sends: a bigger response body goes as several frames,
 * so the supervisor never holds more than about this much of a partial frame per worker.
 * Measured with test/bench/body-chunks.mjs (64 MiB body over the Unix socket, median of 9
 * rounds, two runs): 64 KiB frames 74-79 ms, 256 KiB 62-64 ms, 1 MiB 52-62 ms, 4 MiB 52-56 ms;
 * 1 MiB is as fast as 4 MiB within the noise for a quarter of the memory held.
 */
export const BODY_CHUNK_BYTES = 1024 * 1024;

/** Environment variables the supervisor sets for every shim process. */
export const ShimEnv = {
  socket: "BALLOON_SOCKET",
  /** JSON of ShimConfig. */
  config: "BALLOON_CONFIG",
  /** Worker id (decimal) for `python -m balloon_shim worker`: one worker without a master (the shim tests use it). */
  workerId: "BALLOON_WORKER_ID",
} as const;

export type FrameworkName = "wsgi" | "django" | "flask" | "pyramid";

/** What the shim needs to load and run the app. */
export interface ShimConfig {
  /** "module:callable" or a Django project directory (one holding manage.py). */
  target: string;
  framework: FrameworkName | "auto";
  /** App directory: put first on sys.path, cwd of the process, base for relative handler files. */
  cwd: string;
  /** Threads per worker (1: handle requests on the main thread). */
  threads: number;
  /** RLIMIT_STACK soft limit and threading.stack_size(), in KiB; 0 leaves both alone. */
  stackKiB: number;
  /** Import the app in the master before forking (copy-on-write), rather than in each worker. */
  preload: boolean;
  /** Per-request memory accounting (clear_refs + /proc/self/status). Off only for benchmarks. */
  accounting: boolean;
  /** Read USS/PSS (smaps_rollup) after a request at most this often, in seconds; 0 = every request; < 0 never. */
  pssIntervalSec: number;
  /** Listening address the supervisor serves, for SERVER_NAME / SERVER_PORT. */
  serverHost: string;
  serverPort: number;
}

/** A request as the worker receives it. Header names keep the client's spelling. */
export interface RequestHead {
  id: number;
  method: string;
  /** Raw path, percent-encoded, without the query string. */
  path: string;
  /** Raw query string without "?", "" when none. */
  query: string;
  /** "HTTP/1.1" */
  protocol: string;
  headers: Array<[string, string]>;
  remoteAddr: string;
  remotePort: number;
}

export interface StopMessage {
  reason: ExitReason;
}

export interface ForkMessage {
  workerId: number;
  /** Fork the deep-dive worker (tracemalloc on, outside the pool) rather than a pool worker. */
  deep?: DeepWorkerConfig;
}

export interface DeepWorkerConfig {
  /** Frames kept per allocation traceback (tracemalloc.start(frames)), 1-65535. */
  frames: number;
}

/** An app line holding memory, as the deep-dive worker attributes it (deep.py). */
export interface DeepSiteMessage {
  /** Relative to the app directory like HandlerInfo.file (absolute when outside it). */
  file: string;
  line: number;
  /** The source line, stripped ("" when linecache has no source). */
  code: string;
  /** At the peak: live bytes allocated during the call; retained: the change over the call (may be < 0). */
  bytes: number;
  /** Blocks (tracemalloc traces) behind those bytes. */
  count: number;
}

/** What one call of the deep dive did, in bytes of traced memory above the call's start. */
export interface DeepCallMessage {
  /** The request it was about. */
  id: number;
  peak: {
    /** The traced memory at the snapshot kept: the highest seen at a call or return of the handling thread. */
    capturedBytes: number;
    /** The highest seen at any such event (a snapshot was taken near it). */
    observedBytes: number;
    /** tracemalloc's own peak over the call (get_traced_memory after reset_peak): null before Python 3.9. */
    exactBytes: number | null;
    snapshots: number;
    snapshotMs: number;
  };
  /** The app's lines at the captured peak (what they allocated during the call and still held), biggest first. */
  peakSites: DeepSiteMessage[];
  /** What each app line kept over the call (after minus before), biggest change first. */
  retainedSites: DeepSiteMessage[];
  /** Memory with no app frame among the captured ones (the framework's, a library's). */
  outside: { peakBytes: number; retainedBytes: number };
  /** Of memory with no app frame: tracebacks cut at the frame limit (more frames would tell). */
  truncated: { peakBytes: number; retainedBytes: number };
}

export interface ForkedMessage {
  workerId: number;
  pid: number;
}

export interface ChildExitMessage {
  pid: number;
  /** Exit status when it exited, else null. */
  exitCode: number | null;
  /** Signal number when it was killed, else null. */
  signal: number | null;
}

export interface AppInfo {
  target: string;
  framework: FrameworkName;
  pythonVersion: string;
  pythonExecutable: string;
  /** Framework version, "" for plain WSGI. */
  frameworkVersion: string;
}

/** Memory figures of a process, KiB, from /proc. */
export interface MemorySnapshot {
  rssKiB: number;
  vmSizeKiB: number;
  /** USS = Private_Clean + Private_Dirty, when smaps_rollup was read. */
  ussKiB?: number;
  pssKiB?: number;
}

export interface HelloMessage {
  role: "worker" | "master";
  workerId: number;
  pid: number;
  /** null from a master that has not imported the app (no --preload). */
  app: AppInfo | null;
  memory: MemorySnapshot;
  /** RLIMIT_STACK soft limit in KiB as the process sees it (-1 unlimited). */
  stackLimitKiB: number;
  /** threading.stack_size() in KiB (0 = platform default). */
  threadStackKiB: number;
}

export interface HandlerInfo {
  /** e.g. "views.user_detail", "UserView.get" */
  qualname: string;
  /** Source file relative to the app directory (absolute when outside it). */
  file: string;
  line: number;
}

/** What one request did in the worker. Memory figures are KiB; absent when accounting is off. */
export interface RequestStats {
  /** Route template ("/users/<int:uid>"), or the path with ids folded for plain WSGI. */
  route: string;
  handler: HandlerInfo | null;
  rssBeforeKiB?: number;
  /** VmHWM after the request, the high-water mark having been reset just before it. */
  peakKiB?: number;
  rssAfterKiB?: number;
  vmSizeKiB?: number;
  ussKiB?: number;
  pssKiB?: number;
  /** Requests running in this worker at the same time (threads > 1): memory is shared among them. */
  concurrent: number;
  /** Wall time in the worker, ms. */
  durationMs: number;
  /** The app raised: exception type and formatted traceback. */
  error?: { type: string; traceback: string };
}

export interface ResponseStart {
  id: number;
  /** "200 OK" as the app gave it. */
  status: string;
  headers: Array<[string, string]>;
}

export interface ResponseEnd {
  id: number;
  stats: RequestStats;
}

export interface FullResponseHead extends ResponseStart {
  stats: RequestStats;
}

export interface LogMessage {
  level: "info" | "warning" | "error";
  message: string;
  /** Request it belongs to, when known. */
  id?: number;
}

export interface FatalMessage {
  stage: "import" | "boot";
  /** Who failed: the worker id (0 for the master) and pid. */
  workerId: number;
  pid: number;
  message: string;
  traceback: string;
}

/** Why a worker ended. */
export type ExitReason = "max-requests" | "rss-limit" | "budget" | "crash" | "timeout" | "shutdown" | "scale-down";
