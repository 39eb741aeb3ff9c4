// How a worker process ended: the cause the supervisor keeps until the arbiter says why it
// left, and human words for it.
import { constants } from "node:os";
import { ExitCode } from "./shim-protocol";

export interface ExitCause {
  words: string;
  exitCode: number | null;
  signal: number | string | null;
  /** It died with its master (PDEATHSIG), or was never forked by it. */
  withMaster: boolean;
}

/** SIGKILL, if the process is still there. */
export function killPid(pid: number): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

const signalNames = new Map<number, string>(
  Object.entries(constants.signals).map(([name, number]) => [number, name]),
);

export function signalName(signal: number | string | null): string | null {
  if (signal === null) return null;
  if (typeof signal === "string") return signal;
  return signalNames.get(signal) ?? `signal ${signal}`;
}

export function signalNumber(signal: string | null): number | null {
  if (signal === null) return null;
  const number = (constants.signals as Record<string, number>)[signal];
  return number ?? null;
}

/** "killed by signal 9 (SIGKILL) — out of memory?", "exited with code 1", … */
export function describeExit(exitCode: number | null, signal: number | string | null): string {
  if (signal !== null) {
    const name = signalName(signal);
    const number = typeof signal === "number" ? signal : signalNumber(signal);
    const words = `killed by signal ${number ?? "?"} (${name})`;
    // The kernel's OOM killer sends SIGKILL; nobody else in this setup does unasked.
    if (name === "SIGKILL") return `${words} — out of memory?`;
    if (name === "SIGSEGV" || name === "SIGBUS") return `${words} — crashed in native code`;
    return words;
  }
  if (exitCode === ExitCode.AppLoadError) return "exited: the app failed to load";
  if (exitCode === ExitCode.WorkerBootError) return "exited: the worker failed to boot";
  if (exitCode === ExitCode.SupervisorGone) return "exited: lost its connection to the supervisor";
  if (exitCode === ExitCode.AppExit) return "exited: the app called sys.exit() during a request (see the log line naming it)";
  if (exitCode === 0) return "exited normally";
  return `exited with code ${exitCode ?? "?"}`;
}
