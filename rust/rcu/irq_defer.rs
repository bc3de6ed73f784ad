// SPDX-License-Identifier: GPL-2.0

//! Retired objects handed over in any context and passed on to another
//! reclaim strategy later, from an `irq_work`: the way 7.3's
//! `kfree_rcu_nolock()` defers what it cannot do in its caller's context
//! (a lock-free list and an `irq_work`, `mm/slub.c:6108-6121, 6421-6500`).
//!
//! C header: [`include/linux/irq_work.h`](srctree/include/linux/irq_work.h),
//! [`include/linux/llist.h`](srctree/include/linux/llist.h).
//!
//! The list links objects through their own `rcu_head` (offset 0 of an
//! [`RcuBox`]), which is free while a [`Retired`] owns it, so a hand-over
//! neither allocates nor takes a lock: one `llist_add()`, and an
//! `irq_work_queue()` when the list was empty. The `irq_work`
//! (`IRQ_WORK_INIT`) runs in hard interrupt context on lazy and full
//! kernels, soon after it is queued (a self-IPI), and in the per-CPU
//! `irq_work/N` thread on PREEMPT_RT: there it is preemptible, which is
//! what the deferral buys on RT. The 7.3 crate has no `irq_work`.

use super::{RcuBox, Retired};
use crate::{context::MaySleep, helpers, reclaim::Reclaim};
use core::{ffi::c_void, marker::PhantomData};
use kernel::{bindings, prelude::*, types::Opaque};

/// A deferral of retired `T`s to the strategy `R`.
///
/// Handing an object over ([`Reclaim::reclaim`]) is legal in any context
/// but NMI; `R::reclaim` runs later in the `irq_work` (see the module doc
/// for its context on each model), so `R` must be fit for hard interrupt
/// context on lazy and full kernels.
///
/// # Invariants
///
/// `raw` was initialised by `rcu_lab_irq_defer_init()` with
/// `run_callback::<T, R>` and the address of this pinned value; every node
/// on its list is the `rcu_head` of an `RcuBox<T>` owned by the list (taken
/// from a [`Retired`] with [`Retired::into_raw`]).
#[pin_data(PinnedDrop)]
pub(crate) struct IrqDeferred<T: Send, R: Reclaim<Retired<T>> + Send + Sync> {
    #[pin]
    raw: Opaque<helpers::rcu_lab_irq_defer>,
    target: R,
    _owns: PhantomData<Retired<T>>,
}

// SAFETY: The list and the `irq_work` may be used from any CPU; the value
// owns `Retired<T>`s (which are `Send`) and an `R` that is `Send`.
unsafe impl<T: Send, R: Reclaim<Retired<T>> + Send + Sync> Send for IrqDeferred<T, R> {}
// SAFETY: Every method takes `&self` and is safe concurrently: `llist_add()`
// is lock-free, `irq_work_queue()` may race with itself, and the callback
// uses `R` through `&R` (`R: Sync`).
unsafe impl<T: Send, R: Reclaim<Retired<T>> + Send + Sync> Sync for IrqDeferred<T, R> {}

/// Hands every node of the list starting at `first` to the owner's
/// target, in order.
///
/// # Safety
///
/// `data` is the address of a live, pinned `IrqDeferred<T, R>`; `first` is
/// null or a list of nodes each owned by it (type invariant), taken off its
/// list, so that this is their only owner.
unsafe extern "C" fn run_callback<T: Send, R: Reclaim<Retired<T>> + Send + Sync>(
    data: *mut c_void,
    first: *mut bindings::llist_node,
) {
    // SAFETY: `data` is a live `IrqDeferred<T, R>` (the caller's contract);
    // only a shared reference is made.
    let this = unsafe { &*data.cast::<IrqDeferred<T, R>>() };
    // SAFETY: As the caller promises.
    unsafe { this.pass_on(first) };
}

