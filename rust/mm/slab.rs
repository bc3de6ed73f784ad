// SPDX-License-Identifier: GPL-2.0

//! Slab caches with an object size chosen at run time, and their objects.
//!
//! C header: [`include/linux/slab.h`](srctree/include/linux/slab.h).
//!
//! The `kernel` crate of 7.3 has `kmem_cache` only inside its allocator
//! back-ends. The kfree_rcu experiment needs caches of its own: one per
//! variant, never merged with another (`SLAB_NO_MERGE`), with or without
//! 7.3's per-CPU sheaves, whose objects it frees in each of the kernel's
//! deferred ways. Every [`SlabObj`] has an `rcu_head` (also usable as a
//! `struct kvfree_rcu_head`) at offset 0 and is zeroed when allocated.

use crate::{
    context::MaySleep,
    helpers,
    reclaim::{CallRcu, KfreeRcuNolock, KvfreeRcu, Reclaim, SynchronizeRcu},
};
use core::ptr::NonNull;
use kernel::{
    alloc::{Allocator, Vec},
    bindings,
    prelude::*,
    str::CString,
};

/// Object sizes a [`SlabCache`] accepts: room for the `rcu_head`, and at
/// most a page (`kvfree_call_rcu()` needs the head in the first 4096 bytes,
/// which offset 0 always is).
pub(crate) const OBJECT_SIZES: core::ops::RangeInclusive<usize> =
    size_of::<bindings::callback_head>()..=4096;

/// A slab cache (`struct kmem_cache`).
///
/// Dropping it waits for `call_rcu()` callbacks (`rcu_barrier()`) and
/// destroys it; `kmem_cache_destroy()` itself waits for the cache's
/// `kfree_rcu()` objects (`kvfree_rcu_barrier_on_cache()`) and reports
/// objects still allocated (a leak) with a warning.
///
/// # Examples
///
/// ```ignore
/// let cache = SlabCache::new(CString::try_from_fmt(fmt!("demo"))?, 64, true)?;
/// let obj = cache.alloc()?;
/// obj.kvfree_rcu(); // freed after a grace period
/// drop(cache);      // waits for it
/// ```
///
/// # Invariants
///
/// `ptr` is a live cache created by `rcu_lab_kmem_cache_create()`, named
/// `name` (which lives as long as it).
pub(crate) struct SlabCache {
    ptr: NonNull<bindings::kmem_cache>,
    name: CString,
}

// SAFETY: A `kmem_cache` may be used and destroyed from any thread.
unsafe impl Send for SlabCache {}
// SAFETY: Allocating from and freeing to a cache are thread-safe.
unsafe impl Sync for SlabCache {}

impl SlabCache {
    /// Creates cache `name` of `size`-byte objects (within
    /// [`OBJECT_SIZES`]); without `sheaves` it is created with
    /// `SLAB_NOLEAKTRACE`, which turns 7.3's sheaves off. Sleeps: `ctx`
    /// proves it may.
    pub(crate) fn new(
        _ctx: &mut impl MaySleep,
        name: CString,
        size: usize,
        sheaves: bool,
    ) -> Result<Self> {
        if !OBJECT_SIZES.contains(&size) {
            return Err(EINVAL);
        }
        // SAFETY: `name` is NUL-terminated and outlives the cache (it is
        // stored in it); `size` is within the limits checked above.
        let p =
            unsafe { helpers::rcu_lab_kmem_cache_create(name.as_char_ptr(), size as u32, sheaves) };
        // INVARIANT: a new cache named `name`.
        Ok(Self {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
            name,
        })
    }

