// SPDX-License-Identifier: GPL-2.0
/*
 * C reference loops for rcu_lab's reader benchmark: the same loop as
 * kernel/rcu/refscale.c's "rcu" type, compiled into the module so that the
 * Rust read guard is compared with C in the same harness, and the same loop
 * on __rcu_read_lock(), which leaves out lockdep's rcu_lock_map: the cost of
 * RCU itself on a kernel without lockdep.  And preempt_disable() +
 * preempt_enable(), which every hazard-pointer guard pays (with
 * CONFIG_DEBUG_PREEMPT's out-of-line accounting on this kernel).
 */

#include <linux/preempt.h>
#include <linux/rcupdate.h>

#include "../helpers.h"

void rcu_lab_ref_rcu_read_loop(unsigned long n)
{
	for (; n > 0; n--) {
		rcu_read_lock();
		rcu_read_unlock();
	}
}

void rcu_lab_ref_rcu_read_nolockdep_loop(unsigned long n)
{
	for (; n > 0; n--) {
		__rcu_read_lock();
		__rcu_read_unlock();
	}
}

void rcu_lab_ref_preempt_loop(unsigned long n)
{
	for (; n > 0; n--) {
		preempt_disable();
		preempt_enable();
	}
}
