"""The deep-dive worker: a process of its own, outside the pool, forked for one route's calls
with tracemalloc on (deep.py measures) and at the lowest CPU priority, so the pool's workers
keep the CPU they had. After each call's response it sends a DeepCall frame: the app's lines
holding the call's memory at its traced peak, and what the call kept (DeepCallMessage in
shim-protocol.ts). It serves one call at a time on its main thread (threads=1)."""
import os

from .boot import hello
from .protocol import ExitCode, Frame
from .wire import encode_json_frame, send_json
from .worker import Worker, run_app

try:
    from . import deep
    _NO_TRACEMALLOC = None
except ImportError as exc:  # CPython built without _tracemalloc, or PyPy
    deep = None
    _NO_TRACEMALLOC = "tracemalloc is not available in this Python (%s)" % exc


def _lowest_priority():
    """SCHED_IDLE: the deep worker runs on CPU time nothing else wants (README, "Deep dive", has
    the latencies with and without); nice 19 where the kernel refuses it."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        try:
            os.nice(19)
        except OSError:
            pass


class DeepWorker(Worker):
    def __init__(self, sock, loaded, config, frames):
        super().__init__(sock, loaded, dict(config, threads=1))
        self._sites = deep.Sites(self._resolver.app_files, self._resolver.handlers.relative, frames)
        self._run_app = self._probed_run_app
        # Sites after the previous call: nothing of the app runs between two calls, so that is
        # also what the next one starts from (one snapshot a call saved).
        self._before = None
        self._targets = {}  # (method, path, query) -> the level its last call reached
        self._probe = None
        self._request_id = None

    def handle(self, payload, big_body=None, span=None):
        if self._before is None:
            self._before = self._sites.group(deep.tracemalloc.take_snapshot())
        super().handle(payload, big_body, span)
        probe, self._probe = self._probe, None
        peak = self._sites.group(probe.best) if probe.best is not None else None
        probe.best = None
        after = self._sites.group(deep.tracemalloc.take_snapshot())
        peak_sites, peak_outside, peak_truncated = (
            self._sites.sites(deep.difference(peak, self._before, positive_only=True)) if peak is not None else ([], 0, 0))
        kept_sites, kept_outside, kept_truncated = self._sites.sites(deep.difference(after, self._before))
        self._before = after
        self.send(encode_json_frame(Frame.DeepCall, {
            "id": self._request_id, "peak": probe.figures(), "peakSites": peak_sites, "retainedSites": kept_sites,
            "outside": {"peakBytes": peak_outside, "retainedBytes": kept_outside},
            "truncated": {"peakBytes": peak_truncated, "retainedBytes": kept_truncated},
        }))

    def _probed_run_app(self, app, environ, response):
        self._request_id = response.id
        key = (environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", ""))
        probe = self._probe = deep.PeakProbe(self._targets.get(key, 0))
        probe.start()
        try:
            return run_app(app, environ, response)
        finally:
            probe.stop()
            self._targets[key] = probe.high


def run_deep_worker(sock, loaded, config, worker_id, info, frames):
    """Starts tracemalloc, sends Hello and serves; returns the exit code. Without tracemalloc
    (or with frames out of range) it sends Fatal saying so and exits WorkerBootError."""
    problem = _NO_TRACEMALLOC if deep is None else deep.start_tracing(frames)
    if problem is not None:
        send_json(sock, Frame.Fatal, {"stage": "boot", "workerId": worker_id, "pid": os.getpid(), "message": problem, "traceback": ""})
        return ExitCode.WorkerBootError
    _lowest_priority()
    worker = DeepWorker(sock, loaded, config, frames)
    worker.send(encode_json_frame(Frame.Hello, hello("worker", worker_id, info)))
    return worker.run()
