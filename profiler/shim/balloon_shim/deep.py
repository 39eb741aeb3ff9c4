"""The deep dive's measurements: which lines of the app hold a call's memory at its traced peak,
and which keep it afterwards (tracemalloc; only in the deep-dive worker, deep_worker.py).

Attribution: a trace's traceback is walked from the allocating frame outwards to the first
frame in the app's files (AppFiles, as handlers are found); that line is the site. Frames of
the standard library are skipped first: when the first other frame is the shim's, the memory
is ours (snapshots, this module's tables, the environ) and is left out; with no app frame among
the captured ones it is the framework's or a library's ("outside the app").

Raw traces are read from Snapshot.traces._traces (tuples, most recent frame first): the
public Trace/Traceback objects cost 5.6 s for 340k traces against 0.3 s (Python 3.11), and
every object made here is itself traced. Sums are floats so that each addition reuses a
freed float instead of allocating a traced int.
"""
import linecache
import sys
import time
import tracemalloc

from .handlers import LIBRARY_DIRS, SHIM_DIR

_traced = tracemalloc.get_traced_memory
_reset_peak = getattr(tracemalloc, "reset_peak", None)  # Python 3.9+; without it no exact peak
OUTSIDE = "outside"  # no app frame among the captured ones
TRUNCATED = "truncated"  # no app frame, and the traceback was cut at the frame limit
_OURS = "ours"

# Sites each call reports per kind, biggest first: a view touches a few dozen lines at most.
SITES_PER_CALL = 50

# When a peak snapshot is taken (PeakProbe). A snapshot costs ~0.25 us per live trace (70 ms
# for 340k), so not on every new high: on a call with no target, each time the traced memory
# grew another COARSE_STEP (a 24 MiB build of 340k strings: ~50 snapshots, ~2.5 s); once a call
# of the same path has set the target, at NEAR_TARGET of it and every FINE_STEP beyond (one to
# three a call), and below it every BELOW_STEP, in case this call stays under the last one (a
# first call's imports and caches): then at least 1 / 1.5 of its high is captured.
MIN_STEP_BYTES = 64 * 1024
# CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR: frames that return at every yield.
_SUSPENDABLE = 0x20 | 0x80 | 0x200
COARSE_STEP = 0.10
NEAR_TARGET = 0.98
FINE_STEP = 0.01
BELOW_STEP = 0.5


def _is_library(filename):
    return filename.startswith(LIBRARY_DIRS) or filename.startswith("<")


class Sites:
    """Groups a snapshot's traces by the app's line that made them."""

    def __init__(self, app_files, relative, frames):
        self._app_files = app_files
        self._relative = relative  # absolute path -> as HandlerInfo.file gives it
        self._frames = frames

    def group(self, snapshot):
        """{key: [bytes, blocks]}, key the (filename, line) of an app frame, OUTSIDE or TRUNCATED."""
        sums = {}
        keys = {}  # traceback -> key; tracebacks are interned within a snapshot
        for trace in snapshot.traces._traces:
            traceback = trace[2]
            key = keys.get(traceback)
            if key is None:
                # trace[3], the traceback's depth before the cut: Python 3.9+
                key = keys[traceback] = self._key(traceback, trace[3] if len(trace) > 3 else None)
            if key is _OURS:
                continue
            entry = sums.get(key)
            if entry is None:
                sums[key] = [float(trace[1]), 1.0]
            else:
                entry[0] += trace[1]
                entry[1] += 1.0
        return sums

    def _key(self, traceback, total_frames):
        library = True
        for frame in traceback:
            filename = frame[0]
            if library:
                if _is_library(filename):
                    continue
                library = False
                if filename.startswith(SHIM_DIR):
                    return _OURS
            if filename in self._app_files:
                return frame
        cut = len(traceback) >= self._frames if total_frames is None else total_frames > len(traceback)
        return TRUNCATED if cut else OUTSIDE

    def sites(self, grouped, limit=SITES_PER_CALL):
        """The biggest app sites of a grouping (by |bytes|) as DeepSiteMessage dicts, and the
        bytes outside the app and truncated."""
        app = [(key, value) for key, value in grouped.items() if type(key) is tuple and value[0]]
        app.sort(key=lambda item: abs(item[1][0]), reverse=True)
        out = []
        for (filename, line), (size, count) in app[:limit]:
            out.append({"file": self._relative(filename), "line": line, "code": linecache.getline(filename, line).strip(),
                        "bytes": int(size), "count": int(count)})
        return out, int(_bytes(grouped, OUTSIDE)), int(_bytes(grouped, TRUNCATED))


