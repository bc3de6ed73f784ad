// SPDX-License-Identifier: GPL-2.0

//! Per-CPU hazard-pointer slots with a wildcard: the "shazptr" protocol.
//!
//! This is the design Boqun Feng proposed to speed up
//! `lockdep_unregister_key()` (seed 000, "simple hazard pointers"): one slot
//! per CPU, used with preemption disabled. A reader publishes the address it
//! is about to use in its CPU's slot; an updater that has unlinked an object
//! waits, in [`synchronize`], until no slot holds that address before freeing
//! it. Unlike RCU it waits only for the readers of *that* address, not for
//! every reader in the system.
//!
//! # Nesting and the wildcard
//!
//! A slot belongs to a CPU, and while a task holds it (preemption off) an
//! interrupt, a softirq or an NMI on that CPU may want one too, and so may
//! the same task for a second object. Such a nested user finds the slot in
//! use and stores [`WILDCARD`] instead of its own address: the wildcard
//! matches every address in [`synchronize`], so it covers both the nested
//! user's address and the outer one's. Paul McKenney's caveat applies: while
//! a slot holds the wildcard every [`synchronize`] waits for that CPU, as with
//! RCU; nesting should be rare.
//!
//! Who clears the slot: in C, `shazptr_clear()` lets only the outermost user
//! clear it, which relies on users releasing in the reverse order of
//! acquiring. Interrupts do, but Rust guards may be dropped in any order: a
//! task holding `a` and then `b` (nested, wildcard) that drops `a` first
//! would clear the slot under `b`. So each CPU also keeps a nesting depth:
//! every user increments it, and the one that brings it back to zero clears
//! the slot. Only this CPU touches its depth, and interrupts leave it as they
//! found it, so plain loads and stores suffice (as for `preempt_count`).
//!
//! # Memory ordering
//!
//! Reader (one CPU):
//!
//! ```text
//! r1: a = subscribe(cell)        acquire load of the published address
//! r2: slot = a (or WILDCARD)     release store
//! r3: smp_mb()
//! r4: b = subscribe(cell)        if b != a: publish b, smp_mb(), re-load
//!     ... use *a ...
//! r5: slot = EMPTY               release store (by the last user out)
//! ```
//!
//! Updater:
//!
//! ```text
//! u1: a = publish(cell, new)     the exchange unlinks a
//! u2: smp_mb()
//! u3: wait until slot not in {a, WILDCARD}, for every CPU's slot (acquire)
//! u4: free a
//! ```
//!
//! r2-r3-r4 against u1-u2-u3 is the store-buffering pattern with a full
//! barrier on both sides, so the two fences are ordered one way or the other:
//!
//! * u2 before r3: r4 reads u1's store or a later one, so `b != a` and the
//!   reader never uses `a` (it re-publishes the new address and checks
//!   again). If `a` reappears (freed, reallocated and published again) the
//!   reader uses the new object at `a`, which its slot does protect.
//! * r3 before u2: u3 reads r2's store or a later one. If it reads `a` or the
//!   wildcard, the updater waits. Otherwise it reads r5 or a later store of
//!   this CPU; all of them are release stores after the reader's last use of
//!   `a`, so the acquire load at u3 synchronises with it and every access the
//!   reader made to `a` happens before u4. (This is why r2 is a release store
//!   and not a relaxed one: u3 may read the slot store of the reader's *next*
//!   protection, and under the C11 model a relaxed store would not carry the
//!   ordering of r5.)
//!
//! The re-load at r4 is what makes element protection sound: without it a
//! reader could use an address that was unlinked and synchronised between r1
//! and r2. A guard may instead protect a *container* (a hash bucket head,
//! the cell itself): the reader publishes the container's address at r2 and
//! only then, after r3, loads the element from it; no re-load is needed
//! because the container does not go away, and the updater synchronises on
//! the container's address as well as the element's.
//!
//! `smp_mb()` is the one full barrier; every other access is acquire,
//! release or relaxed, which costs nothing extra on x86-64. The model checker
//! (`rust/model/src/hazptr_model.rs`) runs this very file under loom: the
//! protocol passes, with interrupts injected wherever they can split it and
//! guards released out of order; with `smp_mb()` weakened, or the clearing
//! or the publishing slot stores made relaxed, it is rejected.
//!
//! # Contexts
//!
//! Readers may run in task, softirq, hardirq and NMI context: taking and
//! releasing a slot are loads and stores on the local CPU's slot and depth,
//! with preemption disabled by the caller's [`Cpus::enter`]. [`synchronize`] spins
//! and calls `cond_resched()` between CPUs, so it runs in process context
//! only, and never while the caller itself holds a slot (it would wait for
//! itself; `cond_resched()` with preemption off is reported by
//! `CONFIG_DEBUG_ATOMIC_SLEEP`).

use super::{publish, word::AtomicWord};
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// Value of a slot that protects nothing.
pub(crate) const EMPTY: usize = 0;

/// Value of a slot that protects everything (`SHAZPTR_WILDCARD`).
pub(crate) const WILDCARD: usize = usize::MAX;

