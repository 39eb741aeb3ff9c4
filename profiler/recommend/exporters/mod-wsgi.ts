// The mod_wsgi daemon-mode block for a <VirtualHost>: WSGIDaemonProcess, WSGIProcessGroup,
// WSGIScriptAlias. Checked against mod_wsgi 4.9.4 (Debian 12): docs/configuration-directives/
// WSGIDaemonProcess.rst and src/server/mod_wsgi.c. stack-size is bytes; request-timeout with
// threads > 1 applies to the average across threads; maximum-requests has no jitter. memory-limit
// is setrlimit(RLIMIT_DATA) in the daemon process (mod_wsgi.c): on Linux (>= 4.7) it caps
// private writable address space, so an allocation past it fails (MemoryError in a request)
// and nothing restarts; it is not an RSS recycle, so it is written commented out. Apache takes
// comments only on lines of their own, so each option's reason sits above the directive.
import type { Recommendation } from "../model";
import {
  appSettingsComment,
  comment,
  fileText,
  hardRssCeilingMiB,
  headerComment,
  parseAppTarget,
  plainText,
  poolShape,
  wholeMiB,
  wholeSeconds,
  type ExportOptions,
  type ExportedFile,
} from "./common";

/** Not measured: the users' article's value; an idle daemon process restarts and gives back what it kept. */
const INACTIVITY_TIMEOUT_SEC = 300;

/** An Apache argument: quoted (with \" and \\ escaped) when it holds spaces or quotes. */
export function apacheArg(value: string): string {
  return /^[^\s"\\]+$/.test(value) ? value : `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A process-group name from the module ("mysite.wsgi" → "mysite"). */
function groupName(module: string): string {
  return module.split(".")[0];
}

interface DaemonOption {
  text: string;
  why: string[];
}

function daemonOptions(recommendation: Recommendation, appDir: string): DaemonOption[] {
  const { settings, reasons } = recommendation;
  const pool = poolShape(settings);
  const threads = Math.max(1, settings.threads);
  const options: DaemonOption[] = [
    {
      text: `processes=${pool.maxWorkers}`,
      why: [reasons.workers ?? "", pool.dynamic ? `(a fixed pool in mod_wsgi: the dynamic pool's ceiling; spares ${pool.minSpare}-${pool.maxSpare} have no daemon-mode setting)` : ""],
    },
    { text: `threads=${threads}`, why: [reasons.threads ?? ""] },
  ];
  if (settings.maxRequests > 0) {
    const jitter = settings.maxRequestsJitter > 0 ? ` (no jitter in mod_wsgi: the ${Math.round(settings.maxRequestsJitter)} requests of jitter are not applied)` : "";
    options.push({ text: `maximum-requests=${Math.round(settings.maxRequests)}`, why: [`${reasons.maxRequests ?? ""}${jitter}`] });
    if (threads > 1) {
      const grace = settings.timeoutSec > 0 ? wholeSeconds(settings.timeoutSec) : 30;
      options.push({ text: `graceful-timeout=${grace}`, why: ["a process at maximum-requests keeps serving this long to reach idle, so its other threads' requests can finish"] });
    }
  }
  options.push({ text: `inactivity-timeout=${INACTIVITY_TIMEOUT_SEC}`, why: ["not measured: a process idle this long restarts and gives back what it kept (the value of the users' Pylons article)"] });
  if (settings.timeoutSec > 0) options.push({ text: `request-timeout=${wholeSeconds(settings.timeoutSec)}`, why: [reasons.timeoutSec ?? "", threads > 1 ? "(with threads, mod_wsgi applies it to the average running time)" : ""] });
  if (settings.stackKiB > 0) options.push({ text: `stack-size=${settings.stackKiB * 1024}`, why: [reasons.stackKiB ?? "", `(${settings.stackKiB} KiB in bytes)`] });
  options.push({ text: "display-name=%{GROUP}", why: ["ps shows the group name"] });
  options.push({ text: `python-path=${plainText(appDir, "app directory")}`, why: ["the app's directory on sys.path"] });
  return options;
}

function memoryLimitNote(recommendation: Recommendation): string[] {
  const reloadOnRss = wholeMiB(recommendation.settings.reloadOnRssMiB);
  const ceiling = hardRssCeilingMiB(recommendation);
  return [
    ...comment(
      "memory-limit is not set: mod_wsgi passes it to setrlimit(RLIMIT_DATA), which on Linux makes allocations past it fail " +
        "(MemoryError inside a request) and restarts nothing; it counts allocated address space, not RSS. mod_wsgi has no " +
        `RSS-based restart${reloadOnRss > 0 ? `, so the ${reloadOnRss} MiB recycle limit cannot be applied; maximum-requests is its recycle` : ""}.`,
    ),
    ...(ceiling > 0 ? comment(`A hard cap where a failed allocation is acceptable: memory-limit=${ceiling * 1024 * 1024} (${ceiling} MiB).`) : []),
  ];
}

export function exportModWsgi(recommendation: Recommendation, options: ExportOptions): ExportedFile {
  const target = parseAppTarget(options.app);
  const appDir = plainText(options.appDir, "app directory").replace(/(.)\/+$/, "$1");
  const group = groupName(target.module);
  const script = `${appDir}/${target.module.split(".").join("/")}.py`;
  const daemon = daemonOptions(recommendation, appDir);
  const lines = [
    ...headerComment(recommendation),
    "#",
    "# mod_wsgi daemon mode: include inside the <VirtualHost> (LoadModule wsgi_module first).",
    "",
    "# Why each WSGIDaemonProcess option:",
    ...daemon.flatMap((option) => comment(`${option.text}: ${option.why.filter(Boolean).join(" ")}`)),
    "#",
    ...memoryLimitNote(recommendation),
    `WSGIDaemonProcess ${group} \\`,
    ...daemon.map((option, index) => `    ${apacheArg(option.text)}${index < daemon.length - 1 ? " \\" : ""}`),
    `WSGIProcessGroup ${group}`,
    "",
    "# One interpreter per process (C extensions such as numpy need the main one).",
    "WSGIApplicationGroup %{GLOBAL}",
    ...comment(
      recommendation.settings.preload
        ? "Preload: mod_wsgi forks its daemon processes before Python imports the app, so nothing is shared copy-on-write; " +
            "naming the process and application group here makes each process import it at start instead of on its first request."
        : "Naming the process and application group makes each daemon process import the app at start, after its fork.",
    ),
    `WSGIScriptAlias / ${apacheArg(script)} process-group=${group} application-group=%{GLOBAL}`,
    ...(target.callable === "application" ? [] : [`WSGICallableObject ${target.callable}`]),
    "",
    `<Directory ${apacheArg(appDir)}>`,
    "    Require all granted",
    "</Directory>",
    "",
    ...appSettingsComment(recommendation),
  ];
  return { fileName: "mod_wsgi.conf", text: fileText(lines) };
}
