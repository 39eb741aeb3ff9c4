// Starting the Python master and meeting it and its workers on the supervisor's private socket.
// One `python -m balloon_shim master` forks every worker (importing the app first with
// --preload, else each worker imports it): forked workers start with clean getrusage marks
// and the master reaps them and reports how they ended. Processes connect back to a Unix
// socket inside a fresh 0700 directory (private-dir.ts); their first frame says who they are (Hello,
// MasterReady or Fatal).
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { Frame, ShimEnv, type ChildExitMessage, type DeepWorkerConfig, type FatalMessage, type ForkMessage, type ForkedMessage, type HelloMessage, type LogMessage, type ShimConfig } from "./shim-protocol";
import type { RunInfo, Settings } from "../record/model";
import { FrameDecoder, encodeFrame, type DecodedFrame } from "./wire";
import { SOCKET_FILE, createPrivateDir, removeStaleDirs } from "./private-dir";
import { endLeftovers } from "./leftovers";

/**
 * After the master exits, how long its output pipes are still read. The app's own processes
 * inherit them and may hold them open long after (a `sleep 30`): what the master wrote is in
 * by then, and Node must not wait for the pipes to close before it can exit.
 */
const PIPE_DRAIN_MS = 200;

export interface LaunchOptions {
  python: string;
  /** Directory holding the balloon_shim package. */
  shimDir: string;
  config: ShimConfig;
}

/** What every shim process is told (serverPort is set once the HTTP port is known). */
export function shimConfig(run: RunInfo, settings: Settings): ShimConfig {
  return {
    target: run.target,
    framework: run.framework as ShimConfig["framework"],
    cwd: run.cwd,
    threads: settings.threads,
    stackKiB: settings.stackKiB,
    preload: settings.preload,
    accounting: settings.accounting,
    pssIntervalSec: settings.pssIntervalSec,
    serverHost: "127.0.0.1",
    serverPort: 0,
  };
}

export interface LauncherEvents {
  /** A worker connected and loaded the app; frames after the Hello are in `leftover`. */
  workerHello(hello: HelloMessage, socket: Socket, leftover: Buffer | null): void;
  masterReady(hello: HelloMessage): void;
  forked(message: ForkedMessage): void;
  /** A worker exited (the master reaped it). */
  workerExit(pid: number, exitCode: number | null, signal: number | null): void;
  /** The master exited. */
  masterExit(pid: number, exitCode: number | null, signal: string | null): void;
  fatal(message: FatalMessage): void;
  /** A line a Python process wrote to stderr or sent as a Log frame. */
  output(source: string, message: LogMessage): void;
}

/** The whole frames in a chunk; a garbled stream closes the socket (its process is then lost, as if it had died). */
function framesOrDestroy(decoder: FrameDecoder, socket: Socket, chunk: Buffer): DecodedFrame[] {
  try {
    return decoder.push(chunk);
  } catch {
    socket.destroy();
    return [];
  }
}