/// A CPU's hazard-pointer state (the layout of the kernel's
/// `struct rcu_lab_hazptr_cpu`).
#[repr(C)]
pub(crate) struct CpuState<W> {
    /// The hazard-pointer slot, read by every CPU's [`synchronize`].
    pub(crate) slot: W,
    /// Users of the slot on this CPU; only this CPU touches it.
    pub(crate) depth: W,
}

/// What the protocol needs from the machine it runs on.
pub(crate) trait Cpus {
    /// A word of a CPU's hazard-pointer state.
    type Slot: AtomicWord;

    /// Disables preemption and returns the current CPU's state.
    fn enter(&self) -> &CpuState<Self::Slot>;

    /// Enables preemption again; pairs with [`Cpus::enter`].
    fn exit(&self);

    /// Calls `f` on the slot of every possible CPU.
    fn for_each_slot(&self, f: impl FnMut(&Self::Slot));

    /// Full memory barrier (`smp_mb()`).
    fn smp_mb(&self);

    /// Pause in a spin-wait loop (`cpu_relax()`).
    fn relax(&self);

    /// Lets other tasks run while an updater waits (`cond_resched()`).
    fn cond_resched(&self);

    /// A point where an interrupt may arrive in the middle of the protocol.
    ///
    /// The kernel does nothing here (interrupts arrive anywhere on their
    /// own); the model checker runs a nested reader at a chosen point.
    #[inline(always)]
    fn irq_window(&self) {}
}

/// A slot held by this CPU; give it back with [`release`].
///
/// # Invariants
///
/// `local` is the current CPU's state, preemption is disabled (by
/// [`Cpus::enter`]), this user is counted in `local.depth`, and the slot
/// holds the protected address or [`WILDCARD`] until the depth drops to 0.
/// `outermost` tells whether this user found the depth at 0 and so wrote
/// its own address.
#[must_use = "a held slot blocks synchronize() until released"]
pub(crate) struct Held<'a, S> {
    local: &'a CpuState<S>,
    outermost: bool,
}

impl<S> Held<'_, S> {
    /// Whether this user nested inside another one and stored the wildcard.
    pub(crate) fn is_nested(&self) -> bool {
        !self.outermost
    }
}

/// Protects `addr`, which the caller knows to be live (a container, or an
/// address it has validated by other means): r2 and r3 above.
#[inline(always)]
pub(crate) fn acquire<C: Cpus>(cpus: &C, addr: usize) -> Held<'_, C::Slot> {
    debug_assert!(addr != EMPTY && addr != WILDCARD);
    let local = cpus.enter();
    // Only this CPU touches its depth, and interrupts restore it before we
    // run again, so plain (relaxed) accesses see the current count.
    let depth = local.depth.load(Relaxed);
    cpus.irq_window();
    local.depth.store(depth + 1, Relaxed);
    cpus.irq_window();
    let outermost = depth == 0;
    // INVARIANT: counted in the depth; the slot holds `addr`, or the
    // wildcard when another user on this CPU holds it too.
    local
        .slot
        .store(if outermost { addr } else { WILDCARD }, Release);
    cpus.smp_mb();
    Held { local, outermost }
}

/// Protects the object whose address `cell` publishes: load, publish,
/// `smp_mb()`, re-load, until the two loads agree (r1 to r4 above).
///
/// Returns the protected address and the held slot, or `None` when the
/// cell is empty (nothing is held then).
#[inline(always)]
pub(crate) fn protect<'a, C: Cpus, W: AtomicWord>(
    cpus: &'a C,
    cell: &W,
) -> Option<(usize, Held<'a, C::Slot>)> {
    let mut addr = publish::subscribe(cell);
    if addr == EMPTY {
        return None;
    }
    let held = acquire(cpus, addr);
    loop {
        cpus.irq_window();
        let again = publish::subscribe(cell);
        if again == addr {
            return Some((addr, held));
        }
        if again == EMPTY {
            release(cpus, held);
            return None;
        }
        // The cell changed: protect the new address and validate again. A
        // nested user keeps the wildcard, which covers it already.
        addr = again;
        if held.outermost {
            held.local.slot.store(addr, Release);
        }
        cpus.smp_mb();
    }
}

/// Gives a slot back; the last user on this CPU empties it (r5 above),
/// whatever order the users release in.
#[inline(always)]
pub(crate) fn release<C: Cpus>(cpus: &C, held: Held<'_, C::Slot>) {
    let depth = held.local.depth.load(Relaxed) - 1;
    held.local.depth.store(depth, Relaxed);
    cpus.irq_window();
    if depth == 0 {
        held.local.slot.store(EMPTY, Release);
    }
    cpus.exit();
}

/// Waits until no slot holds any of `addrs` or the wildcard (u2 and u3
/// above). Call it after unlinking the objects at `addrs`, in process
/// context, holding no slot.
pub(crate) fn synchronize<C: Cpus>(cpus: &C, addrs: &[usize]) {
    cpus.smp_mb();
    cpus.for_each_slot(|slot| {
        loop {
            let v = slot.load(Acquire);
            if v != WILDCARD && !addrs.contains(&v) {
                break;
            }
            cpus.relax();
        }
        cpus.cond_resched();
    });
}
