// SPDX-License-Identifier: GPL-2.0

//! Lockdep lock class keys: static ones per construction site, and dynamic
//! ones created and destroyed at run time.
//!
//! C header: [`include/linux/lockdep.h`](srctree/include/linux/lockdep.h).
//!
//! Lockdep names a lock's class by the address of a `struct lock_class_key`.
//! A key in static memory (the kernel image or a module's data) needs no
//! registration. A key in dynamic memory must be registered with
//! `lockdep_register_key()` before use and unregistered with
//! `lockdep_unregister_key()` before its memory is freed; unregistering zaps
//! every class of the key and then waits for an RCU grace period
//! (`synchronize_rcu()` in 6.12), so it sleeps.
//!
//! [`DynamicLockClassKey`] registers on initialisation and unregisters when
//! dropped; its drop calls `might_sleep()` first, so dropping it in atomic
//! context is reported by `CONFIG_DEBUG_ATOMIC_SLEEP` rather than silently
//! sleeping there. Locks hold their key through a [`LockClass`], which keeps
//! a dynamic key alive (an [`Arc`]) for as long as any lock uses it: the last
//! lock, or the last other owner, to go drops it, and must do so in process
//! context. Defer it to a workqueue from RCU callbacks or atomic sections.

use crate::task::might_sleep;
use core::marker::PhantomPinned;
use kernel::{bindings, init::PinInit, pin_init, prelude::*, sync::Arc, types::Opaque};

/// A lockdep key in static memory.
///
/// Create one per lock construction site with [`static_lock_class!`].
///
/// # Invariants
///
/// The key lives in static memory (a `static` item), where lockdep accepts
/// keys without registration.
#[repr(transparent)]
pub(crate) struct StaticLockClassKey(Opaque<bindings::lock_class_key>);

// SAFETY: `struct lock_class_key` is used concurrently by lockdep, which
// provides its own synchronisation; Rust code never reads or writes it.
unsafe impl Sync for StaticLockClassKey {}

impl StaticLockClassKey {
    /// Creates the key for a `static` item.
    ///
    /// # Safety
    ///
    /// The result must be stored in a `static` item and used only there.
    #[doc(hidden)]
    pub(crate) const unsafe fn new() -> Self {
        // INVARIANT: the caller puts it in a `static`.
        Self(Opaque::uninit())
    }

    fn as_ptr(&self) -> *mut bindings::lock_class_key {
        self.0.get()
    }
}

/// Defines a lock class for this construction site and returns a
/// `&'static StaticLockClassKey` to it.
#[macro_export]
macro_rules! static_lock_class {
    () => {{
        // SAFETY: The key is stored in a `static` item.
        static CLASS: $crate::sync::lock_class::StaticLockClassKey =
            unsafe { $crate::sync::lock_class::StaticLockClassKey::new() };
        &CLASS
    }};
}

/// A lockdep key in dynamic memory, registered while it exists.
///
/// One per object whose locks should form a class of their own, like the
/// kernel does for each qdisc. Use it through an `Arc` (see [`LockClass`]).
///
/// # Invariants
///
/// `key` is registered with lockdep (`lockdep_register_key()`) from the end
/// of initialisation until `drop`, and does not move in between.
#[pin_data(PinnedDrop)]
pub(crate) struct DynamicLockClassKey {
    #[pin]
    key: Opaque<bindings::lock_class_key>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: As for `StaticLockClassKey`: lockdep synchronises its own use of
// the key, and Rust code never touches its contents.
unsafe impl Sync for DynamicLockClassKey {}

// SAFETY: The key may be unregistered from any thread (in process context,
// which `drop` checks).
unsafe impl Send for DynamicLockClassKey {}

impl DynamicLockClassKey {
    /// Initialises and registers a new key.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // INVARIANT: the key is zeroed and then registered in place; it
            // is pinned from here on.
            key <- Opaque::ffi_init(|slot: *mut bindings::lock_class_key| {
                // SAFETY: `slot` is valid for writes and pinned; a zeroed
                // `lock_class_key` is its expected initial state.
                unsafe {
                    core::ptr::write_bytes(slot, 0, 1);
                    bindings::lockdep_register_key(slot);
                }
            }),
            _pin: PhantomPinned,
        })
    }

    /// Allocates a new registered key, shared by the locks that use it.
    pub(crate) fn new_arc() -> Result<Arc<Self>> {
        Arc::pin_init(Self::new(), GFP_KERNEL)
    }

    fn as_ptr(&self) -> *mut bindings::lock_class_key {
        self.key.get()
    }
}

#[pinned_drop]
impl PinnedDrop for DynamicLockClassKey {
    fn drop(self: Pin<&mut Self>) {
        // Unregistering waits for a grace period: complain loudly, here and
        // not deep inside lockdep, when called where sleeping is forbidden.
        might_sleep();
        // SAFETY: By the type invariant the key is registered and has not
        // moved; the locks that used it are gone (they hold an `Arc` to it).
        unsafe { bindings::lockdep_unregister_key(self.as_ptr()) };
    }
}

/// The class of a lock: a static key or a shared dynamic key.
///
/// Holding a `LockClass` keeps its key valid, so a lock can never outlive
/// the key it was initialised with.
pub(crate) enum LockClass {
    /// A per-construction-site key from [`static_lock_class!`].
    Static(&'static StaticLockClassKey),
    /// A run-time key; the lock keeps it alive.
    Dynamic(Arc<DynamicLockClassKey>),
}

impl LockClass {
    /// Pointer to the key, valid while `self` lives.
    pub(crate) fn as_ptr(&self) -> *mut bindings::lock_class_key {
        match self {
            LockClass::Static(k) => k.as_ptr(),
            LockClass::Dynamic(k) => k.as_ptr(),
        }
    }
}

impl From<&'static StaticLockClassKey> for LockClass {
    fn from(k: &'static StaticLockClassKey) -> Self {
        LockClass::Static(k)
    }
}

impl From<Arc<DynamicLockClassKey>> for LockClass {
    fn from(k: Arc<DynamicLockClassKey>) -> Self {
        LockClass::Dynamic(k)
    }
}
