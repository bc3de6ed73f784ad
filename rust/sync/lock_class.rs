// SPDX-License-Identifier: GPL-2.0

//! Lockdep lock classes: static ones per construction site, and dynamic
//! ones created and destroyed at run time.
//!
//! C header: [`include/linux/lockdep.h`](srctree/include/linux/lockdep.h).
//!
//! The keys are the `kernel` crate's [`LockClassKey`]: a static key comes
//! from [`kernel::sync::static_lock_class!`] (one per construction site), a
//! dynamic one from [`LockClassKey::new_dynamic`], which registers the key
//! with `lockdep_register_key()` and unregisters it when dropped.
//! Unregistering zaps every class of the key and then waits for an RCU grace
//! period (`synchronize_rcu_expedited()` since 6.17), so it sleeps:
//! `lockdep_unregister_key()` begins with `might_sleep()`, so a drop in
//! atomic context is reported by `CONFIG_DEBUG_ATOMIC_SLEEP` rather than
//! silently sleeping there.
//!
//! What rcu_lab adds is [`LockClass`]: the `kernel` crate's locks take a
//! `Pin<&'static LockClassKey>`, so a dynamic key must outlive every lock,
//! which is the caller's burden. rcu_lab's locks hold a `LockClass` instead,
//! which keeps a dynamic key alive (an [`Arc`]) for as long as any lock
//! uses it: the last lock, or the last other owner, to go drops it, and must
//! do so in process context. A [`super::ReapedKey`] lifts that rule: its
//! last holder may go in any context, and its reaper unregisters it later.

use crate::context::MaySleep;
use kernel::{
    prelude::*,
    sync::{Arc, LockClassKey},
};

/// The class of a lock: a static key or a shared dynamic key.
///
/// Holding a `LockClass` keeps its key valid and registered, so a lock can
/// never outlive the key it was initialised with.
///
/// # Examples
///
/// ```ignore
/// let key = LockClass::new_dynamic()?;
/// let a = KBox::pin_init(RawSpinLock::new(0, c"a", key.clone()), GFP_KERNEL)?;
/// let b = KBox::pin_init(RawSpinLock::new(0, c"b", key), GFP_KERNEL)?;
/// // `a` and `b` share one lockdep class; it is unregistered when both
/// // are dropped.
/// ```
#[derive(Clone)]
pub(crate) enum LockClass {
    /// A per-construction-site key from `static_lock_class!`.
    Static(Pin<&'static LockClassKey>),
    /// A run-time key, registered while any holder lives.
    Dynamic(Arc<LockClassKey>),
    /// A run-time key whose last holder may go in any context: its
    /// [`KeyReaper`](super::KeyReaper) unregisters it later.
    Reaped(super::ReapedKey),
}

impl LockClass {
    /// A new dynamic class: allocates and registers a key. Sleeps (in the
    /// allocation: `ctx` proves it may); the key is unregistered when the
    /// last holder drops it.
    pub(crate) fn new_dynamic(_ctx: &mut impl MaySleep) -> Result<Self> {
        Ok(LockClass::Dynamic(Arc::pin_init(
            LockClassKey::new_dynamic(),
            GFP_KERNEL,
        )?))
    }

    /// Pointer to the key, valid while `self` lives.
    pub(crate) fn as_ptr(&self) -> *mut kernel::bindings::lock_class_key {
        match self {
            LockClass::Static(k) => k.as_ptr(),
            LockClass::Dynamic(k) => k.as_ptr(),
            LockClass::Reaped(k) => k.as_ptr(),
        }
    }
}

impl From<super::ReapedKey> for LockClass {
    fn from(k: super::ReapedKey) -> Self {
        LockClass::Reaped(k)
    }
}

impl From<Pin<&'static LockClassKey>> for LockClass {
    fn from(k: Pin<&'static LockClassKey>) -> Self {
        LockClass::Static(k)
    }
}
