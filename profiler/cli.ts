// `balloon` command line: argument parsing only; the commands live in commands/.
import { Command, CommanderError, Option } from "commander";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_MAX_EXTRA } from "./analysis/adaptive";
import { DEFAULT_DEEP_CALLS, DEFAULT_DEEP_FRAMES } from "./analysis/deep";
import { profileCommand } from "./commands/profile";
import { checkCommand } from "./commands/check";
import { lspCommand } from "./commands/lsp";
import { recommendCommand } from "./commands/recommend";
import { reportCommand } from "./commands/report";
import { runCommand } from "./commands/run";
import { OptionError, collect } from "./options";
import { escapeControlInLines } from "./report/escape";

/** The Python shim ships next to the bundle (dist/shim) or sits in the source tree. */
function shimDir(): string {
  const candidates = [join(__dirname, "shim"), join(__dirname, "..", "profiler", "shim"), join(__dirname, "..", "..", "profiler", "shim")];
  return candidates.find((dir) => existsSync(join(dir, "balloon_shim", "__main__.py"))) ?? candidates[0];
}

function appOptions(command: Command): Command {
  return command
    .option("--app <target>", "module:callable, or a Django project directory (holding manage.py)")
    .option("--cwd <dir>", "the app's directory (put on sys.path)", ".")
    .option("--python <path>", "interpreter (default: $VIRTUAL_ENV, ./.venv, ./venv, a python3 that imports the framework, /usr/bin/python3)")
    .option("--framework <name>", "auto | wsgi | django | flask | pyramid", "auto")
    .option("--settings <file>", "pool settings from a recommendation (balloon recommend --format json); options given here win")
    .option("--workers <n>", "fixed pool size (default 2)")
    .option("--min-spare <n>", "dynamic pool: keep at least this many idle workers")
    .option("--max-spare <n>", "dynamic pool: retire idle workers above this many")
    .option("--max-workers <n>", "dynamic pool: never more workers than this")
    .option("--threads <n>", "threads per worker (default 1)")
    .option("--max-requests <n>", "recycle a worker after this many requests (0: never)")
    .option("--max-requests-jitter <n>", "add 0..N to each worker's --max-requests")
    .option("--reload-on-rss <MiB>", "recycle a worker after the request that took its RSS over this")
    .option("--memory-budget <MiB>", "all workers together; over it the biggest idle worker retires")
    .option("--timeout <seconds>", "answer 504 and replace the worker after this long (default 30, 0: never)")
    .option("--boot-timeout <seconds>", "say which worker is still importing the app after this long; run answers 503, profile stops (default 60, 0: never)")
    .option("--stack-size <KiB>", "thread stack size: RLIMIT_STACK and threading.stack_size (default 512, 0: leave alone)")
    .option("--preload", "import the app once and fork workers from it (copy-on-write)")
    .option("--no-accounting", "skip per-request memory readings (for overhead measurements)")
    .option("--queue <n>", "requests waiting for a worker before 503 (default 2048)")
    .option("--max-body <MiB>", "request body limit, 413 above it (default 10, at most 255)")
    .option("--header-timeout <seconds>", "408 when a request head takes longer than this to arrive (default 10, 0: Node's 60)")
    .option("--pss-interval <seconds>", "read USS/PSS at most this often per worker (default 1, 0: every request, -1: never)")
    .option("--record <file>", "write every request and worker event to this JSON-lines file")
    .option("--force", "replace --record/--report files even when they are not Balloon's")
    .option(THRESHOLD_FLAGS, THRESHOLD_HELP, collect);
}

const THRESHOLD_FLAGS = "--threshold <name=value>";
const INPUTS_HELP = "recordings (--record, or the gunicorn recorder's files) and uWSGI logs written with --memory-report, or directories of them (*.jsonl, *.log)";
const THRESHOLD_HELP = "override a flag threshold (repeatable): balloonMiB, inflateMiB, leakMiB (floors, MiB) or balloonFraction, inflateFraction, leakFraction (of the baseline RSS)";

