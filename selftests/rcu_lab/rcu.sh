#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The RCU types (read guard, RcuPtr, Retired, grace-period cookies) through
# /sys/kernel/debug/rcu_lab/selftest.  The stress cases run a reader thread
# and a hardirq reader (hrtimer) on every CPU against updaters that replace
# and free elements after synchronize_rcu(), with call_rcu() and with
# kfree_rcu(); every read checks the element's magic, and every element that
# can count its own drop must have been freed.  Rerun one case by hand with:
#   echo rcu_stress_call_rcu > /sys/kernel/debug/rcu_lab/selftest
. "$(dirname "$0")/lib.sh"

CASES="rcu_guard_lockdep rcu_poll rcu_stress_synchronize rcu_stress_call_rcu rcu_stress_kfree_rcu"

ktap_print_header
rcu_lab_require
ktap_set_plan 7

rcu_lab_test "insmod rcu_lab" rcu_lab_load
for c in $CASES; do
	rcu_lab_test "$c" rcu_lab_case "$c"
done
rcu_lab_test "rmmod rcu_lab (waits for every callback it queued)" rcu_lab_unload

ktap_finished
