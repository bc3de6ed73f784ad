// SPDX-License-Identifier: GPL-2.0

//! Exhaustive model checks of rcu_lab's lock-free protocols with loom.
//!
//! The protocol sources are the module's own files in `rust/protocol/`,
//! included here by path, not copied: what loom checks is what the kernel
//! runs. Only the machine underneath changes: loom's atomics, fences and
//! threads stand in for the kernel's, and loom's `UnsafeCell` turns every
//! access to a protected object into a checked one, so a reader that can
//! touch an object after the updater freed it is a reported data race.
//!
//! Each test also keeps a deliberately broken variant (a weakened barrier or
//! ordering) that loom must reject; see `broken` in each module.

#![cfg_attr(not(test), allow(dead_code))]

#[path = "../../protocol/word.rs"]
mod word;

#[path = "../../protocol/publish.rs"]
mod publish;

#[path = "../../protocol/hazptr.rs"]
mod hazptr;

#[path = "../../protocol/hlist.rs"]
mod hlist;

mod machine;

#[cfg(test)]
mod hazptr_model;

#[cfg(test)]
mod hlist_model;

#[cfg(test)]
mod publish_model;
