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


KFREE = ("# rcu_lab kfree_batching results, format 1\n"
         "# params threads=2 objects=2000 loops=8 size=32 rounds=3\n"
         "run variant=engine round=0 objects=32000 enqueue_ns_per_obj=600 window_us=10000\n"
         "median variant=engine round=- objects=32000 enqueue_ns_per_obj=600 window_us=10000 "
         "reclaim_us=90000 net_gps=8 net_gps_per_1000_milli=250 exp_gps=0 requests=50 "
         "peak_pages=300 block_pages=60 block_bound=75 fallback=10\n"
         "median variant=sheaf round=- objects=32000 enqueue_ns_per_obj=300 window_us=15000 "
         "reclaim_us=60000 net_gps=6 net_gps_per_1000_milli=187 exp_gps=0 requests=- "
         "peak_pages=250 block_pages=- fallback=- sheaf_capacity=60\n"
         "median variant=pageblock round=- objects=32000 enqueue_ns_per_obj=1200 "
         "window_us=30000 reclaim_us=70000 net_gps=4 net_gps_per_1000_milli=125 exp_gps=0 "
         "requests=- peak_pages=200 block_pages=- fallback=- sheaf_capacity=0\n"
         "median variant=call_rcu round=- objects=32000 enqueue_ns_per_obj=900 "
         "window_us=25000 reclaim_us=80000 net_gps=7 net_gps_per_1000_milli=218 exp_gps=0 "
         "requests=32000 peak_pages=180 block_pages=- fallback=-\n")
RCUSCALE = ("# the kernel's rcuscale kfree test: kfree_rcu_test=1 kfree_rcu_test_double=1\n"
            "# kfree_nthreads=2 kfree_alloc_num=2000 kfree_loops=8, 3 runs in this boot\n"
            "rcuscale_kfree ns=30000000 loops=8 batches=10 footprint_mb=1\n"
            "rcuscale_kfree ns=20000000 loops=8 batches=12 footprint_mb=1\n"
            "rcuscale_kfree ns=40000000 loops=8 batches=9 footprint_mb=1\n")


class KfreeSection(unittest.TestCase):
    def test_table_targets_and_cross_check(self):
        with tempfile.TemporaryDirectory() as d:
            write_run(d)
            p = os.path.join(d, "perf", "rcu_lab")
            with open(os.path.join(p, "kfree_batching"), "w") as f:
                f.write(KFREE)
            with open(os.path.join(p, "rcuscale-kfree"), "w") as f:
                f.write(RCUSCALE)
            md, _ = report.report(d)
            self.assertIn("## Experiment 1: kfree_rcu() batching", md)
            # ns/obj, x engine, reclaim ms, net GPs, GPs/1000 objects
            self.assertIn("| pageblock | 1200 | 2.00 | 70.0 | 4 | 0.125 |", md)
            self.assertIn("| engine at least as fast as the kernel's page-block path | "
                          "pageblock/engine 2.00 | yes |", md)
            self.assertIn("| engine at least 2x faster than per-object call_rcu() | "
                          "call_rcu/engine 1.50 | no |", md)
            self.assertIn("engine grace periods per 1000 objects no more than the sheaf "
                          "path's | 0.250 vs 0.187 | no |", md)
            # Issue 18's targets: against the sheaf path, and the emergency share.
            self.assertIn("| engine allocation + enqueue at most 1.0x the sheaf path's | "
                          "engine/sheaf 2.00 | no |", md)
            self.assertIn("| at most 1 % of the engine's objects through the emergency path | "
                          "0.03 % | yes |", md)
            self.assertIn("(blocks the objects need + one open block and cache_pages per CPU) "
                          "| 60 vs 75 pages | yes |", md)
            # rcuscale median 30 ms = 1875 ns per object of a thread (8 x 2000),
            # against the sheaf variant's 300 ns and 15 ms window
            self.assertIn("| perf | 30.00 | 1875 | 10 | 15.00 | 300 | 6.25 | 2.00 |", md)
            # only the kernel with results gets a table
            self.assertNotIn("### debug:", md)

    def test_keyvals(self):
        rows = report.keyvals(KFREE, "median")
        self.assertEqual([r["variant"] for r in rows], ["engine", "sheaf", "pageblock",
                                                        "call_rcu"])
        self.assertEqual(rows[0]["requests"], "50")


NEW_EXPERIMENT = """\
# rcu_lab raw_call_rcu results, format 1
# kernel 7.3.4 preempt lazy lockdep absent cpus 2
# params threads=2 rounds=3
# plot enqueue_ns log: callbacks: ns per object
run variant=call_rcu round=0 enqueue_ns=500 gps=7 idle_gps=2 net_gps=5
median variant=call_rcu round=- enqueue_ns=500 gps=7 idle_gps=2 net_gps=5 gps_noise=ok
median variant=raw round=- enqueue_ns=250 gps=4 idle_gps=3 net_gps=1 gps_noise=swamped
"""


class GenericExperimentSection(unittest.TestCase):
    def test_any_experiment_gets_its_table_and_plots(self):
        # An experiment with no section of its own: its median rows, every
        # field, per kernel, and the plots its results name.
        with tempfile.TemporaryDirectory() as d:
            write_run(d)
            with open(os.path.join(d, "perf", "rcu_lab", "raw_call_rcu"), "w") as f:
                f.write(NEW_EXPERIMENT)
            md, plots = report.report(d)
            self.assertIn("## Experiment raw_call_rcu (raw_call_rcu)", md)
            self.assertIn("Parameters: threads=2 rounds=3.", md)
            self.assertIn("| variant | enqueue_ns | gps | idle_gps | net_gps | gps_noise |", md)
            self.assertIn("| raw | 250 | 4 | 3 | 1 | swamped |", md)
            if report.plt_or_none() is not None:
                self.assertIn("raw_call_rcu-enqueue_ns.png", plots)
            # kfree_batching keeps its own section and is not repeated.
            self.assertNotIn("## Experiment kfree_batching", md)


