// SPDX-License-Identifier: GPL-2.0

//! Objects removed from an [`RcuPtr`](super::RcuPtr), awaiting a grace
//! period before they may be freed.

use super::{GpState, RcuBox};
use crate::context::MaySleep;
use crate::reclaim::{
    CallRcu, KfreeRcuNolock, KvfreeRcu, Reclaim, SynchronizeRcu, SynchronizeRcuExpedited, Wait,
};
use core::{marker::PhantomData, mem::ManuallyDrop, ptr::NonNull};
use kernel::{
    alloc::{Allocator, Vec},
    bindings,
    prelude::*,
};

/// An object that readers may still be using: it can only be freed, or
/// taken back, after an RCU grace period.
///
/// Ways to end it:
///
/// * `SynchronizeRcu` / `SynchronizeRcuExpedited` (`reclaim.rs`): wait for
///   a grace period, then own the object again (sleeps);
/// * [`Retired::call_rcu`]: drop it in an RCU callback (does not sleep);
/// * [`Retired::kfree_rcu`]: free it without running `Drop`, batched by the
///   kernel (`T` must not need `Drop`; checked at compile time);
/// * [`Retired::start_poll`]: take a grace-period cookie and reclaim later.
///
/// Dropping a `Retired` does what [`Retired::call_rcu`] does (that method
/// is the drop, named), so it is never freed early and never blocks.
///
/// # Invariants
///
/// `ptr` came from `KBox::<RcuBox<T>>::into_raw`, is owned by this
/// `Retired`, and can no longer be found by new readers; readers that found
/// it earlier may use it until the end of their read-side critical section.
/// Its `rcu_head` is not queued.
pub(crate) struct Retired<T: Send> {
    ptr: NonNull<RcuBox<T>>,
    _owns: PhantomData<KBox<RcuBox<T>>>,
}

// SAFETY: A `Retired` owns its object; moving it to another thread moves
// the `T`, which is `Send`.
unsafe impl<T: Send> Send for Retired<T> {}

// `kfree_rcu()` passes the `rcu_head` at offset 0 as the object's
// `struct kvfree_rcu_head`, which must fit in it.
kernel::static_assert!(
    size_of::<bindings::kvfree_rcu_head>() <= size_of::<bindings::callback_head>()
);

/// The `call_rcu()` callback: drops the `RcuBox<T>` whose head it gets.
///
/// # Safety
///
/// `head` is the `rcu_head` of an `RcuBox<T>` from `KBox::into_raw`, queued
/// once by [`Retired::call_rcu`], whose grace period has ended.
pub(super) unsafe extern "C" fn drop_callback<T: Send>(head: *mut bindings::callback_head) {
    // SAFETY: The head is at offset 0 of its `RcuBox<T>` (`#[repr(C)]`,
    // first field), which came from `KBox::into_raw`; the grace period has
    // ended, so no reader is left and this is the only owner.
    drop(unsafe { KBox::from_raw(head.cast::<RcuBox<T>>()) });
}

