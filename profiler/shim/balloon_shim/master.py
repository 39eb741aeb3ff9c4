"""The master: forks workers on demand. With --preload it imported the app already and the
workers share those pages copy-on-write (gunicorn --preload); without, each worker imports
the app after the fork. Forking (rather than exec'ing workers from the supervisor) also gives
each worker a fresh getrusage high-water mark: an exec'd process inherits its parent's.
Single-threaded on purpose: fork() in a process with threads copies locks held by threads
that do not exist in the child. The app's own child processes end with their worker
(app_processes.py)."""
import json
import os
import selectors
import signal
import sys
import time
import traceback

from .app_processes import GRACE_SEC, AppProcesses, become_subreaper, lead_own_group
from . import memory
from .boot import app_info, connect, die_with_parent, hello, load_or_die
from .protocol import ExitCode, Frame
from .wire import FrameReader, encode_json_frame, send_json
from .worker import NO_PEAK_RESET_WARNING, run_worker

# After Stop, children get SIGTERM and this long to exit before SIGKILL.
_STOP_GRACE_SEC = 10.0


class Master:
    def __init__(self, sock, socket_path, loaded, config):
        self._sock = sock
        self._socket_path = socket_path
        self._loaded = loaded  # None: each worker imports the app
        self._config = config
        self._info = app_info(config, loaded) if loaded is not None else None
        self._children = {}  # pid -> workerId
        self._apps = AppProcesses()

    def run(self):
        become_subreaper()
        send_json(self._sock, Frame.MasterReady, hello("master", 0, self._info))
        if self._config.get("accounting", True) and not memory.prepare():
            self._log("warning", NO_PEAK_RESET_WARNING)  # once, for every worker it forks
        # SIGCHLD and SIGTERM only write their number to a pipe (signal handlers must not do
        # work); the loop below reaps. A Python-level handler is needed for the wakeup fd.
        # SIGTERM is our PDEATHSIG: the supervisor is gone, take everything down with us.
        self._wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._wake_write = wake_write
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._sock, selectors.EVENT_READ)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        reader = FrameReader(self._sock)
        while True:
            events = self._selector.select(self._apps.seconds_to_deadline())
            self._apps.enforce(self._children)
            for key, _ in events:
                if key.fileobj == self._wake_read:
                    terminated = signal.SIGTERM in self._drain_wakeups()
                    self._reap()
                    if terminated:
                        self._stop_children(signal.SIGKILL, 0)
                        return ExitCode.SupervisorGone
                    continue
                if not reader.fill():
                    self._stop_children(signal.SIGKILL, 0)
                    return ExitCode.SupervisorGone
                frame = reader.pop()
                while frame is not None:
                    if frame[0] == Frame.Fork:
                        fork = json.loads(frame[1])
                        self._fork(fork["workerId"], fork.get("deep"))
                    elif frame[0] == Frame.Stop:
                        self._stop_children(signal.SIGTERM, _STOP_GRACE_SEC)
                        return ExitCode.Ok
                    else:
                        self._log("warning", "master ignored frame type 0x%02x" % frame[0])
                    frame = reader.pop()

    def _fork(self, worker_id, deep):
        master_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            self._become_worker(worker_id, master_pid, deep)  # never returns
        self._children[pid] = worker_id
        send_json(self._sock, Frame.Forked, {"workerId": worker_id, "pid": pid})

    def _become_worker(self, worker_id, master_pid, deep):
        """`deep`: a DeepWorkerConfig, for the deep-dive worker (deep_worker.py), else None."""
        code = ExitCode.WorkerBootError
        try:
            # Its own process group first, before the app can start anything.
            lead_own_group()
            # Drop what belongs to the master; memory.py reopened its /proc fds at fork.
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self._selector.close()
            os.close(self._wake_read)
            os.close(self._wake_write)
            self._sock.close()
            die_with_parent(master_pid)
            sock = connect(self._socket_path)
            loaded, info = self._loaded, self._info
            if loaded is None:
                loaded = load_or_die(sock, self._config, worker_id)
                info = app_info(self._config, loaded)
            if deep is None:
                code = run_worker(sock, loaded, self._config, worker_id, info, warn=False)
            else:
                from .deep_worker import run_deep_worker

                code = run_deep_worker(sock, loaded, self._config, worker_id, info, deep["frames"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            # Never unwind into the master's frames; skip atexit hooks registered for the master.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _drain_wakeups(self):
        """The signal numbers that arrived."""
        signums = set()
        try:
            while True:
                data = os.read(self._wake_read, 4096)
                if not data:
                    break
                signums.update(data)
        except BlockingIOError:
            pass
        return signums

    def _reap(self, block=False):
        """Reaps workers (reporting each exit) and the app's processes we adopted; `block`
        waits for the workers."""
        while True:
            try:
                pid, status = os.waitpid(-1, 0 if block and self._children else os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker_id = self._children.pop(pid, None)
            if worker_id is None:
                continue  # a process of the app's that outlived its parent: reaped, nothing to report
            self._apps.worker_gone(pid, self._children)
            if os.WIFSIGNALED(status):
                exit_code, signum = None, os.WTERMSIG(status)
            else:
                exit_code, signum = os.WEXITSTATUS(status), None
            try:
                send_json(self._sock, Frame.ChildExit, {"pid": pid, "exitCode": exit_code, "signal": signum})
            except OSError:
                pass  # supervisor gone: we are shutting down anyway

    def _stop_children(self, signum, grace_sec):
        """Workers get `signum` and grace_sec to exit; the app's processes get it with them
        and at most GRACE_SEC before SIGKILL. Returns once all are gone."""
        groups = list(self._children)
        for pid in groups:
            _signal_group(pid, signum)
        self._apps.end_all(groups, self._children, signum)
        started = time.monotonic()
        while time.monotonic() - started < grace_sec:
            self._reap()
            if time.monotonic() - started >= min(grace_sec, GRACE_SEC):
                self._apps.end_all(groups, self._children, signal.SIGKILL)
            if not self._children and not self._apps.leftovers(groups, self._children):
                break
            time.sleep(0.05)  # each pass reads /proc: ~2 ms per 100 processes
        for pid in groups:
            _signal_group(pid, signal.SIGKILL)
        self._apps.end_all(groups, self._children, signal.SIGKILL)
        self._reap(block=True)
        # SIGKILL takes effect at once (unless a process is stuck in the kernel): reap what
        # it killed rather than hand zombies to init.
        deadline = time.monotonic() + 0.5
        while self._apps.leftovers(groups, self._children) and time.monotonic() < deadline:
            time.sleep(0.01)
            self._reap()
        self._reap()

    def _log(self, level, message):
        try:
            self._sock.sendall(encode_json_frame(Frame.Log, {"level": level, "message": message}))
        except OSError:
            print(message, file=sys.stderr)


def _signal_group(pgid, signum):
    """A worker and the app's processes still in its group."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
