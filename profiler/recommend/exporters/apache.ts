// Apache's MPM block, chosen by threads: prefork for one thread per process, worker/event
// (the same directives) for more. In mod_wsgi embedded mode each Apache child is one app
// worker and this block is the pool; in daemon mode (the mod_wsgi export) it sizes Apache's
// front processes to the daemon's capacity. Apache 2.4 raises some values silently (2.4.62's
// server/mpm: prefork.c MaxSpareServers >= MinSpareServers + 1 and MinSpareServers >= 1;
// worker.c and event.c MaxSpareThreads >= MinSpareThreads + ThreadsPerChild + 1 with one
// listener bucket), so the file writes them raised. ServerLimit defaults to 256 (prefork) and 16
// (worker/event), ThreadLimit to 64. A MinSpare at the pool's size makes Apache log an error
// ("server reached MaxRequestWorkers") whenever one worker is busy, so a fixed pool keeps 1.
import type { Recommendation } from "../model";
import { appSettingsComment, comment, fileText, headerComment, poolShape, reasonComment, type ExportOptions, type ExportedFile } from "./common";

const PREFORK_SERVER_LIMIT = 256;
const THREADED_SERVER_LIMIT = 16;
const THREAD_LIMIT = 64;
const INDENT = "    ";

/** A directive, its value aligned, with its reason above it (and a blank line before a reason). */
function directive(name: string, value: number, why: string[] = []): string[] {
  return [...(why.length > 0 ? ["", ...why] : []), `${INDENT}${name.padEnd(24)}${value}`];
}

const why = (recommendation: Recommendation, setting: Parameters<typeof reasonComment>[1]): string[] =>
  reasonComment(recommendation, setting, "#", INDENT);

/** Spare limits have reasons only in a dynamic pool. */
const spareWhy = (recommendation: Recommendation, setting: "minSpare" | "maxSpare"): string[] =>
  poolShape(recommendation.settings).dynamic ? why(recommendation, setting) : [];

function recycleDirective(recommendation: Recommendation): string[] {
  const { maxRequests, maxRequestsJitter } = recommendation.settings;
  const notes = [
    ...why(recommendation, "maxRequests"),
    ...comment(
      maxRequests > 0
        ? `Counts connections, not requests: with keep-alive a child serves more requests than this.${maxRequestsJitter > 0 ? ` No jitter in Apache (${Math.round(maxRequestsJitter)} not applied).` : ""}`
        : "0: never recycle a child by count.",
      "#",
      INDENT,
    ),
  ];
  return directive("MaxConnectionsPerChild", Math.max(0, Math.round(maxRequests)), notes);
}

function preforkBlock(recommendation: Recommendation): string[] {
  const pool = poolShape(recommendation.settings);
  // A fixed pool: Apache's is always dynamic, so start all, retire no idle one, start one when none is idle.
  const minSpare = pool.dynamic ? Math.max(1, pool.minSpare) : 1;
  return [
    "<IfModule mpm_prefork_module>",
    ...(pool.dynamic ? [] : comment(`A fixed pool of ${pool.maxWorkers}: all start, no idle child is retired, and a recycled one comes back when none is idle.`, "#", INDENT)),
    ...directive("StartServers", pool.initial),
    ...directive("MinSpareServers", minSpare, spareWhy(recommendation, "minSpare")),
    ...directive("MaxSpareServers", Math.max(minSpare + 1, pool.maxSpare), spareWhy(recommendation, "maxSpare")),
    ...(pool.maxWorkers > PREFORK_SERVER_LIMIT ? directive("ServerLimit", pool.maxWorkers) : []),
    ...directive("MaxRequestWorkers", pool.maxWorkers, why(recommendation, "workers")),
    ...recycleDirective(recommendation),
    ...(recommendation.settings.stackKiB > 0
      ? comment(`No threads in prefork, so no ThreadStackSize: for threads the app starts, start Apache under ulimit -s ${recommendation.settings.stackKiB}.`, "#", INDENT)
      : []),
    "</IfModule>",
  ];
}

function threadedBlock(recommendation: Recommendation, module: "mpm_event_module" | "mpm_worker_module"): string[] {
  const { settings } = recommendation;
  const pool = poolShape(settings);
  const threads = settings.threads;
  // A fixed pool: all processes start, no idle one is retired, one more starts when less than a process's worth is idle.
  const minSpareThreads = (pool.dynamic ? Math.max(1, pool.minSpare) : 1) * threads;
  return [
    `<IfModule ${module}>`,
    ...(pool.dynamic ? [] : comment(`A fixed pool of ${pool.maxWorkers} processes: all start, no idle one is retired, and a recycled one comes back when fewer than ${threads} threads are idle.`, "#", INDENT)),
    ...directive("StartServers", pool.initial),
    ...directive("ServerLimit", Math.max(THREADED_SERVER_LIMIT, 2 * pool.maxWorkers), comment("Room for processes finishing gracefully after MaxConnectionsPerChild.", "#", INDENT)),
    ...(threads > THREAD_LIMIT ? directive("ThreadLimit", threads) : []),
    ...directive("ThreadsPerChild", threads, why(recommendation, "threads")),
    ...directive("MinSpareThreads", minSpareThreads, spareWhy(recommendation, "minSpare")),
    ...directive("MaxSpareThreads", Math.max(minSpareThreads + threads + 1, pool.maxSpare * threads), spareWhy(recommendation, "maxSpare")),
    ...directive("MaxRequestWorkers", pool.maxWorkers * threads, [
      ...why(recommendation, "workers"),
      ...comment(`${pool.maxWorkers} processes x ${threads} threads.`, "#", INDENT),
    ]),
    ...recycleDirective(recommendation),
    ...(settings.stackKiB > 0 ? directive("ThreadStackSize", settings.stackKiB * 1024, [...why(recommendation, "stackKiB"), ...comment(`${settings.stackKiB} KiB in bytes.`, "#", INDENT)]) : []),
    "</IfModule>",
  ];
}

export function exportApache(recommendation: Recommendation, _options: ExportOptions): ExportedFile {
  const threaded = recommendation.settings.threads > 1;
  const lines = [
    ...headerComment(recommendation),
    "#",
    ...comment(
      threaded
        ? `Apache MPM: ${recommendation.settings.threads} threads per process, so worker or event (the same settings for both).`
        : "Apache MPM: one thread per process, so prefork.",
    ),
    ...comment("In mod_wsgi daemon mode these size Apache's own processes to the daemon's capacity; in embedded mode each child is one app worker."),
    ...(threaded ? [...threadedBlock(recommendation, "mpm_event_module"), "", ...threadedBlock(recommendation, "mpm_worker_module")] : preforkBlock(recommendation)),
    "",
    ...(recommendation.settings.reloadOnRssMiB > 0 ? comment("Apache has no RSS-based recycle: MaxConnectionsPerChild is its only one.") : []),
    ...appSettingsComment(recommendation),
  ];
  return { fileName: "mpm.conf", text: fileText(lines) };
}
