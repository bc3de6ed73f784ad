#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make run`: load rcu_lab, run its benchmarks (locks,
# readers, gp), the kernel's own reference measurements (refscale), the
# experiments (EXPERIMENTS) and rcuscale's kfree test in this one boot, save
# every report, unload.  Runs from the work tree (/mnt/repo);
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
# Loads torture-style module $1 with the remaining arguments, waits up to $2
# seconds for a new dmesg line matching $3 (the module's end-of-test line),
# then unloads it.
run_until() { # module limit marker args...
	m=$1 limit=$2 marker=$3
	shift 3
	before=$(dmesg | grep -c "$marker")
	modprobe "$m" "$@" || return 1
	i=0
	until [ "$(dmesg | grep -c "$marker")" -gt "$before" ]; do
		i=$((i + 1))
		[ $i -lt "$limit" ] || { echo "$m did not finish" >&2; rmmod "$m"; return 1; }
		sleep 1
	done
	rmmod "$m"
}

refscale() { # scale_type
	run_until refscale 300 "$1-ref-scale: END OF TEST" scale_type="$1" nreaders=1 \
		loops=20000 nruns=9 holdoff=0 shutdown_secs=0 || return 1
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

# The experiments, one line each: the results file, the experiment, its
# params on the debug kernel and on the performance kernel ("-": not run
# there), with commas for blanks. Each run's results go to $out/<file>, which
# scripts/report.py renders. Experiment 1 with rcuscale's kfree test load (2
# threads x 2000 objects x 8 loops, 32-byte objects: rcuscale's kfree_obj is
# 24 bytes, kmalloc-32); the debug kernel is ~100x slower: fewer rounds. On
# the performance kernel experiment 1's engine runs again with 32 cached
# pages per CPU instead of the kernel's 5: how much of its cost is a cold
# cache's emergency path. Experiment 2's costs (raw_call_rcu): one round on
# the debug kernel, five on the performance kernel; its evidence matrix's
# clean cells on the debug kernel only (lockdep judges them there); and a
# flood from one CPU on the performance kernel (fallback fraction and peak
# block pages when one thread hands over 20000 objects at once). Experiment
# 3's key teardown (key_unregister): 65 keys (mq on 64 queues) with busy
# readers, one round on the debug kernel; on the performance kernel five
# rounds each with busy readers and idle, with the zap stand-in off and on,
# and 256 keys with busy readers. Its real-lockdep part (lockdep_keys) on
# the debug kernel only (the performance kernel has no lockdep), 65 and 256
# keys; scripts/guest-lockdep-keys.sh gives the same on another model.
EXPERIMENTS="
kfree_batching          kfree_batching threads=2,objects=2000,loops=8,size=32,rounds=3 threads=2,objects=2000,loops=8,size=32,rounds=7
kfree_batching-cache32  kfree_batching -                                                variants=1,cache_pages=32,rounds=7
raw_call_rcu            raw_call_rcu   threads=2,objects=1000,loops=4,rounds=1,matrix=1     threads=2,objects=2000,loops=8,rounds=5,matrix=0
raw_call_rcu-flood      raw_call_rcu   -                                                threads=1,objects=20000,loops=2,rounds=3,idle=0,matrix=0
key_unregister          key_unregister rounds=1                                         rounds=5
key_unregister-idle     key_unregister -                                                readers=0,rounds=5
key_unregister-zap      key_unregister -                                                zap=1,rounds=5
key_unregister-idle-zap key_unregister -                                                readers=0,zap=1,rounds=5
key_unregister-256      key_unregister -                                                keys=256,rounds=3
lockdep_keys            lockdep_keys   keys=65,rounds=5                                 -
lockdep_keys-256        lockdep_keys   keys=256,rounds=3                                -
"
if grep -q "^lockdep: on" "$D/info"; then kernel=debug rounds=3; else kernel=perf rounds=7; fi

# Runs experiment $2 with params $3 (commas for blanks) from its defaults
# and saves its results as $out/$1.
experiment() { # file name params
	p=$(echo "$3" | tr , ' ')
	echo "==> experiment $2: $p"
	echo reset >"$D/$2/params"
	echo "$p" >"$D/$2/params"
	echo 1 >"$D/$2/run"
	cat "$D/$2/results" >"$out/$1"
}
echo "$EXPERIMENTS" | while read -r file name debug perf; do
	[ -n "$file" ] || continue
	if [ $kernel = debug ]; then p=$debug; else p=$perf; fi
	[ "$p" = - ] || experiment "$file" "$name" "$p"
done

# rcuscale's kfree test, same boot, same load shape, two-argument kfree_rcu()
# only (kfree_rcu_test_double=1): "Total time taken by all kfree'ers".
rcuscale_kfree() {
	run_until rcuscale 600 "Total time taken by all kfree'ers" kfree_rcu_test=1 \
		kfree_rcu_test_double=1 kfree_nthreads=2 kfree_alloc_num=2000 kfree_loops=8 \
		shutdown_secs=0 || return 1
	dmesg | sed -n "s/.*Total time taken by all kfree'ers: \([0-9]*\) ns, loops: \([0-9]*\), batches: \([0-9-]*\), memory footprint: \([0-9-]*\)MB.*/rcuscale_kfree ns=\1 loops=\2 batches=\3 footprint_mb=\4/p" | tail -n 1
}
echo "==> the kernel's rcuscale kfree test (kfree_rcu_test_double=1), same boot"
{
	echo "# the kernel's rcuscale kfree test: kfree_rcu_test=1 kfree_rcu_test_double=1"
	echo "# kfree_nthreads=2 kfree_alloc_num=2000 kfree_loops=8, $rounds runs in this boot"
	n=0
	while [ $n -lt $rounds ]; do
		rcuscale_kfree || break
		n=$((n + 1))
	done
} >"$out/rcuscale-kfree"

echo "==> unloading rcu_lab"
rmmod rcu_lab
