// At most one flush per interval: the server tells the client about a busy run in batches
// (timeline 4×/s, report every 2 s) however many lines arrive. The clock is injected (tests).

export interface TimerClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: TimerClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class Throttle {
  private last = Number.NEGATIVE_INFINITY;
  private timer: unknown = null;

  constructor(private readonly intervalMs: number, private readonly flush: () => void, private readonly clock: TimerClock = systemClock) {}

  /** Something changed: flush once the interval since the last flush is up (lines of one tick go together). */
  poke(): void {
    if (this.timer !== null) return;
    const wait = Math.max(0, this.last + this.intervalMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => this.run(), wait);
  }

  /** Flush now, whatever the interval (the run stopped: the last figures go out at once). */
  flushNow(): void {
    this.cancel();
    this.run();
  }

  cancel(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private run(): void {
    this.timer = null;
    this.last = this.clock.now();
    this.flush();
  }
}
