"""The worker loop: read Request frames, call the WSGI app, send the response and what the
request did to memory (RequestStats in shim-protocol.ts)."""
import os
import queue
import sys
import threading
import traceback
import time

from . import memory
from .boot import exception_type_name, format_app_traceback, hello
from .environ import ErrorStream, base_environ, build_environ
from .frameworks import RouteResolver
from .protocol import ExitCode, Frame
from .wire import FrameReader, encode_body_frame, encode_head_frame, encode_json_frame, split_head

_ERROR_BODY = b"Internal Server Error"
_ERROR_HEADERS = [["Content-Type", "text/plain; charset=utf-8"], ["Content-Length", str(len(_ERROR_BODY))]]

_perf_counter = time.perf_counter
_monotonic = time.monotonic


class Worker:
    def __init__(self, sock, loaded, config):
        self._sock = sock
        self._send_lock = threading.Lock()
        self._app = loaded.app
        self._resolver = RouteResolver(loaded, config.get("cwd") or os.getcwd())
        self._base_environ = base_environ(config)
        self._accounting = bool(config.get("accounting", True))
        if self._accounting:
            memory.prepare()
        self._pss_interval = float(config.get("pssIntervalSec", 0))
        self._next_pss = 0.0
        # RSS after the previous request: the next one's "before" (one worker thread only;
        # nothing but our own bookkeeping runs in between, and all growth gets a request).
        self._rss_after = None
        self._mark_clean = False  # the high-water mark is at or below _rss_after: no reset needed
        self._threads = max(1, int(config.get("threads") or 1))
        self._running = []  # one [concurrent] cell per request in flight (threads > 1)
        self._running_lock = threading.Lock()

    def send(self, data):
        """Writes whole encoded frames; the lock keeps frames of different threads apart."""
        with self._send_lock:
            self._sock.sendall(data)

    def run(self):
        """Serves until Stop (ExitCode.Ok) or end of the socket (ExitCode.SupervisorGone)."""
        reader = FrameReader(self._sock)
        try:
            if self._threads == 1:
                return self._serve_on_this_thread(reader)
            return self._serve_with_pool(reader)
        except (BrokenPipeError, ConnectionResetError):
            return ExitCode.SupervisorGone

    def _serve_on_this_thread(self, reader):
        read, handle = reader.read, self.handle
        while True:
            frame = read()
            if frame is None:
                return ExitCode.SupervisorGone
            if frame[0] == Frame.Request:
                handle(frame[1])
            elif frame[0] == Frame.Stop:
                return ExitCode.Ok
            else:
                self._log("warning", "worker ignored frame type 0x%02x" % frame[0])

    def _serve_with_pool(self, reader):
        jobs = queue.SimpleQueue()
        # Daemon: if the supervisor vanishes mid-request there is nobody to answer anyway.
        pool = [threading.Thread(target=self._pool_thread, args=(jobs,), name="balloon-%d" % i, daemon=True)
                for i in range(self._threads)]
        for thread in pool:
            thread.start()
        while True:
            frame = reader.read()
            if frame is None:
                return ExitCode.SupervisorGone
            if frame[0] == Frame.Request:
                jobs.put(frame[1])
            elif frame[0] == Frame.Stop:
                for _ in pool:
                    jobs.put(None)
                for thread in pool:
                    thread.join()  # finish the requests in flight
                return ExitCode.Ok
            else:
                self._log("warning", "worker ignored frame type 0x%02x" % frame[0])

    def _pool_thread(self, jobs):
        while True:
            payload = jobs.get()
            if payload is None:
                return
            try:
                self.handle(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the supervisor is gone; the main thread sees the end of the socket
            except BaseException:  # SystemExit & co. escaping the app: die as a 1-thread worker does
                traceback.print_exc()
                sys.stderr.flush()
                os._exit(1)

    # -- one request ---------------------------------------------------------------------

    def handle(self, payload):
        head, body = split_head(payload)
        request_id = head["id"]
        errors = ErrorStream(self.send, request_id)
        environ = build_environ(self._base_environ, head, body, errors)
        response = _Response(request_id, self.send)
        cell = self._begin()
        marks = None
        if self._accounting:
            # A reset while another request runs would hide that request's peak so far.
            single = self._threads == 1 and self._rss_after is not None
            if cell[0] == 1 and not (single and self._mark_clean):
                memory.reset_peak()
            marks = (self._rss_after if single else memory.read_rss(), cell[0] == 1)
        error = None
        trace = self._resolver.trace(environ)
        started = _perf_counter()
        try:
            if trace is not None:
                trace.start()
            body = self._call_app(environ, response)
        except Exception as exc:
            body = None
            error = {"type": exception_type_name(exc), "traceback": format_app_traceback(exc)}
        finally:
            if trace is not None:
                trace.stop()
        duration_ms = (_perf_counter() - started) * 1000.0
        stats = self._end(cell, marks)
        stats["durationMs"] = round(duration_ms, 3)
        if trace is not None:
            self._resolver.traced(trace)
        stats["route"], stats["handler"] = self._resolver.resolve(environ)
        if error is not None:
            stats["error"] = error
            self._log("error", error["traceback"], request_id)
        errors.flush()
        response.finish(body, stats)

    def _call_app(self, environ, response):
        """Runs the app; returns the body bytes of a list response, None when streamed."""
        result = self._app(environ, response.start_response)
        try:
            kind = type(result)
            if (kind is list or kind is tuple) and not response.committed:
                body = b"".join(result)
            else:
                body = None
                for chunk in result:
                    if chunk:
                        response.write(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if response.status is None:
            raise RuntimeError("the app returned without calling start_response")
        return body

    def _begin(self):
        """Counts this request in; returns its [concurrent] cell."""
        if self._threads == 1:
            return [1]
        with self._running_lock:
            running = self._running
            concurrent = len(running) + 1
            for cell in running:  # they now overlap with one more request
                if cell[0] < concurrent:
                    cell[0] = concurrent
            cell = [concurrent]
            running.append(cell)
            return cell

    def _end(self, cell, marks):
        if self._threads > 1:
            with self._running_lock:
                self._running.remove(cell)
        stats = {"concurrent": cell[0]}
        if marks is None:
            return stats
        rss_before, reset_here = marks
        if reset_here and self._threads == 1:
            rss, peak, vmsize, self._mark_clean = memory.end_request(rss_before)
            self._rss_after = rss
        else:  # requests overlapped: VmHWM since the first one's reset is the figure
            rss, peak, vmsize = memory.read_status()
        stats["rssBeforeKiB"] = rss_before
        stats["peakKiB"] = peak
        stats["rssAfterKiB"] = rss
        stats["vmSizeKiB"] = vmsize
        if self._pss_interval >= 0:
            now = _monotonic()
            if now >= self._next_pss:
                self._next_pss = now + self._pss_interval
                rollup = memory.read_rollup()
                if rollup is not None:
                    stats["ussKiB"], stats["pssKiB"] = rollup
        return stats

    def _log(self, level, message, request_id=None):
        log = {"level": level, "message": message}
        if request_id is not None:
            log["id"] = request_id
        try:
            self.send(encode_json_frame(Frame.Log, log))
        except OSError:
            sys.stderr.write(message + "\n")


class _Response:
    """start_response / write() state of one request (PEP 3333), and how it goes out:
    one FullResponse frame when nothing was committed before the end, else
    ResponseStart, Body frames, ResponseEnd."""

    __slots__ = ("id", "status", "headers", "committed", "_send", "_pending", "_start_sent")

    def __init__(self, request_id, send):
        self.id = request_id
        self.status = None
        self.headers = None
        self.committed = False  # headers are final: the first body byte exists
        self._send = send
        self._pending = []
        self._start_sent = False

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.committed:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self.status is not None:
            raise AssertionError("start_response called a second time without exc_info")
        if type(status) is not str:
            raise TypeError("status must be str, not %s" % type(status).__name__)
        for name, value in headers:
            if type(name) is not str or type(value) is not str:
                raise TypeError("header %r: name and value must be str" % (name,))
        self.status = status
        self.headers = headers
        return self.write

    def write(self, data):
        """PEP 3333 write() callable, also fed with the chunks of a streamed body."""
        if self.status is None:
            raise AssertionError("write() before start_response")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("response body chunks must be bytes, not %s" % type(data).__name__)
        self.committed = True
        self._pending.append(bytes(data) if type(data) is not bytes else data)
        # Each chunk goes out as it comes, as gunicorn does: a generator that blocks between
        # yields (server-sent events, long polling) must not have its output held back.
        self._send(self._drain())

    def _drain(self):
        """Encoded ResponseStart (once) and a Body frame of the pending chunks."""
        frames = []
        if not self._start_sent:
            self._start_sent = True
            frames.append(encode_json_frame(Frame.ResponseStart, {"id": self.id, "status": self.status, "headers": self.headers}))
        if self._pending:
            chunk = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending = []
            frames.append(encode_body_frame(Frame.Body, self.id, chunk))
        return b"".join(frames)

    def finish(self, body, stats):
        if self.committed:
            end = encode_json_frame(Frame.ResponseEnd, {"id": self.id, "stats": stats})
            self._send(self._drain() + end)
            return
        if "error" in stats:
            status, headers, body = "500 Internal Server Error", _ERROR_HEADERS, _ERROR_BODY
        else:
            status, headers = self.status, self.headers
            if body is None:
                body = b""  # a streamed body that turned out empty
        head = {"id": self.id, "status": status, "headers": headers, "stats": stats}
        self._send(encode_head_frame(Frame.FullResponse, head, body))


def run_worker(sock, loaded, config, worker_id, info):
    """Sends Hello and serves; returns the process exit code."""
    stack_kib = config.get("stackKiB", 0)
    if stack_kib > 0:
        threading.stack_size(stack_kib * 1024)  # a forked child starts from the default again
    worker = Worker(sock, loaded, config)
    worker.send(encode_json_frame(Frame.Hello, hello("worker", worker_id, info)))
    return worker.run()
