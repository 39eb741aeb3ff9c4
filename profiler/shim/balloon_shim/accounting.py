"""What one request did to this worker's memory (RequestStats in shim-protocol.ts), and
whether it had the worker to itself.

A request's span runs from its "RSS before" (read when it starts, or just before its big
body is received, so that buffer is charged to it) to its "RSS after" (read once its
response is handed off and its own references are dropped); see ARCHITECTURE.md, "Memory
facts the engine is built on".

With threads, a span is solo when no other span of this worker overlapped it at any moment;
its figures are exact. The high-water mark is reset when a span starts alone, unless the
last solo span left it at or below the RSS now (a mark below the starting RSS works exactly
like one reset to it). Spans that overlap share one mark, so their figures are shared:
`concurrent` > 1 says so, and they say nothing about the mark afterwards.
"""
import threading
import time

from . import memory

_monotonic = time.monotonic


class Span:
    __slots__ = ("concurrent", "rss_before", "maxrss_before")

    def __init__(self):
        self.concurrent = 1  # the most spans of this worker in flight at once during this one


class Accounting:
    def __init__(self, config):
        self.measure = bool(config.get("accounting", True))
        self._threaded = int(config.get("threads") or 1) > 1
        self._running = []
        self._lock = threading.Lock()
        self._clean_below = None  # the mark is at or below this RSS (a solo span left it so)
        self.can_reset = memory.prepare() if self.measure else True
        self._pss_interval = float(config.get("pssIntervalSec", 0))
        self._next_pss = 0.0

    def begin(self):
        span = Span()
        if not self._threaded:
            if self.measure:
                self._start(span)
            return span
        with self._lock:
            running = self._running
            count = len(running) + 1
            for other in running:  # they now overlap one more span
                if other.concurrent < count:
                    other.concurrent = count
            span.concurrent = count
            running.append(span)
            if self.measure:
                self._start(span)
        return span

    def _start(self, span):
        span.rss_before = rss = memory.read_rss()
        if not self.can_reset:
            span.maxrss_before = memory.maxrss()
        elif span.concurrent > 1:
            self._clean_below = None  # another span is moving the mark
        elif self._clean_below is None or rss < self._clean_below:
            memory.reset_peak()

    def end(self, span):
        """RequestStats memory fields and `concurrent` of a finished span (route, handler and
        duration are the caller's)."""
        if not self._threaded:
            return self._finish(span)
        with self._lock:
            stats = self._finish(span)
            self._running.remove(span)
        return stats

    def _finish(self, span):
        if not self.measure:
            return {"concurrent": span.concurrent}
        if not self.can_reset:
            rss, peak, vmsize = memory.end_unreset(span.rss_before, span.maxrss_before)
        elif span.concurrent == 1:
            rss, peak, vmsize, clean = memory.end_request(span.rss_before)
            self._clean_below = rss if clean else None
        else:  # VmHWM since the last reset: shared with the spans it overlapped
            rss, peak, vmsize = memory.read_status()
            self._clean_below = None
        stats = {"concurrent": span.concurrent, "rssBeforeKiB": span.rss_before, "peakKiB": peak,
                 "rssAfterKiB": rss, "vmSizeKiB": vmsize}
        if self._pss_interval >= 0:
            now = _monotonic()
            if now >= self._next_pss:
                self._next_pss = now + self._pss_interval
                rollup = memory.read_rollup()
                if rollup is not None:
                    stats["ussKiB"], stats["pssKiB"] = rollup
        return stats