def _bytes(grouped, key):
    value = grouped.get(key)
    return value[0] if value else 0.0


def difference(after, before, positive_only=False):
    """after - before per key, keys whose bytes changed (or grew, with positive_only)."""
    out = {}
    for key, (size, count) in after.items():
        old = before.get(key)
        delta = size - old[0] if old else size
        if delta > 0 or (delta < 0 and not positive_only):
            out[key] = [delta, count - old[1] if old else count]
    if not positive_only:
        for key, (size, count) in before.items():
            if key not in after:
                out[key] = [-size, -count]
    return out


class PeakProbe:
    """The moment of a call's highest traced memory, as a snapshot.

    tracemalloc keeps no per-site peak, so a profile hook reads the traced total on every call
    and return of the handling thread (a local is freed when its frame returns, so a function's
    memory is still there at its return event) and takes a snapshot at each new high past the
    next threshold. Memory that comes and goes inside one C call, or between two events, is not
    seen: get_traced_memory()'s own peak, reset at the start and around each snapshot (whose own
    objects are traced too and are taken out), says how much that left out (`exactBytes`;
    None before Python 3.9, which has no reset_peak). Levels are bytes above the call's start.
    """

    def __init__(self, target):
        self.target = target  # the level the previous call reached at an event; 0: none yet
        self.best = None
        self.best_level = 0
        self.high = 0
        self.exact = 0 if _reset_peak is not None else None
        self.snapshots = 0
        self.snapshot_seconds = 0.0
        self._base = 0
        self._own = 0  # bytes of the snapshot held, traced like the app's
        self._next_at = 0
        self._previous = None

    def start(self):
        self._base = _traced()[0]
        if _reset_peak is not None:
            _reset_peak()
        self._next_at = self._threshold(0)
        self._previous = sys.getprofile()  # a ViewTrace of the route's first call runs too
        sys.setprofile(self._hook)

    def stop(self):
        sys.setprofile(self._previous)
        self._previous = None
        self._note_exact()

    def _threshold(self, level):
        if not self.target:
            return level + max(MIN_STEP_BYTES, COARSE_STEP * level)
        near = NEAR_TARGET * self.target
        if level < near:
            return max(MIN_STEP_BYTES, min(near, level + BELOW_STEP * level))
        return level + max(MIN_STEP_BYTES, FINE_STEP * level)

    def _hook(self, frame, event, arg):
        if self._previous is not None:
            self._previous(frame, event, arg)
        # Only returns, and not a generator's yields: every reading allocates (a tuple and its
        # ints), and each allocation is traced with its whole traceback, so the hook was most of
        # the dive's cost (a 300k-string build in a generator, 35 frames deep: 2.1 s traced,
        # 7.1 s with a reading at every event at 40 frames). A peak is still there at a return
        # (the frame's locals are not yet freed), at a C call's return, or in the exact check.
        if (event != "return" and event != "c_return") or frame.f_code.co_flags & _SUSPENDABLE:
            return
        level = _traced()[0] - self._base - self._own
        if level > self.high:
            self.high = level
            if level >= self._next_at:
                self._capture(level)

    def _note_exact(self):
        if self.exact is not None:
            self.exact = max(self.exact, _traced()[1] - self._base - self._own)

    def _capture(self, level):
        started = time.perf_counter()
        self._note_exact()
        self.best = None  # the previous snapshot goes first: the new one would hold its traces
        self.best = tracemalloc.take_snapshot()
        self._own = _traced()[0] - self._base - level
        self.best_level = level
        self._next_at = self._threshold(level)
        if _reset_peak is not None:
            _reset_peak()
        self.snapshots += 1
        self.snapshot_seconds += time.perf_counter() - started

    def figures(self):
        return {"capturedBytes": int(self.best_level), "observedBytes": int(self.high),
                "exactBytes": None if self.exact is None else int(self.exact),
                "snapshots": self.snapshots, "snapshotMs": round(self.snapshot_seconds * 1000.0, 3)}


def start_tracing(frames):
    """tracemalloc with `frames` frames per traceback; a message why not, or None."""
    if not 1 <= frames <= 65535:
        return "frames must be 1-65535, got %r" % (frames,)
    try:
        tracemalloc.start(frames)
    except (RuntimeError, ValueError) as exc:
        return "tracemalloc.start(%d): %s" % (frames, exc)
    return None