    /// Allocates a zeroed object, `ENOMEM` when memory is short: with
    /// `GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN` it reclaims a little but
    /// never invokes the OOM killer, so a load that outgrows memory fails
    /// itself instead of having processes killed for it (nor does it dip
    /// into the emergency reserves, `__GFP_NOMEMALLOC`). Sleeps: `ctx`
    /// proves it may.
    pub(crate) fn alloc(&self, _ctx: &mut impl MaySleep) -> Result<SlabObj<'_>> {
        // SAFETY: The cache is live (type invariant).
        let p = unsafe { helpers::rcu_lab_kmem_cache_alloc_noretry(self.ptr.as_ptr(), true) };
        // INVARIANT: a new object of this cache, owned by nobody else.
        Ok(SlabObj {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
            cache: self,
        })
    }

    /// Allocates an object without zeroing it, with the kernel's refill
    /// flags (`GFP_KERNEL | __GFP_NORETRY | __GFP_NOMEMALLOC`, no warning);
    /// `None` if that fails. May sleep.
    pub(crate) fn alloc_noretry(&self) -> Option<SlabObj<'_>> {
        // SAFETY: The cache is live (type invariant).
        let p = unsafe { helpers::rcu_lab_kmem_cache_alloc_noretry(self.ptr.as_ptr(), false) };
        // INVARIANT: a new object of this cache, owned by nobody else.
        Some(SlabObj {
            ptr: NonNull::new(p)?,
            cache: self,
        })
    }

    /// Writes `val` to `/sys/kernel/slab/<name>/<attr>` (e.g. `failslab`:
    /// 1 makes failslab's `cache-filter` apply to this cache). Sleeps:
    /// `ctx` proves it may.
    pub(crate) fn set_attr(&self, _ctx: &mut impl MaySleep, attr: &CStr, val: u64) -> Result {
        // SAFETY: Both strings are NUL-terminated.
        let r = unsafe {
            helpers::rcu_lab_slab_attr_set(self.name.as_char_ptr(), attr.as_char_ptr(), val)
        };
        kernel::error::to_result(r)
    }

    /// The first number of `/sys/kernel/slab/<name>/<attr>`: `slabs`,
    /// `order`, `sheaf_capacity`, and with `CONFIG_SLUB_STATS` counters
    /// like `free_rcu_sheaf`. `None` if the kernel has no such file.
    /// Sleeps: `ctx` proves it may.
    pub(crate) fn attr(&self, _ctx: &mut impl MaySleep, attr: &CStr) -> Option<u64> {
        let mut v = 0u64;
        // SAFETY: Both strings are NUL-terminated; `v` is valid for writes.
        let r = unsafe {
            helpers::rcu_lab_slab_attr(self.name.as_char_ptr(), attr.as_char_ptr(), &mut v)
        };
        (r == 0).then_some(v)
    }
}

impl Drop for SlabCache {
    fn drop(&mut self) {
        // `call_rcu()`'d objects of this cache are freed by callbacks.
        kernel::sync::rcu::rcu_barrier();
        // SAFETY: The cache is live (type invariant) and every `SlabObj`
        // borrowed it, so none is left; this is its last use.
        unsafe { bindings::kmem_cache_destroy(self.ptr.as_ptr()) }
    }
}

/// One object of a [`SlabCache`]; freed to it when dropped.
///
/// # Invariants
///
/// `ptr` is an object of `cache`, owned by this value, at least
/// `size_of::<callback_head>()` bytes, not queued for any deferred free.
pub(crate) struct SlabObj<'c> {
    ptr: NonNull<c_void>,
    cache: &'c SlabCache,
}

// SAFETY: The object is plain memory owned by this value.
unsafe impl Send for SlabObj<'_> {}

/// `call_rcu()` callback of [`SlabObj::call_rcu`]: frees the object.
///
/// # Safety
///
/// `head` is at offset 0 of a slab object queued once by `call_rcu`.
unsafe extern "C" fn kfree_callback(head: *mut bindings::callback_head) {
    // SAFETY: The head is the start of the slab object (offset 0), whose
    // grace period has ended; `kfree()` frees objects of any cache.
    unsafe { bindings::kfree(head.cast()) }
}

