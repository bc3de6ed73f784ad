// SPDX-License-Identifier: GPL-2.0

//! Hazard pointers: one slot per CPU, with a wildcard for nested users.
//!
//! The kernel side of the "shazptr" protocol in `rust/protocol/hazptr.rs`
//! (which documents the memory-ordering argument and is model-checked on
//! the host): the slots are the module's per-CPU data (`rust/helpers.c`),
//! preemption is off while a slot is held, and `smp_mb()` is a sequentially
//! consistent fence (`lock or` on the stack on x86-64, like the kernel's).
//!
//! Preemption is disabled with `preempt_disable_notrace()`: the guard
//! balances it by construction, so `CONFIG_DEBUG_PREEMPT`'s accounting adds
//! nothing but cost (it made the guard 1.6x dearer), and a user inside
//! tracing or lockdep, which is what seed 000 wants these slots for, must
//! not recurse into the preemption tracer. `preempt_count()` rises all the
//! same, so sleeping under a guard is still reported.
//!
//! * [`HazPtr<T>`] publishes a `KBox<T>` to readers.
//! * [`HazPtr::protect`] protects the current element (load, publish,
//!   `smp_mb()`, re-load) and returns a [`Guard`] that derefs to `T`.
//! * [`HazPtr::protect_cell`] protects the cell itself, as a container head
//!   (a hash bucket), and then reads from it: a [`CellGuard`].
//! * [`HazPtr::swap`] publishes a new element and returns the old one as a
//!   [`Retired`], which can only be freed or taken back after
//!   [`Retired::synchronize`] has waited for every slot holding its address,
//!   its cell's address or the wildcard.
//!
//! * [`protect_addr`] publishes an address the caller knows to be live (a
//!   container that outlives the guard, such as a hash bucket) and returns
//!   an [`AddrGuard`]; [`synchronize`] waits for every slot holding one of
//!   a list of addresses or the wildcard. A container type built on them
//!   (`crate::rcu::hlist`, experiment 3's key hash) hands unlinked
//!   elements out as a [`Retired`] naming the container's address
//!   ([`Retired::from_raw`]).
//!
//! Guards may be taken in task, softirq and hardirq context; one taken while
//! this CPU's slot is in use (an interrupt on top of a task that holds it,
//! or the task's second guard) stores the wildcard, and guards may be
//! dropped in any order: the last one out clears the slot.
//!
//! NMI: the protocol is NMI-safe (loads and stores to the local CPU's slot
//! and depth, strictly nested), and so are the shim's calls
//! (`preempt_disable_notrace()`, `this_cpu_ptr()`); no test runs in NMI
//! because the test VM has no NMI source (no NMI watchdog, no PMU under TCG).
//!
//! [`Retired::synchronize`] runs in process context only, and never while
//! the caller holds a guard: it would wait for itself, and its
//! `cond_resched()` under the guard's disabled preemption is reported by
//! `CONFIG_DEBUG_ATOMIC_SLEEP`.

use crate::{
    context::{Context, Lend, MaySleep},
    helpers,
    protocol::{hazptr as proto, publish},
    reclaim::{HazptrSynchronize, Reclaim, Wait},
    task,
};
use core::{
    marker::PhantomData,
    ops::Deref,
    ptr::NonNull,
    sync::atomic::{fence, AtomicUsize, Ordering},
};
use kernel::prelude::*;

/// The machine's CPUs and this module's slots, as the protocol sees them.
struct KernelCpus;

/// The one set of slots every hazard pointer of this module uses, like the
/// kernel's `shazptr_slots`: readers and updaters always agree on it.
static CPUS: KernelCpus = KernelCpus;

// `state` below relies on the two layouts being the same.
kernel::static_assert!(
    core::mem::size_of::<proto::CpuState<AtomicUsize>>()
        == core::mem::size_of::<helpers::rcu_lab_hazptr_cpu>()
);
kernel::static_assert!(
    core::mem::offset_of!(proto::CpuState<AtomicUsize>, depth)
        == core::mem::offset_of!(helpers::rcu_lab_hazptr_cpu, depth)
);

