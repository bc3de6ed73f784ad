// SPDX-License-Identifier: GPL-2.0

//! A spinlock: `spinlock_t`, with static or dynamic lock classes and irqsave.
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h).
//!
//! The same C lock as the `kernel` crate's `SpinLock`; this one also takes a
//! dynamic lock class and offers [`Lock::lock_irqsave`]. On PREEMPT_RT a
//! `spinlock_t` is a sleeping lock (an rtmutex), and lockdep records it with
//! the `LD_WAIT_CONFIG` wait type on every model.

use super::lock::{IrqSaveBackend, Lock};
use crate::helpers;
use kernel::{
    bindings,
    ffi::{c_char, c_ulong},
    sync::lock::Backend,
};

/// A `spinlock_t` protecting a `T`; see [`Lock`].
pub(crate) type SpinLock<T> = Lock<T, SpinLockBackend>;

/// Creates a [`SpinLock`] initialiser with a static lock class for this
/// call site, named after the site unless a name is given.
#[macro_export]
macro_rules! new_spinlock {
    ($inner:expr $(, $name:literal)? $(,)?) => {
        $crate::sync::SpinLock::new(
            $inner,
            ::kernel::optional_name!($($name)?),
            $crate::static_lock_class!(),
        )
    };
}

/// The `spinlock_t` backend.
pub(crate) struct SpinLockBackend;

// SAFETY: `init` is `__spin_lock_init()` with the given name and key; `lock`
// and `unlock` are the kernel's `spin_lock()`/`spin_unlock()`.
unsafe impl Backend for SpinLockBackend {
    type State = bindings::spinlock_t;
    type GuardState = ();

    unsafe fn init(ptr: *mut Self::State, name: *const c_char, key: *mut bindings::lock_class_key) {
        // SAFETY: The `Backend` contract makes `ptr` valid for writes and
        // `name` and `key` valid for as long as the lock.
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: `ptr` is an initialised lock (`Backend` contract).
        unsafe { bindings::spin_lock(ptr) }
    }

    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: The caller holds the lock (`Backend` contract).
        unsafe { bindings::spin_unlock(ptr) }
    }
}

// SAFETY: These are the kernel's `spin_lock_irqsave()` and
// `spin_unlock_irqrestore()`.
unsafe impl IrqSaveBackend for SpinLockBackend {
    unsafe fn lock_irqsave(ptr: *mut Self::State) -> c_ulong {
        // SAFETY: `ptr` is an initialised lock (`Backend` contract).
        unsafe { helpers::rcu_lab_spin_lock_irqsave(ptr) }
    }

    unsafe fn unlock_irqrestore(ptr: *mut Self::State, flags: c_ulong) {
        // SAFETY: The caller holds the lock, taken with `lock_irqsave`
        // which returned `flags`.
        unsafe { helpers::rcu_lab_spin_unlock_irqrestore(ptr, flags) }
    }
}
