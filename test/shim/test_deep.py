"""The deep dive's measurements (balloon_shim.deep) in this process: sites attributed to the
app's line, the shim's own memory left out, a library's kept apart, the peak snapshot."""
import inspect
import math
import os
import shutil
import sys
import tempfile
import threading
import tracemalloc
import unittest

from balloon_shim import deep
from balloon_shim.handlers import AppFiles, Handlers

HERE = os.path.dirname(os.path.abspath(__file__))
FRAMES = 25
MiB = 1 << 20
_kept = []

# A "library": a module under a site-packages directory, which AppFiles does not count as the app.
LIBRARY_SOURCE = '''
_held = []

def allocate(size):
    return bytearray(size)

def keep(size):
    _held.append(bytearray(size))

def nested(depth, size):
    return nested(depth - 1, size) if depth else bytearray(size)
'''


def line_of(function, text):
    lines, start = inspect.getsourcelines(function)
    return start + next(i for i, line in enumerate(lines) if text in line)


def balloon(size):
    blob = bytearray(size)  # the balloon's line
    return len(blob)


def keep(size):
    _kept.append(bytearray(size))  # the leak's line


def build_then_drop(count):
    items = []
    for i in range(count):
        items.append("item-%08d" % i)  # the churn's line
    return len(items)


class SitesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.library_dir = tempfile.mkdtemp()
        packages = os.path.join(cls.library_dir, "site-packages")
        os.mkdir(packages)
        with open(os.path.join(packages, "deep_test_library.py"), "w") as source:
            source.write(LIBRARY_SOURCE)
        sys.path.insert(0, packages)
        import deep_test_library
        cls.library = deep_test_library

    @classmethod
    def tearDownClass(cls):
        sys.path.remove(os.path.join(cls.library_dir, "site-packages"))
        shutil.rmtree(cls.library_dir)

    def setUp(self):
        self.assertIsNone(deep.start_tracing(FRAMES))
        self.sites = deep.Sites(AppFiles([HERE]), Handlers(HERE).relative, FRAMES)
        _kept.clear()

    def tearDown(self):
        _kept.clear()
        tracemalloc.stop()

    def grouped(self):
        return self.sites.group(tracemalloc.take_snapshot())

    def test_raw_traces_are_what_the_grouping_reads(self):
        _kept.append(bytearray(MiB))
        traces = tracemalloc.take_snapshot().traces._traces
        size, traceback = traces[0][1], traces[0][2]
        self.assertIsInstance(size, int)
        self.assertIsInstance(traceback[0], tuple)
        self.assertEqual([type(part) for part in traceback[0]], [str, int])

    def test_retained_memory_is_charged_to_the_app_line_with_its_code(self):
        before = self.grouped()
        for _ in range(3):
            keep(MiB)
        sites, outside, truncated = self.sites.sites(deep.difference(self.grouped(), before))
        top = sites[0]
        self.assertEqual((top["file"], top["line"]), ("test_deep.py", line_of(keep, "the leak's line")))
        self.assertEqual(top["code"], "_kept.append(bytearray(size))  # the leak's line")
        self.assertGreaterEqual(top["count"], 3, "blocks: each bytearray and its buffer, the list's growth")
        self.assertAlmostEqual(top["bytes"] / MiB, 3, delta=0.01)
        self.assertLess(outside + truncated, 64 * 1024)

    def test_a_library_allocation_goes_to_the_app_line_that_called_it(self):
        before = self.grouped()
        _kept.append(self.library.allocate(2 * MiB))  # calls the library
        sites, _, _ = self.sites.sites(deep.difference(self.grouped(), before))
        line = line_of(SitesTest.test_a_library_allocation_goes_to_the_app_line_that_called_it, "calls the library")
        self.assertEqual((sites[0]["file"], sites[0]["line"]), ("test_deep.py", line))

    def test_memory_with_no_app_frame_is_outside_or_truncated(self):
        before = self.grouped()
        # A thread running the library's code alone: no app frame at all.
        thread = threading.Thread(target=self.library.keep, args=(MiB,))
        thread.start()
        thread.join()
        # Deeper than FRAMES inside the library: the traceback is cut before any app frame.
        _kept.append(self.library.nested(FRAMES + 10, 3 * MiB))
        _, outside, truncated = self.sites.sites(deep.difference(self.grouped(), before))
        self.assertAlmostEqual(outside / MiB, 1, delta=0.05)
        self.assertAlmostEqual(truncated / MiB, 3, delta=0.05)

    def test_the_shims_own_memory_is_left_out(self):
        source = {("x", i): [float(i + 1), 1.0] for i in range(20000)}
        before = self.grouped()
        own = deep.difference(source, {})  # 20000 lists made inside balloon_shim.deep
        sites, outside, truncated = self.sites.sites(deep.difference(self.grouped(), before))
        self.assertEqual(len(own), 20000)
        self.assertLess(sum(abs(site["bytes"]) for site in sites) + outside + truncated, 64 * 1024)

    def test_difference_keeps_changes_in_both_directions(self):
        before = {("a", 1): [100.0, 1.0], ("b", 2): [50.0, 2.0], ("c", 3): [10.0, 1.0]}
        after = {("a", 1): [300.0, 3.0], ("b", 2): [50.0, 2.0], ("d", 4): [5.0, 1.0]}
        self.assertEqual(deep.difference(after, before), {("a", 1): [200.0, 2.0], ("d", 4): [5.0, 1.0], ("c", 3): [-10.0, -1.0]})
        self.assertEqual(deep.difference(after, before, positive_only=True), {("a", 1): [200.0, 2.0], ("d", 4): [5.0, 1.0]})


