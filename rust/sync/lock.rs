// SPDX-License-Identifier: GPL-2.0

//! A generic lock that accepts static or dynamic lockdep classes.
//!
//! This is the shape of the `kernel` crate's `sync::Lock` (and it reuses its
//! [`Backend`] trait), with two additions the 7.3 crate lacks: the lock
//! class may be a run-time key (see [`LockClass`]), which the lock keeps
//! alive, and backends that can disable interrupts offer
//! [`Lock::lock_irqsave`], whose guard restores the saved flags. (The
//! crate's `SpinLockIrq` is a lock type of its own whose every acquisition
//! disables interrupts; here the caller chooses per acquisition, as with
//! `raw_spin_lock()` and `raw_spin_lock_irqsave()` on one C lock.)

use super::lock_class::LockClass;
use crate::context::{Atomic, Context, Lend};
use core::{cell::UnsafeCell, marker::PhantomPinned};
use kernel::{prelude::*, sync::lock::Backend, types::Opaque};

/// Which callers' tokens may take a backend's lock, and what its guard
/// lends inside (`crate::context`): a raw spinlock may be taken with any
/// token and lends `Atomic`; a `spinlock_t` needs `MayAlloc` (it is a
/// sleeping lock on PREEMPT_RT, and lockdep reports it inside a raw
/// spinlock or a hard interrupt on every model) and lends `NoWait`.
///
/// # Safety
///
/// While a lock of this backend is held in a context that `C` describes,
/// what `Lent` proves holds.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` lock may not be taken with `{C}`",
    label = "this token does not prove that this lock may be taken here",
    note = "a `spinlock_t` needs a token that proves `MayAlloc`"
)]
pub(crate) unsafe trait Section<C: Context>: Backend {
    /// The token the guard lends.
    type Lent: Context;
}

/// A backend whose lock can also be taken with local interrupts disabled.
///
/// # Safety
///
/// In addition to the [`Backend`] contract: `lock_irqsave` acquires the lock
/// with local interrupts disabled and returns the previous interrupt state;
/// `unlock_irqrestore` releases a lock acquired that way and restores the
/// state it is given.
pub(crate) unsafe trait IrqSaveBackend: Backend {
    /// Acquires the lock with interrupts disabled; returns the saved flags.
    ///
    /// # Safety
    ///
    /// As for [`Backend::lock`].
    unsafe fn lock_irqsave(ptr: *mut Self::State) -> c_ulong;

    /// Releases the lock and restores `flags`.
    ///
    /// # Safety
    ///
    /// As for [`Backend::unlock`], for a lock acquired with `lock_irqsave`
    /// whose result was `flags`.
    unsafe fn unlock_irqrestore(ptr: *mut Self::State, flags: c_ulong);
}

/// A mutual-exclusion lock protecting a `T`, of class `class`.
///
/// # Invariants
///
/// `state` was initialised by `B::init` with the key of `class`, which lives
/// as long as the lock (it is a field of the lock).
#[pin_data]
pub(crate) struct Lock<T: ?Sized, B: Backend> {
    #[pin]
    state: Opaque<B::State>,
    #[pin]
    _pin: PhantomPinned,
    class: LockClass,
    data: UnsafeCell<T>,
}

// SAFETY: The lock may be moved to another thread if the data may (it is
// pinned, so in practice it is the owning pointer that moves).
unsafe impl<T: ?Sized + Send, B: Backend> Send for Lock<T, B> {}

// SAFETY: The lock serialises access to the data, so sharing the lock gives
// each thread exclusive access in turn: `T: Send` is enough, as for a mutex.
// `LockClass` is `Sync` (a static key, or an `Arc` of a `Sync` key).
unsafe impl<T: ?Sized + Send, B: Backend> Sync for Lock<T, B> {}

impl<T, B: Backend> Lock<T, B> {
    /// Constructs a lock of class `class` named `name` (lockdep's name).
    pub(crate) fn new(
        t: T,
        name: &'static CStr,
        class: impl Into<LockClass>,
    ) -> impl PinInit<Self> {
        let class = class.into();
        let key = class.as_ptr();
        pin_init!(Self {
            data: UnsafeCell::new(t),
            _pin: PhantomPinned,
            // SAFETY: `slot` is valid for writes and pinned; `name` is a
            // static string; `key` is valid as long as `class`, which is
            // stored in the lock below.
            state <- Opaque::ffi_init(|slot| unsafe { B::init(slot, name.as_char_ptr(), key) }),
            // INVARIANT: the key the state was initialised with.
            class,
        })
    }
}

impl<T: ?Sized, B: Backend> Lock<T, B> {
    /// Asserts (with lockdep) that this context holds the lock.
    pub(crate) fn assert_is_held(&self) {
        // SAFETY: The state was initialised by `B::init` (type invariant).
        unsafe { B::assert_is_held(self.state.get()) }
    }