/// A CPU's state in the module's per-CPU data, as the protocol sees it.
///
/// # Safety
///
/// `cpu` must come from `rcu_lab_hazptr_enter()` or `rcu_lab_hazptr_cpu()`.
unsafe fn state<'a>(cpu: *mut helpers::rcu_lab_hazptr_cpu) -> &'a proto::CpuState<AtomicUsize> {
    // SAFETY: The caller guarantees `cpu` is a `struct rcu_lab_hazptr_cpu`
    // in per-CPU data that lives as long as the module, whose code is the
    // only user of the reference. `CpuState<AtomicUsize>` is `#[repr(C)]`
    // with two `AtomicUsize`, which have the size and alignment of the two
    // `unsigned long` fields on every 64-bit kernel. Only Rust code accesses
    // them after their zeroed initialisation, and always atomically.
    unsafe { &*cpu.cast::<proto::CpuState<AtomicUsize>>() }
}

impl proto::Cpus for KernelCpus {
    type Slot = AtomicUsize;

    #[inline(always)]
    fn enter(&self) -> &proto::CpuState<AtomicUsize> {
        // SAFETY: The function disables preemption (undone by `exit`) and
        // returns this CPU's state, which is what `state` requires.
        unsafe { state(helpers::rcu_lab_hazptr_enter()) }
    }

    #[inline(always)]
    fn exit(&self) {
        // SAFETY: Pairs with the `preempt_disable_notrace()` of `enter`, as the
        // protocol's `release` guarantees.
        unsafe { helpers::rcu_lab_hazptr_exit() }
    }

    fn for_each_slot(&self, mut f: impl FnMut(&AtomicUsize)) {
        let mut cpu = -1;
        loop {
            // SAFETY: Any CPU number is accepted.
            cpu = unsafe { helpers::rcu_lab_next_possible_cpu(cpu) };
            if cpu < 0 {
                break;
            }
            // SAFETY: `cpu` is a possible CPU, so this is its state.
            f(&unsafe { state(helpers::rcu_lab_hazptr_cpu(cpu)) }.slot);
        }
    }

    #[inline(always)]
    fn smp_mb(&self) {
        fence(Ordering::SeqCst);
    }

    #[inline(always)]
    fn relax(&self) {
        core::hint::spin_loop();
    }

    fn cond_resched(&self) {
        task::cond_resched();
    }
}

/// This CPU's slot, held; preemption is off until it is dropped. It holds
/// the caller's token and lends `L`, the caller's `Context::PreemptOff`
/// (`crate::context`).
///
/// Holds may be dropped in any order: the protocol counts the users of the
/// slot and the last one clears it.
///
/// # Invariants
///
/// `held` was returned by the protocol's `acquire` or `protect` on
/// [`CPUS`], on this CPU, and is released exactly once, in `Drop`.
struct Hold<'a, L: Context> {
    held: Option<proto::Held<'static, AtomicUsize>>,
    // Not `Send` (the token is not): the slot belongs to this CPU and
    // context.
    lend: Lend<'a, L>,
}

impl<'a, L: Context> Hold<'a, L> {
    fn new<C: Context<PreemptOff = L>>(
        held: proto::Held<'static, AtomicUsize>,
        ctx: &'a mut C,
    ) -> Self {
        // INVARIANT: the caller just acquired `held` in this context.
        Self {
            held: Some(held),
            // SAFETY: Preemption is off until the hold is dropped: the
            // caller may still do what it could but block, and on
            // PREEMPT_RT not allocate either (`PreemptOff`).
            lend: unsafe { Lend::new(ctx) },
        }
    }

    fn is_nested(&self) -> bool {
        self.held.as_ref().is_some_and(|h| h.is_nested())
    }
}

