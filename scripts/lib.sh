# SPDX-License-Identifier: GPL-2.0
# Shared settings and helpers for the rcu_lab scripts (sourced, not run).

# Everything built or downloaded lives here, outside the work tree.
RCU_LAB_CACHE=${RCU_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rcu_lab}
RCU_LAB_TOOLS=$RCU_LAB_CACHE/tools
# Debian's rustc-web: the only rustc here whose rust-src matches it.
KRUSTC=${KRUSTC:-/usr/bin/rustc}
BINDGEN=${BINDGEN:-$RCU_LAB_TOOLS/bin/bindgen}
# The compiler: LLVM 22 from Debian 12 (7.3 needs >= 17), as `make LLVM=-22`:
# rustc-web 1.96 is built on LLVM 22.1.8 and Debian 12's clang-22 is 22.1.8,
# so the kernel sets RUSTC_CLANG_LLVM_COMPATIBLE and can inline its C helpers
# into Rust (CONFIG_RUST_INLINE_HELPERS, base.config); rcu_lab inlines its own
# shim the same way (Kbuild). bindgen must load this LLVM's libclang, not the one its
# loader (clang-sys) prefers among all on the machine: LIBCLANG_PATH names the
# file itself (a directory there is only searched first, and a newer
# libclang elsewhere still wins).
LLVM_VERSION=${LLVM_VERSION:-22}
LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-$LLVM_VERSION/lib/libclang-$LLVM_VERSION.so.1}
export LIBCLANG_PATH
# Debian's python3, with the python3-matplotlib that deps.sh installs (a
# python3 earlier on PATH, such as pyenv's, lacks it).
PYTHON=${PYTHON:-/usr/bin/python3}
# The kernel source: Debian's package, fetched by scripts/deps.sh.
KSRC_PKG=linux-source-7.3
KSRC_SUITE=trixie-backports

if [ -t 2 ]; then _b=$'\033[1m' _n=$'\033[0m'; else _b= _n=; fi
step() { printf '%s==> %s%s\n' "$_b" "$*" "$_n" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf 'rcu_lab: error: %s\n' "$*" >&2; exit 1; }

# The kernel source tarball unpacked from the package, and its version.
ksrc_tarball() { echo "$RCU_LAB_CACHE/apt/root/usr/src/$KSRC_PKG.tar.xz"; }
ksrc_version() { cat "$RCU_LAB_CACHE/apt/root/.version" 2>/dev/null; }

# The version of the libclang that bindgen loads (as clang prints it).
bindgen_libclang() {
	echo 'int rcu_lab;' >"${TMPDIR:-/tmp}/rcu_lab-libclang.h"
	"$BINDGEN" "${TMPDIR:-/tmp}/rcu_lab-libclang.h" -- -v 2>&1 >/dev/null |
		sed -n 's/.*clang version \([0-9][0-9.]*\).*/\1/p' | head -1
}

# Preemption models of x86 in Linux 7.3, and the default.
RCU_LAB_MODELS="preempt-lazy preempt preempt-rt"
RCU_LAB_DEFAULT_MODEL=preempt-lazy

# The kernel configuration a model runs on (qemu-config/preempt-$kconf.config):
# lazy and full share one PREEMPT_DYNAMIC kernel; RT is a build of its own.
model_kconf() {
	case $1 in
	preempt-lazy|preempt) echo dynamic ;;
	preempt-rt) echo rt ;;
	preempt-none|preempt-voluntary)
		die "Linux 7.3 has no '$1' model on x86: PREEMPT_NONE now depends on" \
			"ARCH_NO_PREEMPT and PREEMPT_VOLUNTARY on !ARCH_HAS_PREEMPT_LAZY, which x86" \
			"selects, so lazy preemption replaced both (kernel/Kconfig.preempt), and" \
			"preempt=${1#preempt-} at boot is refused. Models: $RCU_LAB_MODELS" ;;
	*) die "unknown preemption model '$1' (have: $RCU_LAB_MODELS)" ;;
	esac
}

# The kernel command line that selects a model on its kernel.
model_cmdline() {
	case $1 in
	preempt-lazy) echo preempt=lazy ;;
	preempt) echo preempt=full ;;
	*) echo ;;
	esac
}
