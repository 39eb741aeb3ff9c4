"""Memory readings of this process from /proc, in KiB.

The files stay open and are re-read with os.pread(fd, n, 0): seq files regenerate their
text when read at offset 0, so a reading is one syscall, no open/close.
/proc/self resolves when the file is opened, so a forked child holding its parent's fds
would read the parent: at-fork hook below drops them in the child, to be reopened there.

Costs measured on Linux 6.x: statm ~1-2 µs, getrusage ~1-2 µs, status ~7-14 µs (it formats
40 fields), smaps_rollup ~100 µs (it walks every mapping), clear_refs write ~1 µs. Hence
statm and getrusage on the hot path, status only when they cannot give the exact peak,
and smaps_rollup rate-limited by the caller.
"""
import os
import resource

from .protocol import NO_CLEAR_REFS_ENV

_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
_fds = {}


def _fd(name, flags=os.O_RDONLY):
    fd = _fds.get(name)
    if fd is None:
        fd = _fds[name] = os.open("/proc/self/" + name, flags | os.O_CLOEXEC)
    return fd


def reopen():
    """Forget fds opened by another process (the parent, before fork); reopened on next use."""
    for fd in _fds.values():
        try:
            os.close(fd)
        except OSError:
            pass
    _fds.clear()


os.register_at_fork(after_in_child=reopen)


def prepare():
    """Opens every file now, on one thread, before pool threads could race to open them.
    Returns whether the high-water mark can be reset: /proc/self/clear_refs is not writable
    under gVisor or WSL1 (or NO_CLEAR_REFS_ENV is set, to test that case)."""
    for name in ("statm", "status", "smaps_rollup"):
        try:
            _fd(name)
        except OSError:
            pass
    if os.environ.get(NO_CLEAR_REFS_ENV):
        return False
    try:
        reset_peak()
    except OSError:
        return False
    return True


def reset_peak():
    """Sets VmHWM to the current RSS (clear_refs "5"), so VmHWM after a request is its peak."""
    os.write(_fd("clear_refs", os.O_WRONLY), b"5")


def read_rss():
    """Resident set size from /proc/self/statm (the cheap file: no VmHWM there)."""
    statm = os.pread(_fd("statm"), 256, 0)
    start = statm.find(b" ") + 1
    return int(statm[start:statm.find(b" ", start)]) * _PAGE_KIB


def _statm():
    """(vmsize, rss) from /proc/self/statm."""
    statm = os.pread(_fd("statm"), 256, 0)
    first = statm.find(b" ")
    second = statm.find(b" ", first + 1)
    return int(statm[:first]) * _PAGE_KIB, int(statm[first + 1:second]) * _PAGE_KIB


def maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def end_request(rss_before):
    """(rss, peak, vmsize, clean) after a request that started with the high-water mark at
    or below rss_before (reset, or left clean by the previous request).

    The kernel updates the mm's high-water mark lazily, just before anything unmaps or
    discards pages, and getrusage's ru_maxrss is max(that mark, the marks of exited
    threads). So when ru_maxrss is no higher than the RSS before or after, nothing above
    them was given back and the peak is the larger of the two; otherwise VmHWM decides
    (a balloon, or an exited thread's old mark). Most requests cost two cheap syscalls.
    `clean` says the mark is still at or below the RSS now: the next request needs no reset,
    since a mark below its starting RSS works exactly like one reset to it."""
    vmsize, rss = _statm()
    high = maxrss()
    if high <= max(rss_before, rss):
        return rss, max(rss_before, rss), vmsize, high <= rss
    rss, peak, vmsize = read_status()
    return rss, peak, vmsize, False


def end_unreset(rss_before, maxrss_before):
    """(rss, peak, vmsize) after a request, where the mark cannot be reset (prepare() said so)."""
    vmsize, rss = _statm()
    return rss, peak_without_reset(rss_before, rss, maxrss_before, maxrss()), vmsize


def peak_without_reset(rss_before, rss_after, maxrss_before, maxrss_after):
    """Peak of a request from readings alone. ru_maxrss is then the lifetime high: if it rose
    during the request, this request set a new high and that is its peak, exactly; if not,
    all that is known is max(before, after), a balloon under an older high goes unseen."""
    return maxrss_after if maxrss_after > maxrss_before else max(rss_before, rss_after)


def _field(text, key):
    start = text.find(key)
    if start < 0:
        return -1
    start += len(key)
    return int(text[start:text.find(b" kB", start)])  # int() skips the padding


def read_status():
    """(rss, hwm, vmsize) from /proc/self/status."""
    status = os.pread(_fd("status"), 4096, 0)
    return _field(status, b"\nVmRSS:"), _field(status, b"\nVmHWM:"), _field(status, b"\nVmSize:")


def read_rollup():
    """(uss, pss) from /proc/self/smaps_rollup; USS = Private_Clean + Private_Dirty.
    None when the kernel has no smaps_rollup (before 4.14)."""
    try:
        rollup = os.pread(_fd("smaps_rollup"), 4096, 0)
    except OSError:
        return None
    uss = _field(rollup, b"\nPrivate_Clean:") + _field(rollup, b"\nPrivate_Dirty:")
    return uss, _field(rollup, b"\nPss:")


def snapshot(with_rollup=True):
    """MemorySnapshot (shim-protocol.ts) of this process."""
    rss, _, vmsize = read_status()
    snap = {"rssKiB": rss, "vmSizeKiB": vmsize}
    rollup = read_rollup() if with_rollup else None
    if rollup is not None:
        snap["ussKiB"], snap["pssKiB"] = rollup
    return snap
