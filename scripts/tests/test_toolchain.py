# SPDX-License-Identifier: GPL-2.0
"""The toolchain pin: bindgen loads the compiler's libclang (LLVM 22).

bindgen loads libclang at run time and, left alone, picks by its own rules
among all the libclangs on the machine; with a libclang other than the
compiler's, the kernel's bindings fail ("unknown argument"). scripts/lib.sh
sets LIBCLANG_PATH to LLVM 22's libclang file (a directory is not enough:
it is only searched first). scripts/deps.sh installs a second libclang
(Debian's libclang1-14) so that these tests, and the module build that
`make check` runs next, run on a machine with two.

The kernel inlines its C helpers into Rust only when rustc's LLVM and
clang's are the same version (RUSTC_CLANG_LLVM_COMPATIBLE): that is checked
here too, before an hour of kernel builds finds it out.
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


def lib_sh(var):
    """A variable of scripts/lib.sh, as the scripts see it."""
    return subprocess.run(["bash", "-c", f". '{SCRIPTS}/lib.sh' && echo ${var}"],
                          capture_output=True, text=True, check=True).stdout.strip()


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

    def test_bindgen_loads_the_compilers_libclang(self):
        self.assertEqual(libclang_major(), lib_sh("LLVM_VERSION"))

    def test_rustc_and_clang_share_llvm(self):
        # rustc -vV says "LLVM version: 22.1.8"; clang -dumpversion "22.1.8".
        krustc = lib_sh("KRUSTC")
        rustc_llvm = subprocess.run([krustc, "-vV"], capture_output=True, text=True,
                                    check=True).stdout.split("LLVM version: ")[1].split()[0]
        clang = subprocess.run([f"clang-{lib_sh('LLVM_VERSION')}", "-dumpversion"],
                               capture_output=True, text=True, check=True).stdout.strip()
        self.assertEqual(rustc_llvm, clang, "helpers cannot be inlined into Rust")

    def test_the_variable_decides(self):
        # The pin is effective: pointing it elsewhere changes what loads,
        # so without it the choice would not be ours.
        others = [d for d in self.libclangs() if d != f"llvm-{lib_sh('LLVM_VERSION')}"]
        self.assertTrue(others, "no second libclang to point at")
        major = others[0].split("-")[1]
        path = f"/usr/lib/{others[0]}/lib/libclang-{major}.so.1"
        self.assertEqual(libclang_major(f"export LIBCLANG_PATH={path};"), major)


if __name__ == "__main__":
    unittest.main()
