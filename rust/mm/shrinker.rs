// SPDX-License-Identifier: GPL-2.0

//! Memory-pressure callbacks: shrinkers.
//!
//! C header: [`include/linux/shrinker.h`](srctree/include/linux/shrinker.h).
//!
//! The `kernel` crate of 7.3 has no shrinker. A [`Shrinker`] registers one
//! for an owner that implements [`Shrink`]; reclaim then asks the owner how
//! much it could give back and tells it to give some back.

use crate::helpers;
use core::ptr::NonNull;
use kernel::{bindings, prelude::*};

/// An owner of memory it can give back under pressure.
pub(crate) trait Shrink: Sync {
    /// How many objects could be freed now (0: do not call `scan`).
    fn count(&self) -> usize;
    /// Frees up to `nr` objects; returns how many it freed. Runs in
    /// reclaim context: may sleep, must not allocate.
    fn scan(&self, nr: usize) -> usize;
}

/// A registered shrinker; dropping it unregisters it and waits for
/// callbacks in progress.
///
/// # Invariants
///
/// `ptr` is a registered shrinker from `rcu_lab_shrinker_register()` whose
/// callbacks use an owner `T` that outlives this value.
pub(crate) struct Shrinker {
    ptr: NonNull<bindings::shrinker>,
}

// SAFETY: Unregistering may happen from any thread.
unsafe impl Send for Shrinker {}
// SAFETY: `&Shrinker` allows nothing.
unsafe impl Sync for Shrinker {}

unsafe extern "C" fn count_callback<T: Shrink>(data: *mut c_void, _nr: c_ulong) -> c_ulong {
    // SAFETY: `data` is the owner given to `register`, alive while the
    // shrinker is registered (type invariant).
    unsafe { &*data.cast::<T>() }.count() as c_ulong
}

unsafe extern "C" fn scan_callback<T: Shrink>(data: *mut c_void, nr: c_ulong) -> c_ulong {
    // SAFETY: As in `count_callback`.
    unsafe { &*data.cast::<T>() }.scan(nr as usize) as c_ulong
}

impl Shrinker {
    /// Registers a shrinker named `rcu_lab-<name>` for `owner`.
    ///
    /// # Safety
    ///
    /// `owner` must stay valid (pinned) until the returned value is
    /// dropped.
    pub(crate) unsafe fn register<T: Shrink>(name: &CStr, owner: *const T) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated and copied; the callbacks match
        // the type of `owner`, which the caller keeps alive.
        let p = unsafe {
            helpers::rcu_lab_shrinker_register(
                name.as_char_ptr(),
                Some(count_callback::<T>),
                Some(scan_callback::<T>),
                owner.cast_mut().cast(),
            )
        };
        // INVARIANT: registered for `owner`, which the caller keeps alive.
        Ok(Self {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
        })
    }
}

impl Drop for Shrinker {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the shrinker is registered; this
        // unregisters and frees it, waiting for running callbacks.
        unsafe { helpers::rcu_lab_shrinker_free(self.ptr.as_ptr()) }
    }
}
