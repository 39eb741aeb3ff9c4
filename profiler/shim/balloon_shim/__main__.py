"""Entry point: `python3 -m balloon_shim worker|master`, configured by the environment
(ShimEnv in protocol.py: socket path, ShimConfig JSON, worker id)."""
import json
import os
import resource
import signal
import sys
import threading

from .protocol import STACK_REEXEC_ENV, ExitCode, ShimEnv

_USAGE = "usage: python3 -m balloon_shim worker|master (with %s, %s%s set)" % (
    ShimEnv.socket, ShimEnv.config, ", " + ShimEnv.workerId + " for worker")


def _usage_error(message):
    print("balloon_shim: %s\n%s" % (message, _USAGE), file=sys.stderr)
    return ExitCode.Usage


def _read_config():
    """(socket path, config dict, worker id) from the environment, or a message why not."""
    path = os.environ.get(ShimEnv.socket)
    if not path:
        return "%s is not set" % ShimEnv.socket
    try:
        config = json.loads(os.environ.get(ShimEnv.config) or "")
    except ValueError as exc:
        return "%s is not JSON: %s" % (ShimEnv.config, exc)
    if not isinstance(config, dict) or not isinstance(config.get("target"), str) or not config["target"]:
        return "%s has no target" % ShimEnv.config
    for key in ("threads", "stackKiB", "serverPort"):
        if not isinstance(config.get(key, 0), int) or config.get(key, 0) < 0:
            return "%s.%s must be a non-negative integer" % (ShimEnv.config, key)
    return path, config


def _apply_stack_size(stack_kib, mode):
    """RLIMIT_STACK must be in place when the process starts: glibc reads it once, at start,
    for the default size of threads that C code creates. So set it and exec ourselves again
    (same pid, same environment); the env guard stops a loop if the kernel will not comply."""
    wanted = stack_kib * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if soft != wanted and os.environ.get(STACK_REEXEC_ENV) != str(stack_kib):
        try:
            resource.setrlimit(resource.RLIMIT_STACK, (wanted, hard))
        except (ValueError, OSError) as exc:
            print("balloon_shim: cannot set RLIMIT_STACK to %d KiB: %s" % (stack_kib, exc), file=sys.stderr)
        else:
            os.environ[STACK_REEXEC_ENV] = str(stack_kib)
            sys.stdout.flush()
            sys.stderr.flush()
            argv = getattr(sys, "orig_argv", None) or [sys.executable, "-m", "balloon_shim", mode]
            os.execv(sys.executable, argv)
    os.environ.pop(STACK_REEXEC_ENV, None)  # not for the app's own subprocesses
    try:
        threading.stack_size(wanted)
    except ValueError as exc:  # below the platform minimum (32 KiB)
        print("balloon_shim: threading.stack_size(%d KiB): %s" % (stack_kib, exc), file=sys.stderr)


def main(argv):
    if len(argv) != 2 or argv[1] not in ("worker", "master"):
        return _usage_error("expected one argument, worker or master")
    mode = argv[1]
    # The supervisor decides when we stop (Stop frame, or SIGKILL): a Ctrl-C meant for it
    # must not kill a request halfway.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    found = _read_config()
    if isinstance(found, str):
        return _usage_error(found)
    path, config = found
    worker_id = 0
    if mode == "worker":
        try:
            worker_id = int(os.environ.get(ShimEnv.workerId, ""))
        except ValueError:
            return _usage_error("%s must be a decimal worker id" % ShimEnv.workerId)
    parent = os.getppid()  # before anything slow: compared again once PDEATHSIG is armed
    if config.get("stackKiB", 0) > 0:
        _apply_stack_size(config["stackKiB"], mode)

    # Imported after a possible re-exec: nothing of the app or of ours is loaded twice.
    from .boot import app_info, connect, die_with_parent, load_or_die

    sock = connect(path)
    # The master catches SIGTERM (master.py) to end its workers and the app's processes.
    die_with_parent(parent, signal.SIGTERM if mode == "master" else signal.SIGKILL)
    if mode == "master":
        from .master import Master

        # --preload: import once here and fork copy-on-write; otherwise each forked worker
        # imports the app itself (gunicorn's two shapes).
        loaded = load_or_die(sock, config, 0) if config.get("preload") else None
        return Master(sock, path, loaded, config).run()
    from .worker import run_worker

    loaded = load_or_die(sock, config, worker_id)
    return run_worker(sock, loaded, config, worker_id, app_info(config, loaded))


if __name__ == "__main__":
    code = main(sys.argv)
    if code == ExitCode.SupervisorGone:
        # Pool threads may still be inside the app; nobody is left to answer them.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
