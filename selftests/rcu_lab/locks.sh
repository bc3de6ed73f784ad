#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The lock types (RawSpinLock, SpinLock, irqsave guards, dynamic lock class
# keys) through /sys/kernel/debug/rcu_lab/selftest; lockdep must end with as
# many lock classes as before the 10000 dynamic keys.  Rerun one case by
# hand with: echo lock_nested_order > /sys/kernel/debug/rcu_lab/selftest
. "$(dirname "$0")/lib.sh"

ktap_print_header
rcu_lab_require
[ -f /proc/lockdep_stats ] || { ktap_skip_all "needs lockdep (/proc/lockdep_stats)"; exit "$KSFT_SKIP"; }
ktap_set_plan 9
rcu_lab_load

for c in lock_mutual_exclusion lock_irqsave_restores lock_nested_order; do
	rcu_lab_test "$c" rcu_lab_case $c
done

# Every dynamic key's class must be zapped and freed. Other kernel code may
# use a lock for the first time meanwhile (writeback timers, workqueues):
# those new classes are listed and set apart, by name.
n0=$(lockdep_snapshot /tmp/classes.before)
z0=$(lockdep_stat "zapped classes")
rcu_lab_test lock_dynamic_keys rcu_lab_case lock_dynamic_keys
n1=$(lockdep_snapshot /tmp/classes.after)
z1=$(lockdep_stat "zapped classes")
left=$(grep -c '^rcu_lab_dynamic' /tmp/classes.after)
# Multiset difference: classes in "after" that "before" did not have.
awk 'NR == FNR { seen[$0]++; next } seen[$0]-- <= 0' /tmp/classes.before /tmp/classes.after |
	grep -v '^rcu_lab_dynamic' >/tmp/classes.new
other=$(grep -c . /tmp/classes.new)
sed 's/^/# new class elsewhere in the kernel: /' /tmp/classes.new
ktap_print_msg "lock-classes $n0 -> $n1, zapped classes $z0 -> $z1, rcu_lab_dynamic left: $left"
rcu_lab_test "10000 dynamic classes zapped ($((z1 - z0)))" [ $((z1 - z0)) = 10000 ]
back=false
[ $((n1 - n0)) = "$other" ] && [ "$left" = 0 ] && back=true
rcu_lab_test "lock-classes back to $n0 apart from $other new elsewhere, none left of ours" $back

rcu_lab_test "unknown case refused, with a dmesg line" \
	rcu_lab_write_refused selftest "selftest: unknown case 'no_such_case'" 'no_such_case\n'

# The benchmark runs and reports every Rust/C pair (figures: make run). On
# PREEMPT_RT the three spinlock_t pairs are not timed (the loops run with
# interrupts off, where a sleeping lock must not be taken) and say n/a.
want=6 na=0
[ "$(rcu_lab_info preempt_model)" = rt ] && want=3 na=3
if echo locks >"$RCU_LAB_DEBUGFS/bench"; then
	sed 's/^/# bench: /' "$RCU_LAB_DEBUGFS/bench"
	pairs=$(grep -cE '^[a-z_():]+ +[0-9]+\.[0-9] +[0-9]+\.[0-9] +[0-9]+\.[0-9]{3}$' "$RCU_LAB_DEBUGFS/bench")
	skipped=$(grep -cE '^[a-z_():]+ +n/a n/a n/a$' "$RCU_LAB_DEBUGFS/bench")
else
	pairs=0 skipped=0
fi
ok=false
[ "$pairs" = "$want" ] && [ "$skipped" = "$na" ] && ok=true
rcu_lab_test "bench locks: $want Rust/C pairs measured ($pairs), $na n/a ($skipped)" $ok
rcu_lab_test "rmmod rcu_lab" rcu_lab_unload
ktap_finished
