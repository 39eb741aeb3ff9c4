// The opt-in request recorder of gunicorn.conf.py (`balloon recommend --format gunicorn
// --record-to DIR`): gunicorn's pre_request/post_request hooks write Balloon's own request
// lines (record/model.ts), one file per worker, that `balloon report DIR` reads like a
// profile. Python, stdlib only: production hosts have no Balloon installed. It reads memory the
// way the shim does (profiler/shim/balloon_shim/memory.py, accounting.py): statm before;
// statm and getrusage after, /proc/self/status only when ru_maxrss says memory came and went;
// the mark reset (clear_refs) only when it moved. Hook signatures checked against gunicorn 20.1
// (Debian 12): workers/sync.py and gthread.py call pre_request(worker, req) inside handle_request's
// try (an exception there would fail the request: every hook catches its own) and
// post_request(worker, req, environ, resp) in its finally, with the app's exception, if any,
// still in flight (sys.exc_info); arbiter.py calls post_worker_init(worker) in the worker once
// the app is loaded, worker_abort(worker) on the timeout's SIGABRT and worker_exit(server, worker)
// as the worker leaves.
import { RECORD_VERSION } from "../../record/model";

/** A worker's file stops here: ~200 000 requests at the 290-370 bytes a line measured (hello app, Flask fixture). */
export const RECORD_MAX_MIB = 64;

const py = (text: string): string => JSON.stringify(text); // a JSON string is a valid Python str literal

/** Module-level constants and imports the recorder needs (the file already imports os and threading). */
export function recorderHeader(recordTo: string): string[] {
  return [
    "# Balloon's request recorder (--record-to): every request as one JSON line of Balloon's",
    "# recording format, one file per worker process, RECORD_TO/balloon-<start>-<host>-<pid>.jsonl",
    "# (a relative RECORD_TO is taken from gunicorn's chdir). Read them with `balloon report",
    "# RECORD_TO` (recommend and check too). Query strings are not recorded (they may hold secrets).",
    "# Per request: one read of /proc/self/statm before; statm and getrusage() after, and",
    "# /proc/self/status only when ru_maxrss says memory came and went (the peak), the high-water",
    "# mark reset through /proc/self/clear_refs only when it moved; the route resolved once per",
    "# path (cached); one line formatted and one os.write. Measured under Debian's gunicorn 20.1 on",
    "# a 2-core VM (Balloon's `npm run bench:recorder`): 25-38 µs of worker CPU a request, 7-18 % of",
    "# a hello app's throughput, so about 1-2 % of a 2 ms request.",
    "# Each line goes to the page cache at once, whole (O_APPEND), with nothing buffered: a worker",
    "# killed by the OOM killer or by gunicorn's timeout loses no line, and the last lines before a",
    "# kill are the ones that explain it (buffering would save most of the write's 4.4 µs).",
    `# A worker's file stops at RECORD_MAX_BYTES (${RECORD_MAX_MIB} MiB, ~200 000 requests; a last "stop" line`,
    "# says so); a recycled worker starts a new file, so remove old files as you would old logs.",
    "# The hooks never raise: an error is counted, logged once, and the request goes on.",
    "import inspect",
    "import json",
    "import re",
    "import resource",
    "import socket",
    "import sys",
    "import time",
    "",
    `RECORD_TO = ${py(recordTo)}`,
    `RECORD_MAX_BYTES = ${RECORD_MAX_MIB} * 1048576`,
  ];
}

