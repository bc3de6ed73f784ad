// SPDX-License-Identifier: GPL-2.0

//! RCU: read-side guards, RCU-protected pointers, grace periods, callbacks.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h).
//!
//! * The read side is the `kernel` crate's [`kernel::sync::rcu`] guard
//!   ([`Guard`]), a read-side critical section entered with the C
//!   `rcu_read_lock()` (so lockdep's `rcu_lock_map` and `CONFIG_PROVE_RCU`
//!   see it), left when the guard is dropped; rcu_lab enters it through
//!   [`crate::context::rcu_read_lock`], which holds the caller's context
//!   token and lends one that may not block.
//! * [`RcuPtr`] publishes objects ([`RcuBox`]) to readers, who get `&T` for
//!   no longer than their guard; an updater's [`RcuPtr::swap`] hands back
//!   the old object as a [`Retired`], which can only be freed after a grace
//!   period: by waiting (the `SynchronizeRcu` and `SynchronizeRcuExpedited`
//!   strategies of `reclaim.rs`), by callback ([`Retired::call_rcu`],
//!   [`Retired::kfree_rcu`]) or by polling a [`GpState`]. The crate has
//!   none of these in 7.3.
//! * [`batch::KfreeBatch`] frees objects after a grace period in page-sized
//!   blocks, from any context (rcu_lab's `kfree_rcu()` engine).
//! * [`hlist::HashTable`]: a hash table of RCU hlists (lockdep's key hash
//!   for experiment 3), its readers protected by RCU or by hazard pointers.
//! * [`PendingFree`] frees retired objects after a grace period with two
//!   pending lists and one `rcu_head` (seed 003, lockdep's zapped classes).
//! * [`GpSeq`] counts grace periods between two readings.
//! * [`synchronize`], [`synchronize_expedited`] and [`barrier`] wait for
//!   grace periods and callbacks. (`kvfree_rcu_barrier()` is not exported in
//!   7.3: `kfree_rcu()` objects need no module text, so module exit does
//!   not wait for them.)
//!
//! See `Documentation/reclamation.rst`.

use crate::{
    context::{MaySleep, NoWait},
    helpers,
};
use kernel::{bindings, prelude::*};

pub(crate) mod batch;
pub(crate) mod hlist;
mod irq_defer;
mod pending;
mod poll;
mod ptr;
mod retired;

pub(crate) use irq_defer::IrqDeferred;
pub(crate) use kernel::sync::rcu::Guard;
pub(crate) use pending::PendingFree;
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
/// critical section that began before the call has ended. Sleeps: `ctx`
/// proves it may.
pub(crate) fn synchronize(_ctx: &mut impl MaySleep) {
    // SAFETY: `ctx` proves that this context may sleep.
    unsafe { synchronize_unchecked() }
}

/// Waits for a grace period, expedited (`synchronize_rcu_expedited()`): much
/// faster than [`synchronize`], at the cost of IPIs to busy CPUs. Sleeps:
/// `ctx` proves it may.
pub(crate) fn synchronize_expedited(_ctx: &mut impl MaySleep) {
    // SAFETY: `ctx` proves that this context may sleep.
    unsafe { synchronize_expedited_unchecked() }
}

/// [`synchronize`] without the proof, for the safe types whose own docs
/// carry the rule (a `Retired`'s wait, a `Drop`).
///
/// # Safety
///
/// The caller may sleep (what a `Sleep` token proves).
pub(crate) unsafe fn synchronize_unchecked() {
    kernel::sync::rcu::synchronize_rcu();
}

/// [`synchronize_expedited`] without the proof; see
/// [`synchronize_unchecked`].
///
/// # Safety
///
/// The caller may sleep (what a `Sleep` token proves).
pub(crate) unsafe fn synchronize_expedited_unchecked() {
    // SAFETY: `synchronize_rcu_expedited()` has no preconditions beyond
    // being allowed to sleep (the caller's promise), which its own
    // `might_sleep()` checks (and lockdep reports a call inside a
    // read-side critical section).
    unsafe { bindings::synchronize_rcu_expedited() };
}

/// A closure that runs once, as an RCU callback, with the callback's
/// token; only [`call_rcu_with`] makes one.
struct OnCallback<F: FnOnce(&mut NoWait) + Send>(Option<F>);

impl<F: FnOnce(&mut NoWait) + Send> Drop for OnCallback<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            // SAFETY: Only `call_rcu_with` makes an `OnCallback`, and only
            // the RCU callback it queues drops it: an RCU callback may
            // allocate without sleeping (softirq on lazy and full, the rcuc
            // thread with bottom halves off on RT).
            unsafe { crate::context::enter(|ctx: &mut NoWait| f(ctx)) };
        }
    }
}