impl<'c> SlabObj<'c> {
    /// Gives up the object, which nobody frees unless the caller sees to
    /// it (`kfree()` frees objects of any cache): what
    /// [`crate::rcu::batch::KfreeRcu`] hands to a batching engine.
    pub(crate) fn into_ptr(self) -> NonNull<c_void> {
        core::mem::ManuallyDrop::new(self).ptr
    }

    /// Frees the object after a grace period with the kernel's
    /// `kvfree_call_rcu()` (two-argument `kfree_rcu()`): 7.3's sheaf path
    /// if the cache has sheaves, else the page-block path. Any context but
    /// NMI and raw spinlocks on PREEMPT_RT (it may take `spinlock_t`s).
    pub(crate) fn kvfree_rcu(self) {
        let p = self.into_ptr().as_ptr();
        // SAFETY: A slab object owned by nobody else, not queued; its head
        // (offset 0, within the first 4096 bytes) is free for the kernel.
        unsafe { bindings::kvfree_call_rcu(p.cast(), p) }
    }

    /// As [`SlabObj::kvfree_rcu`] with `kfree_call_rcu_nolock()`
    /// (`kfree_rcu_nolock()`), which 7.3 allows in any context.
    pub(crate) fn kfree_rcu_nolock(self) {
        let p = self.into_ptr().as_ptr();
        // SAFETY: As in `kvfree_rcu`; the object is slab memory.
        unsafe { bindings::kfree_call_rcu_nolock(p.cast(), p) }
    }

    /// Frees the object in its own `call_rcu()` callback.
    pub(crate) fn call_rcu(self) {
        let p = self.into_ptr().as_ptr();
        // SAFETY: The head at offset 0 is owned and not queued; the
        // callback frees the object. `SlabCache`'s drop and module exit run
        // `rcu_barrier()`, so the callback runs while both exist.
        unsafe { bindings::call_rcu(p.cast(), Some(kfree_callback)) }
    }
}

impl Drop for SlabObj<'_> {
    fn drop(&mut self) {
        // SAFETY: An object of `cache`, owned and not queued (invariant).
        unsafe { bindings::kmem_cache_free(self.cache.ptr.as_ptr(), self.ptr.as_ptr()) }
    }
}

impl<'c> Reclaim<SlabObj<'c>> for SynchronizeRcu {
    const NAME: &'static str = "synchronize_rcu";
    const WAITS: bool = true;

    fn reclaim(&self, old: SlabObj<'c>) {
        // SAFETY: A waiting strategy (`WAITS`) is used only where its
        // caller may sleep (`Reclaim`).
        unsafe { crate::rcu::synchronize_unchecked() };
        drop(old);
    }

    fn reclaim_all<A: Allocator>(&self, olds: &mut Vec<SlabObj<'c>, A>) {
        // SAFETY: A waiting strategy (`WAITS`) is used only where its
        // caller may sleep (`Reclaim`).
        unsafe { crate::rcu::synchronize_unchecked() };
        olds.clear();
    }
}

impl<'c> Reclaim<SlabObj<'c>> for CallRcu {
    const NAME: &'static str = "call_rcu";
    const WAITS: bool = false;

    fn reclaim(&self, old: SlabObj<'c>) {
        old.call_rcu();
    }
}

impl<'c> Reclaim<SlabObj<'c>> for KvfreeRcu {
    const NAME: &'static str = "kfree_rcu";
    const WAITS: bool = false;

    fn reclaim(&self, old: SlabObj<'c>) {
        old.kvfree_rcu();
    }
}

impl<'c> Reclaim<SlabObj<'c>> for KfreeRcuNolock {
    const NAME: &'static str = "kfree_rcu_nolock";
    const WAITS: bool = false;

    fn reclaim(&self, old: SlabObj<'c>) {
        old.kfree_rcu_nolock();
    }
}
