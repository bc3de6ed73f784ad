#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make run`: load rcu_lab, run its benchmarks (locks,
# readers, gp) and the kernel's own reference measurements (refscale) in this
# one boot, save every report, unload.  Runs from the work tree (/mnt/repo);
# reports go to $RCU_LAB_RESULTS/rcu_lab/, progress lines ("==> ...") to
# stdout.  scripts/report.py turns the reports into the run's report.
#
#   sh scripts/guest-run.sh [MODULE.ko]       default ./rcu_lab.ko
set -e
ko=${1:-./rcu_lab.ko}
D=/sys/kernel/debug/rcu_lab
out=${RCU_LAB_RESULTS:-/tmp}/rcu_lab
mkdir -p "$out"

insmod "$ko"
echo "==> $D/info"
tee "$out/info" <"$D/info"

# One refscale run (the kernel's own C harness, one reader, as our
# benchmarks) in this boot: prints the median ns per loop. refscale as a
# module powers the machine off when its test ends unless shutdown_secs=0
# (7.3: its default tests a misspelled Kconfig symbol).
refscale() { # scale_type
	modprobe refscale scale_type="$1" nreaders=1 loops=20000 nruns=9 holdoff=0 \
		shutdown_secs=0 || return 1
	i=0
	until dmesg | grep -q "$1-ref-scale: END OF TEST"; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "refscale $1 did not finish" >&2; rmmod refscale; return 1; }
		sleep 1
	done
	rmmod refscale
	dmesg | sed -n "/$1-ref-scale: END OF TEST/,\$p" |
		sed -n 's/^\(\[[^]]*\][[:space:]]*\)\{0,1\}[0-9][0-9]*[[:space:]][[:space:]]*\([0-9][0-9]*\.[0-9]*\)$/\2/p' |
		head -n 9 | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# Runs benchmark $1 through debugfs and saves its report.
bench() {
	echo "==> benchmark $1"
	echo "$1" >"$D/bench"
	cat "$D/bench" >"$out/bench-$1"
}

bench locks
bench readers
bench gp

# refscale (same boot) measures the C loops with its own harness, one
# reader, as our benchmarks do: raw_spinlock_t ("lock", "lock-irq"),
# rcu_read_lock() ("rcu") and preempt_disable() ("preempt").
echo "==> the kernel's refscale (lock, lock-irq, rcu, preempt), same boot"
{
	echo "# the kernel's refscale (C, its own harness), same boot: median ns per loop"
	for t in lock lock-irq rcu preempt; do
		echo "refscale_$t $(refscale $t)"
	done
} >"$out/refscale"

echo "==> unloading rcu_lab"
rmmod rcu_lab