impl<L: Context> Drop for Hold<'_, L> {
    #[inline]
    fn drop(&mut self) {
        if let Some(held) = self.held.take() {
            proto::release(&CPUS, held);
        }
    }
}

/// A pointer to a `T` that readers protect with hazard pointers.
///
/// # Invariants
///
/// `cell` is 0 or the address of a `T` from `KBox::into_raw`, owned by this
/// `HazPtr`. An object is freed only after it left the cell and
/// [`proto::synchronize`] found no slot holding its address, the cell's
/// address or the wildcard, or when the `HazPtr` is dropped (when no reader
/// holds a guard: guards borrow the `HazPtr`).
pub(crate) struct HazPtr<T> {
    cell: AtomicUsize,
    _owns: PhantomData<KBox<T>>,
}

// SAFETY: A `HazPtr` owns its `T`, which it may drop on any thread:
// `T: Send`. Readers on several threads share `&T`: `T: Sync`.
unsafe impl<T: Send + Sync> Send for HazPtr<T> {}

// SAFETY: Shared access gives `&T` to readers on any thread (`T: Sync`) and
// lets any thread swap an object out and drop it (`T: Send`).
unsafe impl<T: Send + Sync> Sync for HazPtr<T> {}

fn into_addr<T>(b: Option<KBox<T>>) -> usize {
    b.map_or(proto::EMPTY, |b| KBox::into_raw(b).expose_provenance())
}

impl<T: Send + Sync> HazPtr<T> {
    /// A pointer to `init`, or a null pointer.
    pub(crate) fn new(init: Option<KBox<T>>) -> Self {
        // INVARIANT: the address comes from `KBox::into_raw`, or is 0.
        Self {
            cell: AtomicUsize::new(into_addr(init)),
            _owns: PhantomData,
        }
    }

    /// The address of the cell, which container guards publish.
    fn cell_addr(&self) -> usize {
        core::ptr::from_ref(&self.cell).expose_provenance()
    }

    /// Protects the current element: load, publish in this CPU's slot,
    /// `smp_mb()`, re-load until both loads agree. `None` if the pointer is
    /// null. Preemption is off while the guard lives, which holds `ctx`.
    #[inline]
    pub(crate) fn protect<'a, C: Context>(
        &'a self,
        ctx: &'a mut C,
    ) -> Option<Guard<'a, T, C::PreemptOff>> {
        let (addr, held) = proto::protect(&CPUS, &self.cell)?;
        let p = core::ptr::with_exposed_provenance::<T>(addr);
        Some(Guard {
            // SAFETY: By the protocol the address was in the cell after it
            // was published in the slot and `smp_mb()` ran, so any updater
            // that unlinks it waits for this slot before freeing it; by the
            // type invariant it is a live `T` until then. The guard borrows
            // `self`, so the `HazPtr` cannot drop it either.
            value: unsafe { &*p },
            hold: Hold::new(held, ctx),
        })
    }

    /// Protects the cell as a container: publishes the cell's address,
    /// `smp_mb()`, and then reads the element from it. Everything reachable
    /// from the cell while the guard lives stays valid. The guard holds
    /// `ctx`.
    #[inline]
    pub(crate) fn protect_cell<'a, C: Context>(
        &'a self,
        ctx: &'a mut C,
    ) -> CellGuard<'a, T, C::PreemptOff> {
        let held = proto::acquire(&CPUS, self.cell_addr());
        CellGuard {
            hold: Hold::new(held, ctx),
            ptr: self,
        }
    }

    /// Publishes `new` and returns the element it replaced, which readers
    /// may still be protecting.
    pub(crate) fn swap(&self, new: Option<KBox<T>>) -> Option<Retired<T>> {
        // INVARIANT: the new address comes from `KBox::into_raw`; the old
        // one leaves the cell and goes to the `Retired`.
        let old = publish::publish(&self.cell, into_addr(new));
        let ptr = NonNull::new(core::ptr::with_exposed_provenance_mut::<T>(old))?;
        // INVARIANT: unlinked just now by this exchange; the synchronize
        // addresses are the element's and its cell's.
        Some(Retired {
            ptr,
            cell: self.cell_addr(),
            _owns: PhantomData,
        })
    }
}

