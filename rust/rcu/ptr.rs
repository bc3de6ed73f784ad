// SPDX-License-Identifier: GPL-2.0

//! RCU-protected pointers: `rcu_assign_pointer()` and `rcu_dereference()`.

use super::{Guard, Retired};
use crate::protocol::publish;
use core::{
    marker::PhantomData,
    ops::{Deref, DerefMut},
    ptr::NonNull,
    sync::atomic::AtomicUsize,
};
use kernel::{
    alloc::{AllocError, Flags},
    bindings,
    prelude::*,
    types::Opaque,
};

/// A heap object that RCU readers may reach: a `T` behind an `rcu_head`.
///
/// The `rcu_head` is the first field (`#[repr(C)]`), so it sits at offset 0:
/// `kvfree_call_rcu()` requires it within the first 4096 bytes of the object
/// and `call_rcu()` callbacks find the object from it without arithmetic.
#[repr(C)]
pub(crate) struct RcuBox<T> {
    head: Opaque<bindings::callback_head>,
    value: T,
}

// SAFETY: The `rcu_head` is plain memory the RCU machinery uses only while
// the object is queued, which takes ownership of it; an owned `RcuBox<T>`
// may move to another thread whenever its `T` may.
unsafe impl<T: Send> Send for RcuBox<T> {}

impl<T> RcuBox<T> {
    /// Offset of the value in the object (past the `rcu_head`).
    pub(crate) const VALUE_OFFSET: usize = core::mem::offset_of!(Self, value);

    /// Allocates an object holding `value`.
    pub(crate) fn new(value: T, flags: Flags) -> Result<KBox<Self>, AllocError> {
        KBox::new(
            RcuBox {
                head: Opaque::uninit(),
                value,
            },
            flags,
        )
    }

    /// The `rcu_head` of the object at `this`.
    pub(super) fn head(this: NonNull<Self>) -> *mut bindings::callback_head {
        // The head is at offset 0 (`#[repr(C)]`, first field).
        this.as_ptr().cast()
    }
}

impl<T> Deref for RcuBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for RcuBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

/// A pointer to an [`RcuBox<T>`] that RCU readers follow without locking.
///
/// Readers call [`RcuPtr::read`] inside a read-side critical section and get
/// `&T` for no longer than their [`Guard`]. Updaters call [`RcuPtr::swap`],
/// which publishes the new object with release ordering and returns the old
/// one as a [`Retired`], which frees it only after a grace period.
///
/// Concurrent swaps are safe: each is an atomic exchange, so every old
/// object goes to exactly one updater (see `rust/protocol/publish.rs`).
/// Updates that read the current value to compute the next one need their
/// own lock (any lock of [`crate::sync`]) around read and swap, as in C.
///
/// # Invariants
///
/// `cell` is 0 or the address of an `RcuBox<T>` obtained from
/// `KBox::into_raw`, owned by this `RcuPtr`. Readers that loaded an address
/// inside a read-side critical section may use the object until that
/// section ends, even after it is swapped out; an object is freed only
/// after a grace period that starts after it was swapped out, or when the
/// `RcuPtr` is dropped (when no reader can hold a reference into it: readers
/// borrow the `RcuPtr`).
pub(crate) struct RcuPtr<T> {
    cell: AtomicUsize,
    _owns: PhantomData<KBox<RcuBox<T>>>,
}

// SAFETY: An `RcuPtr` owns its `T`, which may be dropped on any thread (in
// an RCU callback among others): `T: Send`. Readers on several threads share
// `&T`: `T: Sync`.
unsafe impl<T: Send + Sync> Send for RcuPtr<T> {}

// SAFETY: Shared access gives `&T` to readers on any thread (`T: Sync`) and
// lets any thread swap the object out and drop it (`T: Send`).
unsafe impl<T: Send + Sync> Sync for RcuPtr<T> {}

fn into_addr<T>(b: Option<KBox<RcuBox<T>>>) -> usize {
    b.map_or(0, |b| KBox::into_raw(b).expose_provenance())
}

impl<T: Send + Sync> RcuPtr<T> {
    /// A pointer to `init`, or a null pointer.
    pub(crate) fn new(init: Option<KBox<RcuBox<T>>>) -> Self {
        // INVARIANT: the address comes from `KBox::into_raw`, or is 0.
        Self {
            cell: AtomicUsize::new(into_addr(init)),
            _owns: PhantomData,
        }
    }

    /// The current object (`rcu_dereference()`), for as long as both the
    /// read-side critical section and the borrow of `self` last.
    #[inline]
    pub(crate) fn read<'a>(&'a self, _guard: &'a Guard) -> Option<&'a T> {
        let addr = publish::subscribe(&self.cell);
        let p = core::ptr::with_exposed_provenance::<RcuBox<T>>(addr);
        // SAFETY: By the type invariant a non-zero address is a live
        // `RcuBox<T>`; the caller is inside a read-side critical section
        // (`_guard`), so the object is not freed before the guard is
        // dropped, and `'a` does not outlive the guard. The acquire load
        // orders the object's initialisation before this access.
        unsafe { p.as_ref() }.map(|b| &b.value)
    }

    /// Publishes `new` (`rcu_assign_pointer()`) and returns the object it
    /// replaced, which readers may still be using.
    pub(crate) fn swap(&self, new: Option<KBox<RcuBox<T>>>) -> Option<Retired<T>> {
        // INVARIANT: the new address comes from `KBox::into_raw`; the old
        // one leaves the cell and goes to the `Retired`.
        let old = publish::publish(&self.cell, into_addr(new));
        let old = NonNull::new(core::ptr::with_exposed_provenance_mut::<RcuBox<T>>(old))?;
        // SAFETY: `old` came from `KBox::into_raw` (type invariant); this
        // exchange removed it from the cell, so no new reader can find it,
        // and it is handed over exactly once.
        Some(unsafe { Retired::from_raw(old.as_ptr()) })
    }
}

impl<T> Drop for RcuPtr<T> {
    fn drop(&mut self) {
        let addr = *self.cell.get_mut();
        let p = core::ptr::with_exposed_provenance_mut::<RcuBox<T>>(addr);
        if !p.is_null() {
            // SAFETY: By the type invariant the object came from
            // `KBox::into_raw` and is owned by `self`; readers borrow `self`,
            // so none is left.
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}
