// The supervisor's worker connections by id and by pid.
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
    for (const worker of this.byId.values()) if (worker.pid === pid) return worker;
    return undefined;
  }

  /** A copy: callers may remove workers while they walk it. */
  all(): Worker[] {
    return [...this.byId.values()];
  }

  /** Pids of the processes that exist (a worker not forked yet has pid 0). */
  pids(): number[] {
    const pids: number[] = [];
    for (const worker of this.byId.values()) if (worker.pid > 0) pids.push(worker.pid);
    return pids;
  }
}