function usageHint(command: Command): string {
  return `usage: balloon ${command.name()} ${command.usage()} (balloon ${command.name()} --help for more)`;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command("balloon")
    .description("Which route inflates your Python web workers, by how much, and which settings fit your memory.")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(escapeControlInLines(text.startsWith("error:") ? `balloon: ${text}` : text)) });
  let action: Promise<void> = Promise.resolve();

  const run = appOptions(program.command("run").description("serve the app on 127.0.0.1 under the profiling supervisor until Ctrl-C"))
    .option("--port <port>", "port on 127.0.0.1 (0 picks a free one)", "8000")
    .action((options) => (action = runCommand(options, shimDir())));
  const profile = appOptions(program.command("profile").description("start the app, send a requests file, print the per-route table"))
    .option("--requests <file>", "one request per line: METHOD PATH [xN]; # comments")
    .option("--report <file>", "write the JSON report here")
    .option("--concurrency <n>", "requests in flight at once (default: workers × threads)")
    .option("--max-extra <n>", `extra calls in all for routes left undecided, sent after the requests file (default ${DEFAULT_MAX_EXTRA})`)
    .option("--no-adaptive", "do not send undecided routes again")
    .option("--deep <route>", "then run this route (\"GET /export\" or \"/export\") in a worker of its own under tracemalloc: its allocating lines by peak and retained")
    .option("--deep-calls <n>", `calls of the deep dive (default ${DEFAULT_DEEP_CALLS})`)
    .option("--deep-frames <n>", `frames per allocation traceback (default ${DEFAULT_DEEP_FRAMES})`)
    .option("--deep-path <path>", "call this path in the deep dive (default: the paths recorded for the route)")
    .addOption(new Option("--port <port>").default("0").hideHelp())
    .action((options) => (action = profileCommand(options, shimDir())));
  const report = program.command("report").description("print the per-route table of recordings or uWSGI logs, in one analysis")
    .argument("<inputs...>", INPUTS_HELP)
    .option("--json", "print the JSON report instead")
    .option("--html <file>", "also write one self-contained HTML report (charts, flagged handlers, deep dive, recommendation; works offline)")
    .option("--memory-budget <MiB>", "with --html: the budget the report's recommendation fits (default: 75% of this machine's memory)")
    .option("--force", "replace the --html file even when it is not a Balloon report")
    .option(THRESHOLD_FLAGS, THRESHOLD_HELP, collect)
    .action((inputs: string[], options) => (action = reportCommand(inputs, options)));
  const recommendCmd = program.command("recommend").description("server settings that fit a memory budget, checked by replaying the recorded traffic")
    .argument("<inputs...>", `${INPUTS_HELP}; or one JSON report (--report)`)
    .option("--format <format>", "text (a summary with reasons and alternatives), or a file for gunicorn, uwsgi, mod_wsgi, apache, flup, systemd, kubernetes, json", "text")
    .option("--record-to <dir>", "with --format gunicorn: record every request in production to DIR (one file per worker) for balloon report")
    .option("--app <target>", "the WSGI callable the exported files load (default: the recording's; for a Django project, its wsgi module)")
    .option("--bind <address>", "where the exported server listens: HOST:PORT or unix:PATH", "127.0.0.1:8000")
    .option("--python <path>", "the interpreter the exported files run (default: the recording's)")
    .option("--memory-budget <MiB>", "memory for all workers together (default: 75% of MemTotal, or of the container's limit)")
    .option("--out <file>", "write it to this file instead of stdout")
    .option("--force", "replace --out even when it is not a Balloon file")
    .option("--speed <x>", "replay the arrivals this many times faster (2: twice the traffic)")
    .option("--concurrency <n>", "simultaneous requests to serve (the replay runs n clients back to back)")
    .option("--db-max-connections <n>", "the database's connection limit (default 100, PostgreSQL's)")
    .option(THRESHOLD_FLAGS, THRESHOLD_HELP, collect)
    .action((inputs: string[], options) => (action = recommendCommand(inputs, options)));
  const checkCmd = program.command("check").description("exit 1 when a route or a worker is over its memory limit (a CI gate)")
    .argument("<inputs...>", `${INPUTS_HELP}; or one JSON report (--report)`)
    .option("--max-peak <MiB>", "a route's biggest peak above the worker's RSS before the call")
    .option("--max-retained <MiB>", "what a route keeps: its first call's step, or per repeat call")
    .option("--max-worker <MiB>", "the biggest RSS a worker reached")
    .option("--route <glob>", "only routes matching this glob (\"/api/*\", \"GET /export\", \"/admin/**\")")
    .option("--config <file>", "limits from this JSON file's \"check\" object (default: balloon.json in the app's directory)")
    .option(THRESHOLD_FLAGS, THRESHOLD_HELP, collect)
    .action((inputs: string[], options) => (action = checkCommand(inputs, options)));
  const lsp = program.command("lsp").description("the language server of the VS Code extension (LSP on stdin/stdout)")
    .option("--stdio", "talk LSP over stdin and stdout")
    .action((options) => (action = lspCommand(options, shimDir())));
  const commands = [run, profile, report, recommendCmd, checkCmd, lsp];
  for (const command of commands) command.exitOverride().showHelpAfterError(usageHint(command));
  program.showHelpAfterError("usage: balloon <run|profile|report|recommend|check|lsp> [options] (balloon --help for more)");

  try {
    await program.parseAsync(argv, { from: "user" });
    await action;
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const command = commands.find((c) => c.name() === argv[0]);
    // Messages echo what the user typed, file contents and the app's tracebacks: escaped.
    const message = escapeControlInLines((error as Error).message);
    if (error instanceof OptionError) {
      process.stderr.write(`balloon: ${message}\n${command ? usageHint(command) : ""}\n`);
      return 2;
    }
    process.stderr.write(`balloon: ${message}\n`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
