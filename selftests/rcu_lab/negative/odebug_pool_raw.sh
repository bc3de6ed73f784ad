#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test, in a boot of its own: seed 002's problem in the kernel's own
# allocator user.  Every rcu_head call_rcu() queues takes a debug-objects
# tracking object from a pool, which refills inline only where
# can_fill_pool() allows (lib/debugobjects.c:722-782).  The case queues 8192
# heads under one raw spinlock hold with interrupts off.  On non-RT the pool
# refills inline under a lockdep wait-type override: nothing is reported.
# expect: none
# On PREEMPT_RT it refills only when preemptible, never under a raw lock: the
# pool runs dry and the detector switches itself off for the rest of the boot.
# expect-preempt-rt: odebug
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"

# The report is the pool running dry, on RT only.
pool_verdict() {
	if uname -v | grep -q PREEMPT_RT; then
		dmesg | grep -q 'ODEBUG: Out of memory. ODEBUG disabled'
	else
		! dmesg | grep -q 'ODEBUG:'
	fi
}
rcu_lab_negative odebug_pool_raw "debug-objects ran dry on PREEMPT_RT only" pool_verdict