class PeakProbeTest(unittest.TestCase):
    def setUp(self):
        self.assertIsNone(deep.start_tracing(FRAMES))
        self.sites = deep.Sites(AppFiles([HERE]), Handlers(HERE).relative, FRAMES)

    def tearDown(self):
        tracemalloc.stop()

    def probe(self, work, target=0):
        before = self.sites.group(tracemalloc.take_snapshot())
        probe = deep.PeakProbe(target)
        probe.start()
        try:
            work()
        finally:
            probe.stop()
        peak = self.sites.group(probe.best) if probe.best is not None else {}
        sites, _, _ = self.sites.sites(deep.difference(peak, before, positive_only=True))
        return probe, sites

    def test_a_balloon_freed_on_return_is_caught_at_its_line(self):
        probe, sites = self.probe(lambda: balloon(16 * MiB))
        self.assertEqual((sites[0]["file"], sites[0]["line"]), ("test_deep.py", line_of(balloon, "the balloon's line")))
        self.assertAlmostEqual(sites[0]["bytes"] / MiB, 16, delta=0.01)
        figures = probe.figures()
        self.assertGreaterEqual(figures["capturedBytes"], 16 * MiB)
        if figures["exactBytes"] is not None:  # Python 3.9+
            self.assertLess(figures["exactBytes"] - figures["capturedBytes"], 64 * 1024)

    def test_a_target_from_the_previous_call_saves_snapshots(self):
        first, _ = self.probe(lambda: build_then_drop(20_000))
        self.assertGreater(first.snapshots, 10, "no target: a snapshot every 10 % of growth")
        second, sites = self.probe(lambda: build_then_drop(20_000), target=first.high)
        # Steps of BELOW_STEP up to the target, then FINE_STEP: fewer than the 10 % steps of a first call.
        below = math.ceil(math.log(first.high / deep.MIN_STEP_BYTES) / math.log(1 + deep.BELOW_STEP))
        self.assertLessEqual(second.snapshots, below + 3)
        self.assertLess(second.snapshots, first.snapshots)
        self.assertEqual(sites[0]["line"], line_of(build_then_drop, "the churn's line"))
        self.assertGreaterEqual(second.best_level, deep.NEAR_TARGET * first.high)

    def test_a_call_under_the_target_is_still_caught(self):
        """A first call's imports and caches set a target that the next calls stay under."""
        probe, sites = self.probe(lambda: build_then_drop(20_000), target=10 * MiB)
        self.assertEqual(sites[0]["line"], line_of(build_then_drop, "the churn's line"))
        self.assertGreaterEqual(probe.best_level, probe.high / (1 + deep.BELOW_STEP))

    def test_the_probe_runs_under_an_existing_profile_hook(self):
        events = []
        sys.setprofile(lambda frame, event, arg: events.append(event))
        try:
            probe, sites = self.probe(lambda: balloon(8 * MiB))
            self.assertIsNotNone(sys.getprofile(), "the earlier hook is back")
        finally:
            sys.setprofile(None)
        self.assertIn("call", events, "the earlier hook still saw the calls")
        self.assertEqual(sites[0]["line"], line_of(balloon, "the balloon's line"))

    def test_nothing_to_see_below_the_minimum_step(self):
        probe, sites = self.probe(lambda: balloon(1024))
        self.assertIsNone(probe.best)
        self.assertEqual(sites, [])


class StartTest(unittest.TestCase):
    def test_frames_out_of_range_are_refused(self):
        self.assertRegex(deep.start_tracing(0), "frames must be 1-65535")
        self.assertFalse(tracemalloc.is_tracing())


if __name__ == "__main__":
    unittest.main()
