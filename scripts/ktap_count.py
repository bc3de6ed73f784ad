#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count KTAP results: `ktap_count.py FILE...` prints "P passed, F failed, S skipped".

Leaf results count: a top-level test with nested ("# ok N ...") subtests
counts its subtests; a top-level test without them counts itself.  A
top-level failure that no failed subtest explains (a crash, a timeout, a
tests missing from the plan) counts as one more failure, so nothing is lost.
"""

import re
import sys

RESULT = re.compile(r"^(?P<nest>(?:# )*)(?P<res>ok|not ok) \d+\b(?P<rest>.*)$")


def is_skip(rest):
    return re.search(r"#\s*SKIP", rest, re.I) is not None


def count(text):
    """Return (passed, failed, skipped) for one KTAP document."""
    passed = failed = skipped = 0
    sub = [0, 0, 0]  # subtests of the current top-level test
    plan, seen = None, 0
    for line in text.splitlines():
        p = re.match(r"^1\.\.(\d+)", line)
        if p and plan is None:
            plan = int(p.group(1))
        m = RESULT.match(line.rstrip())
        if not m:
            continue
        depth = len(m.group("nest")) // 2
        ok = m.group("res") == "ok"
        skip = ok and is_skip(m.group("rest"))
        if depth == 1:
            if skip:
                sub[2] += 1
            elif ok:
                sub[0] += 1
            else:
                sub[1] += 1
        elif depth == 0:
            seen += 1
            if sum(sub):
                passed, failed, skipped = passed + sub[0], failed + sub[1], skipped + sub[2]
                if not ok and sub[1] == 0:
                    failed += 1
            elif skip:
                skipped += 1
            elif ok:
                passed += 1
            else:
                failed += 1
            sub = [0, 0, 0]
    # Subtests whose parent never reported (the runner died) still count.
    passed, failed, skipped = passed + sub[0], failed + sub[1], skipped + sub[2]
    # Top-level tests the plan announced but that never reported failed.
    if plan is not None and seen < plan:
        failed += plan - seen
    return passed, failed, skipped


def main(paths):
    total = [0, 0, 0]
    for p in paths:
        with open(p, errors="replace") as f:
            for i, v in enumerate(count(f.read())):
                total[i] += v
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
