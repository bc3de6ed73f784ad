// SPDX-License-Identifier: GPL-2.0

//! Locks and lockdep classes.
//!
//! * [`RawSpinLock`] (`raw_spinlock_t`, which the `kernel` crate lacks) and
//!   [`SpinLock`] (`spinlock_t`, on the crate's own backend), both with
//!   `lock()` and `lock_irqsave()`, on the generic [`lock::Lock`];
//! * lock classes ([`LockClass`]): the crate's `static_lock_class!` for one
//!   class per construction site, or a dynamic key, kept alive by its locks;
//! * [`ReapedKey`]: a dynamic key any context may drop, unregistered later
//!   by its [`KeyReaper`], concurrently with other keys (experiment 3).
//!
//! See `Documentation/locking.rst` for how lockdep sees them.

pub(crate) mod lock;
pub(crate) mod lock_class;
pub(crate) mod raw_spinlock;
pub(crate) mod reaper;
pub(crate) mod spinlock;

pub(crate) use lock_class::LockClass;
pub(crate) use raw_spinlock::RawSpinLock;
pub(crate) use reaper::{KeyReaper, ReapedKey};
pub(crate) use spinlock::SpinLock;
