// SPDX-License-Identifier: GPL-2.0

//! Contexts as types: what the running code may do, proved by a value in
//! scope (seed 002's quarrel, answered by the compiler).
//!
//! Three tokens, none of them `Copy`, `Clone`, `Send` or `Sync`:
//!
//! * [`Sleep`]: this context may sleep (a task, nothing held, interrupts
//!   on), so it may also allocate without sleeping;
//! * [`NoWait`]: this context may allocate without sleeping
//!   (`GFP_NOWAIT`), and take a `spinlock_t`, but must not block: under a
//!   `spinlock_t` or an RCU read guard, in a softirq timer, in an RCU
//!   callback;
//! * [`Atomic`]: proves nothing (a raw spinlock or any irqsave guard held,
//!   interrupts off, a hard interrupt, a `Drop` that may run anywhere).
//!
//! Entry points hand them out by construction (a kthread body, a debugfs
//! write and a work item get `&mut Sleep`; an RCU callback and a softirq
//! timer `&mut NoWait`; a hard-interrupt timer `&mut Atomic`), lent for the
//! callback's duration only. A function with a context rule asks for a
//! proof by trait ([`MayAlloc`], [`MaySleep`]), whose message is stable.
//! A critical section (a lock guard, [`IrqsOff`], [`RcuRead`], a hazard
//! pointer) borrows the caller's token by `&mut` for its whole life, so the
//! proof cannot be used inside it, and lends a weaker one ([`Lend`]):
//!
//! * a raw spinlock, any irqsave guard and [`IrqsOff`] lend [`Atomic`];
//! * a `spinlock_t` (taking one needs [`MayAlloc`]) lends [`NoWait`];
//! * [`RcuRead`] lends the weaker of the caller's token and [`NoWait`]
//!   ([`Context::UpToNoWait`]);
//! * a preemption-disabled section (a hazard pointer, `PreemptDisabled`)
//!   lends the same on lazy and full, and [`Atomic`] on PREEMPT_RT
//!   ([`Context::PreemptOff`]).
//!
//! The model is known when the module is built: kbuild passes the kernel's
//! configuration to rustc (`--cfg CONFIG_PREEMPT_RT`), so the preemption-off
//! section's type differs between the RT build and the others.
//!
//! Forging a token is `unsafe` ([`Context::assume`], [`enter`],
//! [`untracked`]), even [`Atomic`], which proves nothing: a second token in
//! one context would let code lock with it and keep using its proof inside
//! the section.
//!
//! This file uses only `core` and `kernel`, so that the compile-fail cases
//! (`scripts/compile-fail/`) can build against it.
//!
//! What the types cannot see: C callers, the `kernel` crate's own
//! `local_interrupt_disable()`, `SpinLockIrq` and `KBox::new(_, GFP_*)`,
//! and contexts entered behind the module's back. See
//! `Documentation/raw_call_rcu.rst`.

use core::marker::PhantomData;
use kernel::{interrupt::LocalInterruptDisabled, sync::rcu};

/// Private supertraits: no other file can implement a token trait or a
/// proof (a proof implemented for `Atomic` would be forged in safe code).
mod sealed {
    pub(crate) trait Sealed {}
    pub(crate) trait MayAlloc {}
    pub(crate) trait MaySleep {}
}

/// A context token. Sealed: the three tokens of this file are the only
/// ones.
pub(crate) trait Context: sealed::Sealed + Sized {
    /// What a section that keeps "may allocate without sleeping" lends (a
    /// `spinlock_t` guard, an RCU read guard): the weaker of this token and
    /// [`NoWait`].
    type UpToNoWait: Context;

    /// What a preemption-disabled section lends: [`Context::UpToNoWait`] on
    /// lazy and full, [`Atomic`] on PREEMPT_RT (where `GFP_NOWAIT` may take
    /// a sleeping lock).
    type PreemptOff: Context;

    /// Makes a token out of nothing.
    ///
    /// # Safety
    ///
    /// The running code is in a context where what the token proves holds
    /// (see the token's doc) for as long as the token lives, and it is not
    /// moved to another thread. For [`Atomic`], which proves nothing, any
    /// context.
    unsafe fn assume() -> Self;