/// Runs `f` after a grace period, as an RCU callback (`call_rcu()`), with
/// the callback's token: an RCU callback entry. Sleeps (allocates the
/// `rcu_head` with `GFP_KERNEL`): `ctx` proves it may.
pub(crate) fn call_rcu_with<F: FnOnce(&mut NoWait) + Send + Sync + 'static>(
    _ctx: &mut impl MaySleep,
    f: F,
) -> Result {
    let b = RcuBox::new(OnCallback(Some(f)), GFP_KERNEL)?;
    let cell = RcuPtr::new(Some(b));
    if let Some(r) = cell.swap(None) {
        r.call_rcu();
    }
    Ok(())
}

/// Waits until every RCU callback queued before this call has run.
///
/// Module exit calls it so that no callback of this module runs after the
/// module's text is gone. Sleeps: `ctx` proves it may.
pub(crate) fn barrier(_ctx: &mut impl MaySleep) {
    kernel::sync::rcu::rcu_barrier();
}

/// Lets debug-objects refill its pool here, before a burst of `call_rcu()`
/// from a raw context.
///
/// On a debug kernel each `rcu_head` that `call_rcu()` queues takes a
/// tracking object from debug-objects' pool until the memory is freed. The
/// pool refills inline only where `can_fill_pool()` allows: anywhere on
/// non-RT, on PREEMPT_RT only in preemptible context. Under a raw spinlock
/// or with interrupts off on RT, `call_rcu()` drains the pool without
/// refilling it, and an empty pool switches the detector off for the rest
/// of the boot (`ODEBUG: Out of memory. ODEBUG disabled`): the selftest
/// `odebug_pool_raw` provokes that on purpose. A caller that queues many
/// heads per raw section calls this before each section and keeps a
/// section to fewer heads than the pool's low mark (256; a refill may stop
/// at 128 while another CPU refills). Does nothing without
/// `CONFIG_DEBUG_OBJECTS_RCU_HEAD`. Context: anywhere; of use only where
/// preemptible on RT.
pub(crate) fn debug_objects_refill() {
    // SAFETY: initialising and destroying an on-stack `rcu_head` for
    // debug-objects has no precondition; it never sleeps.
    unsafe { helpers::rcu_lab_debug_objects_refill() }
}

/// Heads of `call_rcu()` a raw section may queue after
/// [`debug_objects_refill`] and leave debug-objects' pool a margin of two
/// on PREEMPT_RT: half of the 128 a refill guarantees.
pub(crate) const RAW_CALL_RCU_BURST: usize = 64;

/// A reading of RCU's grace-period sequences, normal
/// (`rcu_get_gp_seq()`) and expedited (`rcu_exp_batches_completed()`), to
/// count the grace periods between it and a later reading.
///
/// The sequences start close to wrapping on purpose (RCU initialises them
/// to `-300 << 2` so that wrap bugs show early), so differences wrap too.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GpSeq {
    normal: c_ulong,
    expedited: c_ulong,
}

/// `rcu_seq_diff()` of `kernel/rcu/rcu.h`: the grace periods between two
/// readings of a sequence whose low two bits are the phase of the one in
/// progress, counting one that was in progress at either end.
fn seq_diff(new: c_ulong, old: c_ulong) -> u64 {
    const STATE: c_ulong = 3;
    if new == old {
        return 0;
    }
    let rnd = (new & !STATE)
        .wrapping_sub(old.wrapping_add(STATE) & !STATE)
        .wrapping_add(c_ulong::from((new & STATE) != 0 || (old & STATE) != 0));
    // `ULONG_CMP_GE(STATE, rnd)`: definitely no grace period elapsed.
    if STATE.wrapping_sub(rnd) <= c_ulong::MAX / 2 {
        return 1;
    }
    (rnd.wrapping_sub(STATE + 1) >> 2) as u64 + 2
}

impl GpSeq {
    /// Reads both sequences now. Any context.
    pub(crate) fn now() -> Self {
        // SAFETY: Both functions read a counter; any context.
        unsafe {
            Self {
                normal: helpers::rcu_lab_rcu_gp_seq(),
                expedited: helpers::rcu_lab_rcu_exp_gp_count(),
            }
        }
    }

    /// Normal and expedited grace periods between `self` and now.
    pub(crate) fn elapsed(self) -> (u64, u64) {
        let now = Self::now();
        (
            seq_diff(now.normal, self.normal),
            seq_diff(now.expedited, self.expedited),
        )
    }
}
