// The supervisor's workers by id, and the questions it asks of them all.
import type { PoolView } from "./pool";
import type { Worker } from "./worker";

export class WorkerTable {
  private readonly byId = new Map<number, Worker>();

  get size(): number {
    return this.byId.size;
  }

  add(worker: Worker): void {
    this.byId.set(worker.id, worker);
  }

  remove(worker: Worker): void {
    this.byId.delete(worker.id);
  }

  get(id: number): Worker | undefined {
    return this.byId.get(id);
  }

  withPid(pid: number): Worker | undefined {
    return this.all().find((worker) => worker.pid === pid);
  }

  /** A copy: callers may remove workers while they walk it. */
  all(): Worker[] {
    return [...this.byId.values()];
  }

  /** Pids of the processes that exist (a worker not forked yet has pid 0). */
  pids(): number[] {
    return this.all().filter((worker) => worker.pid > 0 && worker.live).map((worker) => worker.pid);
  }

  /** Workers taking requests. */
  get ready(): number {
    return this.all().filter((worker) => worker.state === "idle" || worker.state === "busy").length;
  }

  /** The least loaded worker with a free thread; among equals, the one idle longest (work spreads evenly). */
  free(threads: number): Worker | null {
    let best: Worker | null = null;
    for (const worker of this.byId.values()) {
      if (worker.state !== "idle" && worker.state !== "busy") continue;
      if (worker.inflight.size >= threads) continue;
      const better = !best || worker.inflight.size < best.inflight.size ||
        (worker.inflight.size === best.inflight.size && worker.idleSince < best.idleSince);
      if (better) best = worker;
    }
    return best;
  }

  poolView(queued: number): PoolView {
    const view = { starting: 0, idle: 0, busy: 0, queued };
    for (const worker of this.byId.values()) {
      if (worker.state === "starting") view.starting += 1;
      else if (worker.state === "idle") view.idle += 1;
      else if (worker.state === "busy") view.busy += 1;
    }
    return view;
  }

  get anyInflight(): boolean {
    return this.all().some((worker) => worker.inflight.size > 0);
  }
}
