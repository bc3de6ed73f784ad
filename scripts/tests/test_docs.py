# SPDX-License-Identifier: GPL-2.0
"""Documentation/*.rst parses as reStructuredText without a warning.

The kernel's docs build turns warnings into failures; the lab's pages are
read as text more often than built, so a malformed table (a figure wider
than its column) went unnoticed in two of them. docutils (Debian's
python3-docutils, installed by scripts/deps.sh) parses each page here;
Sphinx's own roles and directives are not used in these pages.
"""

import glob
import io
import os
import unittest

try:
    import docutils.core
except ImportError:  # pragma: no cover - deps.sh installs it
    docutils = None

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def problems(text, path):
    """docutils' warnings and errors for one page, as text."""
    err = io.StringIO()
    docutils.core.publish_string(
        text, source_path=path, writer_name="null",
        settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": err})
    return err.getvalue()


@unittest.skipUnless(docutils, "python3-docutils not installed (scripts/deps.sh)")
class Docs(unittest.TestCase):
    def test_pages_parse_cleanly(self):
        pages = sorted(glob.glob(os.path.join(ROOT, "Documentation", "*.rst")))
        self.assertTrue(pages)
        for page in pages:
            with self.subTest(page=os.path.basename(page)):
                with open(page, encoding="utf-8") as f:
                    self.assertEqual(problems(f.read(), page), "")

    def test_a_malformed_table_is_caught(self):
        # A figure wider than its column, as the two tables had.
        bad = "==== ====\na    b\n==== ====\n19 (18-21) x\n==== ====\n"
        self.assertIn("Malformed table", problems(bad, "bad.rst"))


if __name__ == "__main__":
    unittest.main()
