// SPDX-License-Identifier: GPL-2.0

//! Safe calls of the C reference loops in `bench/lock_loops.c` and
//! `bench/reader_loops.c`.

use crate::helpers;

/// `n` times `raw_spin_lock()` + `raw_spin_unlock()` (refscale's "lock").
#[allow(unsafe_code)]
pub(crate) fn raw_lock_loop(n: usize) {
    // SAFETY: The loop uses a lock private to `lock_loops.c`; any context
    // where a raw spinlock may be taken is fine, as for every caller here.
    unsafe { helpers::rcu_lab_ref_raw_lock_loop(n) }
}

/// `n` times `raw_spin_lock_irqsave()` + restore (refscale's "lock-irq").
#[allow(unsafe_code)]
pub(crate) fn raw_lock_irqsave_loop(n: usize) {
    // SAFETY: As for `raw_lock_loop`.
    unsafe { helpers::rcu_lab_ref_raw_lock_irqsave_loop(n) }
}

/// `n` times `spin_lock()` + `spin_unlock()`.
#[allow(unsafe_code)]
pub(crate) fn spin_lock_loop(n: usize) {
    // SAFETY: As for `raw_lock_loop`; callers skip it where `spinlock_t`
    // may sleep and they run atomic (PREEMPT_RT).
    unsafe { helpers::rcu_lab_ref_spin_lock_loop(n) }
}

/// `n` times `spin_lock_irqsave()` + restore.
#[allow(unsafe_code)]
pub(crate) fn spin_lock_irqsave_loop(n: usize) {
    // SAFETY: As for `spin_lock_loop`.
    unsafe { helpers::rcu_lab_ref_spin_lock_irqsave_loop(n) }
}

/// `n` times `rcu_read_lock()` + `rcu_read_unlock()` (refscale's "rcu").
#[allow(unsafe_code)]
pub(crate) fn rcu_read_loop(n: usize) {
    // SAFETY: An empty RCU read-side critical section is allowed in any
    // context but NMI.
    unsafe { helpers::rcu_lab_ref_rcu_read_loop(n) }
}

/// `n` times `__rcu_read_lock()` + `__rcu_read_unlock()`: RCU without
/// lockdep's `rcu_lock_map` annotation.
#[allow(unsafe_code)]
pub(crate) fn rcu_read_nolockdep_loop(n: usize) {
    // SAFETY: As for `rcu_read_loop`; the sections are empty, so skipping
    // the lockdep annotation hides nothing from lockdep.
    unsafe { helpers::rcu_lab_ref_rcu_read_nolockdep_loop(n) }
}

/// `n` times `preempt_disable()` + `preempt_enable()`.
#[allow(unsafe_code)]
pub(crate) fn preempt_loop(n: usize) {
    // SAFETY: Disabling and re-enabling preemption is allowed in any
    // context; the loop leaves the count as it found it.
    unsafe { helpers::rcu_lab_ref_preempt_loop(n) }
}

/// `n` times `local_irq_save()` + `local_irq_restore()`.
#[allow(unsafe_code)]
pub(crate) fn local_irq_save_loop(n: usize) {
    // SAFETY: Each save is undone by its restore, so the loop leaves the
    // interrupt state as it found it; allowed in any context.
    unsafe { helpers::rcu_lab_ref_local_irq_save_loop(n) }
}
