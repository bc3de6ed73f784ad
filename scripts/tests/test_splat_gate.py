# SPDX-License-Identifier: GPL-2.0
"""Unit tests of scripts/splat_gate.py on report text as 6.12 and 7.3 print it
(7.3 changed only the WARN() trailer, tested for both)."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import splat_gate  # noqa: E402

# Headers copied from the 6.12 sources that print them.
HEADERS = {
    "lockdep-circular": "[   12.1] WARNING: possible circular locking dependency detected",
    "lockdep-recursive": "[   12.1] WARNING: possible recursive locking detected",
    "lockdep-inconsistent": "[   12.1] WARNING: inconsistent lock state",
    "lockdep-irq-order": "[   12.1] WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected",
    "lockdep-rcu": "[   12.1] WARNING: suspicious RCU usage",
    "lockdep-invalid-wait-context": "[   12.1] [ BUG: Invalid wait context ]",
    "sleep-in-atomic": "[   12.1] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:585",
    "kasan": "[   12.1] BUG: KASAN: slab-use-after-free in rcu_lab_reader+0x4c/0x90 [rcu_lab]",
    "kmemleak": "[   12.1] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
    "odebug": "[   12.1] ODEBUG: activate active (active state 1) object: 000000002c1b6a4e object type: rcu_head hint: 0x0",
    "rcu-stall": "[   40.2] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
    "soft-lockup": "[   40.2] watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [insmod:99]",
    "hung-task": "[  130.0] INFO: task kworker/0:1:12 blocked for more than 120 seconds.",
    "panic": "[   13.3] Kernel panic - not syncing: Fatal exception",
    "oops": "[   13.3] Oops: general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1] PREEMPT SMP KASAN",
    "warning": "[   12.1] WARNING: CPU: 1 PID: 93 at kernel/rcu/tree.c:3818 kvfree_call_rcu+0x1/0x2",
    "bug": "[   12.1] BUG: Bad page state in process swapper/0  pfn:0a1b2",
    # 7.3, kernel/workqueue.c, for every boot of rcu_lab before system_dfl_wq.
    "module-named": "[    8.3] workqueue: work func rcu_lab_kick_work [rcu_lab] enqueued on "
                    "deprecated workqueue. Use system_{percpu|dfl}_wq instead.",
}

CLEAN = """\
[    0.000000] Linux version 6.12.117 (root@host) #1 SMP PREEMPT_DYNAMIC
[    1.234567] rcu_lab 0.1.0 loaded on 6.12.117 (2 CPUs, preempt full, lockdep on)
[    1.334567] rcu_lab unloaded
[    2.000000] Freeing unused kernel image (initmem) memory: 2048K
"""


def results_dir(dmesg, kmemleak="", stats=" debug_locks:                             1\n",
                t0="0", t1="12288"):
    d = tempfile.mkdtemp()
    for name, text in (("dmesg.txt", dmesg), ("kmemleak.txt", kmemleak),
                       ("lockdep_stats.txt", stats), ("taint-start", t0 + "\n"),
                       ("taint-end", t1 + "\n")):
        if text is not None:
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
    return d


def run_gate(d, expect=None):
    import io
    import contextlib
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ok = splat_gate.gate(d, expect)
    return ok, out.getvalue()


class Classify(unittest.TestCase):
    def test_every_header_gets_its_own_kind(self):
        for kind, line in HEADERS.items():
            with self.subTest(kind=kind):
                self.assertEqual(splat_gate.classify(line), kind)

    def test_clean_lines_are_not_reports(self):
        for line in CLEAN.splitlines():
            self.assertIsNone(splat_gate.classify(line), line)

    def test_each_kind_is_known_to_expect(self):
        for kind in HEADERS:
            self.assertIn(kind, splat_gate.KINDS)


class Gate(unittest.TestCase):
    def test_clean_run_passes(self):
        ok, out = run_gate(results_dir(CLEAN))
        self.assertTrue(ok, out)
        self.assertIn("ok 4 splat-gate", out)

    def test_frames_of_the_module_belong_to_their_report(self):
        # An expected report's backtrace names [rcu_lab] in every frame of
        # the module; only a line that is not a frame is the kernel
        # complaining about the module.
        trace = (HEADERS["lockdep-invalid-wait-context"] + "\n"
                 "[   12.2]  rcu_lab_raw_spin_lock+0x1c/0x40 [rcu_lab]\n"
                 "[   12.2] RIP: 0010:rcu_lab_kick_now+0x12/0x30 [rcu_lab]\n")
        ok, out = run_gate(results_dir(CLEAN + trace, stats=" debug_locks: 0\n"),
                           "lockdep-invalid-wait-context")
        self.assertTrue(ok, out)
        ok, out = run_gate(results_dir(CLEAN + trace + HEADERS["module-named"] + "\n",
                                       stats=" debug_locks: 0\n"),
                           "lockdep-invalid-wait-context")
        self.assertFalse(ok, out)
        self.assertIn("report 'module-named'", out)

    def test_any_report_fails_and_is_printed(self):
        for kind, line in HEADERS.items():
            with self.subTest(kind=kind):
                ok, out = run_gate(results_dir(CLEAN + line + "\nCall Trace:\n"))
                self.assertFalse(ok)
                self.assertIn(f"report '{kind}'", out)
                self.assertIn(line.split("] ", 1)[1], out)

    def test_kmemleak_scan_result_fails(self):
        leak = "unreferenced object 0xffff888003a1c000 (size 64):\n  comm \"insmod\"\n"
        ok, out = run_gate(results_dir(CLEAN, kmemleak=leak))
        self.assertFalse(ok)
        self.assertIn("not ok 2", out)

    def test_lockdep_turned_off_fails(self):
        ok, out = run_gate(results_dir(CLEAN, stats=" debug_locks:  0\n"))
        self.assertFalse(ok)
        self.assertIn("not ok 3", out)

    def test_warn_taint_fails(self):
        ok, out = run_gate(results_dir(CLEAN, t1=str((1 << 9) | (1 << 12))))
        self.assertFalse(ok)
        self.assertIn("not allowed: 'W'", out)

    def test_missing_dmesg_fails(self):
        ok, _ = run_gate(results_dir(None))
        self.assertFalse(ok)

    def test_expected_report_passes_only_alone(self):
        line = HEADERS["lockdep-invalid-wait-context"]
        off = " debug_locks:  0\n"
        ok, out = run_gate(results_dir(CLEAN + line, stats=off), "lockdep-invalid-wait-context")
        self.assertTrue(ok, out)
        # missing
        ok, _ = run_gate(results_dir(CLEAN, stats=off), "lockdep-invalid-wait-context")
        self.assertFalse(ok)
        # with another report besides it
        ok, _ = run_gate(results_dir(CLEAN + line + "\n" + HEADERS["kasan"], stats=off),
                         "lockdep-invalid-wait-context")
        self.assertFalse(ok)
        # a lockdep report must have turned lockdep off
        ok, _ = run_gate(results_dir(CLEAN + line), "lockdep-invalid-wait-context")
        self.assertFalse(ok)

    def test_odebug_pool_dry_is_a_report(self):
        # lib/debugobjects.c:589, printed once when the pool runs dry: the
        # detector is off from then on, so a run that prints it fails
        # unless it expected exactly that (negative/odebug_pool_raw.sh).
        line = "[   12.1] ODEBUG: Out of memory. ODEBUG disabled"
        self.assertEqual([k for k, _ in splat_gate.find_reports([line])], ["odebug"])
        ok, out = run_gate(results_dir(CLEAN + line + "\n"))
        self.assertFalse(ok, out)
        ok, out = run_gate(results_dir(CLEAN + line + "\n"), "odebug")
        self.assertTrue(ok, out)

    def test_two_expected_kinds(self):
        # PREEMPT_RT: a spinlock_t under a raw_spinlock_t gives both reports.
        both = (HEADERS["lockdep-invalid-wait-context"] + "\n"
                + HEADERS["sleep-in-atomic"] + "\n")
        stats = " debug_locks:                             0\n"
        d = results_dir(CLEAN + both, stats=stats, t1=str((1 << 9) | (1 << 12)))
        ok, out = run_gate(d, ["lockdep-invalid-wait-context", "sleep-in-atomic"])
        self.assertTrue(ok, out)
        # One of the two alone is not enough, and the other is unexpected.
        ok, out = run_gate(d, "lockdep-invalid-wait-context")
        self.assertFalse(ok, out)
        d = results_dir(CLEAN + HEADERS["sleep-in-atomic"] + "\n", stats=stats,
                        t1=str((1 << 9) | (1 << 12)))
        ok, out = run_gate(d, ["lockdep-invalid-wait-context", "sleep-in-atomic"])
        self.assertFalse(ok, out)

    def test_warn_trailer_belongs_to_the_report_above(self):
        # WARN(1, "ODEBUG: ...") as lib/debugobjects.c prints it, in 6.12
        # and in 7.3 (which moved CPU and PID to the end).
        for trailer in ("WARNING: CPU: 0 PID: 80 at lib/debugobjects.c:514 "
                        "debug_print_object+0x1a3/0x2b0",
                        "WARNING: lib/debugobjects.c:632 at "
                        "debug_print_object+0xc2/0x1c0, CPU#1: sh/56"):
            with self.subTest(trailer=trailer):
                odebug = (HEADERS["odebug"] + "\n[   12.1] " + trailer + "\n"
                          "[   12.1] Modules linked in: rcu_lab(O)\n")
                self.assertEqual([k for k, _ in splat_gate.find_reports(odebug.splitlines())],
                                 ["odebug"])
                ok, out = run_gate(results_dir(CLEAN + odebug, t1=str((1 << 9) | (1 << 12))),
                                   "odebug")
                self.assertTrue(ok, out)
        # A WARN of its own, far from any header, is still a report.
        far = HEADERS["odebug"] + "\n" + "\n".join(["[   12.1] x"] * 3) + "\n" + HEADERS["warning"]
        self.assertEqual([k for k, _ in splat_gate.find_reports(far.splitlines())],
                         ["odebug", "warning"])
        # Two WARNs in a row are two reports.
        two = HEADERS["warning"] + "\n" + HEADERS["warning"]
        self.assertEqual(len(splat_gate.find_reports(two.splitlines())), 2)

    def test_expected_kasan_report_turns_lockdep_off(self):
        line = HEADERS["kasan"]
        taint = str((1 << 5) | (1 << 12))
        ok, out = run_gate(results_dir(CLEAN + line, stats=" debug_locks:  0\n", t1=taint),
                           "kasan")
        self.assertTrue(ok, out)
        ok, _ = run_gate(results_dir(CLEAN + line, t1=taint), "kasan")
        self.assertFalse(ok)

    def test_expected_sleep_report_allows_its_warn_taint(self):
        line = HEADERS["sleep-in-atomic"]
        ok, out = run_gate(results_dir(CLEAN + line, t1=str((1 << 9) | (1 << 12))),
                           "sleep-in-atomic")
        self.assertTrue(ok, out)


if __name__ == "__main__":
    unittest.main()
