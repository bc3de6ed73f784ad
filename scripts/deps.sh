#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything rcu_lab needs on Debian 12, idempotently.
#
# Debian packages (the system's own apt sources): the rustc that matches its
# rust-src (rustc-web/rust-web-src: the kernel compiles `core` from source, so
# the two must be the same version), LLVM 22 (clang-22, lld-22, llvm-22,
# libclang-22-dev, from bookworm-security: the LLVM rustc-web is built on, so
# that C helpers can be inlined into Rust; Linux 7.3 needs LLVM >= 17, and
# KASAN with Rust needs a clang-built kernel), QEMU, a static busybox for the initramfs, the kernel's
# build dependencies, kmod (depmod, so the guest can modprobe the kernel's
# refscale/rcuscale/locktorture), python3 for the result tools and
# python3-matplotlib for the plots of the `make run` report, python3-docutils
# for the documentation test (scripts/tests/test_docs.py).
#
# The kernel source: Debian's linux-source-7.3, an architecture-independent
# package of the trixie-backports suite, fetched by name with `apt-get
# download` through an apt configuration of the project's own under the
# cache (own sources list, lists and archive directories). Its sources list
# names the mirror the system's apt sources already use; the system's apt
# configuration is never edited. The .deb is unpacked into the cache.
#
# crates.io: bindgen-cli 0.72.1 (the kernel's minimum is 0.71.1), installed
# into the cache, not the work tree. bindgen loads libclang at run time and
# by default the newest one on the machine, which need not be the compiler's:
# LIBCLANG_PATH pins it to LLVM 22's (scripts/lib.sh).
#
# When everything is present this only checks and prints versions.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

PKGS=(rustc-web rust-web-src "clang-$LLVM_VERSION" "lld-$LLVM_VERSION"
      "llvm-$LLVM_VERSION" "libclang-$LLVM_VERSION-dev" qemu-system-x86
      busybox-static flex bison bc cpio libelf-dev libssl-dev make python3
      python3-matplotlib python3-docutils xz-utils kmod
      # A second libclang, older than the compiler's: the toolchain test
      # (scripts/tests/test_toolchain.py) checks that bindgen still loads
      # LLVM 22's, and every module build then runs beside it.
      libclang1-14)
BINDGEN_VERSION=0.72.1

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

# The kernel source package, through the project's own apt configuration.
apt_dir=$RCU_LAB_CACHE/apt
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir"
	  -o "Dir::Cache::archives=$apt_dir/archives" -o APT::Sandbox::User=root
	  -o Debug::NoLocking=1)
deb=$(ls "$apt_dir/archives/$KSRC_PKG"_*_all.deb 2>/dev/null | tail -1 || true)
if [ -z "$deb" ] || [ ! -f "$(ksrc_tarball)" ] || [ "$(ksrc_version)" != "$(dpkg-deb -f "$deb" Version)" ]; then
	# The mirror of the system's Debian sources (the main suite of this
	# release), as apt itself resolved it: no host is written here.
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	mirror=$(apt-get indextargets --no-release-info --format '$(TARGET_OF) $(SITE) $(RELEASE)' |
		awk -v c="$codename" '$1 == "deb" && $3 == c { print $2; exit }')
	[ -n "$mirror" ] || die "no Debian mirror for '$codename' in the system's apt sources (apt-get indextargets)"
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	echo "deb [signed-by=$keyring] $mirror $KSRC_SUITE main" >"$apt_dir/sources.list"
	step "fetching $KSRC_PKG from $KSRC_SUITE ($mirror) with apt-get download"
	apt-get -q "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1 ||
		{ cat "$apt_dir/update.log" >&2; die "apt-get update of $KSRC_SUITE failed"; }
	rm -f "$apt_dir/archives/$KSRC_PKG"_*.deb
	(cd "$apt_dir/archives" && apt-get -q "${apt_opts[@]}" download "$KSRC_PKG") ||
		die "apt-get download $KSRC_PKG failed"
	deb=$(ls "$apt_dir/archives/$KSRC_PKG"_*_all.deb | tail -1)
	step "unpacking $(basename "$deb")"
	rm -rf "$apt_dir/root"
	dpkg-deb -x "$deb" "$apt_dir/root"
	dpkg-deb -f "$deb" Version >"$apt_dir/root/.version"
	[ -f "$(ksrc_tarball)" ] || die "$deb holds no $(ksrc_tarball)"
fi

bindgen="$RCU_LAB_TOOLS/bin/bindgen"
if ! "$bindgen" --version 2>/dev/null | grep -q "^bindgen $BINDGEN_VERSION\$"; then
	command -v cargo >/dev/null || die "cargo not found: bindgen-cli is built with the host cargo (rustup)"
	step "installing bindgen-cli $BINDGEN_VERSION from crates.io into $RCU_LAB_TOOLS (about 3 min)"
	cargo install --locked --quiet --root "$RCU_LAB_TOOLS" bindgen-cli --version "$BINDGEN_VERSION"
fi

# Kernel Rust must be built with Debian's rustc, never the rustup one on PATH.
"$KRUSTC" --version | grep -q '^rustc 1\.' || die "$KRUSTC is not a working rustc"

# The libclang bindgen loads must be the compiler's (same major version).
libclang=$(bindgen_libclang)
clangv=$("clang-$LLVM_VERSION" -dumpversion)
[ "${libclang%%.*}" = "${clangv%%.*}" ] ||
	die "bindgen loads libclang $libclang, not clang-$LLVM_VERSION's ($clangv); check LIBCLANG_PATH=$LIBCLANG_PATH"

info "$KSRC_PKG $(ksrc_version)," \
	"$("$KRUSTC" --version | cut -d' ' -f1-2) ($KRUSTC, rustc-web $rv)," \
	"$("$bindgen" --version | head -1) with libclang $libclang ($LIBCLANG_PATH)," \
	"clang $clangv," \
	"$(qemu-system-x86_64 --version | head -1 | sed 's/ (.*//')," \
	"busybox $(busybox 2>&1 | head -1 | awk '{print $2}')"
