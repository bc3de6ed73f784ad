// SPDX-License-Identifier: GPL-2.0

//! Memory: slab caches with a run-time object size ([`slab`]) and
//! shrinkers that give memory back under pressure ([`shrinker`]).
//!
//! Grouped as the `kernel` crate groups `mm`; nothing here depends on RCU
//! (the RCU floor builds on it, not the reverse).

pub(crate) mod shrinker;
pub(crate) mod slab;
