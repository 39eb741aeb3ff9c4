"""The app's own processes (a handler's subprocess.Popen), found and ended with their worker.

Each worker leads a process group of its own, so what it starts stays in that group unless it
leaves it (setsid, setpgid); and the master is a child subreaper, so whatever outlives its
parent is re-parented to the master, not to init. When a worker is gone, its group and every
process the master adopted that no live worker's group claims get SIGTERM, then SIGKILL after
GRACE_SEC. Nothing is left with ppid 1 holding the supervisor's pipes open."""
import ctypes
import os
import signal
import time

_PR_SET_CHILD_SUBREAPER = 36

# SIGTERM lets an app's child clean up (flush a file, drop a lock); most exit within
# milliseconds. 2 s bounds what one that ignores SIGTERM adds to a Ctrl-C, inside the 3 s the
# supervisor gives the master to exit, and is long enough for an orderly exit.
GRACE_SEC = 2.0


def become_subreaper():
    """Orphans below us come to us (Linux 3.4+); elsewhere they go to init as before."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def lead_own_group():
    """In a freshly forked worker, before the app runs: the app's children join this group."""
    try:
        os.setpgid(0, 0)
    except OSError:
        pass


def _processes():
    """(pid, ppid, pgid) of every live process, from /proc; nothing where there is no /proc."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as stat:
                text = stat.read()
        except OSError:
            continue  # gone meanwhile
        fields = text[text.rindex(b")") + 2:].split()
        if fields[0] in (b"Z", b"X"):
            continue  # dead already; a zombie of ours is reaped by the master's loop
        yield int(name), int(fields[1]), int(fields[2])


def _signal_all(pids, signum):
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


class AppProcesses:
    def __init__(self):
        self._pid = os.getpid()
        self._ending = {}  # process group of a worker that is gone -> when SIGKILL follows

    def leftovers(self, groups, workers):
        """Processes in one of these worker groups, or adopted by us and claimed by no live
        worker's group; never a worker itself."""
        groups = set(groups)
        found = []
        for pid, ppid, pgid in _processes():
            if pid == self._pid or pid in workers:
                continue
            if pgid in groups or (ppid == self._pid and pgid not in workers):
                found.append(pid)
        return found

    def worker_gone(self, worker_pid, workers):
        """SIGTERM now to what the worker left; SIGKILL at the deadline (see enforce)."""
        self._ending[worker_pid] = time.monotonic() + GRACE_SEC
        _signal_all(self.leftovers([worker_pid], workers), signal.SIGTERM)

    def seconds_to_deadline(self):
        """For the master's select(): None when nothing is due."""
        if not self._ending:
            return None
        return max(0.0, min(self._ending.values()) - time.monotonic())

    def enforce(self, workers):
        """SIGKILL what is still left of workers whose grace period is over."""
        now = time.monotonic()
        due = [group for group, deadline in self._ending.items() if deadline <= now]
        if not due:
            return
        _signal_all(self.leftovers(due, workers), signal.SIGKILL)
        for group in due:
            del self._ending[group]

    def end_all(self, groups, workers, signum):
        _signal_all(self.leftovers(groups, workers), signum)
