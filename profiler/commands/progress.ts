// Progress while `balloon profile` sends traffic: on a terminal a bar (cli-progress) with
// requests done, errors and the workers' RSS now; otherwise a plain line now and then, so a
// CI log shows the run moving without a line per request.
import { SingleBar } from "cli-progress";

/** Without a terminal: a line at most this often, and at the end. */
const PLAIN_EVERY_MS = 5000;

export class TrafficProgress {
  private bar: SingleBar | null = null;
  private done = 0;
  private errors = 0;
  private lastPlainAt = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly rssMiB: () => number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    if (stream.isTTY) {
      this.bar = new SingleBar({
        format: `[balloon] ${label} {bar} {value}/{total} requests | {errors} errors | workers {rss} MiB`,
        stream,
        hideCursor: true,
        clearOnComplete: false,
        barsize: 24,
        etaBuffer: 50,
      });
      this.bar.start(total, 0, { errors: 0, rss: this.rssText() });
    }
    this.lastPlainAt = now();
  }

  private rssText(): string {
    return this.rssMiB().toFixed(1);
  }

  /** One response (status 0: none came). 2xx/3xx are fine; anything else counts as an error. */
  tick(status: number): void {
    this.done += 1;
    if (status === 0 || status >= 400) this.errors += 1;
    if (this.bar) {
      this.bar.update(this.done, { errors: this.errors, rss: this.rssText() });
      return;
    }
    const now = this.now();
    if (now - this.lastPlainAt >= PLAIN_EVERY_MS) {
      this.lastPlainAt = now;
      this.stream.write(`[balloon] ${this.label}: ${this.done}/${this.total} requests, ${this.errors} errors, workers ${this.rssText()} MiB\n`);
    }
  }

  stop(): void {
    if (this.bar) this.bar.stop();
    else this.stream.write(`[balloon] ${this.label}: ${this.done}/${this.total} requests, ${this.errors} errors, workers ${this.rssText()} MiB\n`);
  }
}
