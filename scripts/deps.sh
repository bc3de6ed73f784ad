#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything rcu_lab needs on Debian 12, idempotently.
#
# Debian packages: the 6.12 kernel source, the rustc that matches its rust-src
# (rustc-web/rust-web-src: the kernel compiles `core` from source, so the two
# must be the same version), clang/lld/llvm (LLVM=1; KASAN with Rust needs a
# clang-built kernel), QEMU, a static busybox for the initramfs, the kernel's
# build dependencies, kmod (depmod, so the guest can modprobe the kernel's
# refscale/rcuscale/locktorture) and python3 for the host-side result tools.
# crates.io: bindgen-cli 0.69.5 (Debian's bindgen 0.60 is older than the
# kernel's minimum 0.65.1), installed into the cache, not the work tree.
#
# When everything is present this only checks and prints versions.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

PKGS=(linux-source-6.12 rustc-web rust-web-src clang lld llvm libclang-dev
      qemu-system-x86 busybox-static flex bison bc cpio libelf-dev libssl-dev
      make python3 xz-utils kmod)
BINDGEN_VERSION=0.69.5

missing=()
for p in "${PKGS[@]}"; do
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

if [ ${#missing[@]} -gt 0 ]; then
	step "installing Debian packages: ${missing[*]}"
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# rustc and its core/alloc source must be the same version.
rv=$(dpkg-query -W -f='${Version}' rustc-web)
sv=$(dpkg-query -W -f='${Version}' rust-web-src)
[ "$rv" = "$sv" ] || die "rustc-web $rv and rust-web-src $sv differ; the kernel needs them equal"

bindgen="$RCU_LAB_TOOLS/bin/bindgen"
if ! "$bindgen" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	command -v cargo >/dev/null || die "cargo not found: bindgen-cli is built with the host cargo (rustup)"
	step "installing bindgen-cli $BINDGEN_VERSION from crates.io into $RCU_LAB_TOOLS (about 1.5 min)"
	cargo install --locked --quiet --root "$RCU_LAB_TOOLS" bindgen-cli --version "$BINDGEN_VERSION"
fi

# Kernel Rust must be built with Debian's rustc, never the rustup one on PATH.
"$KRUSTC" --version | grep -q '^rustc 1\.' || die "$KRUSTC is not a working rustc"

info "linux-source-6.12 $(dpkg-query -W -f='${Version}' linux-source-6.12)," \
	"$("$KRUSTC" --version | cut -d' ' -f1-2) ($KRUSTC, rustc-web $rv)," \
	"$("$bindgen" --version)," \
	"clang $(clang -dumpversion)," \
	"$(qemu-system-x86_64 --version | head -1 | sed 's/ (.*//')," \
	"busybox $(busybox 2>&1 | head -1 | awk '{print $2}')"