/** Identifies the process on the other end of a new connection from its first frame. */
function greet(socket: Socket, onFirst: (type: number, payload: Buffer, leftover: Buffer | null) => void): void {
  const decoder = new FrameDecoder();
  const onData = (chunk: Buffer): void => {
    const frames = framesOrDestroy(decoder, socket, chunk);
    if (frames.length === 0) return;
    socket.off("data", onData);
    socket.pause();
    const [first, ...rest] = frames;
    // Re-encode frames that came with the greeting so the next reader sees a clean stream.
    const leftover = rest.length > 0 ? Buffer.concat(rest.map((f) => encodeFrame(f.type, f.payload))) : null;
    onFirst(first.type, first.payload, leftover);
    socket.resume();
  };
  socket.on("data", onData);
  socket.on("error", () => undefined);
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

export class Launcher {
  readonly socketDir: string;
  readonly socketPath: string;
  private server: Server | null = null;
  private master: ChildProcess | null = null;
  private masterSocket: Socket | null = null;
  /** Workers the master forked and has not reported gone: their process groups. */
  private readonly forkedPids = new Set<number>();

  constructor(private readonly options: LaunchOptions, private readonly events: LauncherEvents) {
    // A supervisor killed with SIGKILL leaves its directory behind; the next one clears it.
    removeStaleDirs(tmpdir());
    this.socketDir = createPrivateDir(tmpdir());
    this.socketPath = join(this.socketDir, SOCKET_FILE);
  }

  /** SERVER_PORT for the apps' environ; set before the first spawn. */
  set serverPort(port: number) {
    this.options.config.serverPort = port;
  }

  async listen(): Promise<void> {
    this.server = createServer((socket) => greet(socket, (type, payload, leftover) => this.onGreeting(socket, type, payload, leftover)));
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(this.socketPath, () => resolve());
    });
  }

  private onGreeting(socket: Socket, type: number, payload: Buffer, leftover: Buffer | null): void {
    const message = parseJson(payload);
    if (message === undefined) {
      socket.destroy(); // not one of ours, or garbled: it gets no say
      return;
    }
    if (type === Frame.Hello) {
      this.events.workerHello(message as HelloMessage, socket, leftover);
    } else if (type === Frame.MasterReady) {
      this.masterSocket = socket;
      this.watchMaster(socket, leftover);
      this.events.masterReady(message as HelloMessage);
    } else if (type === Frame.Fatal) {
      this.events.fatal(message as FatalMessage);
      socket.end();
    } else {
      socket.destroy();
    }
  }

  private watchMaster(socket: Socket, leftover: Buffer | null): void {
    const decoder = new FrameDecoder();
    const onData = (chunk: Buffer): void => {
      for (const frame of framesOrDestroy(decoder, socket, chunk)) {
        const message = parseJson(frame.payload);
        if (message === undefined) continue;
        if (frame.type === Frame.Forked) {
          const forked = message as ForkedMessage;
          this.forkedPids.add(forked.pid);
          this.events.forked(forked);
        } else if (frame.type === Frame.ChildExit) {
          const exit = message as ChildExitMessage;
          this.forkedPids.delete(exit.pid);
          this.events.workerExit(exit.pid, exit.exitCode, exit.signal);
        } else if (frame.type === Frame.Log) this.events.output("master", message as LogMessage);
      }
    };
    socket.on("data", onData);
    socket.on("close", () => {
      if (this.masterSocket === socket) this.masterSocket = null;
    });
    if (leftover) onData(leftover);
  }

  private spawnMaster(): ChildProcess {
    const { python, shimDir, config } = this.options;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PYTHONPATH: [shimDir, process.env.PYTHONPATH].filter(Boolean).join(":"),
      PYTHONUNBUFFERED: "1",
      [ShimEnv.socket]: this.socketPath,
      [ShimEnv.config]: JSON.stringify(config),
    };
    // Own process group: Ctrl-C in a terminal signals the whole foreground group, and a worker
    // hit by it dies mid-request (KeyboardInterrupt) instead of finishing during the graceful
    // stop. PR_SET_PDEATHSIG in the shim still ties the process to us.
    const child = spawn(python, ["-m", "balloon_shim", "master"], { cwd: config.cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const source = "python";
    const forward = (stream: Readable | null, level: LogMessage["level"]): void => {
      // A pipe chunk may end mid-line (a traceback's "^^^^" marker got split in two log
      // lines): hold the tail until its newline, or the end of the stream.
      let partial = "";
      const emit = (line: string): void => {
        if (line.trim()) this.events.output(source, { level, message: line });
      };
      stream?.setEncoding("utf8");
      stream?.on("data", (text: string) => {
        const lines = (partial + text).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) emit(line);
      });
      stream?.on("close", () => emit(partial)); // at the end, or when destroyed after PIPE_DRAIN_MS
    };
    forward(child.stdout, "info");
    forward(child.stderr, "warning");
    child.on("error", (error) => {
      // No Python at that path: as final as an import error, and said the same way.
      this.events.fatal({ stage: "boot", workerId: 0, pid: 0, message: `cannot start ${python}: ${error.message}`, traceback: "" });
    });
    return child;
  }

  startMaster(): void {
    const child = this.spawnMaster();
    this.master = child;
    const pid = child.pid ?? 0;
    child.on("exit", (code, signal) => {
      if (this.master === child) this.master = null;
      // A master that ended normally took the app's processes with it; a killed one did not.
      endLeftovers(this.forkedPids, this.socketPath);
      this.forkedPids.clear();
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, PIPE_DRAIN_MS);
      this.events.masterExit(pid, code, signal);
    });
    if (!pid) child.once("error", () => this.events.masterExit(0, null, null));
  }

  get masterAlive(): boolean {
    return this.master !== null && this.master.exitCode === null && this.master.signalCode === null;
  }

  get masterPid(): number {
    return this.master?.pid ?? 0;
  }

  get masterConnected(): boolean {
    return this.masterSocket !== null;
  }

  /** Asks the master to fork a worker, or the deep-dive worker (false while no master is connected). */
  fork(workerId: number, deep?: DeepWorkerConfig): boolean {
    if (!this.masterSocket) return false;
    const message: ForkMessage = deep ? { workerId, deep } : { workerId };
    this.masterSocket.write(encodeFrame(Frame.Fork, JSON.stringify(message)));
    return true;
  }

  stopMaster(): void {
    if (this.masterSocket) this.masterSocket.write(encodeFrame(Frame.Stop, JSON.stringify({ reason: "shutdown" })));
    // Not ready yet: importing the app (--preload) or starting, with no worker to wait for.
    // SIGTERM ends it (before its loop runs, by default; after, as its PDEATHSIG does).
    else this.master?.kill("SIGTERM");
  }

  /** The master, while it runs (the one process Node itself started). */
  get ownProcesses(): ChildProcess[] {
    return this.masterAlive && this.master ? [this.master] : [];
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.socketDir, { recursive: true, force: true });
  }
}