    /// This token's proof that allocating without sleeping is legal, if its
    /// type carries one: decided by the type, at compile time.
    fn may_alloc(&mut self) -> Option<&mut NoWait>;
}

/// Proves that this context may allocate without sleeping (`GFP_NOWAIT`)
/// and take a `spinlock_t`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not prove that this context may allocate",
    label = "no proof that allocating without sleeping is legal here",
    note = "a raw spinlock, an irqsave guard, `IrqsOff`, a hard interrupt and PREEMPT_RT's \
            preemption-off sections lend `Atomic`, which proves nothing"
)]
pub(crate) trait MayAlloc: Context + sealed::MayAlloc {}

/// Proves that this context may sleep.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not prove that this context may sleep",
    label = "no proof that sleeping is legal here",
    note = "only a task-context entry (a kthread body, a debugfs write, a work item) gives \
            `Sleep`, and every lock, read guard and hazard pointer lends a weaker token"
)]
pub(crate) trait MaySleep: MayAlloc + sealed::MaySleep {
    /// The proof.
    fn sleep(&mut self) -> &mut Sleep;
}

/// A token that proves nothing: any context but NMI.
pub(crate) struct Atomic {
    _not_send: PhantomData<*mut ()>,
}

/// A token that proves that this context may allocate without sleeping
/// (`GFP_NOWAIT`) and may take a `spinlock_t`, but must not block: not in a
/// hard interrupt, not under a raw spinlock, not with interrupts off on
/// PREEMPT_RT.
pub(crate) struct NoWait {
    _not_send: PhantomData<*mut ()>,
}

/// A token that proves that this context may sleep: a task, holding no
/// lock, no read guard, no hazard pointer, interrupts and preemption on.
pub(crate) struct Sleep {
    nowait: NoWait,
}

impl sealed::Sealed for Atomic {}
impl sealed::Sealed for NoWait {}
impl sealed::Sealed for Sleep {}
impl sealed::MayAlloc for NoWait {}
impl sealed::MayAlloc for Sleep {}
impl sealed::MaySleep for Sleep {}

impl Context for Atomic {
    type UpToNoWait = Atomic;
    type PreemptOff = Atomic;

    #[inline]
    unsafe fn assume() -> Self {
        Atomic {
            _not_send: PhantomData,
        }
    }

    #[inline]
    fn may_alloc(&mut self) -> Option<&mut NoWait> {
        None
    }
}

/// What a preemption-disabled section lends a caller that may allocate:
/// [`NoWait`] on lazy and full, [`Atomic`] on PREEMPT_RT, where
/// `GFP_NOWAIT` may take a sleeping lock. The one place the model decides.
#[cfg(not(CONFIG_PREEMPT_RT))]
type AllocPreemptOff = NoWait;
#[cfg(CONFIG_PREEMPT_RT)]
type AllocPreemptOff = Atomic;

impl Context for NoWait {
    type UpToNoWait = NoWait;
    type PreemptOff = AllocPreemptOff;

    #[inline]
    unsafe fn assume() -> Self {
        NoWait {
            _not_send: PhantomData,
        }
    }

    #[inline]
    fn may_alloc(&mut self) -> Option<&mut NoWait> {
        Some(self)
    }
}

impl Context for Sleep {
    type UpToNoWait = NoWait;
    type PreemptOff = AllocPreemptOff;

    #[inline]
    unsafe fn assume() -> Self {
        Sleep {
            // SAFETY: What `Sleep` proves includes what `NoWait` proves, for
            // as long as this token lives (the caller's promise).
            nowait: unsafe { NoWait::assume() },
        }
    }

    #[inline]
    fn may_alloc(&mut self) -> Option<&mut NoWait> {
        Some(&mut self.nowait)
    }
}

impl MayAlloc for NoWait {}

impl MayAlloc for Sleep {}

impl MaySleep for Sleep {
    #[inline]
    fn sleep(&mut self) -> &mut Sleep {
        self
    }
}

/// Runs `f` with a token of type `C` as an entry point (a kthread body, a
/// timer or RCU callback) hands it out, lent for `f`'s call only.
///
/// # Safety
///
/// As for [`Context::assume`], for the duration of `f`.
#[inline]
pub(crate) unsafe fn enter<C: Context, R>(f: impl FnOnce(&mut C) -> R) -> R {
    // SAFETY: The caller's promise, for the token's life (`f`'s call).
    f(&mut unsafe { C::assume() })
}

