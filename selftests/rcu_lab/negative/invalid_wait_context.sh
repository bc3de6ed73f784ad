#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test: a spinlock_t taken inside a raw_spinlock_t must produce
# lockdep's "BUG: Invalid wait context" and nothing else.  Needs a boot of
# its own (the report turns lockdep off); scripts/check.sh runs it with the
# splat gate expecting exactly this report:
# expect: lockdep-invalid-wait-context
# On PREEMPT_RT spinlock_t is a sleeping lock (an rtmutex), so taking it
# there also sleeps in atomic context, which is reported too:
# expect-preempt-rt: lockdep-invalid-wait-context,sleep-in-atomic
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"

ktap_print_header
ktap_set_plan 2

ko=$RCU_LAB_DIR/splat/rcu_lab_splat.ko
rcu_lab_test "insmod rcu_lab_splat report=invalid_wait_context" \
	insmod "$ko" report=invalid_wait_context
rcu_lab_test "rmmod rcu_lab_splat" rmmod rcu_lab_splat

ktap_finished
