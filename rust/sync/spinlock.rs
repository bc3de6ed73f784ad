// SPDX-License-Identifier: GPL-2.0

//! A spinlock: `spinlock_t`, with static or dynamic lock classes and irqsave.
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h).
//!
//! The same C lock and the same backend as the `kernel` crate's `SpinLock`
//! ([`SpinLockBackend`]), on rcu_lab's [`Lock`], which also takes a dynamic
//! lock class and offers [`Lock::lock_irqsave`]. On PREEMPT_RT a
//! `spinlock_t` is a sleeping lock (an rtmutex), and lockdep records it with
//! the `LD_WAIT_CONFIG` wait type on every model.

use super::lock::{IrqSaveBackend, Lock, Section};
use crate::{
    context::{MayAlloc, NoWait},
    helpers,
};
use kernel::{prelude::*, sync::lock::spinlock::SpinLockBackend};

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
            ::kernel::sync::static_lock_class!(),
        )
    };
}

// SAFETY: A `spinlock_t`'s holder may allocate without sleeping and take
// another `spinlock_t` (on PREEMPT_RT the lock is an rtmutex whose holder
// must not block either way); taking it needs the same proof.
unsafe impl<C: MayAlloc> Section<C> for SpinLockBackend {
    type Lent = NoWait;
}

// SAFETY: These are the kernel's `spin_lock_irqsave()` and
// `spin_unlock_irqrestore()` on the `spinlock_t` of `SpinLockBackend`.
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