/// Runs `f` with a token that proves nothing, for code of the safe-types
/// floor that takes its own raw locks in any context and is given no token
/// (a `Drop`, an enqueue path called from everywhere).
///
/// # Safety
///
/// No token of the caller's is used while `f` runs: the calling frame
/// holds none, and `f` calls no code that was given one. (A section taken
/// with this token does not hold the caller's proof.)
#[inline]
pub(crate) unsafe fn untracked<R>(f: impl FnOnce(&mut Atomic) -> R) -> R {
    // SAFETY: `Atomic` proves nothing; the caller's promise covers the
    // rest.
    f(&mut unsafe { Atomic::assume() })
}

/// A section's hold on its caller's token, and the weaker token it lends.
///
/// Built by a guard when its section begins: the caller's token stays
/// mutably borrowed for `'a`, the guard's lifetime, so the caller cannot
/// use (or lend) its proof inside the section; code inside uses
/// [`Lend::ctx`].
///
/// # Invariants
///
/// While the value lives, the running context proves what `L` proves.
pub(crate) struct Lend<'a, L: Context> {
    lent: L,
    _caller: PhantomData<&'a mut ()>,
}

impl<'a, L: Context> Lend<'a, L> {
    /// Borrows `caller` for `'a` and lends an `L`.
    ///
    /// # Safety
    ///
    /// Until the value is dropped, what `L` proves holds in this context.
    #[inline]
    pub(crate) unsafe fn new<C: Context>(_caller: &'a mut C) -> Self {
        // INVARIANT: The caller's promise.
        Lend {
            // SAFETY: The caller's promise; the token lives no longer than
            // `self`.
            lent: unsafe { L::assume() },
            _caller: PhantomData,
        }
    }

    /// The token lent inside the section.
    #[inline]
    pub(crate) fn ctx(&mut self) -> &mut L {
        &mut self.lent
    }
}

/// Local interrupts disabled: the `kernel` crate's
/// `LocalInterruptDisabled`, holding the caller's token and lending
/// [`Atomic`].
pub(crate) struct IrqsOff<'a> {
    _irq: LocalInterruptDisabled,
    lend: Lend<'a, Atomic>,
}

/// Disables local interrupts (the crate's `local_interrupt_disable()`)
/// until the guard is dropped. Any context.
#[inline]
pub(crate) fn irqs_off<C: Context>(ctx: &mut C) -> IrqsOff<'_> {
    let irq = kernel::interrupt::local_interrupt_disable();
    IrqsOff {
        _irq: irq,
        // SAFETY: `Atomic` proves nothing.
        lend: unsafe { Lend::new(ctx) },
    }
}

impl IrqsOff<'_> {
    /// The token lent inside: proves nothing.
    #[inline]
    pub(crate) fn ctx(&mut self) -> &mut Atomic {
        self.lend.ctx()
    }
}

/// An RCU read-side critical section: the `kernel` crate's
/// `rcu::Guard`, holding the caller's token and lending the weaker of it
/// and [`NoWait`].
pub(crate) struct RcuRead<'a, L: Context> {
    guard: rcu::Guard,
    lend: Lend<'a, L>,
}

/// Enters an RCU read-side critical section until the guard is dropped.
/// Any context.
#[inline]
pub(crate) fn rcu_read_lock<C: Context>(ctx: &mut C) -> RcuRead<'_, C::UpToNoWait> {
    RcuRead {
        guard: rcu::read_lock(),
        // SAFETY: An RCU reader may do what its context allowed but block:
        // allocating without sleeping and taking a `spinlock_t` stay legal
        // where they were (on PREEMPT_RT the reader is preemptible and a
        // `spinlock_t` may be taken in it).
        lend: unsafe { Lend::new(ctx) },
    }
}

impl<L: Context> RcuRead<'_, L> {
    /// The token lent inside.
    #[inline]
    pub(crate) fn ctx(&mut self) -> &mut L {
        self.lend.ctx()
    }

    /// The crate's guard, for APIs that take it.
    #[inline]
    pub(crate) fn guard(&self) -> &rcu::Guard {
        &self.guard
    }
}
