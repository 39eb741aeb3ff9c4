// --boot-timeout as a pure state machine: which process has been importing the app too long,
// said once each, and what requests are told while no worker is ready. Nothing is killed: a
// slow import may still finish (a heavy app on a cold disk); a hung one (a database or network
// call at import time) is named with its pid instead of leaving the run "starting" for ever.
// The supervisor feeds it the facts (what is importing since when); no clock, no I/O here.

export interface Importing {
  /** "master", "worker N", or "pool" (no process importing, none ever ready: every attempt failed). */
  key: string;
  /** "worker 2 (pid 123) is still importing it" */
  what: string;
  /** When it started importing (ms). */
  since: number;
}

/** What is importing the app now, as the supervisor sees it. */
export interface ImportFacts {
  /** The --preload master's pid while it imports, else null. */
  preloadMaster: number | null;
  /** Workers forked and not ready yet. */
  starting: Array<{ id: number; pid: number }>;
  readyWorkers: number;
}

export class BootWatch {
  private startedAt = 0;
  private everReady = false;
  private masterStartedAt = 0;
  /** When each worker was forked (its import starts then), by worker id. */
  private readonly forkedAt = new Map<number, number>();
  private readonly reported = new Set<string>();
  /** Past the limit at the last look, longest importing first: what 503s name while no worker is ready. */
  private late: Importing[] = [];

  constructor(private readonly limitSec: number) {}

  started(now: number): void {
    this.startedAt = now;
  }

  masterStarted(now: number): void {
    this.masterStartedAt = now;
  }

  forked(workerId: number, now: number): void {
    this.forkedAt.set(workerId, now);
  }

  /** The processes past the limit not reported yet, in words, and what requests are told meanwhile. */
  check(now: number, facts: ImportFacts): { stalls: string[]; unavailable: string | null } {
    const importing: Importing[] = [];
    if (facts.preloadMaster !== null) {
      importing.push({ key: "master", what: `the master (pid ${facts.preloadMaster}) is still importing it (--preload)`, since: this.masterStartedAt });
    }
    for (const { id, pid } of facts.starting) {
      const since = this.forkedAt.get(id);
      if (since !== undefined) importing.push({ key: `worker ${id}`, what: `worker ${id} (pid ${pid}) is still importing it`, since });
    }
    const stalls = this.overdue(now, importing, facts.readyWorkers).map((stall) => this.words(stall, now));
    return { stalls, unavailable: this.unavailable(now, facts.readyWorkers) };
  }

  /** A worker is ready: nothing holds requests up any more. */
  ready(): void {
    this.everReady = true;
    this.late = [];
  }

  /** The process `key` ("master", "worker N") is gone; one started in its place may be reported again. */
  gone(key: string): void {
    if (key.startsWith("worker ")) this.forkedAt.delete(Number(key.slice("worker ".length)));
    this.late = this.late.filter((process) => process.key !== key);
    this.reported.delete(key);
  }

  /** Of the processes importing now, those past the limit not reported yet (and a pool where every attempt failed). */
  overdue(now: number, importing: readonly Importing[], readyWorkers: number): Importing[] {
    const limitMs = this.limitSec * 1000;
    if (limitMs <= 0) return [];
    const late = importing.filter((process) => now - process.since > limitMs);
    // Every attempt failed: nothing imports between attempts; once said, it holds until a worker is ready.
    const attemptsFailed = importing.length === 0 || this.reported.has("pool");
    if (attemptsFailed && readyWorkers === 0 && !this.everReady && now - this.startedAt > limitMs) {
      late.push({ key: "pool", what: "every attempt failed (see the log above)", since: this.startedAt });
    }
    // A process stuck now says more than "every attempt failed": it goes first.
    this.late = late.sort((a, b) => Number(a.key === "pool") - Number(b.key === "pool") || a.since - b.since);
    const fresh = late.filter((process) => !this.reported.has(process.key));
    for (const process of fresh) this.reported.add(process.key);
    return fresh;
  }

  /** What a request is told while no worker is ready and a process is past the limit, else null. */
  unavailable(now: number, readyWorkers: number): string | null {
    return readyWorkers === 0 && this.late.length > 0 ? this.words(this.late[0], now) : null;
  }

  words(stall: Importing, now: number): string {
    const seconds = Math.round((now - stall.since) / 1000);
    const words = stall.key === "pool" ? `no worker is ready after ${seconds} s: ${stall.what}` : `the app is still loading after ${seconds} s: ${stall.what}`;
    return `${words} (--boot-timeout ${this.limitSec} s)`;
  }
}
