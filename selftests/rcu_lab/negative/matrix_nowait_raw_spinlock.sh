#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test, in a boot of its own: a report cell of experiment 2's
# evidence matrix.  The nowait variant (block page allocated with GFP_NOWAIT
# in the caller's context, the 2020 proposal) is fed objects
# under a raw spinlock (rcu_lab's RawSpinLock, lock(): interrupts stay on).
# The engine has no page cache and one entry per block; in the context the
# case reads how many pages this CPU's per-CPU lists hold and hands over 64
# objects more, so an allocation must refill the lists under zone->lock, a
# spinlock_t (LD_WAIT_CONFIG) where lockdep allows only LD_WAIT_SPIN:
# expect: lockdep-invalid-wait-context
# On PREEMPT_RT zone->lock is a sleeping lock, which is reported too:
# expect-preempt-rt: lockdep-invalid-wait-context,sleep-in-atomic
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"

rcu_lab_negative matrix_nowait_raw_spinlock "the report names zone->lock" rcu_lab_report_names_zone_lock
