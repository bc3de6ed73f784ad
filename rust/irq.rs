// SPDX-License-Identifier: GPL-2.0

//! Local interrupt state.
//!
//! C header: [`include/linux/irqflags.h`](srctree/include/linux/irqflags.h).

use crate::helpers;
use core::marker::PhantomData;
use kernel::ffi::c_ulong;

/// Whether local interrupts are disabled on this CPU.
pub(crate) fn disabled() -> bool {
    // SAFETY: Reading the interrupt flag is allowed in any context.
    unsafe { helpers::rcu_lab_irqs_disabled() }
}

/// Local interrupts disabled until the guard is dropped, which restores the
/// previous state (`local_irq_save()`/`local_irq_restore()`).
///
/// # Invariants
///
/// `flags` is what `local_irq_save()` returned on this CPU, in this thread.
pub(crate) struct LocalIrqDisabled {
    flags: c_ulong,
    // Interrupt state belongs to this CPU: the guard must not move.
    _not_send: PhantomData<*mut ()>,
}

impl LocalIrqDisabled {
    /// Disables local interrupts.
    pub(crate) fn new() -> Self {
        // SAFETY: Disabling interrupts is allowed in any context; `drop`
        // restores the state.
        let flags = unsafe { helpers::rcu_lab_local_irq_save() };
        // INVARIANT: `flags` came from `local_irq_save()` just now.
        Self {
            flags,
            _not_send: PhantomData,
        }
    }
}

impl Drop for LocalIrqDisabled {
    fn drop(&mut self) {
        // SAFETY: `flags` came from `local_irq_save()` in this thread (type
        // invariant); the guard is not `Send`.
        unsafe { helpers::rcu_lab_local_irq_restore(self.flags) };
    }
}
