// uwsgi.ini for uWSGI 2.0 (Debian 12 ships 2.0.21). Checked against uWSGI 2.0.21's source:
// reload-on-rss and evil-reload-on-rss take MiB (uwsgi_opt_set_megabytes: value × 1024 × 1024);
// reload-on-rss is tested in uwsgi_close_request (core/utils.c) after the response, rss >= limit,
// and ends the worker gracefully (goodbye_cruel_world, "...The work of process N is done");
// like max-requests it is skipped while the worker is younger than min-worker-lifetime (10 s in
// core/init.c, though --help says 60). evil-reload-on-rss is the master's check every
// mem-collector-freq seconds (3) and SIGKILLs the worker ("*** EVIL RELOAD ON WORKER ...").
// thread-stacksize is KiB (pthread_attr_setstacksize(value × 1024)). cheaper needs 1 ≤ cheaper <
// processes and cheaper-initial in [cheaper, processes] (core/init.c). There is no
// max-requests-delta in 2.0.21 (`uwsgi --help`). The ini parser takes comments only on lines of
// their own (core/ini.c), so each reason sits above its value.
import type { Recommendation } from "../model";
import {
  appSettingsComment,
  comment,
  fileText,
  hardRssCeilingMiB,
  hardRssCeilingReason,
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

/** uWSGI 2.0.21's own default, stated so the file does not depend on it (its --help says 60). */
const MIN_WORKER_LIFETIME_SEC = 10;

function socketLine(bind: string): string {
  const address = parseBind(bind);
  const where = address.kind === "unix" ? address.path : `${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
  return `http-socket = ${where}`;
}

function poolGroups(recommendation: Recommendation): string[][] {
  const pool = poolShape(recommendation.settings);
  const processes = [...reasonComment(recommendation, "workers"), `processes = ${pool.maxWorkers}`];
  if (!pool.dynamic) return [processes];
  if (pool.maxWorkers < 2) {
    return [[...processes, "# A dynamic pool of at most 1 worker is a fixed one: uWSGI's cheaper needs 1 <= cheaper < processes."]];
  }
  const cheaper = Math.min(pool.maxWorkers - 1, Math.max(1, pool.minSpare));
  return [
    processes,
    [
      ...reasonComment(recommendation, "minSpare"),
      "# cheaper: the fewest workers kept running (uWSGI needs 1 <= cheaper < processes); cheaper-initial: started first.",
      `cheaper = ${cheaper}`,
      `cheaper-initial = ${Math.min(pool.maxWorkers, Math.max(cheaper, pool.initial))}`,
    ],
    [
      ...reasonComment(recommendation, "maxSpare"),
      ...comment(
        "uWSGI's spare algorithm adds cheaper-step workers when all are busy and stops idle ones one at a time until one spare is left; " +
          `Balloon's maximum of ${pool.maxSpare} idle workers has no direct uWSGI setting.`,
      ),
      "cheaper-step = 1",
    ],
  ];
}

function recycleGroups(recommendation: Recommendation): string[][] {
  const { settings } = recommendation;
  const reloadOnRss = wholeMiB(settings.reloadOnRssMiB);
  const byCount =
    settings.maxRequests > 0
      ? [
          ...reasonComment(recommendation, "maxRequests"),
          `max-requests = ${Math.round(settings.maxRequests)}`,
          ...(settings.maxRequestsJitter > 0
            ? comment(
                `Not applied: a jitter of up to ${Math.round(settings.maxRequestsJitter)} requests (uWSGI 2.0 has no max-requests-delta; ` +
                  "its workers reach max-requests at different times only as their traffic differs).",
              )
            : []),
        ]
      : ["# Recycling by request count is off (maxRequests 0)."];
  const byRss =
    reloadOnRss > 0
      ? [
          ...reasonComment(recommendation, "reloadOnRssMiB"),
          `reload-on-rss = ${reloadOnRss}`,
          ...comment(hardRssCeilingReason(recommendation)),
          `evil-reload-on-rss = ${hardRssCeilingMiB(recommendation)}`,
        ]
      : ["# Recycling by RSS is off (reloadOnRssMiB 0)."];
  const lifetime =
    settings.maxRequests > 0 || reloadOnRss > 0
      ? [
          ...comment(
            "uWSGI recycles by max-requests / reload-on-rss only workers older than this (its 2.0.21 default, written out); " +
              "evil-reload-on-rss applies at any age.",
          ),
          `min-worker-lifetime = ${MIN_WORKER_LIFETIME_SEC}`,
        ]
      : [];
  return [byCount, byRss, lifetime];
}

function stackLines(recommendation: Recommendation): string[] {
  const { stackKiB, threads } = recommendation.settings;
  if (stackKiB <= 0) return [];
  if (threads > 1) return [...reasonComment(recommendation, "stackKiB"), "# KiB, for uWSGI's request threads.", `thread-stacksize = ${stackKiB}`];
  return comment(
    `Thread stack ${stackKiB} KiB: uWSGI sizes only its own request threads, and with 1 thread per worker there are none; ` +
      `for threads the app starts, run uwsgi under ulimit -s ${stackKiB} (or call threading.stack_size in the app).`,
  );
}

export function exportUwsgi(recommendation: Recommendation, options: ExportOptions): ExportedFile {
  const { settings } = recommendation;
  const target = parseAppTarget(options.app);
  const threads = Math.max(1, settings.threads);
  const lines = spaced([
    [...headerComment(recommendation), "#", "# Run: uwsgi --ini uwsgi.ini"],
    [
      "[uwsgi]",
      "# Debian's uWSGI loads Python 3 as a plugin (uwsgi-plugin-python3).",
      "plugins = python3",
      "master = true",
      "# SIGTERM stops uWSGI (without this, uWSGI 2.0 reloads on SIGTERM).",
      "die-on-term = true",
      "# Exit when the app cannot be imported rather than serve errors.",
      "need-app = true",
      `chdir = ${plainText(options.appDir, "app directory")}`,
      `module = ${target.module}:${target.callable}`,
      "# HTTP, as gunicorn speaks; behind nginx's uwsgi_pass, use socket = with the same address.",
      socketLine(options.bind),
    ],
    ...poolGroups(recommendation),
    [...reasonComment(recommendation, "threads"), `threads = ${threads}`, ...(threads > 1 ? ["enable-threads = true"] : [])],
    stackLines(recommendation),
    ...recycleGroups(recommendation),
    [
      ...reasonComment(recommendation, "timeoutSec"),
      ...(settings.timeoutSec > 0 ? [`harakiri = ${wholeSeconds(settings.timeoutSec)}`] : ["# No request timeout (timeoutSec 0): harakiri off."]),
    ],
    [
      ...reasonComment(recommendation, "preload"),
      ...(settings.preload
        ? ["# The app is imported once in the master and the workers fork from it (uWSGI's default, no lazy-apps)."]
        : ["# Each worker imports the app after the fork.", "lazy-apps = true"]),
    ],
    appSettingsComment(recommendation),
  ]);
  return { fileName: "uwsgi.ini", text: fileText(lines) };
}
