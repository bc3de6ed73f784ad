// SPDX-License-Identifier: GPL-2.0

//! A raw spinlock: `raw_spinlock_t`.
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h).
//!
//! The lock and unlock calls are the kernel's exported `_raw_spin_lock()`
//! family, which the `raw_spin_lock()` macros expand to on x86 (no
//! `CONFIG_INLINE_SPIN_*` there): the same single call as in C, no shim in
//! between (the shim's extra call cost 1.3x-1.4x on the performance kernel).
//! Only initialisation (a macro) and `lockdep_assert_held()` go through the
//! shim.
//!
//! A raw spinlock spins on every preemption model, PREEMPT_RT included, so
//! its critical sections must not sleep, allocate memory or take a
//! `spinlock_t` (which sleeps on PREEMPT_RT). Lockdep records it with the
//! `LD_WAIT_SPIN` wait type, so `CONFIG_PROVE_RAW_LOCK_NESTING` reports a
//! `spinlock_t` taken inside it on any kernel (`Invalid wait context`).

use super::lock::{IrqSaveBackend, Lock, Section};
use crate::{
    context::{Atomic, Context},
    helpers,
};
use kernel::{bindings, prelude::*, sync::lock::Backend};

/// A raw spinlock protecting a `T`; see [`Lock`].
///
/// Create one with [`new_raw_spinlock!`], which gives each construction site
/// its own lockdep class, or with [`Lock::new`] and a dynamic key.
///
/// The `kernel` crate of 7.3 still has no raw spinlock; this is shaped like
/// its `SpinLock` (`rust/kernel/sync/lock/spinlock.rs`).
///
/// # Examples
///
/// ```ignore
/// let counter = KBox::pin_init(new_raw_spinlock!(0u64, "counter"), GFP_KERNEL)?;
/// *counter.lock(ctx) += 1; // raw_spin_lock() ... raw_spin_unlock()
/// {
///     let mut g = counter.lock_irqsave(ctx); // raw_spin_lock_irqsave()
///     *g += 1; // g.ctx() is an `Atomic`: proves nothing
/// } // raw_spin_unlock_irqrestore()
/// ```
pub(crate) type RawSpinLock<T> = Lock<T, RawSpinLockBackend>;

/// Creates a [`RawSpinLock`] initialiser with a static lock class for this
/// call site, named after the site unless a name is given.
#[macro_export]
macro_rules! new_raw_spinlock {
    ($inner:expr $(, $name:literal)? $(,)?) => {
        $crate::sync::RawSpinLock::new(
            $inner,
            ::kernel::optional_name!($($name)?),
            ::kernel::sync::static_lock_class!(),
        )
    };
}

/// The `raw_spinlock_t` backend.
pub(crate) struct RawSpinLockBackend;

// SAFETY: `init` initialises the `raw_spinlock_t` with the given name and key
// (and the spinning wait type); `lock`, `try_lock` and `unlock` are the
// kernel's own `raw_spin_lock()`/`raw_spin_trylock()`/`raw_spin_unlock()`
// (their x86 expansions), which provide mutual exclusion; `relock` is the
// default, `lock` again.
unsafe impl Backend for RawSpinLockBackend {
    type State = bindings::raw_spinlock_t;
    type GuardState = ();

    unsafe fn init(ptr: *mut Self::State, name: *const c_char, key: *mut bindings::lock_class_key) {
        // SAFETY: The `Backend` contract makes `ptr` valid for writes and
        // `name` and `key` valid for as long as the lock.
        unsafe { helpers::rcu_lab_raw_spin_lock_init(ptr, name, key) }
    }

    #[inline]
    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: `ptr` is an initialised lock (`Backend` contract).
        unsafe { bindings::_raw_spin_lock(ptr) }
    }

    #[inline]
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: `ptr` is an initialised lock (`Backend` contract).
        (unsafe { bindings::_raw_spin_trylock(ptr) } != 0).then_some(())
    }

    #[inline]
    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: The caller holds the lock (`Backend` contract).
        unsafe { bindings::_raw_spin_unlock(ptr) }
    }

    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // SAFETY: `ptr` is an initialised lock (`Backend` contract).
        unsafe { helpers::rcu_lab_raw_spin_assert_held(ptr) }
    }
}

// SAFETY: A raw spinlock spins on every model: any context may take it,
// and its holder may do nothing that `Atomic` would have to prove.
unsafe impl<C: Context> Section<C> for RawSpinLockBackend {
    type Lent = Atomic;
}

// SAFETY: These are what the kernel's `raw_spin_lock_irqsave()` and
// `raw_spin_unlock_irqrestore()` expand to on x86.
unsafe impl IrqSaveBackend for RawSpinLockBackend {
    #[inline]
    unsafe fn lock_irqsave(ptr: *mut Self::State) -> c_ulong {
        // SAFETY: `ptr` is an initialised lock (`Backend` contract).
        unsafe { bindings::_raw_spin_lock_irqsave(ptr) }
    }

    #[inline]
    unsafe fn unlock_irqrestore(ptr: *mut Self::State, flags: c_ulong) {
        // SAFETY: The caller holds the lock, taken with `lock_irqsave`
        // which returned `flags`.
        unsafe { bindings::_raw_spin_unlock_irqrestore(ptr, flags) }
    }
}
