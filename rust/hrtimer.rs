// SPDX-License-Identifier: GPL-2.0

//! Periodic high-resolution timers whose callback runs in hard interrupt
//! context.
//!
//! C header: [`include/linux/hrtimer.h`](srctree/include/linux/hrtimer.h).
//!
//! The 6.12 `kernel` crate has no timer type; this one is just what the
//! stress tests need to run readers in interrupt context: a timer pinned to
//! the CPU that starts it (`HRTIMER_MODE_REL_PINNED_HARD`, so the callback is
//! a hardirq on PREEMPT_RT too), re-armed every period until it is dropped.

use crate::helpers;
use core::marker::PhantomPinned;
use kernel::{bindings, init::PinInit, pin_init, prelude::*, types::Opaque};

/// The timer mode: relative expiry, pinned to the starting CPU, callback in
/// hard interrupt context on every preemption model.
const MODE: bindings::hrtimer_mode = bindings::hrtimer_mode_HRTIMER_MODE_REL_PINNED_HARD;

/// A periodic timer calling `F` in hard interrupt context.
///
/// # Invariants
///
/// `timer` was initialised by `hrtimer_init()` with [`MODE`] and its
/// function is `callback::<F>`; it is pinned, and it is cancelled (which
/// waits for a running callback) before its memory goes away.
#[pin_data(PinnedDrop)]
pub(crate) struct PeriodicTimer<F: Fn() + Sync> {
    #[pin]
    timer: Opaque<bindings::hrtimer>,
    period_ns: u64,
    f: F,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: The timer may be dropped (cancelled) from any thread; the closure
// is only called through a shared reference, which `F: Sync` allows from
// interrupt context while the owner also holds one.
unsafe impl<F: Fn() + Sync + Send> Send for PeriodicTimer<F> {}

// SAFETY: `&PeriodicTimer` only allows starting the timer, which the
// kernel serialises on the timer base lock, and calling `F` (`F: Sync`).
unsafe impl<F: Fn() + Sync> Sync for PeriodicTimer<F> {}

/// The hrtimer callback: calls `F` and re-arms the timer.
///
/// # Safety
///
/// `timer` is the `timer` field of a live, pinned `PeriodicTimer<F>`.
unsafe extern "C" fn callback<F: Fn() + Sync>(
    timer: *mut bindings::hrtimer,
) -> bindings::hrtimer_restart {
    // SAFETY: `timer` is the `timer` field of a `PeriodicTimer<F>` (the
    // caller's guarantee; `Opaque<T>` has the layout of `T`), so stepping
    // back by its offset gives the containing object, which lives until the
    // timer is cancelled, after this callback has returned.
    let this = unsafe { &*kernel::container_of!(timer, PeriodicTimer<F>, timer) };
    (this.f)();
    // SAFETY: `timer` is an initialised hrtimer whose callback is running,
    // the one context where `hrtimer_forward_now()` may move its expiry.
    unsafe { helpers::rcu_lab_hrtimer_forward_now(timer, this.period_ns) };
    bindings::hrtimer_restart_HRTIMER_RESTART
}

impl<F: Fn() + Sync> PeriodicTimer<F> {
    /// A stopped timer that will call `f` every `period_ns` nanoseconds.
    pub(crate) fn new(period_ns: u64, f: F) -> impl PinInit<Self> {
        pin_init!(Self {
            // INVARIANT: initialised with `MODE` and `callback::<F>`.
            // SAFETY: `slot` is valid for writes and pinned; `hrtimer_init()`
            // initialises every field but `function`, set right after.
            timer <- Opaque::ffi_init(|slot: *mut bindings::hrtimer| unsafe {
                bindings::hrtimer_init(slot, bindings::CLOCK_MONOTONIC as i32, MODE);
                (*slot).function = Some(callback::<F>);
            }),
            period_ns,
            f,
            _pin: PhantomPinned,
        })
    }

    /// Starts the timer on the current CPU: the first call is one period
    /// from now. Call it from a task bound to the CPU it should run on.
    pub(crate) fn start(self: Pin<&Self>) {
        // SAFETY: The timer is initialised and pinned (type invariant);
        // `PinnedDrop` cancels it before its memory goes away.
        unsafe { helpers::rcu_lab_hrtimer_start(self.timer.get(), self.period_ns, MODE as i32) };
    }
}

#[pinned_drop]
impl<F: Fn() + Sync> PinnedDrop for PeriodicTimer<F> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The timer is initialised (type invariant); cancelling a
        // timer that was never started is allowed. `hrtimer_cancel()` waits
        // for a running callback, so none runs after this.
        unsafe { bindings::hrtimer_cancel(self.timer.get()) };
    }
}
