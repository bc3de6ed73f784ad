// SPDX-License-Identifier: GPL-2.0

//! Polled grace periods: cookies from `start_poll_synchronize_rcu()`.
//!
//! C header: [`include/linux/rcutree.h`](srctree/include/linux/rcutree.h).

use crate::context::MaySleep;
use kernel::{bindings, prelude::*};

/// A grace-period cookie: names a grace period whose end can be polled
/// for, without blocking and without an `rcu_head`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GpState(c_ulong);

impl GpState {
    /// Starts a grace period if none is pending and returns a cookie that
    /// completes when it (or a later one) ends
    /// (`start_poll_synchronize_rcu()`). Does not sleep.
    pub(crate) fn start() -> Self {
        // SAFETY: `start_poll_synchronize_rcu()` may be called from any
        // context but NMI.
        Self(unsafe { bindings::start_poll_synchronize_rcu() })
    }

    /// A cookie for the next grace period, without starting one
    /// (`get_state_synchronize_rcu()`). Does not sleep.
    pub(crate) fn current() -> Self {
        // SAFETY: `get_state_synchronize_rcu()` may be called from any
        // context.
        Self(unsafe { bindings::get_state_synchronize_rcu() })
    }

    /// Whether a full grace period has elapsed since the cookie was taken
    /// (`poll_state_synchronize_rcu()`). Does not sleep.
    pub(crate) fn completed(self) -> bool {
        // SAFETY: Any value is accepted; a cookie from this type is one the
        // kernel returned.
        unsafe { bindings::poll_state_synchronize_rcu(self.0) }
    }

    /// Waits until the cookie has completed; returns at once if it has
    /// (`cond_synchronize_rcu()`). Sleeps: `ctx` proves it may.
    pub(crate) fn wait(self, _ctx: &mut impl MaySleep) {
        // SAFETY: As for `completed`; the function sleeps only in process
        // context, which its own `might_sleep()` checks.
        unsafe { bindings::cond_synchronize_rcu(self.0) }
    }
}