/** The recorder's classes and the hooks that only it needs (post_request is the exporter's); RECORDER_ROUTES before it. */
export const RECORDER_BODY = String.raw`_RECORD_VERSION = ${RECORD_VERSION}
# Room kept under RECORD_MAX_BYTES for the lines that close a file (its worker's end, the stop).
_CLOSING_BYTES = 4096
_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
# One request line: the one JSON line a request costs, formatted without json.dumps's dict walk
# (measured in-process: 4.0 µs for json.dumps of the line, ~1 µs for this format).
_REQUEST_LINE = (
    '{"type":"request","t":%.1f,"worker":%d,"pid":%d,"seq":%d,"method":%s,"path":%s,"route":%s,"handler":%s,'
    '"status":%d,"outcome":"%s","durationMs":%.3f,"rssBeforeKiB":%d,"peakKiB":%d,"rssAfterKiB":%d,"vmSizeKiB":%d,'
    '"concurrent":%d%s}\n'
)
_recorder = None


def _now_ms():
    return round(time.time() * 1000, 1)


def _json_line(line):
    return (json.dumps(line, separators=(",", ":")) + "\n").encode()


def _status_kib(text, key):
    start = text.find(key) + len(key)
    return int(text[start:text.find(b" kB", start)])


class _Memory:
    """This worker's memory in KiB from /proc/self: the files stay open and are re-read with
    os.pread, one syscall a reading. The high-water mark can be reset where clear_refs is
    writable (not under gVisor or WSL1); elsewhere a peak is seen only when it is a new high."""

    def __init__(self):
        self._statm = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        self._status = os.open("/proc/self/status", os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._clear_refs = os.open("/proc/self/clear_refs", os.O_WRONLY | os.O_CLOEXEC)
            self.reset_peak()
        except OSError:
            self._clear_refs = None
        self.can_reset = self._clear_refs is not None

    def reset_peak(self):
        os.write(self._clear_refs, b"5")

    def statm(self):
        """(VmSize, RSS)."""
        fields = os.pread(self._statm, 128, 0).split(None, 2)
        return int(fields[0]) * _PAGE_KIB, int(fields[1]) * _PAGE_KIB

    def status(self):
        """(RSS, VmHWM, VmSize)."""
        text = os.pread(self._status, 4096, 0)
        return _status_kib(text, b"\nVmRSS:"), _status_kib(text, b"\nVmHWM:"), _status_kib(text, b"\nVmSize:")

    @staticmethod
    def maxrss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    @staticmethod
    def private():
        """(USS, PSS) from smaps_rollup (it walks every mapping: read once, at the worker's start)."""
        try:
            with open("/proc/self/smaps_rollup", "rb") as rollup:
                text = rollup.read()
            return _status_kib(text, b"\nPrivate_Clean:") + _status_kib(text, b"\nPrivate_Dirty:"), _status_kib(text, b"\nPss:")
        except (OSError, ValueError):
            return None


class _Span:
    """One request from pre_request to post_request; "concurrent": the most requests this
    worker ran at once meanwhile (gthread): above 1, the figures are shared."""

    __slots__ = ("t", "start", "rss_before", "maxrss_before", "concurrent")

    def __init__(self):
        self.t = time.time()
        self.start = time.monotonic()
        self.concurrent = 1


class _Recorder:
    """One worker's recording: its file, its requests in flight, what went wrong."""

    def __init__(self, worker):
        self.worker = worker
        self.id = worker.age
        self.pid = os.getpid()
        self.memory = _Memory()
        self.routes = _Routes(worker.wsgi, worker.cfg.chdir)
        self.lock = threading.Lock()
        self.running = []
        self.clean_below = None  # the mark is at or below this RSS (a request alone left it so)
        self.seq = 0
        self.errors = 0
        self.first_error = None
        self.written = 0
        self.full = False
        self.exit_reason = None
        host = socket.gethostname()
        name = "balloon-%s-%s-%d.jsonl" % (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), re.sub(r"[^A-Za-z0-9.]", "_", host), self.pid)
        os.makedirs(RECORD_TO, exist_ok=True)
        self.fd = os.open(os.path.join(RECORD_TO, name), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self._write_start(worker, host)

    def _write_start(self, worker, host):
        import gunicorn
        from importlib import metadata

        cfg = worker.cfg
        framework = self.routes.framework
        target = getattr(worker.app, "app_uri", None) or cfg.wsgi_app or ""
        try:
            framework_version = metadata.version(framework) if framework != "wsgi" else ""
        except metadata.PackageNotFoundError:
            framework_version = ""
        now = _now_ms()
        self.write({
            "type": "start", "version": _RECORD_VERSION, "t": now,
            "run": {"target": target, "cwd": os.path.abspath(cfg.chdir), "python": sys.executable, "framework": framework},
            "settings": {
                "workers": cfg.workers, "minSpare": None, "maxSpare": None, "maxWorkers": cfg.workers,
                "threads": cfg.threads, "maxRequests": cfg.max_requests, "maxRequestsJitter": cfg.max_requests_jitter,
                "reloadOnRssMiB": globals().get("RELOAD_ON_RSS_MIB", 0), "memoryBudgetMiB": 0, "timeoutSec": cfg.timeout,
                "bootTimeoutSec": 0, "stackKiB": threading.stack_size() // 1024, "preload": cfg.preload_app,
                "accounting": True, "queueSize": cfg.backlog, "maxBodyMiB": 0, "headerTimeoutSec": 0, "pssIntervalSec": -1,
            },
            "recorder": {"server": "gunicorn", "serverVersion": gunicorn.__version__, "host": host, "peakReset": self.memory.can_reset},
        })
        self.write({"type": "app", "t": now, "app": {
            "target": target, "framework": framework, "pythonVersion": "%d.%d.%d" % sys.version_info[:3],
            "pythonExecutable": sys.executable, "frameworkVersion": framework_version,
        }})
        vmsize, rss = self.memory.statm()
        ready = {"type": "worker", "t": now, "event": "ready", "worker": self.id, "pid": self.pid, "rssKiB": rss, "vmSizeKiB": vmsize}
        private = self.memory.private()
        if private is not None:
            ready["ussKiB"], ready["pssKiB"] = private
        self.write(ready)

    def begin(self, req):
        """pre_request: the RSS before; the mark reset unless the last request left it clean."""
        try:
            span = _Span()
            with self.lock:
                self.running.append(span)
                count = len(self.running)
                for other in self.running:
                    other.concurrent = max(other.concurrent, count)
                _, span.rss_before = self.memory.statm()
                if not self.memory.can_reset:
                    span.maxrss_before = self.memory.maxrss()
                elif count > 1:
                    self.clean_below = None  # another request is moving the mark
                elif self.clean_below is None or span.rss_before < self.clean_below:
                    self.memory.reset_peak()
            req.balloon_span = span
        except Exception as error:
            self.failed("pre_request", error)

    def end(self, req, environ, resp):
        """post_request: the request's line written; returns the RSS after it (KiB), or None."""
        span = getattr(req, "balloon_span", None)
        if span is None:
            return None
        try:
            rss, peak, vmsize = self._figures(span)
            duration_ms = (time.monotonic() - span.start) * 1000
            self.seq += 1
            method = environ.get("REQUEST_METHOD") or req.method
            path = environ.get("PATH_INFO") or req.path or ""
            route, handler = self.routes.of(method, path, environ)
            status = getattr(resp, "status_code", None)
            outcome, error = ("ok", "") if status is not None else ("app-error", "")
            exception = sys.exc_info()[1]  # the app's exception, still in flight in gunicorn's finally
            if isinstance(exception, StopIteration) and exception.__context__ is not None:
                exception = exception.__context__  # gunicorn cut the stream after the app raised
            if exception is not None:
                outcome = "client-gone" if isinstance(exception, OSError) else "app-error"
                error = ',"error":%s' % _quote(type(exception).__name__)
            self.write_bytes((_REQUEST_LINE % (
                span.t * 1000, self.id, self.pid, self.seq, _quote(method), _quote(path), route, handler,
                status or 500, outcome, duration_ms, span.rss_before, peak, rss, vmsize, span.concurrent, error,
            )).encode())
            return rss
        except Exception as error:
            self.failed("post_request", error)
            return None

    def _figures(self, span):
        """(RSS after, peak, VmSize) of a finished span; see memory.py in Balloon's shim."""
        with self.lock:
            self.running.remove(span)
            vmsize, rss = self.memory.statm()
            high = self.memory.maxrss()
            if not self.memory.can_reset:
                # No reset: a peak shows only when this request set a new high for the worker.
                return rss, (high if high > span.maxrss_before else max(span.rss_before, rss)), vmsize
            if span.concurrent == 1 and high <= max(span.rss_before, rss):
                # The kernel raises the mark before pages go: nothing came and went.
                self.clean_below = rss if high <= rss else None
                return rss, max(span.rss_before, rss), vmsize
            self.clean_below = None
            return self.memory.status()

    def write(self, line, closing=False):
        self.write_bytes(_json_line(line), closing)

    def write_bytes(self, data, closing=False):
        """One os.write of whole lines; past the cap, a stop line and nothing more (but the closing lines)."""
        if self.full and not closing:
            return
        if not closing and self.written + len(data) > RECORD_MAX_BYTES - _CLOSING_BYTES:
            self.full = True
            data = self._stop_line("the file reached RECORD_MAX_BYTES (%d): later requests are not recorded" % RECORD_MAX_BYTES)
        os.write(self.fd, data)
        self.written += len(data)

    def _stop_line(self, reason):
        if self.errors:
            reason += "; the recorder's hooks caught %d errors, the first: %s" % (self.errors, self.first_error)
        return _json_line({"type": "stop", "t": _now_ms(), "reason": reason, "hookErrors": self.errors})

    def failed(self, where, error):
        self.errors += 1
        if self.first_error is None:
            self.first_error = "%s in %s" % (repr(error), where)
            self.worker.log.exception("balloon recorder: %s failed (counted; the request goes on)", where)

    def close(self):
        """worker_exit: how the worker ended, then the stop line."""
        try:
            worker = self.worker
            reason = self.exit_reason or ("max-requests" if worker.nr >= worker.max_requests else "shutdown")
            vmsize, rss = self.memory.statm()
            self.write({
                "type": "worker", "t": _now_ms(), "event": "exit" if reason == "shutdown" else "recycle",
                "worker": self.id, "pid": self.pid, "reason": reason, "detail": "the gunicorn worker exited",
                "rssKiB": rss, "vmSizeKiB": vmsize,
            }, closing=True)
            if not self.full:
                os.write(self.fd, self._stop_line("the worker exited"))
            os.close(self.fd)
        except Exception:
            self.worker.log.exception("balloon recorder: closing the recording failed")


def post_worker_init(worker):
    """Once the worker has loaded the app: its recording opened, its first lines written."""
    global _recorder
    try:
        _recorder = _Recorder(worker)
    except Exception:
        worker.log.exception("balloon recorder: cannot record in %s; this worker serves unrecorded", RECORD_TO)


def pre_request(worker, req):
    """Before the app runs: the RSS before the request."""
    if _recorder is not None:
        _recorder.begin(req)


def worker_abort(worker):
    """gunicorn's timeout (SIGABRT): the worker's last line says so."""
    if _recorder is not None:
        _recorder.exit_reason = "timeout"


def worker_exit(server, worker):
    """As the worker leaves: how it ended, and the file closed."""
    if _recorder is not None:
        _recorder.close()`;
