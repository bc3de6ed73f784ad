// SPDX-License-Identifier: GPL-2.0

//! Invoking callbacks after a grace period from an array: the walks of
//! experiment 2's batched `call_rcu()`, in `core`-only Rust shared by the
//! module's engine (`rust/rcu/batch/callbacks.rs`) and the host benchmark
//! of the cache question (`scripts/hostbench/walk.rs`), which compares them
//! with a chain of `rcu_head`s as `rcu_do_batch()` walks it.
//!
//! A chain makes each cache miss wait for the one before: the next object's
//! address is in the current object. An array holds the addresses, so the
//! CPU can have many objects' misses in flight at once, or be told to fetch
//! them ahead ([`prefetch`]). Neither saves the miss on the object itself:
//! its callback touches it anyway.

/// Hints the CPU to fetch the cache line at `p` into every cache level
/// (x86's `prefetcht0`); on other architectures it does nothing. Any
/// address: a prefetch never faults.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` reads no register but its address operand,
    // writes nothing, cannot fault and leaves the flags alone.
    unsafe {
        core::arch::asm!(
            "prefetcht0 [{0}]",
            in(reg) p,
            options(nostack, readonly, preserves_flags)
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Calls each entry's function on its object, in order: the (object,
/// function) pair shape, an indirect call per entry. With `AHEAD > 0`,
/// first prefetches the object `AHEAD` entries on.
///
/// # Safety
///
/// Calling each `f(obj)` once, in this order, must be sound.
#[inline]
pub(crate) unsafe fn call_pairs<O, const AHEAD: usize>(
    entries: &[(*mut O, unsafe extern "C" fn(*mut O))],
) {
    for (i, &(obj, f)) in entries.iter().enumerate() {
        if AHEAD > 0 {
            if let Some(&(ahead, _)) = entries.get(i + AHEAD) {
                prefetch(ahead);
            }
        }
        // SAFETY: The caller's guarantee.
        unsafe { f(obj) };
    }
}

/// Calls `f` on each object, in order: the typed shape, where `f` is known
/// at compile time and inlined into the loop. With `AHEAD > 0`, first
/// prefetches the object `AHEAD` entries on.
#[inline]
pub(crate) fn for_each_typed<T, const AHEAD: usize>(entries: &[*mut T], mut f: impl FnMut(*mut T)) {
    for (i, &obj) in entries.iter().enumerate() {
        if AHEAD > 0 {
            if let Some(&ahead) = entries.get(i + AHEAD) {
                prefetch(ahead);
            }
        }
        f(obj);
    }
}
