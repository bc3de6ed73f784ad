// SPDX-License-Identifier: GPL-2.0

//! An RCU hash-list bucket: `hlist_add_head_rcu()`, `hlist_del_rcu()` and
//! `hlist_for_each_entry_rcu()` of `include/linux/rculist.h`, and the
//! hazard-pointer protection of a whole bucket that Boqun Feng's shazptr
//! series gave lockdep's key hash (seed 000).
//!
//! A bucket is a [`Head`] whose `first` word points to the first [`Node`];
//! each node's `next` points to the next one, and its `pprev` to the word
//! that points to it (the head's `first` or the previous node's `next`), as
//! in C. Updaters change a bucket under a lock of their own (lockdep: the
//! bare `lockdep_lock()` with interrupts off); readers walk it with no lock.
//!
//! # Memory ordering
//!
//! * [`add_head`] fills in the node, then publishes it in `first` with a
//!   release store (`rcu_assign_pointer()`): a reader that loads the node
//!   sees its `next`.
//! * [`del`] makes the word before the node skip it (`WRITE_ONCE(*pprev,
//!   next)`) and leaves the node's own `next` as it was, so a reader that is
//!   standing on the node walks on to the rest of the bucket.
//! * [`walk`] loads every link with acquire ordering (`rcu_dereference()`;
//!   see `publish.rs` for why acquire and not consume).
//!
//! # Protecting a bucket with a hazard pointer
//!
//! A reader publishes the *bucket's* address in its CPU's slot (r2 and r3
//! of `hazptr.rs`) and only then loads `first`. An updater unlinks a node,
//! then runs the hazard-pointer `synchronize()` on the bucket's address
//! before freeing it. The bucket (the container) lives as long as the
//! table, so no re-load is needed. By `hazptr.rs`'s store-buffering
//! argument, either the reader's `smp_mb()` comes first and the updater
//! sees its slot and waits for it, or the updater's comes first and the
//! reader's loads of `first` and the links see the unlink, so it never
//! reaches the node. A reader protecting the node's address instead of the
//! bucket's is not enough: it reached the node through the bucket before
//! publishing anything. The model checker (`rust/model/src/hlist_model.rs`)
//! runs this file with `hazptr.rs` under loom: the bucket protection
//! passes; an updater that synchronises on the freed node's address only,
//! or a reader that walks before publishing the bucket, is rejected.

use super::word::AtomicWord;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// A bucket: the address of its first node, or 0.
#[repr(C)]
pub(crate) struct Head<W> {
    /// `struct hlist_head::first`.
    pub(crate) first: W,
}

/// A node in a bucket (`struct hlist_node`).
#[repr(C)]
pub(crate) struct Node<W> {
    /// Address of the next node, or 0.
    pub(crate) next: W,
    /// Address of the word that points to this node; [`POISON`] once
    /// deleted, 0 before it is added.
    pub(crate) pprev: W,
}

/// `LIST_POISON2` of `include/linux/poison.h` (with the x86-64
/// `CONFIG_ILLEGAL_POINTER_VALUE`): a deleted node's `pprev`.
pub(crate) const POISON: usize = 0xdead_0000_0000_0122;

/// Adds the node at `node` at the head of `head` (`hlist_add_head_rcu()`).
///
/// # Safety
///
/// The caller holds the bucket's update lock; `node` is the address of a
/// [`Node<W>`] that is in no bucket and outlives its time in this one
/// (until it is deleted and no reader can be standing on it); every node in
/// the bucket is live.
pub(crate) unsafe fn add_head<W: AtomicWord>(head: &Head<W>, node: usize) {
    // SAFETY: The caller guarantees `node` is a live node.
    let n = unsafe { &*(node as *const Node<W>) };
    let first = head.first.load(Relaxed);
    n.next.store(first, Relaxed);
    n.pprev
        .store(core::ptr::from_ref(&head.first).addr(), Relaxed);
    // rcu_assign_pointer(hlist_first_rcu(h), n)
    head.first.store(node, Release);
    if first != 0 {
        // SAFETY: Nodes in the bucket are live (caller).
        let f = unsafe { &*(first as *const Node<W>) };
        f.pprev.store(core::ptr::from_ref(&n.next).addr(), Relaxed);
    }
}

/// Deletes the node at `node` from its bucket (`hlist_del_rcu()`): readers
/// standing on it may still follow its `next`.
///
/// # Safety
///
/// The caller holds the update lock of the bucket `node` is in; the nodes
/// of that bucket are live.
pub(crate) unsafe fn del<W: AtomicWord>(node: usize) {
    // SAFETY: The caller guarantees `node` is a live node in a bucket.
    let n = unsafe { &*(node as *const Node<W>) };
    let next = n.next.load(Relaxed);
    let pprev = n.pprev.load(Relaxed);
    // SAFETY: `pprev` is the head's `first` or the previous node's `next`,
    // both live while the node is in the bucket.
    unsafe { &*(pprev as *const W) }.store(next, Relaxed);
    if next != 0 {
        // SAFETY: As above: the next node is in the bucket.
        unsafe { &*(next as *const Node<W>) }
            .pprev
            .store(pprev, Relaxed);
    }
    n.pprev.store(POISON, Relaxed);
}

/// Walks the bucket (`hlist_for_each_entry_rcu()`) until `f` returns
/// `true` for a node's address; returns that address, or `None`.
///
/// # Safety
///
/// Every node the walk can reach stays live until it returns: the caller
/// is in an RCU read-side critical section, or holds a hazard pointer on
/// the bucket's address published before this call (and `smp_mb()`), or
/// holds the update lock.
#[inline(always)]
pub(crate) unsafe fn walk<W: AtomicWord>(
    head: &Head<W>,
    mut f: impl FnMut(usize) -> bool,
) -> Option<usize> {
    let mut pos = head.first.load(Acquire);
    while pos != 0 {
        if f(pos) {
            return Some(pos);
        }
        // SAFETY: The node is live for the whole walk (caller).
        pos = unsafe { &*(pos as *const Node<W>) }.next.load(Acquire);
    }
    None
}
