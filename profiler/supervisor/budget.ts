// Which worker the memory budget retires, if any (pure; the arbiter applies the answer).
//
// Retiring a worker frees what it holds above a fresh worker's RSS (its replacement starts
// at the baseline), so a worker at the baseline can never help: recycling the idle 14 MiB
// worker while another request holds 3 GiB only thrashes (seen: 83 recycles in 20 s, every
// other request 7x slower). Rules:
// - over the budget, pick the fewest workers whose excess over the baseline covers the
//   overshoot, biggest first; the first of them goes now when idle, or right after its
//   request when busy (its response is sent first);
// - when even all of them together cannot bring the total under the budget, retire
//   nobody and say so (a budget below workers × baseline is refused at start);
// - one budget retirement at a time, and at most one per BUDGET_RETIRE_INTERVAL_MS.

export interface BudgetWorker {
  id: number;
  rssKiB: number;
  idle: boolean;
  /** On its way out, starting, or already chosen: counts toward the total, is not a candidate. */
  retiring: boolean;
}

export type BudgetPlan =
  | { kind: "none" }
  /** Over budget, but a retirement is under way or the last one was too recent. */
  | { kind: "wait" }
  | { kind: "retire-now"; worker: number; detail: string }
  | { kind: "retire-after-request"; worker: number; detail: string }
  | { kind: "unreachable"; detail: string };

/**
 * A worker is replaced in 60–400 ms (spawn to ready: hello app 60 ms, Django 300–400 ms on
 * the development machine), so one second between budget retirements lets each replacement
 * come up and the total be read again before the next decision.
 */
export const BUDGET_RETIRE_INTERVAL_MS = 1000;

/** Less than this above the baseline is allocator noise, not something a recycle gives back. */
const MIN_RECLAIM_KIB = 1024;

const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
/** The budget as the user gave it ("80 MiB", not "80.0 MiB"). */
const budgetWords = (kib: number): string => `--memory-budget ${Number((kib / 1024).toFixed(1))} MiB`;

export function planBudget(workers: readonly BudgetWorker[], budgetKiB: number, baselineKiB: number, sinceLastRetireMs: number): BudgetPlan {
  const total = workers.reduce((sum, worker) => sum + worker.rssKiB, 0);
  if (budgetKiB <= 0 || total <= budgetKiB) return { kind: "none" };
  const overshoot = total - budgetKiB;
  const candidates = workers
    .filter((worker) => !worker.retiring && worker.rssKiB - baselineKiB >= MIN_RECLAIM_KIB)
    .sort((a, b) => b.rssKiB - a.rssKiB || Number(b.idle) - Number(a.idle));
  let reclaimable = 0;
  const chosen: BudgetWorker[] = [];
  for (const worker of candidates) {
    if (reclaimable >= overshoot) break;
    chosen.push(worker);
    reclaimable += worker.rssKiB - baselineKiB;
  }
  if (workers.some((worker) => worker.retiring) || sinceLastRetireMs < BUDGET_RETIRE_INTERVAL_MS) return { kind: "wait" };
  if (reclaimable < overshoot) return unreachable(total, budgetKiB, baselineKiB, workers);
  // Among the chosen, an idle one goes first: it leaves now, without waiting for a request.
  const victim = chosen.find((worker) => worker.idle) ?? chosen[0];
  const detail =
    `workers hold ${mib(total)}, ${mib(overshoot)} over ${budgetWords(budgetKiB)}; ` +
    `worker ${victim.id} holds ${mib(victim.rssKiB)}, ${mib(victim.rssKiB - baselineKiB)} above a fresh worker's ${mib(baselineKiB)}` +
    (chosen.length > 1 ? ` (1 of ${chosen.length} recycles needed)` : "");
  return victim.idle ? { kind: "retire-now", worker: victim.id, detail } : { kind: "retire-after-request", worker: victim.id, detail };
}

function unreachable(total: number, budgetKiB: number, baselineKiB: number, workers: readonly BudgetWorker[]): BudgetPlan {
  return {
    kind: "unreachable",
    detail:
      `workers hold ${mib(total)}, over ${budgetWords(budgetKiB)}, and recycling cannot bring them under it: ` +
      `${workers.length} worker${workers.length === 1 ? "" : "s"} at a ${mib(baselineKiB)} baseline need ${mib(workers.length * baselineKiB)} ` +
      `plus what their requests hold; no worker was recycled for the budget (raise it, or run fewer workers)`,
  };
}

/** Why `budgetMiB` cannot hold `idleWorkers` idle workers of `baselineKiB` each, or null when it can. */
export function budgetRefusal(budgetMiB: number, idleWorkers: number, baselineKiB: number): string | null {
  const needMiB = (idleWorkers * baselineKiB) / 1024;
  if (budgetMiB >= needMiB) return null;
  const base = (baselineKiB / 1024).toFixed(1);
  return `--memory-budget ${budgetMiB} MiB cannot hold ${idleWorkers} idle worker${idleWorkers === 1 ? "" : "s"}: each starts at ${base} MiB ` +
    `(${idleWorkers} × ${base} = ${needMiB.toFixed(1)} MiB). Give at least ${Math.ceil(needMiB * 1.25)} MiB (room for requests) or run fewer workers.`;
}
