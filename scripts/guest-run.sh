#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make run`: load rcu_lab, run the benchmarks (locks, readers,
# gp) and the kernel's own reference measurements (refscale) in this one
# boot, print and save every report, unload.  Runs from the work tree
# (/mnt/repo); reports go to $RCU_LAB_RESULTS/rcu_lab/.
set -e
D=/sys/kernel/debug/rcu_lab
out=${RCU_LAB_RESULTS:-/tmp}/rcu_lab
mkdir -p "$out"

insmod ./rcu_lab.ko
echo "==> $D/info"
tee "$out/info" <"$D/info"

# One refscale run (the kernel's own C harness, one reader, as our
# benchmarks) in this boot.
refscale() { # scale_type -> median ns per loop
	modprobe refscale scale_type="$1" nreaders=1 loops=20000 nruns=9 holdoff=0 || return 1
	i=0
	until dmesg | grep -q "^.*$1-ref-scale: END OF TEST"; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "refscale $1 did not finish" >&2; rmmod refscale; return 1; }
		sleep 1
	done
	rmmod refscale
	dmesg | sed -n "/$1-ref-scale: END OF TEST/,\$p" |
		sed -n 's/^\(\[[^]]*\][[:space:]]*\)\{0,1\}[0-9][0-9]*[[:space:]][[:space:]]*\([0-9][0-9]*\.[0-9]*\)$/\2/p' |
		sort -n |
		awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# Runs benchmark $1 through debugfs and shows and saves its report.
bench() {
	echo "==> benchmark $1"
	echo "$1" >"$D/bench"
	tee "$out/bench-$1" <"$D/bench"
}

bench locks
bench readers
bench gp

# refscale (same boot) measures the C loops with its own harness, one
# reader, as our benchmarks do: raw_spinlock_t ("lock", "lock-irq") and
# rcu_read_lock() ("rcu").
echo "==> the kernel's refscale, same boot"
{
	echo "# the kernel's refscale (C, its own harness), same boot: median ns per loop"
	for t in lock lock-irq rcu; do
		echo "refscale_$t $(refscale $t)"
	done
} | tee "$out/refscale"

echo "==> Rust against refscale (ratios of ns per operation, same boot)"
awk '
	FNR == NR && /^refscale_lock / { ref["raw_spin_lock"] = $2 }
	FNR == NR && /^refscale_lock-irq / { ref["raw_spin_lock_irqsave"] = $2 }
	FNR == NR && /^refscale_rcu / {
		ref["rcu::read_lock"] = $2; ref["RcuPtr::read"] = $2
		ref["HazPtr::protect_cell"] = $2; ref["HazPtr::protect"] = $2
	}
	FNR != NR && ($1 in ref) && ref[$1] > 0 {
		printf "%-24s rust %s ns, refscale %s ns, rust/refscale %.3f\n", $1, $2, ref[$1], $2 / ref[$1]
	}' "$out/refscale" "$out/bench-locks" "$out/bench-readers" | tee "$out/rust-vs-refscale"

rmmod rcu_lab
