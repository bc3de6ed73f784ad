// SPDX-License-Identifier: GPL-2.0

//! Freeing after a grace period without waiting and without allocating:
//! seed 003's scheme, which lockdep still uses to free zapped classes
//! (`struct delayed_free`, kernel/locking/lockdep.c:388-403, 6403-6480).
//!
//! Two pending lists ("halves") and an index naming the open one; one
//! `rcu_head` for the whole structure. An object is added to the open half
//! under a lock. If no callback is scheduled, the adder flips the index
//! (closing the half it just added to) and queues the one `rcu_head`
//! (`prepare_call_rcu_zapped()`). The callback frees the closed half, then,
//! if the open half filled meanwhile, flips and re-queues itself
//! (`free_zapped_rcu()`). Every object waits for a grace period that began
//! after its half was closed, hence after it was added. Nothing is
//! allocated: the lists link objects through their own `rcu_head` (offset 0
//! of an [`RcuBox`], unused while a [`Retired`] owns it), which also keeps
//! the link clear of anything readers may still follow (an hlist node sits
//! after it: `super::hlist`).
//!
//! The same as lockdep's, with its `scheduled` flag and `call_rcu()` outside
//! the lock; lockdep's lock is `lockdep_lock()` (a bare `arch_spinlock_t`
//! with interrupts off), this one an rcu_lab raw spinlock taken irqsave.

use super::{RcuBox, Retired};
use crate::{
    context::{self, Atomic, MaySleep, NoWait, Sleep},
    new_raw_spinlock,
    reclaim::Reclaim,
    sync::RawSpinLock,
};
use core::marker::PhantomData;
use kernel::{bindings, prelude::*, types::Opaque};

/// The two halves and the index (`struct delayed_free`'s `pf[2]`, `index`,
/// `scheduled`), lists of `rcu_head` addresses linked through `next`.
struct Halves {
    list: [usize; 2],
    len: [usize; 2],
    index: usize,
    scheduled: bool,
    /// Callbacks run (grace periods waited), over the value's life.
    callbacks: u64,
}

impl Halves {
    /// `prepare_call_rcu_zapped()`: closes the open half and says that the
    /// caller must queue the callback, unless one is scheduled already or
    /// the open half is empty.
    fn prepare(&mut self) -> bool {
        if self.scheduled || self.list[self.index] == 0 {
            return false;
        }
        self.scheduled = true;
        self.index ^= 1;
        true
    }
}

/// Retired `T`s freed after a grace period by seed 003's two halves.
///
/// # Invariants
///
/// `head` is queued with `call_rcu()` (callback `free_closed::<T>`) exactly
/// when `state.scheduled` is true. Every node on `state.list[i]` is the
/// `rcu_head` of an `RcuBox<T>` from a [`Retired`], owned by the list; the
/// closed half (`index ^ 1`) while scheduled holds only objects added
/// before the `call_rcu()` that is pending.
#[pin_data(PinnedDrop)]
#[repr(C)]
pub(crate) struct PendingFree<T: Send> {
    /// First field: the callback finds the value from it.
    #[pin]
    head: Opaque<bindings::callback_head>,
    #[pin]
    state: RawSpinLock<Halves>,
    _owns: PhantomData<Retired<T>>,
}

// SAFETY: The value owns `Retired<T>`s (`T: Send`), which its callback may
// free on any CPU; its state is behind a lock.
unsafe impl<T: Send> Send for PendingFree<T> {}
// SAFETY: Every method takes `&self` and locks the state.
unsafe impl<T: Send> Sync for PendingFree<T> {}

/// The callback: `free_zapped_rcu()`.
///
/// # Safety
///
/// `head` is the `head` field (offset 0) of a live `PendingFree<T>` whose
/// grace period has ended.
unsafe extern "C" fn free_closed<T: Send>(head: *mut bindings::callback_head) {
    // SAFETY: `head` is the first field of a `#[repr(C)]` `PendingFree<T>`
    // that lives until no callback is pending (`PinnedDrop` waits).
    let this = unsafe { &*head.cast::<PendingFree<T>>() };
    // SAFETY: An RCU callback may allocate without sleeping: softirq on
    // lazy and full, the rcuc thread with bottom halves off on RT.
    let (closed, again) = unsafe {
        context::enter(|ctx: &mut NoWait| {
            let mut st = this.state.lock_irqsave(ctx);
            let i = st.index ^ 1;
            let closed = core::mem::take(&mut st.list[i]);
            st.len[i] = 0;
            st.scheduled = false;
            st.callbacks += 1;
            (closed, st.prepare())
        })
    };
    if again {
        // INVARIANT: `scheduled` was set by `prepare`.
        this.queue();
    }
    // SAFETY: The closed half's objects were added before the grace period
    // that just ended began (type invariant), and this is their only owner.
    unsafe { free_list::<T>(closed) };
}

