// Per-worker memory and CPU timeline (pidusage reads /proc/PID/stat on Linux), ~4 Hz.
import pidusage from "pidusage";

export interface ProcessSample {
  pid: number;
  rssKiB: number;
  /** Percent of one core since the previous sample. */
  cpu: number;
}

/** Reads several pids at once; processes that vanished are left out. Injected in tests. */
export type ProcessReader = (pids: number[]) => Promise<ProcessSample[]>;

export const readWithPidusage: ProcessReader = async (pids) => {
  if (pids.length === 0) return [];
  const samples: ProcessSample[] = [];
  // One call per pid: a pid that exits between listing and reading must not sink the rest.
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const stat = await pidusage(pid);
        samples.push({ pid, rssKiB: Math.round(stat.memory / 1024), cpu: Math.round(stat.cpu * 10) / 10 });
      } catch {
        // gone: its exit is reported elsewhere
      }
    }),
  );
  return samples;
};

export class Sampler {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly intervalMs: number,
    private readonly pids: () => number[],
    private readonly onSamples: (samples: ProcessSample[]) => void,
    private readonly read: ProcessReader = readWithPidusage,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.busy) return; // a slow /proc read must not pile up ticks
    this.busy = true;
    try {
      const samples = await this.read(this.pids());
      if (this.timer) this.onSamples(samples);
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    pidusage.clear();
  }
}
