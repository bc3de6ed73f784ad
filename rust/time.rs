// SPDX-License-Identifier: GPL-2.0

//! Monotonic time for measurements (`ktime_get_ns()`).

use crate::helpers;

/// A point in monotonic time.
#[derive(Clone, Copy)]
pub(crate) struct Instant(u64);

impl Instant {
    /// Now.
    pub(crate) fn now() -> Self {
        // SAFETY: `ktime_get_ns()` may be called from any context but NMI,
        // and Rust code of this module never runs in NMI.
        Self(unsafe { helpers::rcu_lab_ktime_get_ns() })
    }

    /// Nanoseconds from `self` to now.
    pub(crate) fn elapsed_ns(self) -> u64 {
        Self::now().0.saturating_sub(self.0)
    }

    /// Microseconds from `self` to now.
    pub(crate) fn elapsed_us(self) -> u64 {
        self.elapsed_ns() / 1000
    }
}
