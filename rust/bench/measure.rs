// SPDX-License-Identifier: GPL-2.0

//! Timing and statistics shared by the benchmarks.

use crate::{irq::local_interrupt_disable, time::Instant};

/// Nanoseconds for one run of `f`, with local interrupts off (as refscale
/// times its loops), which also keeps the thread on its CPU.
pub(super) fn timed_irqs_off(f: impl FnOnce()) -> u64 {
    let _irq = local_interrupt_disable();
    timed(f)
}

/// Nanoseconds for one run of `f`.
pub(super) fn timed(f: impl FnOnce()) -> u64 {
    let start = Instant::now();
    f();
    start.elapsed_ns()
}

/// The median of `v` (sorts it; 0 if empty): [`crate::stats::median`].
pub(super) fn median(v: &mut [u64]) -> u64 {
    crate::stats::median(v).unwrap_or(0)
}

/// The `p`th percentile of `v`, nearest rank (sorts it; 0 if empty):
/// [`crate::stats::percentile`].
pub(super) fn percentile(v: &mut [u64], p: usize) -> u64 {
    crate::stats::percentile(v, p).unwrap_or(0)
}

/// A decimal with `D` fractional digits, held as `value * 10^D`.
pub(super) struct Fixed<const D: u32>(pub(super) u64);

impl<const D: u32> Fixed<D> {
    /// `10^D`, evaluated at compile time (so no division can fail).
    const SCALE: u64 = 10u64.pow(D);

    /// `num / den` with `D` digits (0 when `den` is 0). Plain `u64`: the
    /// kernel has no 128-bit division, and `checked_div` has no panic path.
    pub(super) fn ratio(num: u64, den: u64) -> Self {
        Self(
            num.saturating_mul(Self::SCALE)
                .checked_div(den)
                .unwrap_or(0),
        )
    }
}

impl<const D: u32> core::fmt::Display for Fixed<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}.{:0w$}",
            self.0 / Self::SCALE,
            self.0 % Self::SCALE,
            w = D as usize
        )
    }
}
