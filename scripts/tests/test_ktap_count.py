# SPDX-License-Identifier: GPL-2.0
"""Unit tests of scripts/ktap_count.py."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ktap_count import count  # noqa: E402


class Count(unittest.TestCase):
    def test_nested_subtests_count_as_leaves(self):
        text = ("TAP version 13\n1..2\n# selftests: s: a.sh\n# TAP version 13\n# 1..2\n"
                "# ok 1 x\n# ok 2 y\nok 1 selftests: s: a.sh\n"
                "# selftests: s: b.sh\n# 1..1\n# not ok 1 z\nnot ok 2 selftests: s: b.sh\n")
        self.assertEqual(count(text), (2, 1, 0))

    def test_crash_without_failed_subtest_counts_once(self):
        text = "1..1\n# 1..3\n# ok 1 x\nnot ok 1 selftests: s: a.sh # exit=139\n"
        self.assertEqual(count(text), (1, 1, 0))

    def test_skips_are_separate(self):
        text = "1..2\n# 1..0 # SKIP no root\nok 1 a # SKIP\nok 2 b\n"
        self.assertEqual(count(text), (1, 0, 1))

    def test_missing_top_level_results_fail(self):
        text = "TAP version 13\n1..3\nok 1 a\n"
        self.assertEqual(count(text), (1, 2, 0))

    def test_flat_document(self):
        text = "TAP version 13\n1..4\nok 1 a\nnot ok 2 b\nok 3 c # SKIP x\nok 4 d\n"
        self.assertEqual(count(text), (2, 1, 1))

    def test_messages_are_not_results(self):
        text = "1..1\n# # ok this is a message\n# ok 1 real\nok 1 t\n"
        self.assertEqual(count(text), (1, 0, 0))


if __name__ == "__main__":
    unittest.main()
