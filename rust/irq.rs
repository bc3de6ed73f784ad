// SPDX-License-Identifier: GPL-2.0

//! Local interrupt state.
//!
//! C header: [`include/linux/irqflags.h`](srctree/include/linux/irqflags.h).
//!
//! Disabling interrupts is the `kernel` crate's
//! [`local_interrupt_disable`], whose `LocalInterruptDisabled` token
//! restores the previous state when dropped and proves to lock types that
//! interrupts are off. rcu_lab's own guard, which also holds the caller's
//! context token and lends one that proves nothing, is
//! [`crate::context::irqs_off`]. This file only adds the question the
//! crate does not answer: are they off now?

pub(crate) use kernel::interrupt::local_interrupt_disable;

use crate::helpers;

/// Whether local interrupts are disabled on this CPU.
pub(crate) fn disabled() -> bool {
    // SAFETY: Reading the interrupt flag is allowed in any context.
    unsafe { helpers::rcu_lab_irqs_disabled() }
}
