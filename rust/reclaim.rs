// SPDX-License-Identifier: GPL-2.0

//! How an updater waits: one trait for every way of getting rid of what an
//! updater unlinked while readers may still hold it.
//!
//! As `kernel::sync::lock` states its one mechanism once and puts the
//! variation in a small `Backend` trait, the benchmarks, the selftests and
//! the experiments write their updaters once, generic over a [`Reclaim`]
//! strategy, and name the strategy in their table of variants:
//!
//! | strategy                     | waits? | kernel function                   |
//! |------------------------------|--------|-----------------------------------|
//! | [`SynchronizeRcu`]           | yes    | `synchronize_rcu()`               |
//! | [`SynchronizeRcuExpedited`]  | yes    | `synchronize_rcu_expedited()`     |
//! | [`CallRcu`]                  | no     | `call_rcu()`                      |
//! | [`KvfreeRcu`]                | no     | `kvfree_call_rcu()` (`kfree_rcu`) |
//! | [`KfreeRcuNolock`]           | no     | `kfree_call_rcu_nolock()`         |
//! | [`HazptrSynchronize`]        | yes    | rcu_lab's hazard-pointer scan     |
//! | [`crate::rcu::batch::Scope`] | no     | rcu_lab's batching engine         |
//! | `Batch<Callbacks>`, `Batch<Typed<T>>` | no | the engine, dropping objects |
//! | [`crate::rcu::IrqDeferred`]  | no     | an `irq_work` passes them on later |
//!
//! The strategies that wait also implement [`Wait`], which hands the memory
//! back instead of freeing it (the update-side benchmark reuses it).
//! [`Reclaim::reclaim_all`] is the one place where "one wait for many"
//! lives: a waiting strategy waits once for the whole batch.
//!
//! Each object type implements the strategies it supports, next to its
//! own definition ([`crate::rcu::Retired`], [`crate::hazptr::Retired`],
//! [`crate::mm::slab::SlabObj`]); a type that does not support one (a `T`
//! with `Drop` and `kfree_rcu()`) does not compile with it.

use kernel::alloc::{Allocator, Vec};

/// A way of reclaiming unlinked objects of type `O`.
pub(crate) trait Reclaim<O> {
    /// The name results and reports use.
    const NAME: &'static str;
    /// Whether [`Reclaim::reclaim`] waits for readers itself (and so
    /// sleeps), rather than handing the object to a deferred free.
    const WAITS: bool;

    /// Reclaims `old`, which new readers can no longer find but readers
    /// that found it earlier may still use. Context: sleeps if
    /// [`Reclaim::WAITS`]; otherwise as the strategy's kernel function.
    fn reclaim(&self, old: O);

    /// Reclaims every object of `olds`, leaving it empty. The objects
    /// exist before the call, so all were unlinked before it: a strategy
    /// that waits waits once for all of them (the default hands them over
    /// one by one). Context: as [`Reclaim::reclaim`].
    fn reclaim_all<A: Allocator>(&self, olds: &mut Vec<O, A>) {
        for old in olds.drain_all() {
            self.reclaim(old);
        }
    }
}

/// A strategy that waits for readers and then hands the memory back.
pub(crate) trait Wait<O>: Reclaim<O> {
    /// What the caller owns again once readers are gone.
    type Back;

    /// Waits until no reader can hold `old` and returns its memory.
    /// Sleeps.
    fn wait(&self, old: O) -> Self::Back;
}

/// `synchronize_rcu()`, then the object is dropped (lockdep's key
/// unregister up to v6.16; experiment 1's `sync`).
#[derive(Clone, Copy, Default)]
pub(crate) struct SynchronizeRcu;

/// `synchronize_rcu_expedited()`, then the object is dropped (v6.17 on).
#[derive(Clone, Copy, Default)]
pub(crate) struct SynchronizeRcuExpedited;

/// One `call_rcu()` per object, its `rcu_head` embedded; the callback
/// drops it in softirq or an rcuc/rcuo thread.
#[derive(Clone, Copy, Default)]
pub(crate) struct CallRcu;

/// The kernel's two-argument `kfree_rcu()` (`kvfree_call_rcu()`): 7.3's
/// sheaves on caches that have them, else the page-block path. Objects
/// that need no `Drop` only.
#[derive(Clone, Copy, Default)]
pub(crate) struct KvfreeRcu;

/// 7.3's `kfree_rcu_nolock()`: any context, deferred through an llist and
/// an `irq_work` where it cannot take the sheaf lock.
#[derive(Clone, Copy, Default)]
pub(crate) struct KfreeRcuNolock;

/// rcu_lab's hazard pointers: wait for the readers that protect this
/// object (or its cell, or the wildcard) only.
#[derive(Clone, Copy, Default)]
pub(crate) struct HazptrSynchronize;
