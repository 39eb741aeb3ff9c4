// Builds recordings for the unit tests: workers whose RSS moves by the figures each call gives,
// so a test states behaviour in MiB ("peak 50, retained 1") rather than raw KiB lines.
const KIB_PER_MIB = 1024;

export const SETTINGS = {
  workers: 2, minSpare: null, maxSpare: null, maxWorkers: 2, threads: 1, maxRequests: 0, maxRequestsJitter: 0,
  reloadOnRssMiB: 0, memoryBudgetMiB: 0, timeoutSec: 30, bootTimeoutSec: 60, stackKiB: 0, preload: false, accounting: true,
  queueSize: 64, maxBodyMiB: 10, headerTimeoutSec: 10, pssIntervalSec: 1,
};

export class Simulation {
  /** @param {Record<number, number>} baselinesMiB worker id → RSS at ready, MiB */
  constructor(baselinesMiB, { t0 = 1_700_000_000_000 } = {}) {
    this.t = t0;
    this.lines = [
      { type: "start", version: 1, t: this.t, run: { target: "app:app", cwd: "/srv/app", python: "/usr/bin/python3", framework: "auto" }, settings: SETTINGS },
      { type: "app", t: this.t, app: { target: "app:app", framework: "flask", pythonVersion: "3.12.1", pythonExecutable: "/usr/bin/python3", frameworkVersion: "3.0.0" } },
    ];
    this.workers = new Map();
    for (const [id, rssMiB] of Object.entries(baselinesMiB)) this.spawn(Number(id), rssMiB);
  }

  spawn(id, rssMiB, pid = 1000 + id) {
    this.workers.set(id, { pid, seq: 0, rssKiB: Math.round(rssMiB * KIB_PER_MIB) });
    this.lines.push({ type: "worker", t: this.tick(), event: "spawn", worker: id, pid: 0 });
    this.lines.push({ type: "worker", t: this.tick(), event: "ready", worker: id, pid, rssKiB: Math.round(rssMiB * KIB_PER_MIB) });
  }

  tick(ms = 10) {
    this.t += ms;
    return this.t;
  }

  /**
   * One request. peak: MiB above RSS before (at least retained); retained: MiB RSS after minus before.
   * accounting: false leaves the memory figures out. concurrent > 1: the call overlapped others
   * (threads); `reads` then gives the shared figures it reports ({ peak, retained }), while the
   * worker's RSS still moves by its own `retained`.
   */
  call(worker, route, { peak = 0.2, retained = 0, method = "GET", outcome = "ok", durationMs = 5, accounting = true, handler, concurrent = 1, reads, path, query } = {}) {
    const state = this.workers.get(worker);
    state.seq += 1;
    const before = state.rssKiB;
    const after = before + Math.round(retained * KIB_PER_MIB);
    const line = {
      type: "request", t: this.tick(), worker, pid: state.pid, seq: state.seq, method, path: path ?? route, route,
      handler: handler === undefined ? { qualname: `views.${route.replace(/\W/g, "") || "index"}`, file: "views.py", line: 10 } : handler,
      status: outcome === "ok" ? 200 : 500, outcome, durationMs, concurrent,
    };
    if (query !== undefined) line.query = query;
    if (accounting) {
      const shown = reads ?? { peak, retained };
      line.rssBeforeKiB = before;
      line.peakKiB = before + Math.round(Math.max(shown.peak ?? peak, shown.retained ?? retained) * KIB_PER_MIB);
      line.rssAfterKiB = before + Math.round((shown.retained ?? retained) * KIB_PER_MIB);
    }
    state.rssKiB = after;
    this.lines.push(line);
    return this;
  }

  /** Calls a route n times in a worker; figures may be a function of the call index. */
  repeat(worker, route, n, figures) {
    for (let i = 0; i < n; i++) this.call(worker, route, typeof figures === "function" ? figures(i) : figures);
    return this;
  }

  /** The marker `balloon profile` writes before its adaptive calls. */
  adaptive(routes, budget = 100) {
    this.lines.push({ type: "phase", t: this.tick(), phase: "adaptive", routes, budget });
    return this;
  }

  end(worker, event, reason, detail) {
    const state = this.workers.get(worker);
    this.lines.push({ type: "worker", t: this.tick(), event, worker, pid: state.pid, reason, detail, rssKiB: state.rssKiB });
    return this;
  }
}

/** Deterministic noise in [-amplitude, +amplitude] (a tiny LCG: tests must not flake). */
export function noise(seed, amplitude) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32) * 2 * amplitude - amplitude;
  };
}
