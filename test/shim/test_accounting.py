"""Per-request figures (balloon_shim.accounting, memory) in this process: exact with the
high-water mark reset, and the RSS-only fallback where /proc/self/clear_refs is read-only."""
import os
import unittest

from balloon_shim import memory
from balloon_shim.accounting import Accounting
from balloon_shim.protocol import NO_CLEAR_REFS_ENV

MiB = 1 << 20


def balloon(mib):
    """Writes `mib` MiB (mmapped: above glibc's 32 MiB threshold cap) and frees it."""
    blob = b"\x01" * (mib * MiB)
    return len(blob)


def run(accounting, work):
    span = accounting.begin()
    work()
    stats = accounting.end(span)
    return (stats["peakKiB"] - stats["rssBeforeKiB"]) / 1024, (stats["rssAfterKiB"] - stats["rssBeforeKiB"]) / 1024


class PeakWithoutResetTest(unittest.TestCase):
    def test_table(self):
        cases = [
            # rss before, after, ru_maxrss before, after -> peak
            ((100, 100, 500, 500), 100),  # under an older high: only max(before, after) is known
            ((100, 140, 500, 500), 140),
            ((100, 100, 500, 900), 900),  # the request set a new high: exact
            ((600, 620, 600, 650), 650),
            ((100, 90, 100, 100), 100),
        ]
        for args, peak in cases:
            with self.subTest(args=args):
                self.assertEqual(memory.peak_without_reset(*args), peak)


class AccountingTest(unittest.TestCase):
    def tearDown(self):
        os.environ.pop(NO_CLEAR_REFS_ENV, None)

    def test_every_balloon_is_seen_with_the_mark_reset(self):
        accounting = Accounting({"threads": 1, "pssIntervalSec": -1})
        self.assertTrue(accounting.can_reset)
        for _ in range(3):
            peak, retained = run(accounting, lambda: balloon(40))
            self.assertAlmostEqual(peak, 40, delta=2)
            self.assertLess(abs(retained), 1)
            peak, _ = run(accounting, lambda: None)
            self.assertLess(peak, 1, "the next request does not inherit the mark")

    def test_without_clear_refs_a_new_high_is_exact_and_older_ones_are_not_invented(self):
        os.environ[NO_CLEAR_REFS_ENV] = "1"
        accounting = Accounting({"threads": 1, "pssIntervalSec": -1})
        self.assertFalse(accounting.can_reset)
        high = memory.maxrss()
        mib = max(40, (high - memory.read_rss()) // 1024 + 40)  # over this process's high so far
        peak, retained = run(accounting, lambda: balloon(mib))
        self.assertAlmostEqual(peak, mib, delta=2)
        self.assertLess(abs(retained), 1)
        peak, _ = run(accounting, lambda: balloon(mib // 2))
        self.assertLess(peak, 1, "under the lifetime high: max(before, after), no guess")

    def test_accounting_off_still_counts_concurrency(self):
        accounting = Accounting({"accounting": False, "threads": 4})
        first = accounting.begin()
        second = accounting.begin()
        self.assertEqual(accounting.end(second), {"concurrent": 2})
        self.assertEqual(accounting.end(first), {"concurrent": 2})
        self.assertEqual(accounting.end(accounting.begin()), {"concurrent": 1})


if __name__ == "__main__":
    unittest.main()
