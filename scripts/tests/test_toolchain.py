# SPDX-License-Identifier: GPL-2.0
"""The toolchain pin: bindgen loads the compiler's libclang (LLVM 19).

bindgen loads libclang at run time and, left alone, picks by its own rules
among all the libclangs on the machine; with a libclang other than the
compiler's, the kernel's bindings fail ("unknown argument"). scripts/lib.sh
sets LIBCLANG_PATH to LLVM 19's libclang file (a directory is not enough:
it is only searched first). scripts/deps.sh installs a second libclang
(Debian's libclang1-14) so that these tests, and the module build that
`make check` runs next, run on a machine with two.
"""

import glob
import os
import subprocess
import unittest

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def libclang_major(env_extra=""):
    """Major version of the libclang bindgen loads under scripts/lib.sh."""
    out = subprocess.run(
        ["bash", "-c", f"{env_extra} . '{SCRIPTS}/lib.sh' && bindgen_libclang"],
        capture_output=True, text=True, check=True).stdout.strip()
    return out.split(".")[0]


def bindgen_present():
    out = subprocess.run(["bash", "-c", f". '{SCRIPTS}/lib.sh' && echo $BINDGEN"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return os.access(out, os.X_OK)


@unittest.skipUnless(bindgen_present(), "bindgen not installed (scripts/deps.sh)")
class LibclangPin(unittest.TestCase):
    def libclangs(self):
        return sorted({p.split("/")[3] for p in glob.glob("/usr/lib/llvm-*/lib/libclang*.so*")})

    def test_two_libclangs_installed(self):
        self.assertGreaterEqual(len(self.libclangs()), 2, self.libclangs())

    def test_bindgen_loads_llvm19(self):
        self.assertEqual(libclang_major(), "19")

    def test_the_variable_decides(self):
        # The pin is effective: pointing it elsewhere changes what loads,
        # so without it the choice would not be ours.
        others = [d for d in self.libclangs() if d != "llvm-19"]
        self.assertTrue(others, "no second libclang to point at")
        major = others[0].split("-")[1]
        path = f"/usr/lib/{others[0]}/lib/libclang-{major}.so.1"
        self.assertEqual(libclang_major(f"export LIBCLANG_PATH={path};"), major)


if __name__ == "__main__":
    unittest.main()
