// SPDX-License-Identifier: GPL-2.0

//! RCU: read-side guards, RCU-protected pointers, grace periods, callbacks.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h).
//!
//! * [`read_lock`] returns a [`Guard`]: an RCU read-side critical section,
//!   entered with the C `rcu_read_lock()` so that lockdep's `rcu_lock_map`
//!   (and `CONFIG_PROVE_RCU`) sees it, left when the guard is dropped.
//! * [`RcuPtr`] publishes objects ([`RcuBox`]) to readers, who get `&T` for
//!   no longer than their guard; an updater's [`RcuPtr::swap`] hands back
//!   the old object as a [`Retired`], which can only be freed after a grace
//!   period: by waiting ([`Retired::synchronize`],
//!   [`Retired::synchronize_expedited`]), by callback ([`Retired::call_rcu`],
//!   [`Retired::kfree_rcu`]) or by polling a [`GpState`].
//! * [`synchronize`], [`synchronize_expedited`], [`barrier`] and
//!   [`kvfree_barrier`] wait for grace periods and callbacks.
//!
//! See `Documentation/reclamation.rst`.

use crate::helpers;
use core::marker::PhantomData;
use kernel::bindings;

mod poll;
mod ptr;
mod retired;

pub(crate) use poll::GpState;
pub(crate) use ptr::{RcuBox, RcuPtr};
pub(crate) use retired::Retired;

/// An RCU read-side critical section; it ends when the guard is dropped.
///
/// Not `Send`: `rcu_read_unlock()` must run in the task (or interrupt) that
/// called `rcu_read_lock()`. Blocking inside is a bug that
/// `CONFIG_PROVE_RCU` reports, as in C.
///
/// # Invariants
///
/// This context called `rcu_read_lock()` when the guard was created and has
/// not called the matching `rcu_read_unlock()` yet.
#[must_use = "the read-side critical section ends when the guard is dropped"]
pub(crate) struct Guard {
    _not_send: PhantomData<*mut ()>,
}

/// Enters an RCU read-side critical section (`rcu_read_lock()`).
///
/// Allowed in any context but NMI: task, softirq, hardirq.
#[inline]
pub(crate) fn read_lock() -> Guard {
    // SAFETY: `rcu_read_lock()` may be called in any context but NMI, and
    // Rust code of this module never runs in NMI; `Guard::drop` pairs it.
    unsafe { helpers::rcu_lab_rcu_read_lock() };
    // INVARIANT: `rcu_read_lock()` was just called in this context.
    Guard {
        _not_send: PhantomData,
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: By the type invariant this context holds the read lock,
        // and the guard is not `Send`, so this is the same context.
        unsafe { helpers::rcu_lab_rcu_read_unlock() };
    }
}

/// Whether this context is in an RCU read-side critical section, as lockdep
/// tracks it (`rcu_read_lock_held()`). Always true when lockdep is off.
pub(crate) fn read_lock_held() -> bool {
    // SAFETY: `rcu_read_lock_held()` may be called from any context.
    unsafe { helpers::rcu_lab_rcu_read_lock_held() }
}

/// Waits for a full grace period (`synchronize_rcu()`): every read-side
/// critical section that began before the call has ended. Sleeps.
pub(crate) fn synchronize() {
    // SAFETY: `synchronize_rcu()` has no preconditions beyond being allowed
    // to sleep, which its own `might_sleep()` checks (and lockdep reports a
    // call inside a read-side critical section).
    unsafe { bindings::synchronize_rcu() };
}

/// Waits for a grace period, expedited (`synchronize_rcu_expedited()`): much
/// faster than [`synchronize`], at the cost of IPIs to busy CPUs. Sleeps.
pub(crate) fn synchronize_expedited() {
    // SAFETY: As for `synchronize()`.
    unsafe { bindings::synchronize_rcu_expedited() };
}

/// Waits until every RCU callback queued before this call has run.
///
/// Module exit calls it so that no callback of this module runs after the
/// module's text is gone. Sleeps.
pub(crate) fn barrier() {
    // SAFETY: `rcu_barrier()` has no preconditions beyond process context,
    // which its callers provide.
    unsafe { bindings::rcu_barrier() };
}

/// Waits until every object queued with `kfree_rcu()` before this call has
/// been freed (`kvfree_rcu_barrier()`). Sleeps.
pub(crate) fn kvfree_barrier() {
    // SAFETY: `kvfree_rcu_barrier()` has no preconditions beyond process
    // context, which its callers provide.
    unsafe { bindings::kvfree_rcu_barrier() };
}
