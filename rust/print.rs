// SPDX-License-Identifier: GPL-2.0

//! Rate-limited printing, as the kernel's `pr_*_ratelimited()`.
//!
//! C header: [`include/linux/ratelimit.h`](srctree/include/linux/ratelimit.h).
//!
//! Messages a user can trigger at will (a refused debugfs write) go
//! through [`pr_warn_ratelimited!`] (the C shim's refusals through the same
//! state): a burst of bad input
//! prints `DEFAULT_RATELIMIT_BURST` (10) lines per
//! `DEFAULT_RATELIMIT_INTERVAL` (5 s), then one "callbacks suppressed" line.
//! The `kernel` crate of 7.3 has no rate-limited printing; the state lives in
//! the C shim (one for the module, like `printk_ratelimit()`).

use crate::helpers;

/// Whether a user-triggered message may be printed now (`__ratelimit()`).
pub(crate) fn user_msg_allowed() -> bool {
    // SAFETY: `__ratelimit()` on the shim's static state may be called from
    // any context but NMI; it takes a raw spinlock with a trylock.
    unsafe { helpers::rcu_lab_user_msg_ratelimit() }
}

/// `pr_warn!`, rate-limited with [`user_msg_allowed`].
macro_rules! pr_warn_ratelimited {
    ($($arg:tt)*) => {
        if $crate::print::user_msg_allowed() {
            ::kernel::pr_warn!($($arg)*);
        }
    };
}
pub(crate) use pr_warn_ratelimited;