impl<T> Drop for HazPtr<T> {
    fn drop(&mut self) {
        let p = core::ptr::with_exposed_provenance_mut::<T>(*self.cell.get_mut());
        if !p.is_null() {
            // SAFETY: By the type invariant the object came from
            // `KBox::into_raw` and is owned by `self`; guards borrow `self`,
            // so no reader is left.
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}

/// An element protected by this CPU's hazard-pointer slot.
///
/// Not `Send`: the slot belongs to this CPU, and preemption is off while
/// the guard lives, so do not sleep while holding it.
#[must_use = "the protection ends when the guard is dropped"]
pub(crate) struct Guard<'a, T, L: Context> {
    value: &'a T,
    hold: Hold<'a, L>,
}

impl<T, L: Context> Guard<'_, T, L> {
    /// Whether this guard nested on a slot already in use on this CPU and
    /// so stored the wildcard.
    pub(crate) fn is_nested(&self) -> bool {
        self.hold.is_nested()
    }

    /// The token lent while the guard lives.
    pub(crate) fn ctx(&mut self) -> &mut L {
        self.hold.lend.ctx()
    }
}

impl<T, L: Context> Deref for Guard<'_, T, L> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value
    }
}

/// A [`HazPtr`] protected as a container: its element (and anything
/// reachable from the cell) stays valid while the guard lives.
#[must_use = "the protection ends when the guard is dropped"]
pub(crate) struct CellGuard<'a, T, L: Context> {
    hold: Hold<'a, L>,
    ptr: &'a HazPtr<T>,
}

impl<T, L: Context> CellGuard<'_, T, L> {
    /// The element the cell publishes now, if any.
    pub(crate) fn get(&self) -> Option<&T> {
        let addr = publish::subscribe(&self.ptr.cell);
        let p = core::ptr::with_exposed_provenance::<T>(addr);
        // SAFETY: The cell's address was published in this CPU's slot and
        // `smp_mb()` ran before this load; an updater that unlinks the
        // element synchronises on the cell's address too, so it waits for
        // this slot before freeing it. The reference lives no longer than
        // `self`.
        unsafe { p.as_ref() }
    }

    /// Whether this guard nested on a slot already in use on this CPU.
    pub(crate) fn is_nested(&self) -> bool {
        self.hold.is_nested()
    }
}

/// This CPU's slot, holding an address published by [`protect_addr`].
///
/// Not `Send`: the slot belongs to this CPU, and preemption is off while
/// the guard lives, so do not sleep while holding it.
#[must_use = "the protection ends when the guard is dropped"]
pub(crate) struct AddrGuard<'a, L: Context> {
    hold: Hold<'a, L>,
}

impl<L: Context> AddrGuard<'_, L> {
    /// Whether this guard nested on a slot already in use on this CPU and
    /// so stored the wildcard.
    pub(crate) fn is_nested(&self) -> bool {
        self.hold.is_nested()
    }
}

/// Publishes `addr` in this CPU's slot and runs `smp_mb()` (r2 and r3 of
/// the protocol): an updater that unlinks something and then runs
/// [`synchronize`] on `addr` waits until the guard is dropped. What the
/// guard makes safe to read is the business of the type that owns `addr`
/// (the protocol's container rule: everything the caller reaches through
/// `addr` *after* this call). Publishing an address is harmless in itself.
/// `addr` must not be 0 or `usize::MAX` (the empty and wildcard values).
/// Any context but NMI (the protocol is NMI-safe, this wrapper is not
/// tested there); preemption is off while the guard lives, which holds
/// `ctx`.
#[inline]
pub(crate) fn protect_addr<C: Context>(ctx: &mut C, addr: usize) -> AddrGuard<'_, C::PreemptOff> {
    AddrGuard {
        hold: Hold::new(proto::acquire(&CPUS, addr), ctx),
    }
}

