# SPDX-License-Identifier: GPL-2.0
"""Unit tests of scripts/compile_fail.py: the judge of the compile-fail
cases must fail a case that builds, fails with another code, or fails with
an extra error, and a twin that does not build."""

import contextlib
import io
import os
import pathlib
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import compile_fail  # noqa: E402

E0277 = ("error[E0277]: `context::Atomic` does not prove that this context may allocate\n"
         "   --> cases/raw.rs:20:27\n    |\n")
E0499 = ("error[E0499]: cannot borrow `*h.proof` as mutable more than once at a time\n"
         "  --> cases/raw.rs:26:27\n")
ELSEWHERE = "error[E0277]: the trait bound is not satisfied\n  --> sync/lock.rs:3:1\n"
UNCODED = "error: mixing `-Zsanitizer` will cause an ABI mismatch\n --> cf_raw__case.rs:3:1\n"
ABORT = "error: aborting due to 1 previous error\n"


class Judge(unittest.TestCase):
    def test_expected_code_passes(self):
        ok, why = compile_fail.judge_case(1, E0277 + ABORT, "E0277", "raw")
        self.assertTrue(ok, why)

    def test_case_that_builds_fails(self):
        ok, why = compile_fail.judge_case(0, "", "E0277", "raw")
        self.assertFalse(ok)
        self.assertIn("built", why)

    def test_other_code_fails(self):
        ok, _ = compile_fail.judge_case(1, E0499 + ABORT, "E0277", "raw")
        self.assertFalse(ok)

    def test_extra_error_fails(self):
        ok, _ = compile_fail.judge_case(1, E0277 + E0499 + ABORT, "E0277", "raw")
        self.assertFalse(ok)
        ok, _ = compile_fail.judge_case(1, E0277 + UNCODED + ABORT, "E0277", "raw")
        self.assertFalse(ok)

    def test_error_outside_the_case_fails(self):
        ok, why = compile_fail.judge_case(1, ELSEWHERE + ABORT, "E0277", "raw")
        self.assertFalse(ok)
        self.assertIn("outside", why)

    def test_none_means_it_must_build(self):
        self.assertTrue(compile_fail.judge_case(0, "", "none", "raw")[0])
        self.assertFalse(compile_fail.judge_case(1, E0277 + ABORT, "none", "raw")[0])

    def test_twin_must_build(self):
        self.assertTrue(compile_fail.judge_twin(0, "")[0])
        self.assertFalse(compile_fail.judge_twin(1, E0277 + ABORT)[0])
        self.assertFalse(compile_fail.judge_twin(1, UNCODED)[0])

    def test_expectation_per_model(self):
        text = "// expect: none\n// expect-rt: E0277\n"
        self.assertEqual(compile_fail.expectation(text, False), "none")
        self.assertEqual(compile_fail.expectation(text, True), "E0277")
        self.assertEqual(compile_fail.expectation("// expect: E0133\n", True), "E0133")
        with self.assertRaises(ValueError):
            compile_fail.expectation("no line\n", False)

    def test_main_fails_a_missing_result(self):
        with tempfile.TemporaryDirectory() as d:
            scratch = pathlib.Path(d)
            (scratch / "cases").mkdir()
            (scratch / "cases" / "raw.rs").write_text("// expect: E0277\n")
            (scratch / "cf_raw__case.rc").write_text("1\n")
            (scratch / "cf_raw__case.err").write_text(E0277 + ABORT)
            with contextlib.redirect_stdout(io.StringIO()):
                self.assertEqual(compile_fail.main([d]), 1)
            (scratch / "cf_raw__twin.rc").write_text("0\n")
            (scratch / "cf_raw__twin.err").write_text("")
            with contextlib.redirect_stdout(io.StringIO()) as out:
                self.assertEqual(compile_fail.main([d]), 0)
            self.assertIn("ok 2 compile-fail raw twin: builds", out.getvalue())


if __name__ == "__main__":
    unittest.main()