/// Frees every object on the list starting at `first`.
///
/// # Safety
///
/// The list's nodes are `rcu_head`s of `RcuBox<T>`s from [`Retired`]s,
/// taken off their half, whose grace period has ended.
unsafe fn free_list<T: Send>(first: usize) {
    let mut node = core::ptr::with_exposed_provenance_mut::<bindings::callback_head>(first);
    while !node.is_null() {
        // SAFETY: A valid node of the list; `next` is read before its object
        // is freed.
        let next = unsafe { (*node).next };
        // SAFETY: The node is the `rcu_head` at offset 0 of an `RcuBox<T>`
        // from `KBox::into_raw` (via `Retired::into_raw`); its readers are
        // gone and this is its only owner.
        drop(unsafe { KBox::from_raw(node.cast::<RcuBox<T>>()) });
        node = next;
    }
}

impl<T: Send> PendingFree<T> {
    /// An empty structure; nothing is queued until an object is added.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            head: Opaque::uninit(),
            state <- new_raw_spinlock!(
                Halves {
                    list: [0; 2],
                    len: [0; 2],
                    index: 0,
                    scheduled: false,
                    callbacks: 0,
                },
                "rcu_lab_pending_free"
            ),
            _owns: PhantomData,
        })
    }

    /// Queues the one `rcu_head`.
    fn queue(&self) {
        // SAFETY: `scheduled` was just set under the lock, so the head is
        // not queued (type invariant); the callback gets this value, which
        // outlives it (`PinnedDrop`). `rcu_head`s are treated as static
        // objects by debug-objects, so no init is needed.
        unsafe { bindings::call_rcu(self.head.get(), Some(free_closed::<T>)) };
    }

    /// Objects waiting, and callbacks run so far.
    pub(crate) fn counts(&self) -> (usize, u64) {
        // SAFETY: Given no token; only reads counters under the lock.
        unsafe {
            context::untracked(|ctx| {
                let st = self.state.lock_irqsave(ctx);
                (st.len[0] + st.len[1], st.callbacks)
            })
        }
    }

    /// Waits until every object added before the call has been freed.
    /// Sleeps.
    pub(crate) fn flush(&self, ctx: &mut impl MaySleep) {
        loop {
            {
                let st = self.state.lock_irqsave(ctx);
                if !st.scheduled && st.len[0] == 0 && st.len[1] == 0 {
                    return;
                }
            }
            // The pending callback runs before this returns; it may queue
            // one more for the open half, which the next round waits for.
            super::barrier(ctx);
        }
    }
}

impl<T: Send> Reclaim<Retired<T>> for PendingFree<T> {
    const NAME: &'static str = "pending_free";
    const WAITS: bool = false;

    /// Adds `old` to the open half and queues the callback unless one is
    /// scheduled. Any context but NMI: a raw spinlock with interrupts off,
    /// and `call_rcu()`; never allocates.
    fn reclaim(&self, old: Retired<T>) {
        let node = old.into_raw().cast::<bindings::callback_head>();
        let push = |ctx: &mut Atomic| {
            let mut st = self.state.lock_irqsave(ctx);
            let i = st.index;
            // SAFETY: `node` is the `rcu_head` (offset 0) of an object this
            // value now owns, unused while it is retired and not queued.
            unsafe { (*node).next = core::ptr::with_exposed_provenance_mut(st.list[i]) };
            // INVARIANT: the open half owns the object from here.
            st.list[i] = node.expose_provenance();
            st.len[i] += 1;
            st.prepare()
        };
        // SAFETY: `reclaim` is given no token and calls no code that was
        // given one.
        let queue = unsafe { context::untracked(push) };
        if queue {
            self.queue();
        }
    }
}

#[pinned_drop]
impl<T: Send> PinnedDrop for PendingFree<T> {
    fn drop(self: Pin<&mut Self>) {
        // No adder can race with the drop; afterwards no callback is
        // pending and both halves are empty.
        // SAFETY: Dropping a `PendingFree` sleeps (its owner drops it in
        // task context holding nothing: module exit, a test's end), and no
        // token of the caller's is used meanwhile.
        unsafe { context::enter(|ctx: &mut Sleep| self.flush(ctx)) };
    }
}
