// SPDX-License-Identifier: GPL-2.0

//! Batched callbacks: the engine's blocks hold objects that need `Drop`,
//! and after the grace period the drain walks an array instead of a chain
//! of `rcu_head`s. Two shapes:
//!
//! * [`Callbacks`]: entries are what `call_rcu()` takes, an object's
//!   `rcu_head` and its callback (two words, so half as many per page): any
//!   type, each entry an indirect call.
//! * [`Typed<T>`]: entries are one pointer to an `RcuBox<T>`, the drop loop
//!   is monomorphised for `T` (no indirect call), and the memory of the
//!   whole block goes back with one `kmem_cache_free_bulk()`: what C's
//!   `call_rcu()` API cannot say (its one-function case is `kfree_rcu()`).
//!
//! Where the drops run: in the drain, process context (a workqueue worker,
//! or the caller of [`Engine::barrier`]), with no lock held: they may
//! sleep no more than any RCU callback may, since an emergency entry's drop
//! runs as a `call_rcu()` callback (softirq, or an rcuc/rcuo thread).
//! Order: a CPU's blocks are ended in the order they were closed, but a
//! block the drain closed (stale) waits one grace period more, and an
//! emergency entry goes through `call_rcu()` on its own: per-CPU FIFO order
//! does not hold across those. [`Engine::barrier`] waits for every entry
//! queued before it, emergency ones included (`rcu_barrier()` semantics).

use super::{Batch, Contents, Engine};
use crate::{
    context::{Context, MayAlloc},
    protocol::walk,
    rcu::{retired::drop_callback, RcuBox, Retired},
    reclaim::Reclaim,
};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::bindings;

/// A `call_rcu()` callback.
type Callback = unsafe extern "C" fn(*mut bindings::callback_head);

/// Blocks of (`rcu_head`, callback) pairs, for objects of any type.
pub(crate) struct Callbacks;

// SAFETY: An entry is the `rcu_head` of an `RcuBox<T>` given up by a
// `Retired<T>` and `drop_callback::<T>`, which ends it (drops the box) when
// called once after a grace period: `release` calls it once per entry, and
// `emergency` queues it once with `call_rcu()`.
unsafe impl Contents for Callbacks {
    type Entry = (*mut bindings::callback_head, Callback);
    const NAME: &'static str = "callbacks";

    unsafe fn release(entries: &mut [Self::Entry]) {
        // SAFETY: Each callback with its head, handed over once; the grace
        // period has ended (the caller's guarantee).
        unsafe { walk::call_pairs::<_, 0>(entries) };
    }

    unsafe fn emergency((head, f): Self::Entry) {
        // SAFETY: The head is owned and not queued (it is in no block); the
        // callback ends its object. The engine's drop runs `rcu_barrier()`.
        unsafe { bindings::call_rcu(head, Some(f)) };
    }
}

/// Blocks of pointers to `RcuBox<T>`, dropped by a loop monomorphised for
/// `T` and freed with one `kmem_cache_free_bulk()` per block.
pub(crate) struct Typed<T>(PhantomData<fn() -> T>);

// SAFETY: An entry is an `RcuBox<T>` from `KBox::into_raw` (never null)
// given up by a
// `Retired<T>` (`T: Send`), owned by the entry. `release` drops each once in
// place and frees its kmalloc memory once with `kfree_bulk()`, which is what
// dropping the `KBox` does; `emergency` hands it back to a `Retired`, whose
// `call_rcu()` drops it once after a grace period.
unsafe impl<T: Send> Contents for Typed<T> {
    type Entry = *mut RcuBox<T>;
    const NAME: &'static str = "typed";

    unsafe fn release(entries: &mut [Self::Entry]) {
        walk::for_each_typed::<_, 0>(entries, |e| {
            // SAFETY: A live `RcuBox<T>` owned by the entry, its readers
            // gone; dropped once here, its memory freed below.
            unsafe { core::ptr::drop_in_place(e) };
        });
        // SAFETY: kmalloc memory of `KBox`es whose contents were dropped
        // above; `kmem_cache_free_bulk(NULL, ...)` is `kfree_bulk()`, and a
        // `NonNull<RcuBox<T>>` is a pointer.
        unsafe {
            bindings::kmem_cache_free_bulk(
                core::ptr::null_mut(),
                entries.len(),
                entries.as_mut_ptr().cast(),
            )
        };
    }

    unsafe fn emergency(e: Self::Entry) {
        // SAFETY: The box came from `Retired::into_raw` and is in no block:
        // this hands it back exactly once, still unlinked from readers.
        unsafe { Retired::from_raw(e) }.call_rcu();
    }
}

impl<'a> Engine<'a, Callbacks> {
    /// Drops `old` after a grace period, batched as an (`rcu_head`,
    /// callback) pair. Any context but NMI, as [`Engine::enqueue`].
    pub(crate) fn call_rcu<T: Send + 'a>(&self, old: Retired<T>) {
        // SAFETY: `into_raw` never returns null.
        let b = unsafe { NonNull::new_unchecked(old.into_raw()) };
        self.enqueue((RcuBox::head(b), drop_callback::<T>));
    }
}

impl<'a, T: Send + 'a> Engine<'a, Typed<T>> {
    /// Drops `old` after a grace period, batched with other `T`s. Any
    /// context but NMI, as [`Engine::enqueue`].
    pub(crate) fn call_rcu(&self, old: Retired<T>) {
        self.enqueue(old.into_raw());
    }

    /// [`Engine::call_rcu`] that picks its path from the type of the
    /// caller's token `ctx`: a block-page miss allocates in the caller's
    /// context with `GFP_NOWAIT` when the token proves that legal
    /// ([`MayAlloc`](crate::context::MayAlloc): a task, a `spinlock_t`
    /// holder, an RCU reader, a softirq timer, an RCU callback), and takes
    /// the object's own `rcu_head` otherwise (a raw spinlock or irqsave
    /// guard, `IrqsOff`, a hard interrupt). Nothing is decided at run time.
    /// Any context but NMI.
    #[inline]
    pub(crate) fn call_rcu_typed<X: Context>(&self, ctx: &mut X, old: Retired<T>) {
        self.enqueue_typed(ctx, old.into_raw());
    }

    /// [`Engine::call_rcu`] that allocates a block page with `GFP_NOWAIT`
    /// on a miss, in the caller's context: `ctx` must prove that legal
    /// (experiment 2's `nowait`, typed). Any context that has the proof.
    #[inline]
    pub(crate) fn call_rcu_nowait(&self, ctx: &mut impl MayAlloc, old: Retired<T>) {
        self.enqueue_nowait(ctx, old.into_raw());
    }
}

impl<'a, T: Send + 'a> Reclaim<Retired<T>> for Batch<'a, Callbacks> {
    const NAME: &'static str = "batched_pairs";
    const WAITS: bool = false;

    fn reclaim(&self, old: Retired<T>) {
        self.call_rcu(old);
    }
}

impl<'a, T: Send + 'a> Reclaim<Retired<T>> for Batch<'a, Typed<T>> {
    const NAME: &'static str = "batched_typed";
    const WAITS: bool = false;

    fn reclaim(&self, old: Retired<T>) {
        self.call_rcu(old);
    }
}
