#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The hazard pointers through /sys/kernel/debug/rcu_lab/selftest: nesting
# and the wildcard, synchronize() against a reader on another CPU, and the
# stress case (element and container readers in threads and in hardirq on
# every CPU against an updater that frees after synchronize()).  Then the
# read-side and update-side benchmarks, which compare them with RCU, must
# report every row (figures: make run).  Rerun one case by hand with:
#   echo hazptr_stress > /sys/kernel/debug/rcu_lab/selftest
. "$(dirname "$0")/lib.sh"

ktap_print_header
rcu_lab_require
ktap_set_plan 7

rcu_lab_test "insmod rcu_lab" rcu_lab_load
for c in hazptr_basics hazptr_stress; do
	rcu_lab_test "$c" rcu_lab_case "$c"
done

# bench NAME: run benchmark NAME; its report goes to /tmp/bench.NAME and,
# as KTAP diagnostics, to the output.
bench() {
	rm -f "/tmp/bench.$1"
	echo "$1" >"$RCU_LAB_DEBUGFS/bench" || return
	cat "$RCU_LAB_DEBUGFS/bench" >"/tmp/bench.$1"
	sed 's/^/# bench: /' "/tmp/bench.$1"
}
rows() { # NAME PATTERN: lines of benchmark NAME's report matching PATTERN
	grep -cE "$2" "/tmp/bench.$1" 2>/dev/null || true
}

bench readers
n=$(rows readers '^[A-Za-z_:()]+ +[0-9]+\.[0-9] +[0-9]+\.[0-9]{3}$')
rcu_lab_test "bench readers: 7 read sections measured (${n:-0})" [ "$n" = 7 ]

# Two rows (idle, busy) per wait; with one CPU the busy rows say n/a.
bench gp
n=$(rows gp '^[a-z_]+ +(idle|busy) +[0-9]+ +[0-9]+\.[0-9]{2} +[0-9]+\.[0-9]{2} +[0-9]+$')
want=6
[ "$(rcu_lab_info cpus_online)" -gt 1 ] || want=3
rcu_lab_test "bench gp: $want waits measured (${n:-0})" [ "$n" = "$want" ]

rcu_lab_test "unknown benchmark refused, with a dmesg line" \
	rcu_lab_write_refused bench "bench: unknown benchmark 'no_such_bench'" 'no_such_bench\n'

rcu_lab_test "rmmod rcu_lab" rcu_lab_unload
ktap_finished
