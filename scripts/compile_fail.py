#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judges the compile-fail cases that scripts/compile-fail.sh type-checked.

For each case file cases/<name>.rs of the scratch directory there are two
results: cf_<name>__case.{rc,err} and cf_<name>__twin.{rc,err} (rustc's
status and its messages). A case passes when rustc failed with exactly the
error code its file expects (`// expect: E0277`, or `// expect-rt:` on a
PREEMPT_RT kernel), at least once, every error of that code points into the
case file, and there is no other error; `expect: none` means the case must
build on that kernel. A twin passes when it builds with no error.

Prints KTAP, one line per case and per twin.
"""

import argparse
import pathlib
import re
import sys

CODED = re.compile(r"^error\[(E\d{4})\]")
ANY_ERROR = re.compile(r"^error(\[E\d{4}\])?:?")
AFTERMATH = re.compile(r"^error: aborting due to")
LOCATION = re.compile(r"^\s*--> (\S+?):\d+:\d+")


def expectation(case_text, rt):
    """The error code a case must fail with ('none': it must build)."""
    plain = re.search(r"^// expect: (\S+)", case_text, re.M)
    on_rt = re.search(r"^// expect-rt: (\S+)", case_text, re.M)
    if rt and on_rt:
        return on_rt.group(1)
    if plain:
        return plain.group(1)
    raise ValueError("no '// expect:' line")


def errors(text):
    """The errors in rustc's messages: (code or None, first location)."""
    found = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not ANY_ERROR.match(line) or AFTERMATH.match(line):
            continue
        m = CODED.match(line)
        where = None
        for nxt in lines[i + 1:i + 6]:
            loc = LOCATION.match(nxt)
            if loc:
                where = loc.group(1)
                break
        found.append((m.group(1) if m else None, where))
    return found


def judge_case(rc, text, expect, case_name):
    """(ok, why) for a case's rustc status and messages."""
    errs = errors(text)
    if expect == "none":
        if rc == 0 and not errs:
            return True, "builds, as expected on this kernel"
        return False, "expected to build, got %s" % describe(rc, errs)
    if rc == 0:
        return False, "built, but must fail with %s" % expect
    codes = sorted({c or "uncoded" for c, _ in errs})
    if codes != [expect]:
        return False, "must fail with %s only, got %s" % (expect, describe(rc, errs))
    elsewhere = [w for c, w in errs if not (w or "").endswith("cases/%s.rs" % case_name)]
    if elsewhere:
        return False, "%s outside the case file: %s" % (expect, ", ".join(str(w) for w in elsewhere))
    return True, "fails with %s (%d error%s)" % (expect, len(errs), "" if len(errs) == 1 else "s")


def judge_twin(rc, text):
    """(ok, why) for a twin: it must build."""
    errs = errors(text)
    if rc == 0 and not errs:
        return True, "builds"
    return False, "must build, got %s" % describe(rc, errs)


def describe(rc, errs):
    codes = ", ".join("%s at %s" % (c or "an error without a code", w) for c, w in errs)
    return "status %s%s" % (rc, ": " + codes if codes else "")


def read_result(scratch, root):
    rc_file = scratch / (root + ".rc")
    err_file = scratch / (root + ".err")
    if not rc_file.exists():
        return None, "rustc did not run (see make.log)"
    return int(rc_file.read_text().strip() or "125"), err_file.read_text(errors="replace")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rt", type=int, default=0, help="1: the kernel is PREEMPT_RT")
    ap.add_argument("scratch", type=pathlib.Path)
    args = ap.parse_args(argv)
    cases = sorted((args.scratch / "cases").glob("*.rs"))
    results = []
    for case in cases:
        name = case.stem
        try:
            expect = expectation(case.read_text(), bool(args.rt))
        except ValueError as e:
            results.append((False, "%s: %s" % (name, e)))
            continue
        for kind in ("case", "twin"):
            rc, text = read_result(args.scratch, "cf_%s__%s" % (name, kind))
            if rc is None:
                ok, why = False, text
            elif kind == "case":
                ok, why = judge_case(rc, text, expect, name)
            else:
                ok, why = judge_twin(rc, text)
            results.append((ok, "compile-fail %s %s: %s" % (name, kind, why)))
    print("TAP version 13")
    print("1..%d" % len(results))
    for i, (ok, line) in enumerate(results, 1):
        print("%s %d %s" % ("ok" if ok else "not ok", i, line))
    return 0 if results and all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
