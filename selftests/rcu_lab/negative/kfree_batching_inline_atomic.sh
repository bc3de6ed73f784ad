#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test, in a boot of its own: seed 002's problem, provoked live.
# An engine in the rejected design (Inline::Atomic: allocate the
# block page inline with GFP_ATOMIC) is fed objects while the caller holds a
# raw spinlock.  The page allocator's per-CPU lists are taken with a trylock,
# which lockdep does not check; the case enqueues one object more than those
# lists hold (read with interrupts off, so nothing on this CPU refills
# them), so one allocation must refill them under zone->lock, a spinlock_t:
# expect: lockdep-invalid-wait-context
# On PREEMPT_RT zone->lock sleeps, which is reported too:
# expect-preempt-rt: lockdep-invalid-wait-context,sleep-in-atomic
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"

rcu_lab_negative batch_inline_atomic "the report names zone->lock" rcu_lab_report_names_zone_lock
