#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The rcu_lab main job (`make run`): install what is missing, build the
# debug and the performance kernel of the model (PREEMPT_MODEL, default
# preempt-lazy) and the module for each, boot each kernel once, run the
# benchmarks and the kernel's refscale in that boot (scripts/guest-run.sh),
# run the splat gate, run the host benchmark of the callback walks
# (scripts/hostbench.sh), and end with the report (scripts/report.py):
# results/run-*/report.md with PNG plots, the consoles kept beside it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

model=${PREEMPT_MODEL:-$RCU_LAB_DEFAULT_MODEL}
model_kconf "$model" >/dev/null
"$here/deps.sh"
R=$top/results/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$R"
# The commit the results belong to (the report pairs a run with the checks
# of the same commit): "-dirty" when the tree had changes.
git -C "$top" describe --always --dirty --abbrev=12 >"$R/commit" 2>/dev/null || echo unknown >"$R/commit"
ln -sfn "$(basename "$R")" "$top/results/latest-run"

# The module for each kernel: the performance kernel's is built first and
# kept in the run's results as rcu_lab.kmod (the guest sees it in
# /mnt/results; kbuild's clean of the work tree, which the debug build runs
# when it switches kernels, deletes every *.ko and *.ko.* in the tree,
# results/ included); the work tree's own rcu_lab.ko is the debug kernel's,
# as `make` and `make check` leave it.
declare -A kdirs ko
for flavour in perf debug; do
	kdirs[$flavour]=$("$here/build-kernel.sh" "$model" "$flavour")
	step "building rcu_lab.ko for the $flavour kernel"
	make -C "$top" --no-print-directory KDIR="${kdirs[$flavour]}" modules \
		>"$R/module-build-$flavour.log" 2>&1 ||
		{ tail -30 "$R/module-build-$flavour.log"; die "module build failed"; }
	ko[$flavour]=rcu_lab.ko
	if [ "$flavour" = perf ]; then
		mkdir -p "$R/perf"
		cp "$top/rcu_lab.ko" "$R/perf/rcu_lab.kmod"
		ko[$flavour]=/mnt/results/rcu_lab.kmod
	fi
done

status=0
for flavour in debug perf; do
	kdir=${kdirs[$flavour]}
	step "$flavour kernel: booting, benchmarks and refscale (console: $R/$flavour/console.log)"
	mkdir -p "$R/$flavour"
	"$here/vm-run" --kernel "$kdir" --preempt "$model" --smp "${SMP:-2}" --mem "${MEM:-2G}" \
		--gate --quiet --results "$R/$flavour" -- sh scripts/guest-run.sh "${ko[$flavour]}" &
	vm=$!
	# Progress: the guest's "==>" lines as they come.
	tail -n +1 --pid=$vm -F "$R/$flavour/output.txt" 2>/dev/null | grep --line-buffered '^==>' |
		sed -u 's/^==> /    /' || true
	wait $vm || { status=$?; info "$flavour boot failed with status $status (see $R/$flavour)"; }
done

# The cache question of experiment 2 needs real caches: on the host.
"$here/hostbench.sh" "$R/host" || { status=1; info "host benchmark failed"; }

step "report: $R/report.md"
"$PYTHON" "$here/report.py" "$R"
exit "$status"
