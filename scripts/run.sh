#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The rcu_lab main job (`make run`): install what is missing, build the test
# kernel and the module, boot the VM, load the module, show what it reports
# (every file under /sys/kernel/debug/rcu_lab/, also saved to the results
# directory), unload it, and run the splat gate.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

model=${PREEMPT_MODEL:-preempt}
"$here/deps.sh"
kdir=$("$here/build-kernel.sh" "$model")
step "building rcu_lab.ko"
make -C "$top" --no-print-directory KDIR="$kdir" modules
R=$top/results/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$R"
ln -sfn "$(basename "$R")" "$top/results/latest-run"
"$here/vm-run" --kernel "$kdir" --smp "${SMP:-2}" --mem "${MEM:-2G}" --gate \
	--results "$R" -- sh scripts/guest-run.sh