WALK = ("# host: Linux 6.1 x86_64, 2 CPUs\n# cpu: Test CPU\n# spectre_v2: Mitigation: Retpolines\n"
        "# walk: 4194304 objects of 64 bytes\n"
        "walk layout=random shape=chain ns_per_callback=240.00 min=200.00 max=300.00 "
        "chain_over_this=1.00\n"
        "walk layout=random shape=typed ns_per_callback={typed} min=5.00 max=9.00 "
        "chain_over_this={ratio}\n"
        "walk layout=alloc shape=chain ns_per_callback=2.50 min=2.40 max=2.60 "
        "chain_over_this=1.00\n"
        "walk layout=alloc shape=typed ns_per_callback=2.70 min=2.60 max=2.80 "
        "chain_over_this=0.93\n# every object's callback ran 4 times\n")


class HostWalkSection(unittest.TestCase):
    def run_with(self, typed, ratio):
        with tempfile.TemporaryDirectory() as d:
            write_run(d)
            os.makedirs(os.path.join(d, "host"))
            with open(os.path.join(d, "host", "walk.txt"), "w") as f:
                f.write(WALK.format(typed=typed, ratio=ratio))
            return report.report(d)[0]

    def test_table_host_and_target(self):
        md = self.run_with("6.00", "40.00")
        self.assertIn("## Host: invoking callbacks", md)
        self.assertIn("* cpu: Test CPU", md)
        self.assertIn("| typed | 6.00 (5.00-9.00) | 40.00 | 2.70 (2.60-2.80) | 0.93 |", md)
        self.assertIn("chain/typed 40.00 | yes |", md)
        self.assertIn("This host kernel: Mitigation: Retpolines.", md)

    def test_missed_target_says_no(self):
        self.assertIn("chain/typed 1.50 | no |", self.run_with("160.00", "1.50"))

    def test_no_host_results_no_section(self):
        with tempfile.TemporaryDirectory() as d:
            write_run(d)
            self.assertNotIn("## Host:", report.report(d)[0])


def cell(variant, context, agree="1", path="-"):
    return (f"cell variant={variant} context={context} model=lazy preemptible=0 "
            f"preempt_count=0x1 irqs_disabled=0 in_hardirq=0 in_serving_softirq=0 "
            f"objects=32 path={path} agree={agree}")


class Matrix(unittest.TestCase):
    """Experiment 2's evidence matrix: this run's cells, and the checks of
    the same commit."""

    def setUp(self):
        self.top = tempfile.mkdtemp()
        self.run = os.path.join(self.top, "run-1")
        d = os.path.join(self.run, "debug", "rcu_lab")
        os.makedirs(d)
        with open(os.path.join(d, "info"), "w") as f:
            f.write(INFO.format(ld="on"))
        with open(os.path.join(d, "raw_call_rcu"), "w") as f:
            f.write("# rcu_lab raw_call_rcu results\n" + cell("raw", "task", path="fallback")
                    + "\n" + cell("nowait", "task", agree="0", path="alloc") + "\n"
                    "matrix_fallback variant=runtime_check model=lazy legal_objects=160 "
                    "fallback=128 fallback_per_mille=800\n")
        with open(os.path.join(self.run, "commit"), "w") as f:
            f.write("abc123\n")

    def check(self, name, commit, gate):
        c = os.path.join(self.top, name)
        os.makedirs(os.path.join(c, "preempt-lazy", "suite"))
        with open(os.path.join(c, "commit"), "w") as f:
            f.write(commit + "\n")
        with open(os.path.join(c, "preempt-lazy", "suite", "output.txt"), "w") as f:
            f.write("# # " + cell("call_rcu", "hardirq") + "\n")
        n = os.path.join(c, "preempt-lazy", "negative-matrix_nowait_hardirq")
        os.makedirs(n)
        with open(os.path.join(n, "gate.ktap"), "w") as f:
            f.write(gate)

    def test_own_cells_and_disagreement(self):
        md = report.section_matrix(report.Run(self.run))
        self.assertIn("| raw | clean, fallback |", md)
        self.assertIn("| nowait | clean, alloc (DISAGREES) |", md)
        # Every variant of the module has a row, deferred included.
        self.assertIn("| deferred | - |", md)
        self.assertIn("128 of 160 objects fell back", md)
        self.assertIn("for: preempt-lazy, preempt, preempt-rt", md)

    def test_checks_of_the_same_commit_only(self):
        ok = ("# caught the expected 'lockdep-invalid-wait-context' report:\n"
              "# splat-gate: PASS (x)\n")
        self.check("check-2", "abc123", ok)
        self.check("check-3", "other", "# splat-gate: FAIL (x)\n")
        md = report.section_matrix(report.Run(self.run))
        self.assertIn("make check, preempt-lazy (lazy): check-2, commit abc123", md)
        self.assertIn("report: lockdep-invalid-wait-context, as expected", md)
        self.assertNotIn("check-3", md)
        self.assertIn("for: preempt, preempt-rt", md)
