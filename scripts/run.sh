#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The rcu_lab main job (`make run`): install what is missing, build the
# debug and the performance kernel of the model (PREEMPT_MODEL, default
# preempt-lazy) and the module for each, boot each kernel once, run the
# benchmarks and the kernel's refscale in that boot (scripts/guest-run.sh),
# run the splat gate, and end with the report (scripts/report.py):
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
ln -sfn "$(basename "$R")" "$top/results/latest-run"

status=0
for flavour in debug perf; do
	kdir=$("$here/build-kernel.sh" "$model" "$flavour")
	# The debug module is the work tree's own (make, make check); the
	# performance kernel's goes to build/perf (kbuild's MO=).
	if [ "$flavour" = debug ]; then
		step "building rcu_lab.ko for the $flavour kernel"
		make -C "$top" --no-print-directory KDIR="$kdir" modules >"$R/module-build-$flavour.log" 2>&1 ||
			{ tail -30 "$R/module-build-$flavour.log"; die "module build failed"; }
		ko=rcu_lab.ko
	else
		step "building rcu_lab.ko for the $flavour kernel (into build/$flavour)"
		mkdir -p "$top/build/$flavour"
		make -C "$kdir" M="$top" MO="$top/build/$flavour" LLVM=-"$LLVM_VERSION" RUSTC="$KRUSTC" \
			BINDGEN="$BINDGEN" modules >"$R/module-build-$flavour.log" 2>&1 ||
			{ tail -30 "$R/module-build-$flavour.log"; die "module build failed"; }
		ko=build/$flavour/rcu_lab.ko
	fi
	step "$flavour kernel: booting, benchmarks and refscale (console: $R/$flavour/console.log)"
	mkdir -p "$R/$flavour"
	: >"$R/$flavour/output.txt"
	"$here/vm-run" --kernel "$kdir" --preempt "$model" --smp "${SMP:-2}" --mem "${MEM:-2G}" \
		--gate --quiet --results "$R/$flavour" -- sh scripts/guest-run.sh "$ko" &
	vm=$!
	# Progress: the guest's "==>" lines as they come.
	tail -n +1 --pid=$vm -f "$R/$flavour/output.txt" 2>/dev/null | grep --line-buffered '^==>' |
		sed -u 's/^==> /    /' || true
	wait $vm || { status=$?; info "$flavour boot failed with status $status (see $R/$flavour)"; }
done

step "report: $R/report.md"
"$PYTHON" "$here/report.py" "$R"
exit "$status"
