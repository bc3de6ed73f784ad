// SPDX-License-Identifier: GPL-2.0

//! Locks and lockdep classes.
//!
//! * [`RawSpinLock`] (`raw_spinlock_t`) and [`SpinLock`] (`spinlock_t`), both
//!   with `lock()` and `lock_irqsave()`, on the generic [`lock::Lock`];
//! * lock classes: [`static_lock_class!`] for one class per construction
//!   site, [`DynamicLockClassKey`] for classes created at run time.
//!
//! See `Documentation/locking.rst` for how lockdep sees them.

pub(crate) mod lock;
pub(crate) mod lock_class;
pub(crate) mod raw_spinlock;
pub(crate) mod spinlock;

pub(crate) use lock_class::DynamicLockClassKey;
pub(crate) use raw_spinlock::RawSpinLock;
pub(crate) use spinlock::SpinLock;
