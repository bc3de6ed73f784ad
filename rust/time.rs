// SPDX-License-Identifier: GPL-2.0

//! Monotonic time for measurements, on the `kernel` crate's
//! [`kernel::time::Instant`] (`ktime_get()`), in plain nanoseconds; and
//! rcu_lab's periodic hard-interrupt timer ([`hrtimer`]).

use kernel::{
    bindings,
    time::{self, Monotonic},
};

pub(crate) mod hrtimer;

/// A point in monotonic time.
#[derive(Clone, Copy)]
pub(crate) struct Instant(time::Instant<Monotonic>);

impl Instant {
    /// Now.
    pub(crate) fn now() -> Self {
        Self(time::Instant::now())
    }

    /// Nanoseconds from `self` to now.
    pub(crate) fn elapsed_ns(self) -> u64 {
        // The clock is monotonic: the difference is never negative.
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(0)
    }

    /// Microseconds from `self` to now.
    pub(crate) fn elapsed_us(self) -> u64 {
        self.elapsed_ns() / 1000
    }
}

/// The monotonic clock (`ktime_get()`) in nanoseconds since boot, for
/// timestamps kept in atomics. Any context but NMI.
pub(crate) fn monotonic_ns() -> u64 {
    // SAFETY: `ktime_get()` has no preconditions outside NMI context.
    let ns = unsafe { bindings::ktime_get() };
    u64::try_from(ns).unwrap_or(0)
}
