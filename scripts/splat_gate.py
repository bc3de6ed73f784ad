#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The splat gate: decide whether a guest run was clean.

Reads what scripts/guest-init saved in a results directory (dmesg.txt,
kmemleak.txt, lockdep_stats.txt, taint-start, taint-end) and checks that

  * dmesg holds no lockdep, KASAN, kmemleak, debug-objects, WARNING, BUG,
    RCU-stall, lockup, oops or panic report, and no other kernel line that
    names the module ("[rcu_lab]") outside a stack frame,
  * the explicit kmemleak scan found nothing,
  * lockdep is still on (debug_locks 1 in /proc/lockdep_stats),
  * the taint mask gained nothing but O (out-of-tree) and E (unsigned).

With --expect KIND[,KIND...] the run must instead contain reports of each of
those kinds and no other, and the lockdep/taint checks allow what those
reports cause. (One bug can give two reports: on PREEMPT_RT a spinlock_t
under a raw_spinlock_t is both an invalid wait context for lockdep and a
sleeping lock taken in atomic context.)
Output is KTAP; every offending report is printed.  Exit 0 when all checks
pass.
"""

import argparse
import os
import re
import sys

# Ordered: the first pattern matching a line names the report, so the
# specific lockdep/KASAN headers win over the generic WARNING:/BUG: ones.
REPORTS = [
    ("lockdep-circular", r"WARNING: possible circular locking dependency detected"),
    ("lockdep-recursive", r"WARNING: possible recursive locking detected"),
    ("lockdep-inconsistent", r"WARNING: inconsistent lock state"),
    ("lockdep-irq-order", r"WARNING: \S+-safe -> \S+-unsafe lock order detected"),
    ("lockdep-rcu", r"WARNING: suspicious RCU usage"),
    ("lockdep-invalid-wait-context", r"BUG: Invalid wait context"),
    ("lockdep-bad-unlock", r"WARNING: bad unlock balance detected"),
    ("lockdep-held-lock-freed", r"WARNING: held lock freed"),
    ("lockdep-other", r"WARNING: (lock held when returning to user space|"
     r"nested lock was not taken|bad contention detected)|BUG: (MAX_LOCK|"
     r"looking up invalid subclass|key .* has not been registered)"),
    ("sleep-in-atomic", r"BUG: sleeping function called from invalid context"),
    ("scheduling-while-atomic", r"BUG: scheduling while atomic"),
    ("kasan", r"BUG: KASAN: "),
    ("kmemleak", r"kmemleak: \d+ new suspected memory leaks|unreferenced object 0x"),
    ("kmemleak-off", r"kmemleak: Kernel memory leak detector disabled"),
    ("odebug", r"ODEBUG: "),
    ("rcu-stall", r"rcu: INFO: \S+ (self-)?detected (expedited )?stalls?|"
     r"rcu_\w+ detected (expedited )?stalls"),
    ("soft-lockup", r"BUG: soft lockup"),
    ("hung-task", r"INFO: task \S+ blocked for more than"),
    ("panic", r"Kernel panic - not syncing"),
    ("oops", r"Oops: |general protection fault|BUG: unable to handle"),
    ("ubsan", r"UBSAN: "),
    ("warning", r"WARNING: "),
    ("bug", r"BUG: "),
    # Any other kernel line that names the module, such as 7.3's
    # "workqueue: work func rcu_lab_kick_work [rcu_lab] enqueued on deprecated
    # workqueue": the kernel scolding rcu_lab. The module's own messages say
    # "rcu_lab: ...", and a stack frame ("func+0x1/0x2 [rcu_lab]") belongs to
    # the report above it.
    ("module-named", r"^(?!.*\+0x[0-9a-f]+/0x[0-9a-f]+ \[rcu_lab\]).*\[rcu_lab\]"),
]
_COMPILED = [(k, re.compile(p)) for k, p in REPORTS]
KINDS = [k for k, _ in REPORTS]

TAINT_FLAGS = "PFSRMBUDAWCIOELKXTN"  # bit i -> letter, as in kernel/panic.c
TAINT_EXPECTED = {12, 13}  # O: out-of-tree module, E: unsigned module
# Taint bits a report of each kind sets by itself.
TAINT_BY_KIND = {
    "sleep-in-atomic": {9},
    "scheduling-while-atomic": {9},
    "warning": {9},
    "odebug": {9},
    "kasan": {5},
    "bug": {9},
    "oops": {7, 9},
    "ubsan": {9},
    "soft-lockup": {14},
}
# Reports that turn lockdep off: every lockdep report but RCU usage, and
# KASAN (end_report() adds its taint with LOCKDEP_NOW_UNRELIABLE).
LOCKDEP_OFF_KINDS = {k for k in KINDS if k.startswith("lockdep-") and k != "lockdep-rcu"}
LOCKDEP_OFF_KINDS.add("kasan")

# The line __warn() prints after the message of a WARN(). When that message
# was itself a report header (ODEBUG: ...), both lines are one report.
# 6.12: "WARNING: CPU: 0 PID: 80 at lib/debugobjects.c:514 func+0x1/0x2";
# 7.3:  "WARNING: lib/debugobjects.c:632 at func+0xc2/0x1c0, CPU#1: sh/56".
WARN_TRAILER = re.compile(r"WARNING: (CPU: \d+ PID: \d+ at |\S+:\d+ at \S+, CPU#\d+: )")
WARN_TRAILER_DISTANCE = 2


def classify(line):
    """Name the report whose header is on `line`, or None."""
    for kind, rx in _COMPILED:
        if rx.search(line):
            return kind
    return None


def find_reports(lines):
    """Return [(kind, index)] for every report header in `lines`.

    The `WARNING: CPU:` trailer of a WARN() whose message was a report
    header of its own, a line or two above, belongs to that report.
    """
    found = []
    for i, line in enumerate(lines):
        kind = classify(line)
        if not kind:
            continue
        if (kind == "warning" and WARN_TRAILER.search(line) and found
                and found[-1][0] != "warning" and i - found[-1][1] <= WARN_TRAILER_DISTANCE):
            continue
        found.append((kind, i))
    return found


def report_text(lines, start, limit=60):
    """The lines of the report that starts at `start`."""
    out = []
    for line in lines[start:start + limit]:
        out.append(line)
        if "---[ end trace" in line or "---[ end Kernel panic" in line:
            break
    return out


def taint_letters(bits):
    return "".join(TAINT_FLAGS[b] if b < len(TAINT_FLAGS) else "?" for b in sorted(bits))


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None


def debug_locks(stats):
    m = re.search(r"^\s*debug_locks:\s+(\d+)", stats or "", re.M)
    return int(m.group(1)) if m else None


class Ktap:
    def __init__(self, prefix):
        self.prefix, self.n, self.failed = prefix, 0, 0

    def result(self, ok, desc, details=()):
        self.n += 1
        if not ok:
            self.failed += 1
        for d in details:
            print("# " + d)
        print(f"{'ok' if ok else 'not ok'} {self.n} {self.prefix}: {desc}")


def gate(results, expect=None):
    """Check one results directory; print KTAP; return True when clean.

    `expect` is None, a report kind, or the report kinds the run must
    contain.
    """
    expect = {expect} if isinstance(expect, str) else set(expect or ())
    named = ",".join(sorted(expect))
    k = Ktap("splat-gate")
    print("TAP version 13")
    print("1..4")

    dmesg = read(os.path.join(results, "dmesg.txt"))
    lines = dmesg.splitlines() if dmesg is not None else []
    if dmesg is None:
        # The guest did not get as far as saving dmesg: judge the console.
        console = read(os.path.join(results, "console.log")) or ""
        lines = console.splitlines()
    found = find_reports(lines)
    kinds = {kind for kind, _ in found}

    # 1. dmesg reports
    unexpected = [(kd, i) for kd, i in found if kd not in expect]
    details = []
    for kd, i in unexpected[:5]:
        details.append(f"report '{kd}':")
        details.extend("  " + l for l in report_text(lines, i))
    if len(unexpected) > 5:
        details.append(f"... and {len(unexpected) - 5} more reports")
    if expect:
        hit = expect <= kinds
        for kind in sorted(expect):
            if kind not in kinds:
                details.append(f"expected a '{kind}' report, dmesg has none")
                continue
            first = next(i for kd, i in found if kd == kind)
            details.append(f"caught the expected '{kind}' report:")
            details.extend("  " + l for l in report_text(lines, first, 12))
        k.result(hit and not unexpected and dmesg is not None,
                 f"dmesg has exactly the expected {named} report"
                 + ("s" if len(expect) > 1 else ""), details)
    else:
        k.result(not found and dmesg is not None,
                 f"dmesg has no reports ({len(lines)} lines)"
                 if dmesg is not None else "dmesg was saved", details)

    # 2. kmemleak scan
    leaks = read(os.path.join(results, "kmemleak.txt"))
    if leaks is None:
        k.result(True, "kmemleak # SKIP no scan in this run")
    else:
        objs = re.findall(r"^unreferenced object .*", leaks, re.M)
        want = "kmemleak" in expect
        details = leaks.splitlines()[:60] if (objs and not want) else []
        k.result(bool(objs) == want,
                 f"kmemleak scan found {len(objs)} unreferenced objects", details)

    # 3. lockdep still on
    stats = read(os.path.join(results, "lockdep_stats.txt"))
    dl = debug_locks(stats)
    if dl is None:
        k.result(True, "lockdep debug_locks # SKIP no lockdep in this kernel")
    elif expect & LOCKDEP_OFF_KINDS:
        k.result(dl == 0, f"debug_locks {dl} (the expected {named} report turns lockdep off)")
    else:
        k.result(dl == 1, f"debug_locks {dl} (lockdep still on)")

    # 4. taint
    t0, t1 = read(os.path.join(results, "taint-start")), read(os.path.join(results, "taint-end"))
    if t0 is None or t1 is None:
        k.result(False, "taint mask was saved")
    else:
        gained = {b for b in range(64) if (int(t1) >> b) & 1 and not (int(t0) >> b) & 1}
        allowed = TAINT_EXPECTED.union(*(TAINT_BY_KIND.get(e, set()) for e in expect))
        bad = gained - allowed
        k.result(not bad, f"taint gained '{taint_letters(gained)}'"
                 + (f", not allowed: '{taint_letters(bad)}'" if bad else " (allowed)"))
    print(f"# splat-gate: {'PASS' if not k.failed else 'FAIL'} ({results})")
    return k.failed == 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", help="results directory of a vm-run")
    ap.add_argument("--expect", metavar="KIND[,KIND...]",
                    help="the report kinds the run must contain, and no other")
    ap.add_argument("--list", action="store_true", help="list the report kinds and exit")
    a = ap.parse_args(argv)
    if a.list:
        for kind, pat in REPORTS:
            print(f"{kind:30} {pat}")
        return 0
    if not a.results:
        ap.error("a results directory is required")
    if not os.path.isdir(a.results):
        ap.error(f"{a.results} is not a directory")
    expect = a.expect.split(",") if a.expect else None
    for e in expect or ():
        if e not in KINDS:
            ap.error(f"unknown report kind '{e}' (see --list)")
    return 0 if gate(a.results, expect) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
