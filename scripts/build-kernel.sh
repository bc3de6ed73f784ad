#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build an rcu_lab kernel in the cache and print its build directory.
#
#   build-kernel.sh [MODEL [FLAVOUR]]
#
# MODEL: preempt-lazy (default), preempt or preempt-rt; lazy and full share
# one PREEMPT_DYNAMIC kernel (scripts/lib.sh, model_kconf).
# FLAVOUR: debug (default: lockdep, KASAN, kmemleak, debug-objects; tests
# and evidence) or perf (none of them; benchmarks).
#
# The kernel is Debian's linux-source-7.3 (scripts/deps.sh fetches it),
# configured as tinyconfig plus qemu-config/{base,FLAVOUR,preempt-KCONF}.config
# and built with LLVM=-22. The build directory is keyed by the source
# package version, the fragments and the toolchain versions (rustc, clang,
# lld, bindgen and the libclang it loads); when a build with the same key has
# completed, nothing is run. After olddefconfig every option the fragments
# ask for must be in the final .config, else the build stops and lists what
# Kconfig dropped.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

model=${1:-$RCU_LAB_DEFAULT_MODEL}
flavour=${2:-debug}
kconf=$(model_kconf "$model")
case $flavour in debug|perf) ;; *) die "unknown kernel flavour '$flavour' (debug or perf)" ;; esac
name=$flavour-$kconf
frags=("$top/qemu-config/base.config" "$top/qemu-config/$flavour.config"
       "$top/qemu-config/preempt-$kconf.config")

srcver=$(ksrc_version)
tarball=$(ksrc_tarball)
[ -n "$srcver" ] && [ -f "$tarball" ] || die "$KSRC_PKG is not fetched (run scripts/deps.sh)"
[ -x "$BINDGEN" ] || die "bindgen not found at $BINDGEN (run scripts/deps.sh)"

# Bump when this script changes how the kernel is built.
recipe=2
key=$( {
	echo "recipe $recipe kernel $name source $KSRC_PKG $srcver"
	for f in "${frags[@]}"; do echo "== $(basename "$f")"; cat "$f"; done
	"$KRUSTC" --version --verbose
	"clang-$LLVM_VERSION" --version | head -1
	"ld.lld-$LLVM_VERSION" --version
	"$BINDGEN" --version
	echo "libclang $(bindgen_libclang)"
} | sha256sum | cut -c1-12)

src=$RCU_LAB_CACHE/src/linux-source-$srcver
build=$RCU_LAB_CACHE/kernel/$name-$key
kmake=(make -C "$src" O="$build" LLVM=-"$LLVM_VERSION" RUSTC="$KRUSTC" BINDGEN="$BINDGEN")

# Installs the kernel's modules (with depmod data) into $build/modroot.
install_modules() {
	command -v depmod >/dev/null || PATH=$PATH:/sbin:/usr/sbin
	command -v depmod >/dev/null || die "depmod not found (Debian package kmod; run scripts/deps.sh)"
	rm -rf "$build/modroot"
	"${kmake[@]}" INSTALL_MOD_PATH="$build/modroot" modules_install >>"$log" 2>&1 ||
		{ tail -30 "$log"; die "modules_install failed"; }
	ls "$build"/modroot/lib/modules/*/modules.dep >/dev/null 2>&1 ||
		die "modules_install wrote no modules.dep (see $log)"
}

log=$build/build.log
cached() {
	[ -f "$build/.rcu_lab-complete" ] &&
		ls "$build"/modroot/lib/modules/*/modules.dep >/dev/null 2>&1
}
if cached; then
	info "kernel $name-$key is cached in $build"
	echo "$build"
	exit 0
fi

# One build at a time in the cache: two makes in one build directory
# corrupt it (and share the unpacked source). The lock lives on fd 9 until
# this script and the make it starts have exited.
mkdir -p "$RCU_LAB_CACHE"
exec 9>"$RCU_LAB_CACHE/.kernel-build.lock"
if ! flock -n 9; then
	info "another kernel build is running in $RCU_LAB_CACHE; waiting for it"
	flock 9
fi
# It may have built this very kernel.
if cached; then
	info "kernel $name-$key is cached in $build"
	echo "$build"
	exit 0
fi
if [ -f "$build/.rcu_lab-complete" ]; then
	step "reinstalling kernel modules with depmod data"
	install_modules
	echo "$build"
	exit 0
fi

if [ ! -f "$src/.rcu_lab-unpacked" ]; then
	step "unpacking $tarball ($srcver)"
	rm -rf "$src.tmp"
	mkdir -p "$src.tmp"
	tar -C "$src.tmp" --strip-components=1 -xJf "$tarball"
	touch "$src.tmp/.rcu_lab-unpacked"
	rm -rf "$src"
	mv "$src.tmp" "$src"
fi

mkdir -p "$build"
: >"$log"

step "configuring kernel $name-$key (tinyconfig + ${frags[*]##*/})"
"${kmake[@]}" tinyconfig >>"$log" 2>&1 || { tail -30 "$log"; die "tinyconfig failed"; }
"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "${frags[@]}" >>"$log" 2>&1 ||
	{ tail -30 "$log"; die "merging config fragments failed"; }
"${kmake[@]}" olddefconfig >>"$log" 2>&1 || { tail -30 "$log"; die "olddefconfig failed"; }

# Kconfig silently drops options whose dependencies are unmet.
dropped=()
while read -r line; do
	case "$line" in
	CONFIG_*=*) want=$line; sym=${line%%=*} ;;
	"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *}; want="# $sym is not set" ;;
	*) continue ;;
	esac
	have=$(grep -E "^($sym=|# $sym is not set)" "$build/.config" || true)
	if [ "$have" != "$want" ]; then
		# "not set" is also satisfied by the symbol being absent.
		if [ -z "$have" ] && [ "${want:0:1}" = "#" ]; then continue; fi
		dropped+=("$want (got: ${have:-absent})")
	fi
done < <(cat "${frags[@]}")
if [ ${#dropped[@]} -gt 0 ]; then
	printf '    %s\n' "${dropped[@]}" >&2
	die "Kconfig dropped ${#dropped[@]} option(s) the fragments ask for; see $build/.config"
fi

jobs=${JOBS:-$(nproc)}
case $flavour in debug) about="~17 min" ;; *) about="~8 min" ;; esac
step "building kernel $name-$key with -j$jobs (log: $log; $about from scratch on 2 cores)"
start=$SECONDS
"${kmake[@]}" -j"$jobs" all >>"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT INT TERM
while kill -0 $pid 2>/dev/null; do
	sleep 20
	n=$(grep -cE '^  (CC|RUSTC|AS|LD)' "$log" || true)
	last=$(grep -E '^  (CC|RUSTC|AS|LD)' "$log" | tail -1 | awk '{print $NF}')
	info "[$(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s] $n objects built, last: ${last:-none}"
done
if ! wait $pid; then
	trap - EXIT INT TERM
	grep -E 'error|Error' "$log" | head -20 >&2 || true
	tail -30 "$log" >&2
	die "kernel build failed (full log: $log)"
fi
trap - EXIT INT TERM

step "installing kernel modules into $build/modroot"
install_modules

touch "$build/.rcu_lab-complete"
# Keep the three newest builds of this kernel; each is about 0.5 GiB.
ls -dt "$RCU_LAB_CACHE/kernel/$name"-*/ | tail -n +4 | xargs -r rm -rf
info "kernel $name-$key built in $(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s"
echo "$build"
