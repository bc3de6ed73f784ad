# SPDX-License-Identifier: GPL-2.0
"""Unit tests of scripts/report.py on reports shaped like the module's."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import report  # noqa: E402

INFO = ("module_version: 0.1.0\nkernel_release: 7.3.4\npreempt_model: lazy\n"
        "preempt_dynamic: yes\nrcu_flavour: preemptible\nlockdep: {ld}\n"
        "cpus_online: 2\ncpus_possible: 2\n")
LOCKS = ("# locks      lock+unlock cost\n# lock+unlock cost, ns per lock+unlock pair\n"
         "# method: 15 interleaved runs x 20000 loops\n# kernel 7.3.4 preempt lazy\n"
         "# operation              rust_ns c_ns rust/c\n"
         "raw_spin_lock            {a} 10.0 1.000\nspin_lock                n/a n/a n/a\n")
READERS = ("# method: 15 runs\n# section ns vs_C_rcu\nrcu_read_lock(C)  {a} 1.000\n"
           "HazPtr::protect   5.0 0.500\nratio hazptr/rcu guard 0.500\n")
GP = ("# method: updater on CPU 0\n# wait readers samples median_us p99_us reader_sections\n"
      "synchronize_rcu              idle 40 {a} 20000.00 0\n"
      "hazptr_synchronize           idle 2000 1.00 3.00 0\n"
      "hazptr_synchronize           busy n/a (one CPU)\n"
      "ratio synchronize_rcu/hazptr_synchronize idle 10000.0 busy 0.0\n")
REFSCALE = "# refscale\nrefscale_lock 8.0\nrefscale_lock-irq 9.0\nrefscale_rcu 3.0\n"


def write_run(path):
    for flavour, a, ld in (("debug", "1000.0", "on"), ("perf", "10.0", "absent")):
        d = os.path.join(path, flavour, "rcu_lab")
        os.makedirs(d)
        for name, text in (("info", INFO.format(ld=ld)), ("bench-locks", LOCKS.format(a=a)),
                           ("bench-readers", READERS.format(a=a)),
                           ("bench-gp", GP.format(a=a)), ("refscale", REFSCALE)):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)


class Report(unittest.TestCase):
    def test_rows_skip_comments(self):
        self.assertEqual(report.parse_rows("# a\nx 1 2\n\ny 3\n"), [["x", "1", "2"], ["y", "3"]])

    def test_comment(self):
        self.assertEqual(report.comment(LOCKS, "method"), "15 interleaved runs x 20000 loops")

    def test_both_kernels_side_by_side(self):
        with tempfile.TemporaryDirectory() as d:
            write_run(d)
            md, _ = report.report(d)
            self.assertIn("debug: 7.3.4, preempt lazy, preemptible RCU, 2 vCPUs", md)
            self.assertIn("| raw_spin_lock | 1000.0 | 10.0 | 1.000 | 10.0 | 10.0 | 1.000 |", md)
            # rust/refscale for the performance kernel: 10.0 / 8.0
            self.assertIn("| perf | raw_spin_lock | 10.0 | refscale lock | 8.0 | 1.250 |", md)
            self.assertIn("| perf | synchronize_rcu | idle | 40 | 10.0 | 20000.00 | 0 |", md)
            self.assertTrue(os.path.exists(os.path.join(d, "report.md")))

    def test_missing_kernel_is_left_out(self):
        with tempfile.TemporaryDirectory() as d:
            write_run(d)
            import shutil
            shutil.rmtree(os.path.join(d, "perf"))
            md, _ = report.report(d)
            self.assertNotIn("perf:", md)
            self.assertIn("| raw_spin_lock | 1000.0 | 10.0 | 1.000 |", md)

    @unittest.skipIf(report.plt_or_none() is None, "python3-matplotlib not installed")
    def test_plots_are_written(self):
        with tempfile.TemporaryDirectory() as d:
            write_run(d)
            _, plots = report.report(d)
            self.assertEqual(sorted(plots), ["gp.png", "locks.png", "readers.png"])
            for p in plots:
                self.assertGreater(os.path.getsize(os.path.join(d, p)), 1000)


if __name__ == "__main__":
    unittest.main()
