#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test, in a boot of its own: a SpinLock inside a held RawSpinLock
# must be reported by the kernel, and nothing else.
# expect: lockdep-invalid-wait-context
# On PREEMPT_RT spinlock_t is a sleeping lock (an rtmutex), so taking it
# there also sleeps in atomic context, which is reported too:
# expect-preempt-rt: lockdep-invalid-wait-context,sleep-in-atomic
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"
rcu_lab_negative lock_spinlock_in_raw