    /// Acquires the lock; the guard releases it. The guard holds the
    /// caller's token `ctx` and lends a weaker one ([`Section::Lent`]).
    /// The context `ctx` proves, as [`Section`] says.
    pub(crate) fn lock<'a, C: Context>(&'a self, ctx: &'a mut C) -> Guard<'a, T, B, B::Lent>
    where
        B: Section<C>,
    {
        // SAFETY: The state was initialised by `B::init` (type invariant).
        let state = unsafe { B::lock(self.state.get()) };
        Guard {
            lock: self,
            state,
            // SAFETY: What `B::Lent` proves holds while the lock is held
            // (`Section`'s contract).
            lend: unsafe { Lend::new(ctx) },
        }
    }
}

impl<T: ?Sized, B: IrqSaveBackend> Lock<T, B> {
    /// Acquires the lock with local interrupts disabled; the guard releases
    /// it and restores the previous interrupt state. The guard holds the
    /// caller's token `ctx` and lends `Atomic`. The context `ctx` proves,
    /// as [`Section`] says.
    pub(crate) fn lock_irqsave<'a, C: Context>(&'a self, ctx: &'a mut C) -> IrqSaveGuard<'a, T, B>
    where
        B: Section<C>,
    {
        // SAFETY: The state was initialised by `B::init` (type invariant).
        let flags = unsafe { B::lock_irqsave(self.state.get()) };
        IrqSaveGuard {
            lock: self,
            flags,
            // SAFETY: `Atomic` proves nothing.
            lend: unsafe { Lend::new(ctx) },
        }
    }
}

/// Access to the data of a held [`Lock`].
///
/// # Invariants
///
/// The guard's thread holds `lock`, acquired with `B::lock` which returned
/// `state`.
#[must_use = "the lock unlocks immediately when the guard is unused"]
pub(crate) struct Guard<'a, T: ?Sized, B: Backend, L: Context> {
    lock: &'a Lock<T, B>,
    state: B::GuardState,
    // Not `Send` either (the token is not): a lock must be released by the
    // thread that took it.
    lend: Lend<'a, L>,
}

// SAFETY: A shared guard only gives `&T` (the token needs `&mut`).
unsafe impl<T: Sync + ?Sized, B: Backend, L: Context> Sync for Guard<'_, T, B, L> {}

impl<T: ?Sized, B: Backend, L: Context> Guard<'_, T, B, L> {
    /// The token lent inside the critical section.
    pub(crate) fn ctx(&mut self) -> &mut L {
        self.lend.ctx()
    }

    /// The data and the token lent inside, at once.
    pub(crate) fn split(&mut self) -> (&mut T, &mut L) {
        // SAFETY: The lock is held (type invariant) and `&mut self` makes
        // this access unique.
        (unsafe { &mut *self.lock.data.get() }, self.lend.ctx())
    }
}

impl<T: ?Sized, B: Backend, L: Context> core::ops::Deref for Guard<'_, T, B, L> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: The lock is held (type invariant), so no one else accesses
        // the data.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized, B: Backend, L: Context> core::ops::DerefMut for Guard<'_, T, B, L> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: As in `deref`, and `&mut self` makes this access unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized, B: Backend, L: Context> Drop for Guard<'_, T, B, L> {
    fn drop(&mut self) {
        // SAFETY: The lock is held by this thread with `state` (type
        // invariant).
        unsafe { B::unlock(self.lock.state.get(), &self.state) };
    }
}

/// Access to the data of a [`Lock`] held with interrupts disabled.
///
/// # Invariants
///
/// The guard's thread holds `lock`, acquired with `B::lock_irqsave` which
/// returned `flags`.
#[must_use = "the lock unlocks immediately when the guard is unused"]
pub(crate) struct IrqSaveGuard<'a, T: ?Sized, B: IrqSaveBackend> {
    lock: &'a Lock<T, B>,
    flags: c_ulong,
    // Not `Send` either (the token is not): interrupt state and lock
    // ownership belong to this CPU and thread.
    lend: Lend<'a, Atomic>,
}

// SAFETY: A shared guard only gives `&T` (the token needs `&mut`).
unsafe impl<T: Sync + ?Sized, B: IrqSaveBackend> Sync for IrqSaveGuard<'_, T, B> {}

impl<T: ?Sized, B: IrqSaveBackend> IrqSaveGuard<'_, T, B> {
    /// The token lent inside the critical section: proves nothing.
    pub(crate) fn ctx(&mut self) -> &mut Atomic {
        self.lend.ctx()
    }
}

impl<T: ?Sized, B: IrqSaveBackend> core::ops::Deref for IrqSaveGuard<'_, T, B> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: The lock is held (type invariant).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized, B: IrqSaveBackend> core::ops::DerefMut for IrqSaveGuard<'_, T, B> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: The lock is held (type invariant) and `&mut self` makes
        // this access unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized, B: IrqSaveBackend> Drop for IrqSaveGuard<'_, T, B> {
    fn drop(&mut self) {
        // SAFETY: The lock is held by this thread, taken with
        // `lock_irqsave` which returned `flags` (type invariant).
        unsafe { B::unlock_irqrestore(self.lock.state.get(), self.flags) };
    }
}