impl<T: Send, R: Reclaim<Retired<T>> + Send + Sync> IrqDeferred<T, R> {
    /// A deferral to `target`.
    pub(crate) fn new(target: R) -> impl PinInit<Self> {
        pin_init!(&this in Self {
            // SAFETY: `slot` is valid for writes for the whole call and
            // `rcu_lab_irq_defer_init()` initialises every field; `this` is
            // the pinned value being initialised, which the callback may
            // use until `PinnedDrop` has flushed the `irq_work`.
            // INVARIANT: initialised with `run_callback::<T, R>` and `this`.
            raw <- Opaque::ffi_init(move |slot| unsafe {
                helpers::rcu_lab_irq_defer_init(
                    slot,
                    Some(run_callback::<T, R>),
                    this.as_ptr().cast(),
                )
            }),
            target,
            _owns: PhantomData,
        })
    }

    /// The strategy the objects are passed on to.
    pub(crate) fn target(&self) -> &R {
        &self.target
    }

    /// Waits until the `irq_work` is neither pending nor running, then
    /// passes on what is left on the list, here: afterwards every object
    /// handed over before the call has reached the target. Sleeps: `ctx`
    /// proves it may.
    pub(crate) fn flush(&self, _ctx: &mut impl MaySleep) {
        // SAFETY: `raw` was initialised (type invariant).
        let first = unsafe { helpers::rcu_lab_irq_defer_flush(self.raw.get()) };
        // SAFETY: `rcu_lab_irq_defer_flush()` took the nodes off the list.
        unsafe { self.pass_on(first) };
    }

    /// Hands each node of the list at `first` to the target.
    ///
    /// # Safety
    ///
    /// `first` is null or a list of nodes owned by this value (type
    /// invariant) and already taken off its list.
    unsafe fn pass_on(&self, first: *mut bindings::llist_node) {
        let mut node = first;
        while !node.is_null() {
            // SAFETY: `node` is a valid node of the taken list; its `next`
            // is read before the object is handed on.
            let next = unsafe { (*node).next };
            // SAFETY: The node is the `rcu_head` at offset 0 of an
            // `RcuBox<T>` that came from `Retired::into_raw` (type
            // invariant), unlinked from readers, and this is its only owner.
            let old = unsafe { Retired::from_raw(node.cast::<RcuBox<T>>()) };
            self.target.reclaim(old);
            node = next;
        }
    }
}

impl<T: Send, R: Reclaim<Retired<T>> + Send + Sync> Reclaim<Retired<T>> for IrqDeferred<T, R> {
    const NAME: &'static str = "deferred";
    const WAITS: bool = false;

    /// Pushes `old` on the list, through its own `rcu_head`, and queues the
    /// `irq_work` if the list was empty. Any context but NMI; never
    /// allocates, never spins.
    fn reclaim(&self, old: Retired<T>) {
        let node = old.into_raw().cast::<bindings::llist_node>();
        // SAFETY: `raw` was initialised (type invariant); `node` is the
        // `rcu_head` (offset 0) of an object this value now owns, which an
        // `llist_node` (one pointer) fits in; it is unused while the object
        // is retired and not queued.
        // INVARIANT: the list owns the node's object from here.
        unsafe { helpers::rcu_lab_irq_defer_add(self.raw.get(), node) };
    }
}

#[pinned_drop]
impl<T: Send, R: Reclaim<Retired<T>> + Send + Sync> PinnedDrop for IrqDeferred<T, R> {
    fn drop(self: Pin<&mut Self>) {
        // No hand-over can race with the drop; after the flush the
        // `irq_work` is idle and the list empty, and `target` (dropped
        // after this) has every object.
        // SAFETY: Dropping an `IrqDeferred` sleeps (its owner drops it in
        // task context holding nothing: module exit, a cell's end); no
        // token of the caller's is used meanwhile.
        unsafe { crate::context::enter(|ctx: &mut crate::context::Sleep| self.flush(ctx)) };
    }
}

kernel::static_assert!(
    core::mem::size_of::<bindings::llist_node>() <= core::mem::size_of::<bindings::callback_head>()
);
