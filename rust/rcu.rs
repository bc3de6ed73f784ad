// SPDX-License-Identifier: GPL-2.0

//! RCU: read-side guards, RCU-protected pointers, grace periods, callbacks.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h).
//!
//! * The read side is the `kernel` crate's [`kernel::sync::rcu`]:
//!   [`read_lock`] returns a [`Guard`], a read-side critical section entered
//!   with the C `rcu_read_lock()` (so lockdep's `rcu_lock_map` and
//!   `CONFIG_PROVE_RCU` see it), left when the guard is dropped.
//! * [`RcuPtr`] publishes objects ([`RcuBox`]) to readers, who get `&T` for
//!   no longer than their guard; an updater's [`RcuPtr::swap`] hands back
//!   the old object as a [`Retired`], which can only be freed after a grace
//!   period: by waiting ([`Retired::synchronize`],
//!   [`Retired::synchronize_expedited`]), by callback ([`Retired::call_rcu`],
//!   [`Retired::kfree_rcu`]) or by polling a [`GpState`]. The crate has
//!   none of these in 7.3.
//! * [`batch::KfreeBatch`] frees objects after a grace period in page-sized
//!   blocks, from any context (rcu_lab's `kfree_rcu()` engine).
//! * [`gp_count`] and [`exp_gp_count`] count grace periods.
//! * [`synchronize`], [`synchronize_expedited`] and [`barrier`] wait for
//!   grace periods and callbacks. (`kvfree_rcu_barrier()` is not exported in
//!   7.3: `kfree_rcu()` objects need no module text, so module exit does
//!   not wait for them.)
//!
//! See `Documentation/reclamation.rst`.

use crate::helpers;
use kernel::bindings;

pub(crate) mod batch;
mod poll;
mod ptr;
mod retired;

pub(crate) use kernel::sync::rcu::{read_lock, Guard};
pub(crate) use batch::KfreeRcu;
pub(crate) use poll::GpState;
pub(crate) use ptr::{RcuBox, RcuPtr};
pub(crate) use retired::Retired;

/// Whether this context is in an RCU read-side critical section, as lockdep
/// tracks it (`rcu_read_lock_held()`). Always true when lockdep is off.
pub(crate) fn read_lock_held() -> bool {
    // SAFETY: `rcu_read_lock_held()` may be called from any context.
    unsafe { helpers::rcu_lab_rcu_read_lock_held() }
}

/// Waits for a full grace period (`synchronize_rcu()`): every read-side
/// critical section that began before the call has ended. Sleeps.
pub(crate) fn synchronize() {
    kernel::sync::rcu::synchronize_rcu();
}

/// Waits for a grace period, expedited (`synchronize_rcu_expedited()`): much
/// faster than [`synchronize`], at the cost of IPIs to busy CPUs. Sleeps.
pub(crate) fn synchronize_expedited() {
    // SAFETY: `synchronize_rcu_expedited()` has no preconditions beyond
    // being allowed to sleep, which its own `might_sleep()` checks (and
    // lockdep reports a call inside a read-side critical section).
    unsafe { bindings::synchronize_rcu_expedited() };
}

/// Waits until every RCU callback queued before this call has run.
///
/// Module exit calls it so that no callback of this module runs after the
/// module's text is gone. Sleeps.
pub(crate) fn barrier() {
    kernel::sync::rcu::rcu_barrier();
}

/// Grace periods completed or started so far: RCU's grace-period sequence
/// (`rcu_get_gp_seq()`), which advances by 4 per grace period, divided by 4
/// (the low bits are the phase of the one in progress). Differences of
/// two readings count the grace periods between them.
pub(crate) fn gp_count() -> u64 {
    // SAFETY: `rcu_get_gp_seq()` reads a counter; any context.
    (unsafe { helpers::rcu_lab_rcu_gp_seq() } as u64) >> 2
}

/// Expedited grace periods completed so far
/// (`rcu_exp_batches_completed()`).
pub(crate) fn exp_gp_count() -> u64 {
    // SAFETY: Reads a counter; any context.
    unsafe { helpers::rcu_lab_rcu_exp_gp_count() as u64 }
}
