// `balloon run`: serve the app until Ctrl-C, with a live per-route table on a terminal.
import { escapeControl } from "../report/escape";
import { formatRouteTable, formatSummary } from "../report/text";
import { Session, importHint, planSession, type AppOptions } from "../session";
import { RunFailure } from "./failure";

const LIVE_TABLE_EVERY_MS = 2000;

export async function runCommand(options: AppOptions, shimDir: string): Promise<void> {
  const plan = planSession(options);
  let refusal: string | null = null;
  let stopFor: (why: string) => void = () => undefined;
  let hinted = false;
  const session = new Session(plan, shimDir, {
    bootFailed: (fatal) => {
      const hint = hinted ? null : importHint(plan, fatal);
      if (hint === null) return;
      hinted = true; // the pool retries the boot: say it once
      process.stderr.write(`[balloon] ${escapeControl(hint)}\n`);
    },
    refused: (message) => {
      refusal = message;
      stopFor("settings refused");
    },
  });
  const port = await session.supervisor.start();
  const workers = plan.settings.workers ?? `${plan.settings.minSpare}-${plan.settings.maxWorkers}`;
  process.stderr.write(`[balloon] ${escapeControl(`${plan.run.target} with ${plan.run.python} (${plan.pythonWhy})`)}, ${workers} worker(s); Ctrl-C stops\n`);
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);

  const live = process.stdout.isTTY;
  let shown = 0;
  const timer = setInterval(() => {
    const requests = session.analyzer.requests;
    if (!live || requests === shown) return;
    shown = requests;
    const table = formatRouteTable(session.report(), { color: true, width: process.stdout.columns });
    process.stdout.write(`\u001b[2J\u001b[H listening on http://127.0.0.1:${port} — ${requests} requests\n${table}\n`);
  }, LIVE_TABLE_EVERY_MS);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`[balloon] ${signal} again: killing the workers\n`);
        session.supervisor.killAll();
        return;
      }
      stopping = true;
      process.stderr.write(`\n[balloon] ${signal}: stopping (in-flight requests finish first)\n`);
      stopFor(signal);
    };
    stopFor = (why) => {
      stopFor = () => undefined;
      stopping = true;
      clearInterval(timer);
      void session.stop(why).then(resolve);
    };
    if (refusal !== null) stopFor("settings refused"); // refused before this point
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  if (refusal !== null) throw new RunFailure(refusal);
  const report = session.report();
  process.stdout.write(`${formatRouteTable(report, { color: live, width: process.stdout.columns })}\n${formatSummary(report, { color: live })}\n`);
  if (plan.recordPath) process.stdout.write(`recording written to ${escapeControl(plan.recordPath)}\n`);
}
