// SPDX-License-Identifier: GPL-2.0

//! The one memory primitive the protocols use: an atomically accessed word.
//!
//! The module implements it with `core`'s [`AtomicUsize`]; the host-side
//! model checker (`rust/model/`) implements it with loom's, which explores
//! every value a load may return under the C11 memory model. Protocol code
//! only ever names [`AtomicWord`], so both compile the same source.

use core::sync::atomic::{AtomicUsize, Ordering};

/// A word that is loaded, stored and exchanged atomically.
pub(crate) trait AtomicWord {
    /// Atomic load with ordering `order`.
    fn load(&self, order: Ordering) -> usize;
    /// Atomic store of `val` with ordering `order`.
    fn store(&self, val: usize, order: Ordering);
    /// Atomic exchange: stores `val`, returns the previous value.
    fn swap(&self, val: usize, order: Ordering) -> usize;
}

impl AtomicWord for AtomicUsize {
    #[inline(always)]
    fn load(&self, order: Ordering) -> usize {
        AtomicUsize::load(self, order)
    }

    #[inline(always)]
    fn store(&self, val: usize, order: Ordering) {
        AtomicUsize::store(self, val, order)
    }

    #[inline(always)]
    fn swap(&self, val: usize, order: Ordering) -> usize {
        AtomicUsize::swap(self, val, order)
    }
}