impl<T: Send> Retired<T> {
    /// Takes ownership of an object unlinked from readers.
    ///
    /// # Safety
    ///
    /// `ptr` must come from `KBox::<RcuBox<T>>::into_raw` (or
    /// [`Retired::into_raw`]), new readers must no longer be able to find it,
    /// and no other owner of it may exist (it is handed over exactly once).
    pub(crate) unsafe fn from_raw(ptr: *mut RcuBox<T>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            // SAFETY: `KBox::into_raw` never returns null.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            _owns: PhantomData,
        }
    }

    /// Gives up ownership without freeing; [`Retired::from_raw`] takes it
    /// back (e.g. after a trip through C code).
    pub(crate) fn into_raw(self) -> *mut RcuBox<T> {
        ManuallyDrop::new(self).ptr.as_ptr()
    }

    /// Waits for a grace period (`synchronize_rcu()`) and returns the
    /// object, now unreachable by any reader: the wait of the
    /// `SynchronizeRcu` strategy (`reclaim.rs`, whose rule is
    /// `Reclaim::WAITS`; typed callers use `rcu::synchronize(ctx)`).
    ///
    /// # Safety
    ///
    /// The caller may sleep.
    unsafe fn synchronize_unchecked(self) -> KBox<RcuBox<T>> {
        // SAFETY: The caller may sleep.
        unsafe { super::synchronize_unchecked() };
        // SAFETY: A full grace period has elapsed since the object was
        // unlinked (type invariant), so no reader holds it any more.
        unsafe { self.reclaim() }
    }

    /// As [`Retired::synchronize_unchecked`], with an expedited grace
    /// period (`synchronize_rcu_expedited()`): `SynchronizeRcuExpedited`'s
    /// wait.
    ///
    /// # Safety
    ///
    /// The caller may sleep.
    unsafe fn synchronize_expedited_unchecked(self) -> KBox<RcuBox<T>> {
        // SAFETY: The caller may sleep.
        unsafe { super::synchronize_expedited_unchecked() };
        // SAFETY: As in `synchronize`.
        unsafe { self.reclaim() }
    }

    /// Drops the object in an RCU callback after a grace period
    /// (`call_rcu()`). Does not sleep; `T`'s `Drop` runs in softirq context
    /// (or in an rcuc/rcuo kthread), so it must not sleep either.
    pub(crate) fn call_rcu(self) {
        // `Drop` queues the callback.
        drop(self);
    }

    /// Frees the object after a grace period without running `T`'s `Drop`
    /// (`kfree_rcu()`): the kernel batches such objects in pages of
    /// pointers and frees them with `kfree_bulk()`. Does not sleep.
    ///
    /// Only for types that need no `Drop`, checked at compile time.
    pub(crate) fn kfree_rcu(self) {
        let (head, ptr) = self.into_kfree_args();
        // SAFETY: `into_kfree_args()` gives an owned, unqueued kmalloc
        // object (which `kvfree()` accepts) and its head; `T` needs no
        // `Drop`, so freeing the memory is all dropping it would do.
        unsafe { bindings::kvfree_call_rcu(head, ptr) };
    }

    /// As [`Retired::kfree_rcu`] with 7.3's `kfree_rcu_nolock()`
    /// (`kfree_call_rcu_nolock()`), which never spins and never sleeps:
    /// any context but NMI, a raw spinlock on PREEMPT_RT included.
    pub(crate) fn kfree_rcu_nolock(self) {
        let (head, ptr) = self.into_kfree_args();
        // SAFETY: As in `kfree_rcu`.
        unsafe { bindings::kfree_call_rcu_nolock(head, ptr) };
    }

    /// Gives up ownership for the kernel's `kfree_rcu()` family: the
    /// object's head as `struct kvfree_rcu_head` and its address. The
    /// object came from `KBox::into_raw` (kmalloc), nothing else owns it,
    /// and its head is at offset 0 (below the 4096-byte limit of
    /// `kvfree_call_rcu()`) and not queued. 7.3 takes one pointer there
    /// under `CONFIG_KVFREE_RCU_BATCHED`, an `rcu_head` without it; the
    /// `rcu_head` is large enough for either.
    fn into_kfree_args(self) -> (*mut bindings::kvfree_rcu_head, *mut c_void) {
        const {
            assert!(
                !core::mem::needs_drop::<T>(),
                "kfree_rcu() does not run Drop: use call_rcu() for this type"
            )
        };
        let ptr = ManuallyDrop::new(self).ptr;
        (RcuBox::head(ptr).cast(), ptr.as_ptr().cast())
    }

    /// Starts (or joins) a grace period and keeps the object until it has
    /// ended; see [`Polled`]. Does not sleep.
    pub(crate) fn start_poll(self) -> Polled<T> {
        Polled {
            state: GpState::start(),
            retired: self,
        }
    }

    /// Frees the object now, without waiting for readers.
    ///
    /// # Safety
    ///
    /// A full grace period must have elapsed since the object was unlinked
    /// (for example, one `synchronize()` after unlinking a batch of
    /// objects), so that no reader can still hold it.
    pub(crate) unsafe fn free_now(self) {
        // SAFETY: The caller guarantees that no reader is left.
        drop(unsafe { self.reclaim() });
    }

    /// Ends the `Retired` and returns the object.
    ///
    /// # Safety
    ///
    /// No reader may still hold the object.
    unsafe fn reclaim(self) -> KBox<RcuBox<T>> {
        // SAFETY: The pointer came from `KBox::into_raw` and `into_raw`
        // ends this `Retired`'s ownership; the caller guarantees no reader.
        unsafe { KBox::from_raw(self.into_raw()) }
    }
}

impl<T: Send> Drop for Retired<T> {
    fn drop(&mut self) {
        // SAFETY: The head belongs to an `RcuBox<T>` from `KBox::into_raw`
        // that this `Retired` owns and that ends here, and it is not queued
        // (type invariant); `drop_callback::<T>` frees it after the grace
        // period. Module exit calls `rcu_barrier()`, so the callback runs
        // before the module's text goes away.
        unsafe {
            bindings::call_rcu(RcuBox::head(self.ptr), Some(drop_callback::<T>));
        }
    }
}

