// gunicorn.conf.py. gunicorn has no memory-based restart, so the file carries a post_request
// hook that retires a worker whose RSS went over the limit. Checked against gunicorn 20.1
// (Debian 12): workers/sync.py and workers/gthread.py call cfg.post_request in the `finally`
// of handle_request, after resp.close() has sent the response; with `worker.alive = False` the
// sync worker's `while self.alive` accept loop ends (the same flag max_requests clears, "Autorestarting
// worker after current request"), the gthread worker closes the connection instead of keeping it
// alive and waits for its other threads' requests (graceful_timeout); the arbiter logs "Worker
// exiting" and forks a replacement. config.py's validate_post_request takes arity 4.
// With --record-to, the recorder (gunicorn-recorder.ts) adds its hooks and post_request records first.
import type { Recommendation } from "../model";
import { RECORDER_BODY, recorderHeader } from "./gunicorn-recorder";
import { RECORDER_ROUTES } from "./gunicorn-routes";
import {
  appSettingsComment,
  comment,
  fileText,
  headerComment,
  parseAppTarget,
  parseBind,
  plainText,
  poolShape,
  reasonComment,
  spaced,
  wholeMiB,
  wholeSeconds,
  type ExportOptions,
  type ExportedFile,
} from "./common";

const py = (text: string): string => JSON.stringify(text); // a JSON string is a valid Python str literal

function bindValue(bind: string): string {
  const address = parseBind(bind);
  if (address.kind === "unix") return `unix:${address.path}`;
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** The RSS hook, after RELOAD_ON_RSS_MIB: one read of /proc/self/statm (its second field is resident pages) per request. */
function rssHook(): string[] {
  return [
    `_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")`,
    "",
    "",
    "def post_request(worker, req, environ, resp):",
    `    """After each response: a worker whose RSS is over RELOAD_ON_RSS_MIB finishes and is replaced."""`,
    `    with open("/proc/self/statm", "rb") as statm:`,
    "        rss_mib = int(statm.read().split()[1]) * _PAGE_BYTES / 1048576",
    ...retire("    "),
  ];
}

/** The check itself, on `rss_mib`; `then`: lines run once the worker is retired. */
function retire(indent: string, then: string[] = []): string[] {
  return [
    "if rss_mib > RELOAD_ON_RSS_MIB and worker.alive:",
    "    worker.log.info(",
    `        "balloon: worker %s RSS %.1f MiB is over reload-on-rss %s MiB: retiring it after this response",`,
    "        worker.pid, rss_mib, RELOAD_ON_RSS_MIB,",
    "    )",
    "    # gunicorn's own max_requests recycle clears this flag the same way.",
    "    worker.alive = False",
    ...then.map((line) => `    ${line}`),
  ].map((line) => indent + line);
}

/**
 * The recorder, then its post_request: the request's line, and with a limit (`limit`: the
 * setting's reason and value) the RSS check on the recorder's own reading.
 */
function recorderHooks(recordTo: string, limit: string[]): string[] {
  const post = limit.length > 0
    ? [
        ...limit,
        "",
        "",
        "def post_request(worker, req, environ, resp):",
        `    """After each response: its line recorded, then a worker whose RSS is over RELOAD_ON_RSS_MIB finishes and is replaced."""`,
        "    rss_kib = _recorder.end(req, environ, resp) if _recorder is not None else None",
        "    if rss_kib is None:",
        `        with open("/proc/self/statm", "rb") as statm:`,
        "            rss_kib = int(statm.read().split()[1]) * _PAGE_KIB",
        "    rss_mib = rss_kib / 1024",
        ...retire("    ", ["if _recorder is not None:", `    _recorder.exit_reason = "rss-limit"`]),
      ]
    : [
        "def post_request(worker, req, environ, resp):",
        `    """After each response: its line recorded."""`,
        "    if _recorder is not None:",
        "        _recorder.end(req, environ, resp)",
      ];
  return [...recorderHeader(recordTo), "", "", ...RECORDER_ROUTES.split("\n"), "", "", ...RECORDER_BODY.split("\n"), "", "", ...post];
}

export function exportGunicorn(recommendation: Recommendation, options: ExportOptions): ExportedFile {
  const { settings } = recommendation;
  const target = parseAppTarget(options.app);
  const pool = poolShape(settings);
  const reloadOnRss = wholeMiB(settings.reloadOnRssMiB);
  const recordTo = options.recordTo === undefined ? null : plainText(options.recordTo, "--record-to directory");
  const rssLimit = reloadOnRss > 0
    ? [...reasonComment(recommendation, "reloadOnRssMiB"), "# gunicorn has no memory-based restart: this hook is it.", `RELOAD_ON_RSS_MIB = ${reloadOnRss}`]
    : ["# Recycling by RSS is off (reloadOnRssMiB 0): no post_request hook."];
  const lines = spaced([
    [
      ...headerComment(recommendation),
      "#",
      `# Run: ${plainText(options.python, "python path")} -m gunicorn -c gunicorn.conf.py`,
      "import os",
      "import threading",
    ],
    [
      `wsgi_app = ${py(`${target.module}:${target.callable}`)}`,
      `chdir = ${py(plainText(options.appDir, "app directory"))}`,
      `bind = ${py(bindValue(options.bind))}`,
    ],
    [
      ...reasonComment(recommendation, "workers"),
      ...(pool.dynamic
        ? comment(`gunicorn's pool is fixed: the dynamic pool's ceiling (spares ${pool.minSpare}-${pool.maxSpare} cannot be mapped; TTIN/TTOU signals resize it by hand).`)
        : []),
      `workers = ${pool.maxWorkers}`,
    ],
    [
      ...reasonComment(recommendation, "threads"),
      `threads = ${Math.max(1, settings.threads)}`,
      ...(settings.threads > 1 ? ["# gunicorn runs threads only in its gthread worker.", `worker_class = "gthread"`] : []),
    ],
    [
      ...reasonComment(recommendation, "maxRequests"),
      ...(settings.maxRequests > 0 ? [] : ["# 0: never recycle a worker by its request count."]),
      `max_requests = ${Math.max(0, Math.round(settings.maxRequests))}`,
    ],
    settings.maxRequests > 0 ? [...reasonComment(recommendation, "maxRequestsJitter"), `max_requests_jitter = ${Math.max(0, Math.round(settings.maxRequestsJitter))}`] : [],
    [...reasonComment(recommendation, "timeoutSec"), ...(settings.timeoutSec > 0 ? [] : ["# 0: no request timeout."]), `timeout = ${wholeSeconds(settings.timeoutSec)}`],
    [...reasonComment(recommendation, "preload"), `preload_app = ${settings.preload ? "True" : "False"}`],
    settings.stackKiB > 0
      ? [
          ...reasonComment(recommendation, "stackKiB"),
          "# Python threads' stack (gthread's and the app's): set here in the master, kept by every forked worker.",
          `threading.stack_size(${settings.stackKiB} * 1024)`,
        ]
      : [],
    recordTo && reloadOnRss === 0 ? ["# Recycling by RSS is off (reloadOnRssMiB 0): post_request only records."] : [],
    recordTo ? recorderHooks(recordTo, reloadOnRss > 0 ? rssLimit : []) : [...rssLimit, ...(reloadOnRss > 0 ? rssHook() : [])],
    appSettingsComment(recommendation),
  ]);
  return { fileName: "gunicorn.conf.py", text: fileText(lines) };
}
