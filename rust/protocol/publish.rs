// SPDX-License-Identifier: GPL-2.0

//! Publishing a pointer to readers that take no lock.
//!
//! This is the protocol behind `rcu_assign_pointer()` and `rcu_dereference()`
//! (and behind the hazard-pointer cells, whose readers load the same way):
//! an updater fills in a new object and then makes its address visible; a
//! reader loads the address and then reads the object.
//!
//! # Memory ordering
//!
//! * [`publish`] exchanges the address with `AcqRel`. The release half
//!   orders every write that initialised the new object before the address
//!   becomes visible (`rcu_assign_pointer()` is `smp_store_release()`). The
//!   acquire half makes the updater, which now owns the old object and will
//!   eventually drop it, see every write that initialised *that* object.
//! * [`subscribe`] loads with `Acquire`, which pairs with the release half of
//!   the [`publish`] that stored the address: a reader that sees the address
//!   sees the initialised object. `rcu_dereference()` gets the same guarantee
//!   more cheaply from the address dependency (`READ_ONCE()`); Rust has no
//!   consume ordering, and on x86-64 an acquire load is a plain `mov` anyway.
//!
//! Exchanges are atomic read-modify-writes, so concurrent publishers are
//! linearised: each old address is returned to exactly one of them, and only
//! that one may retire it.
//!
//! The host-side model (`rust/model/src/publish_model.rs`) checks this protocol
//! exhaustively with loom, and checks that a relaxed publication is caught.

use super::word::AtomicWord;
use core::sync::atomic::Ordering;

/// Makes `new` (an address, or 0) visible in `cell`; returns the address it
/// replaced, which the caller now owns.
#[inline(always)]
pub(crate) fn publish<W: AtomicWord>(cell: &W, new: usize) -> usize {
    cell.swap(new, Ordering::AcqRel)
}

/// Loads the address published in `cell` (or 0), ordered before every read
/// through it.
#[inline(always)]
pub(crate) fn subscribe<W: AtomicWord>(cell: &W) -> usize {
    cell.load(Ordering::Acquire)
}