/// Waits until no CPU's slot holds any of `addrs` or the wildcard (u2 and
/// u3 of the protocol), spinning with `cond_resched()` between CPUs.
/// Process context only, holding no guard (it would wait for itself);
/// used by [`Retired`], whose typed wait takes the proof.
fn synchronize(addrs: &[usize]) {
    task::might_sleep();
    proto::synchronize(&CPUS, addrs);
}

/// An element removed from a [`HazPtr`] that readers may still protect.
///
/// [`Retired::synchronize`] waits until they are done and returns the
/// element; dropping a `Retired` does the same and frees it, so it sleeps.
///
/// # Invariants
///
/// `ptr` came from `KBox::into_raw`, is owned by this `Retired` and can no
/// longer be found through the cell at address `cell`, which readers
/// protecting it as a container published.
pub(crate) struct Retired<T> {
    ptr: NonNull<T>,
    cell: usize,
    _owns: PhantomData<KBox<T>>,
}

// SAFETY: A `Retired` owns its `T`; moving it moves the `T`.
unsafe impl<T: Send> Send for Retired<T> {}

impl<T> Retired<T> {
    /// Takes ownership of an element that a container type unlinked, to be
    /// freed once no slot holds its address, `container` or the wildcard.
    ///
    /// # Safety
    ///
    /// `ptr` came from `KBox::into_raw`, nothing else owns it, and new
    /// readers can no longer reach it; every reader that may still be
    /// using it published `container` (or the element's address) with
    /// [`protect_addr`] before reaching it, and holds that guard while it
    /// uses it.
    pub(crate) unsafe fn from_raw(ptr: NonNull<T>, container: usize) -> Self {
        // INVARIANT: guaranteed by the caller; `cell` is the container.
        Self {
            ptr,
            cell: container,
            _owns: PhantomData,
        }
    }

    /// Waits until no CPU's slot holds the element's address, its cell's
    /// address or the wildcard, and returns the element. Process context
    /// only, holding no guard: `ctx` proves it.
    pub(crate) fn synchronize(self, _ctx: &mut impl MaySleep) -> KBox<T> {
        self.synchronize_unchecked()
    }

    /// [`Retired::synchronize`] for the waiting strategy, whose rule is
    /// `Reclaim::WAITS`.
    fn synchronize_unchecked(self) -> KBox<T> {
        let this = core::mem::ManuallyDrop::new(self);
        this.wait_for_readers();
        // SAFETY: The element came from `KBox::into_raw` and was unlinked
        // before `wait_for_readers`, which found no reader protecting it;
        // new readers cannot find it. `ManuallyDrop` ends this `Retired`.
        unsafe { KBox::from_raw(this.ptr.as_ptr()) }
    }

    /// The updater's half of the protocol: `smp_mb()`, then wait for every
    /// slot that holds the element, its cell or the wildcard.
    fn wait_for_readers(&self) {
        synchronize(&[self.ptr.as_ptr().addr(), self.cell]);
    }
}

impl<T> Drop for Retired<T> {
    fn drop(&mut self) {
        self.wait_for_readers();
        // SAFETY: As in `synchronize`; this `Retired` ends here.
        drop(unsafe { KBox::from_raw(self.ptr.as_ptr()) });
    }
}

impl<T> Reclaim<Retired<T>> for HazptrSynchronize {
    const NAME: &'static str = "hazptr_synchronize";
    const WAITS: bool = true;

    fn reclaim(&self, old: Retired<T>) {
        drop(self.wait(old));
    }
}

impl<T> Wait<Retired<T>> for HazptrSynchronize {
    type Back = KBox<T>;

    fn wait(&self, old: Retired<T>) -> KBox<T> {
        old.synchronize_unchecked()
    }
}
