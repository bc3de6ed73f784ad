// SPDX-License-Identifier: GPL-2.0
/*
 * C reference loops for rcu_lab's lock benchmark: the same loops as
 * kernel/rcu/refscale.c's "lock" and "lock-irq" types (and their spinlock_t
 * twins), compiled with the kernel's own inline lock calls, so the Rust
 * wrappers are compared with C in the same harness.
 */

#include <linux/spinlock.h>

#include "../helpers.h"

static DEFINE_RAW_SPINLOCK(rcu_lab_ref_raw_lock);
static DEFINE_SPINLOCK(rcu_lab_ref_spin_lock);

void rcu_lab_ref_raw_lock_loop(unsigned long n)
{
	for (; n > 0; n--) {
		raw_spin_lock(&rcu_lab_ref_raw_lock);
		raw_spin_unlock(&rcu_lab_ref_raw_lock);
	}
}

void rcu_lab_ref_raw_lock_irqsave_loop(unsigned long n)
{
	unsigned long flags;

	for (; n > 0; n--) {
		raw_spin_lock_irqsave(&rcu_lab_ref_raw_lock, flags);
		raw_spin_unlock_irqrestore(&rcu_lab_ref_raw_lock, flags);
	}
}

void rcu_lab_ref_spin_lock_loop(unsigned long n)
{
	for (; n > 0; n--) {
		spin_lock(&rcu_lab_ref_spin_lock);
		spin_unlock(&rcu_lab_ref_spin_lock);
	}
}

void rcu_lab_ref_spin_lock_irqsave_loop(unsigned long n)
{
	unsigned long flags;

	for (; n > 0; n--) {
		spin_lock_irqsave(&rcu_lab_ref_spin_lock, flags);
		spin_unlock_irqrestore(&rcu_lab_ref_spin_lock, flags);
	}
}

void rcu_lab_ref_local_irq_save_loop(unsigned long n)
{
	unsigned long flags;

	for (; n > 0; n--) {
		local_irq_save(flags);
		local_irq_restore(flags);
	}
}
