#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host benchmarks (`make run`): the cache question of experiment 2 on the
# host's own caches, which QEMU TCG does not model. Builds
# scripts/hostbench/walk.rs with the plain /usr/bin/rustc (no crates.io
# dependency; the array walks are the module's rust/protocol/walk.rs) and
# runs it, with what the figures depend on written first: CPU model, cache
# sizes, transparent huge pages, the host kernel and its Spectre v2
# mitigation (retpolines turn every indirect call into a return trampoline,
# which stops the speculation the pair shape relies on).
#
#   hostbench.sh OUT_DIR [RUNS]     (RUNS: WALK_RUNS, default 15)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

out=${1:?usage: hostbench.sh OUT_DIR [RUNS]}
runs=${2:-${WALK_RUNS:-15}}
mkdir -p "$out"
bin=$RCU_LAB_CACHE/tools/hostbench/walk
mkdir -p "$(dirname "$bin")"
step "host: building the callback-walk benchmark with $KRUSTC"
"$KRUSTC" --edition 2021 -C opt-level=3 -o "$bin" "$here/hostbench/walk.rs" ||
	die "building scripts/hostbench/walk.rs failed"

cache_line() {
	local d lines=()
	for d in /sys/devices/system/cpu/cpu0/cache/index*; do
		[ -r "$d/size" ] || continue
		lines+=("L$(cat "$d/level") $(cat "$d/type") $(cat "$d/size")")
	done
	local IFS=,
	echo "${lines[*]:-unknown}"
}
{
	echo "# host: $(uname -srm), $(nproc) CPUs"
	echo "# cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "# hypervisor: $(grep -q '^flags.* hypervisor' /proc/cpuinfo && echo "yes (a guest: its caches are the host CPU's, shared)" || echo no)"
	echo "# caches: $(cache_line)"
	echo "# thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)"
	echo "# spectre_v2: $(cat /sys/devices/system/cpu/vulnerabilities/spectre_v2 2>/dev/null || echo unknown)"
	echo "# date: $(date -u +%Y-%m-%d)"
} >"$out/walk.txt"
step "host: callback walks, $runs runs per shape and layout"
"$bin" "$runs" >>"$out/walk.txt" || die "the walk benchmark failed (see $out/walk.txt)"
grep '^walk ' "$out/walk.txt" | sed 's/^/    /'
