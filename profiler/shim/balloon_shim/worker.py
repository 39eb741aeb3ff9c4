"""The worker loop: read Request frames, call the WSGI app, send the response and what the
request did to memory (RequestStats in shim-protocol.ts; accounting.py says how)."""
import io
import json
import os
import queue
import sys
import threading
import time
import traceback

from .accounting import Accounting
from .boot import exception_type_name, format_app_traceback, hello
from .environ import ErrorStream, base_environ, build_environ
from .frameworks import RouteResolver
from .protocol import ExitCode, Frame
from .response import Response
from .wire import FrameReader, encode_json_frame, send_parts, split_head

_perf_counter = time.perf_counter

NO_PEAK_RESET_WARNING = (
    "/proc/self/clear_refs cannot be written here (gVisor, WSL1?): the peak of a request is "
    "max(RSS before, RSS after), or getrusage's high-water mark when the request raised it; "
    "a balloon below an earlier high goes unseen")


class Worker:
    def __init__(self, sock, loaded, config):
        self._sock = sock
        self._send_lock = threading.Lock()
        self._app = loaded.app
        self._resolver = RouteResolver(loaded, config.get("cwd") or os.getcwd())
        self._base_environ = base_environ(config)
        self.accounting = Accounting(config)
        self._threads = max(1, int(config.get("threads") or 1))
        self._body_span = None  # begun by the reader just before a big body arrives
        self._run_app = run_app  # the deep-dive worker's wraps it (deep_worker.py)

    def send(self, data):
        """Writes whole encoded frames; the lock keeps frames of different threads apart."""
        with self._send_lock:
            self._sock.sendall(data)

    def send_parts(self, parts):
        """Writes frames given as a list of buffers (a Body frame: its header and a view of the
        app's bytes), in one sendmsg under the send lock."""
        with self._send_lock:
            send_parts(self._sock, parts)

    def run(self):
        """Serves until Stop (ExitCode.Ok) or end of the socket (ExitCode.SupervisorGone)."""
        reader = FrameReader(self._sock, self._body_coming)
        try:
            if self._threads == 1:
                return self._serve_on_this_thread(reader)
            return self._serve_with_pool(reader)
        except (BrokenPipeError, ConnectionResetError):
            return ExitCode.SupervisorGone

    def _body_coming(self, size):
        # The span starts before the body's buffer exists: the body is the request's memory.
        self._body_span = self.accounting.begin()

    def _take_body_span(self):
        span, self._body_span = self._body_span, None
        return span

    def _serve_on_this_thread(self, reader):
        read, handle = reader.read, self.handle
        while True:
            frame = read()
            if frame is None:
                return ExitCode.SupervisorGone
            if frame[0] == Frame.Request:
                handle(frame[1], frame[2], self._take_body_span())
            elif frame[0] == Frame.Stop:
                return ExitCode.Ok
            else:
                self.log("warning", "worker ignored frame type 0x%02x" % frame[0])

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
                jobs.put((frame[1], frame[2], self._take_body_span()))
            elif frame[0] == Frame.Stop:
                for _ in pool:
                    jobs.put(None)
                for thread in pool:
                    thread.join()  # finish the requests in flight
                return ExitCode.Ok
            else:
                self.log("warning", "worker ignored frame type 0x%02x" % frame[0])

    def _pool_thread(self, jobs):
        while True:
            job = jobs.get()
            if job is None:
                return
            try:
                self.handle(*job)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the supervisor is gone; the main thread sees the end of the socket
            except BaseException:  # anything else escaping the app: die as a 1-thread worker does
                traceback.print_exc()
                sys.stderr.flush()
                os._exit(1)

    # -- one request ---------------------------------------------------------------------

    def handle(self, payload, big_body=None, span=None):
        """One request. `payload` is the frame's payload, or only its head when its body was
        big: then `big_body` is the BytesIO it was received into and `span` began before it."""
        if big_body is None:
            head, body = split_head(payload)
            stream, size = io.BytesIO(body), len(body)
            body = None
        else:
            head, stream = json.loads(payload), big_body
            size = stream.seek(0, io.SEEK_END)
            stream.seek(0)  # read() of the whole body hands out the buffer itself only from 0
        request_id = head["id"]
        errors = ErrorStream(self.send, request_id)
        environ = build_environ(self._base_environ, head, stream, size, errors)
        found, trace = self._resolver.begin(environ)
        if span is None:
            span = self.accounting.begin()
        response = Response(request_id, self.send, self.send_parts)
        error = small_body = None
        started = _perf_counter()
        try:
            if trace is not None:
                trace.start()
            small_body = self._run_app(self._app, environ, response)
        except SystemExit as exc:
            self._app_exits(exc, head)
        except Exception as exc:
            error = {"type": exception_type_name(exc), "traceback": format_app_traceback(exc)}
        finally:
            if trace is not None:
                trace.stop()
        duration_ms = (_perf_counter() - started) * 1000.0
        # The request's own references go before RSS after: its body (whoever else still
        # holds the BytesIO object) and its environ (with what the app hung on it).
        stream.close()
        environ = stream = None
        stats = self.accounting.end(span)
        stats["durationMs"] = round(duration_ms, 3)
        if trace is not None:
            found = self._resolver.finish(trace)
        stats["route"], stats["handler"] = found
        if error is not None:
            stats["error"] = error
            self.log("error", error["traceback"], request_id)
        errors.flush()
        response.finish(small_body, stats)

    def _app_exits(self, exc, head):
        """sys.exit() in a handler ends the worker, as under gunicorn; say so, with its own exit code."""
        call = "sys.exit(%r)" % (exc.code,) if exc.code is not None else "sys.exit()"
        self.log("error", "the app called %s during %s %s; the worker exits" % (call, head["method"], head["path"]))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(ExitCode.AppExit)

    def log(self, level, message, request_id=None):
        log = {"level": level, "message": message}
        if request_id is not None:
            log["id"] = request_id
        try:
            self.send(encode_json_frame(Frame.Log, log))
        except OSError:
            sys.stderr.write(message + "\n")


def run_app(app, environ, response):
    """Calls the app and sends its body (Response.send_result), returning a small one. A frame
    of its own: the app's iterable and its close() go when it returns."""
    result = app(environ, response.start_response)
    try:
        body = response.send_result(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if response.status is None:
        raise RuntimeError("the app returned without calling start_response")
    return body


def run_worker(sock, loaded, config, worker_id, info, warn=True):
    """Sends Hello and serves; returns the process exit code. `warn`: say here when the peak
    cannot be reset (a master that forked us said it once already)."""
    stack_kib = config.get("stackKiB", 0)
    if stack_kib > 0:
        threading.stack_size(stack_kib * 1024)  # a forked child starts from the default again
    worker = Worker(sock, loaded, config)
    worker.send(encode_json_frame(Frame.Hello, hello("worker", worker_id, info)))
    if warn and not worker.accounting.can_reset:
        worker.log("warning", NO_PEAK_RESET_WARNING)
    return worker.run()