/// A retired object waiting for the grace period of its cookie.
///
/// Dropping it frees the object after a grace period, like dropping a
/// [`Retired`].
pub(crate) struct Polled<T: Send> {
    state: GpState,
    retired: Retired<T>,
}

impl<T: Send> Polled<T> {
    /// The object back if its grace period has ended, else `self`. Does not
    /// sleep.
    pub(crate) fn try_reclaim(self) -> Result<KBox<RcuBox<T>>, Self> {
        if self.state.completed() {
            // SAFETY: The cookie was taken after the object was unlinked
            // and its grace period has ended.
            Ok(unsafe { self.retired.reclaim() })
        } else {
            Err(self)
        }
    }

    /// Waits for the grace period (`cond_synchronize_rcu()`: returns at once
    /// if it has ended) and returns the object. Sleeps: `ctx` proves it
    /// may.
    pub(crate) fn reclaim(self, ctx: &mut impl MaySleep) -> KBox<RcuBox<T>> {
        self.state.wait(ctx);
        // SAFETY: As in `try_reclaim`, the grace period has ended.
        unsafe { self.retired.reclaim() }
    }
}

impl<T: Send> Reclaim<Retired<T>> for SynchronizeRcu {
    const NAME: &'static str = "synchronize_rcu";
    const WAITS: bool = true;

    fn reclaim(&self, old: Retired<T>) {
        drop(self.wait(old));
    }

    fn reclaim_all<A: Allocator>(&self, olds: &mut Vec<Retired<T>, A>) {
        // SAFETY: A waiting strategy (`WAITS`) is used only where its
        // caller may sleep (`Reclaim`).
        unsafe { super::synchronize_unchecked() };
        for old in olds.drain_all() {
            // SAFETY: `old` existed before the call, so it was unlinked
            // before the grace period that just ended.
            drop(unsafe { old.reclaim() });
        }
    }
}

impl<T: Send> Wait<Retired<T>> for SynchronizeRcu {
    type Back = KBox<RcuBox<T>>;

    fn wait(&self, old: Retired<T>) -> KBox<RcuBox<T>> {
        // SAFETY: A waiting strategy (`WAITS`) is used only where its
        // caller may sleep (`Reclaim`).
        unsafe { old.synchronize_unchecked() }
    }
}

impl<T: Send> Reclaim<Retired<T>> for SynchronizeRcuExpedited {
    const NAME: &'static str = "synchronize_rcu_expedited";
    const WAITS: bool = true;

    fn reclaim(&self, old: Retired<T>) {
        drop(self.wait(old));
    }

    fn reclaim_all<A: Allocator>(&self, olds: &mut Vec<Retired<T>, A>) {
        // SAFETY: A waiting strategy (`WAITS`) is used only where its
        // caller may sleep (`Reclaim`).
        unsafe { super::synchronize_expedited_unchecked() };
        for old in olds.drain_all() {
            // SAFETY: As for `SynchronizeRcu`, with an expedited grace
            // period.
            drop(unsafe { old.reclaim() });
        }
    }
}

impl<T: Send> Wait<Retired<T>> for SynchronizeRcuExpedited {
    type Back = KBox<RcuBox<T>>;

    fn wait(&self, old: Retired<T>) -> KBox<RcuBox<T>> {
        // SAFETY: As for `SynchronizeRcu`.
        unsafe { old.synchronize_expedited_unchecked() }
    }
}

impl<T: Send> Reclaim<Retired<T>> for CallRcu {
    const NAME: &'static str = "call_rcu";
    const WAITS: bool = false;

    fn reclaim(&self, old: Retired<T>) {
        old.call_rcu();
    }
}

impl<T: Send> Reclaim<Retired<T>> for KfreeRcuNolock {
    const NAME: &'static str = "kfree_rcu_nolock";
    const WAITS: bool = false;

    /// `T` must need no `Drop` (a compile-time error otherwise).
    fn reclaim(&self, old: Retired<T>) {
        old.kfree_rcu_nolock();
    }
}

impl<T: Send> Reclaim<Retired<T>> for KvfreeRcu {
    const NAME: &'static str = "kfree_rcu";
    const WAITS: bool = false;

    /// `T` must need no `Drop` (a compile-time error otherwise).
    fn reclaim(&self, old: Retired<T>) {
        old.kfree_rcu();
    }
}
