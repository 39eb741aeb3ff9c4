// `balloon run`: serve the app until Ctrl-C, with a live per-route table on a terminal.
import { formatRouteTable, formatSummary } from "../report/text";
import { KEEP_LINES, Session, importHint, planSession, type AppOptions } from "../session";

const LIVE_TABLE_EVERY_MS = 2000;

export async function runCommand(options: AppOptions, shimDir: string): Promise<void> {
  const plan = planSession(options);
  let requestsSeen = 0;
  let hinted = false;
  const session = new Session(plan, shimDir, {
    keepLines: KEEP_LINES.run,
    bootFailed: (fatal) => {
      const hint = hinted ? null : importHint(plan, fatal);
      if (hint === null) return;
      hinted = true; // the pool retries the boot: say it once
      process.stderr.write(`[balloon] ${hint}\n`);
    },
    line: (line) => {
      if (line.type === "request") requestsSeen += 1;
    },
  });
  const port = await session.supervisor.start();
  const workers = plan.settings.workers ?? `${plan.settings.minSpare}-${plan.settings.maxWorkers}`;
  process.stderr.write(`[balloon] ${plan.run.target} with ${plan.run.python} (${plan.pythonWhy}), ${workers} worker(s); Ctrl-C stops\n`);
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);

  const live = process.stdout.isTTY;
  let shown = 0;
  const timer = setInterval(() => {
    if (!live || requestsSeen === shown) return;
    shown = requestsSeen;
    const table = formatRouteTable(session.report(), { color: true, width: process.stdout.columns });
    process.stdout.write(`\u001b[2J\u001b[H listening on http://127.0.0.1:${port} — ${requestsSeen} requests\n${table}\n`);
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
      clearInterval(timer);
      void session.stop(`${signal}`).then(resolve);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  const report = session.report();
  process.stdout.write(`${formatRouteTable(report, { color: live, width: process.stdout.columns })}\n${formatSummary(report, { color: live })}\n`);
  if (plan.recordPath) process.stdout.write(`recording written to ${plan.recordPath}\n`);
}
