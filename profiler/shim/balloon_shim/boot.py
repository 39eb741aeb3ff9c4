"""Start-up steps shared by worker and master: connect, tie our life to the parent's,
load the app (or report why not), and the Hello message."""
import ctypes
import os
import platform
import resource
import signal
import socket
import sys
import threading
import traceback

from . import memory
from .loader import load
from .protocol import ExitCode, Frame
from .wire import send_json

_PR_SET_PDEATHSIG = 1


def connect(path):
    """Connects to the supervisor's socket; exits WorkerBootError if it cannot."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        print("balloon: cannot connect to %s: %s" % (path, exc), file=sys.stderr)
        sys.exit(ExitCode.WorkerBootError)
    return sock


def die_with_parent(expected_parent, signum=signal.SIGKILL):
    """Send us `signum` when the parent (supervisor, or master for forked workers) dies, so
    a crashed supervisor leaves no orphans (the master takes SIGTERM, to end the app's
    processes first). If the parent already died, we were re-parented: leave."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: rely on EOF on the socket instead
        pass
    if os.getppid() != expected_parent:
        sys.exit(ExitCode.SupervisorGone)


_SHIM_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def format_app_traceback(exc):
    """The traceback from the app's first frame on: our frames and importlib's would only
    push the user's code further down."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not (filename.startswith(_SHIM_DIR) or filename.startswith("<frozen importlib")):
            break
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def exception_type_name(exc):
    kind = type(exc)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return "%s.%s" % (kind.__module__, kind.__qualname__)


def load_or_die(sock, config, worker_id):
    """Loads the app; on failure sends Fatal (saying who failed) and exits AppLoadError."""
    try:
        return load(config)
    except BaseException as exc:  # SystemExit from an app's import is a load failure too
        if isinstance(exc, KeyboardInterrupt):
            raise
        text = format_app_traceback(exc)
        sys.stderr.write(text)
        message = "%s: %s" % (exception_type_name(exc), exc)
        try:
            send_json(sock, Frame.Fatal, {
                "stage": "import", "workerId": worker_id, "pid": os.getpid(), "message": message, "traceback": text,
            })
        except OSError:
            pass
        sys.stderr.flush()
        os._exit(ExitCode.AppLoadError)  # skip atexit hooks a half-imported app may have left


def app_info(config, loaded):
    return {
        "target": config["target"],
        "framework": loaded.framework,
        "pythonVersion": platform.python_version(),
        "pythonExecutable": sys.executable,
        "frameworkVersion": loaded.framework_version,
    }


def hello(role, worker_id, info):
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    return {
        "role": role,
        "workerId": worker_id,
        "pid": os.getpid(),
        "app": info,
        "memory": memory.snapshot(),
        "stackLimitKiB": -1 if soft == resource.RLIM_INFINITY else soft // 1024,
        "threadStackKiB": threading.stack_size() // 1024,
    }
