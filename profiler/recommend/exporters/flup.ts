// A flup launcher: the app under flup's preforking FastCGI server. flup is not in Debian, so
// the keyword names and defaults were checked against its source (flup-py3, the Python 3 port:
// github pquentin/flup-py3 at bde686eb, 2018; flup 1.0.x has the same signatures):
//  - flup/server/fcgi_fork.py: WSGIServer.__init__(self, application, environ=None,
//    bindAddress=None, umask=None, multiplexed=False, debug=False, roles=(FCGI_RESPONDER,),
//    forceCGI=False, timeout=None, **kw); **kw goes to PreforkServer; `timeout` reaches each
//    request as signal.alarm(timeout), so whole seconds.
//  - flup/server/preforkserver.py: PreforkServer.__init__(self, minSpare=1, maxSpare=5,
//    maxChildren=50, maxRequests=0, sockTimeout=0, ...); minSpare < 1 raises ValueError,
//    maxSpare < minSpare raises ValueError, maxChildren becomes max(maxSpare, maxChildren);
//    a child exits after maxRequests jobs (connections) when it is > 0.
//  - flup/server/fcgi_base.py _setupSocket: a str bindAddress is a Unix socket, a tuple a TCP
//    address (more than 2 items: IPv6).
import type { Recommendation } from "../model";
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
  wholeMiB,
  wholeSeconds,
  type ExportOptions,
  type ExportedFile,
} from "./common";

/** The keywords the launcher passes to fcgi_fork.WSGIServer, as named in flup's source (above). */
export const FLUP_KEYWORDS = ["bindAddress", "minSpare", "maxSpare", "maxChildren", "maxRequests", "timeout"] as const;

const py = (text: string): string => JSON.stringify(text);

function bindAddress(bind: string): string {
  const address = parseBind(bind);
  if (address.kind === "unix") return py(address.path);
  return address.host.includes(":") ? `(${py(address.host)}, ${address.port}, 0, 0)` : `(${py(address.host)}, ${address.port})`;
}

/** Inside `WSGIServer(`: the call's arguments are indented 8 columns. */
const ARGUMENT = " ".repeat(8);

function keyword(name: (typeof FLUP_KEYWORDS)[number], value: string | number, why: string[]): string[] {
  return [...why, `${ARGUMENT}${name}=${value},`];
}

function importLines(recommendation: Recommendation, module: string, callable: string): string[] {
  if (recommendation.settings.preload) {
    return [...reasonComment(recommendation, "preload"), "# Imported once here; the children fork from this process (copy-on-write).", `from ${module} import ${callable} as application`];
  }
  return [
    ...reasonComment(recommendation, "preload"),
    "# No preload: each child imports the app on its first request, after the fork.",
    "_app = None",
    "",
    "",
    "def application(environ, start_response):",
    "    global _app",
    "    if _app is None:",
    `        from ${module} import ${callable} as loaded`,
    "        _app = loaded",
    "    return _app(environ, start_response)",
    "",
  ];
}

function notMapped(recommendation: Recommendation): string[] {
  const { settings } = recommendation;
  const lines: string[] = [];
  if (settings.threads > 1) {
    lines.push(...comment(`Not applied: ${settings.threads} threads per worker. fcgi_fork runs one request per child (flup's threaded model is flup.server.fcgi).`));
  }
  if (settings.maxRequests > 0 && settings.maxRequestsJitter > 0) {
    lines.push(...comment(`Not applied: a jitter of ${Math.round(settings.maxRequestsJitter)} requests (flup has none).`));
  }
  if (wholeMiB(settings.reloadOnRssMiB) > 0) {
    lines.push(...comment(`Not applied: recycling at ${wholeMiB(settings.reloadOnRssMiB)} MiB RSS (flup has no memory-based restart; maxRequests is its recycle).`));
  }
  return lines;
}

export function exportFlup(recommendation: Recommendation, options: ExportOptions): ExportedFile {
  const { settings } = recommendation;
  const target = parseAppTarget(options.app);
  const pool = poolShape(settings);
  const minSpare = Math.max(1, pool.minSpare); // flup: "minSpare must be at least 1!"
  const maxSpare = Math.max(minSpare, pool.maxSpare);
  const lines = [
    `#!${plainText(options.python, "python path")}`,
    ...headerComment(recommendation),
    "#",
    `# Run: ${options.python} flup_launcher.py (needs flup; point the web server's FastCGI at the address below).`,
    "import sys",
    "import threading",
    "",
    `sys.path.insert(0, ${py(plainText(options.appDir, "app directory"))})`,
    "",
    "from flup.server.fcgi_fork import WSGIServer  # noqa: E402",
    "",
    ...importLines(recommendation, target.module, target.callable),
    "",
    ...(settings.stackKiB > 0 ? [...reasonComment(recommendation, "stackKiB"), "# Stack of the threads the app starts (set before the fork, kept by every child).", `threading.stack_size(${settings.stackKiB} * 1024)`, ""] : []),
    ...notMapped(recommendation),
    "",
    'if __name__ == "__main__":',
    "    WSGIServer(",
    `${ARGUMENT}application,`,
    ...keyword("bindAddress", bindAddress(options.bind), []),
    ...keyword("minSpare", minSpare, [
      ...(pool.dynamic ? reasonComment(recommendation, "minSpare", "#", ARGUMENT) : comment(`A fixed pool: ${pool.maxWorkers} children, all of them may be idle.`, "#", ARGUMENT)),
      ...(pool.dynamic && pool.minSpare < 1 ? comment("flup needs at least 1.", "#", ARGUMENT) : []),
    ]),
    ...keyword("maxSpare", maxSpare, pool.dynamic ? reasonComment(recommendation, "maxSpare", "#", ARGUMENT) : []),
    ...keyword("maxChildren", pool.maxWorkers, reasonComment(recommendation, "workers", "#", ARGUMENT)),
    ...keyword("maxRequests", Math.max(0, Math.round(settings.maxRequests)), [
      ...reasonComment(recommendation, "maxRequests", "#", ARGUMENT),
      ...comment(settings.maxRequests > 0 ? "Counts connections; web servers usually open one per request." : "0: never recycle a child by count.", "#", ARGUMENT),
    ]),
    ...(settings.timeoutSec > 0 ? keyword("timeout", wholeSeconds(settings.timeoutSec), reasonComment(recommendation, "timeoutSec", "#", ARGUMENT)) : []),
    "    ).run()",
    ...(appSettingsComment(recommendation).length > 0 ? ["", ...appSettingsComment(recommendation)] : []),
  ];
  return { fileName: "flup_launcher.py", text: fileText(lines) };
}
