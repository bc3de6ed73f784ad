#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test, in a boot of its own: a cell of experiment 2's evidence
# matrix.  The nowait variant (block page allocated with GFP_NOWAIT in the
# caller's context) is fed objects with interrupts off and no lock held
# (the crate's local_interrupt_disable()).  The engine has no page cache and
# one entry per block; the case reads how many pages this CPU's per-CPU
# lists hold and hands over 64 objects more, so an allocation must take
# zone->lock.  With no lock held lockdep has nothing to object to, and on
# lazy and full kernels zone->lock spins: nothing is reported.
# expect: none
# On PREEMPT_RT zone->lock is a sleeping lock, and rtlock_might_resched()
# sees interrupts off (kernel/locking/spinlock_rt.c:48):
# expect-preempt-rt: sleep-in-atomic
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"

rcu_lab_negative matrix_nowait_irqs_off
