// The app's processes that outlive the Python master. The master ends them with their worker
// (app_processes.py), and when the supervisor dies the master takes them down (its PDEATHSIG
// is SIGTERM). Only a master that is itself killed (OOM killer, SIGKILL) leaves them: its
// workers die of PDEATHSIG and their children go to init, holding our output pipes. Then the
// supervisor ends them: each worker's process group, and every process that still carries
// this run's socket path in its environment (one that left its group, e.g. with setsid).
import { readdirSync, readFileSync } from "node:fs";
import { ShimEnv } from "./shim-protocol";

export interface LeftoverDeps {
  kill(pid: number, signal: NodeJS.Signals): void;
  /** Live pids, from /proc. */
  pids(): number[];
  /** The NUL-separated environment of a process, or null when it cannot be read. */
  environ(pid: number): string | null;
}

const linuxDeps: LeftoverDeps = {
  kill: (pid, signal) => process.kill(pid, signal),
  pids: () => {
    try {
      return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
    } catch {
      return [];
    }
  },
  environ: (pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, "latin1");
    } catch {
      return null; // gone, or not ours to read
    }
  },
};

/** SIGKILLs what the app left of a master's workers; returns the pids found by environment. */
export function endLeftovers(workerPids: Iterable<number>, socketPath: string, deps: LeftoverDeps = linuxDeps): number[] {
  const quietly = (pid: number): void => {
    try {
      deps.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  };
  for (const pid of workerPids) quietly(-pid);
  const marker = `${ShimEnv.socket}=${socketPath}`;
  const found = deps.pids().filter((pid) => pid !== process.pid && (deps.environ(pid)?.split("\0").includes(marker) ?? false));
  for (const pid of found) quietly(pid);
  return found;
}
