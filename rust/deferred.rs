// SPDX-License-Identifier: GPL-2.0

//! Work requested from any context and run in process context.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h),
//! [`include/linux/hrtimer.h`](srctree/include/linux/hrtimer.h).
//!
//! The `kernel` crate's work items (7.3) are queued directly and cannot be
//! cancelled. Code that runs under a raw spinlock, or in hard interrupt
//! context on PREEMPT_RT, must not queue work itself; the kernel's
//! `kfree_rcu()` kicks its page-cache refill worker through an hrtimer for
//! that reason (`run_page_cache_worker()`). A [`Deferred`] does the same: a
//! kick arms a hard-interrupt hrtimer (whose base lock is a raw spinlock),
//! the timer queues the work on `system_dfl_wq` (7.3's name for the unbound
//! system workqueue; `system_unbound_wq` is deprecated), and the work calls
//! [`DeferredRun::run`] on the owner.

use crate::{
    context::{self, Sleep},
    helpers,
};
use core::marker::PhantomData;
use kernel::{prelude::*, types::Opaque};

/// What a [`Deferred`] runs.
pub(crate) trait DeferredRun: Sync {
    /// Runs in process context (a workqueue worker), with the worker's
    /// token: may sleep.
    fn run(&self, ctx: &mut Sleep);
}

/// Work of an owner `T` that any context may request.
///
/// # Examples
///
/// ```ignore
/// #[pin_data(PinnedDrop)]
/// struct Engine { #[pin] work: Deferred<Engine>, /* ... */ }
/// // in hardirq context or under a raw spinlock:
/// engine.work.now();          // run Engine::run() soon
/// engine.work.later(1_000_000); // or in 1 ms, unless already pending
/// ```
///
/// # Invariants
///
/// `raw` was initialised by `rcu_lab_kick_init()` with `run_callback::<T>`
/// and a pointer to the owner `T` that contains this value; the owner stays
/// pinned and usable until [`Deferred::stop`] has returned.
#[pin_data(PinnedDrop)]
pub(crate) struct Deferred<T: DeferredRun> {
    #[pin]
    raw: Opaque<helpers::rcu_lab_kick>,
    _owner: PhantomData<*const T>,
}

// SAFETY: The kick functions may be called from any thread and context;
// the work calls `T::run(&T)`, and `T: Sync`.
unsafe impl<T: DeferredRun> Send for Deferred<T> {}
// SAFETY: As above: every method takes `&self` and is safe concurrently.
unsafe impl<T: DeferredRun> Sync for Deferred<T> {}

/// The work function: runs the owner's [`DeferredRun::run`].
///
/// # Safety
///
/// `data` is the owner pointer given to [`Deferred::new`], still valid.
unsafe extern "C" fn run_callback<T: DeferredRun>(data: *mut c_void) {
    // SAFETY: By the type invariant the owner outlives every run of the
    // work (`stop` waits for it), and only shared references are made.
    let owner = unsafe { &*data.cast::<T>() };
    // SAFETY: A work item runs in a workqueue worker, a task holding no
    // lock with interrupts on: it may sleep.
    unsafe { context::enter(|ctx: &mut Sleep| owner.run(ctx)) };
}

impl<T: DeferredRun> Deferred<T> {
    /// An idle `Deferred` that runs `owner.run()` when kicked.
    ///
    /// # Safety
    ///
    /// `owner` must point to the pinned `T` that contains this value, and
    /// `T`'s destructor must call [`Deferred::stop`] before it tears down
    /// anything [`DeferredRun::run`] uses (dropping the `Deferred` stops it
    /// too, which is enough if it is `T`'s first field).
    pub(crate) unsafe fn new(owner: *const T) -> impl PinInit<Self> {
        // INVARIANT: initialised with the owner the caller vouches for.
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes for the whole call;
            // `rcu_lab_kick_init()` initialises every field.
            raw <- Opaque::ffi_init(move |slot| unsafe {
                helpers::rcu_lab_kick_init(slot, Some(run_callback::<T>), owner.cast_mut().cast())
            }),
            _owner: PhantomData,
        })
    }

    /// Runs the work as soon as possible. Any context; does not allocate
    /// or queue work itself.
    pub(crate) fn now(&self) {
        // SAFETY: `raw` was initialised (type invariant).
        unsafe { helpers::rcu_lab_kick_now(self.raw.get()) }
    }

    /// Runs the work `delay_ns` from now, unless a delayed run is already
    /// pending. Any context.
    pub(crate) fn later(&self, delay_ns: u64) {
        // SAFETY: `raw` was initialised (type invariant).
        unsafe { helpers::rcu_lab_kick_later(self.raw.get(), delay_ns) }
    }

    /// Makes further kicks do nothing and waits until no timer or run of
    /// the work is left. Sleeps; idempotent.
    pub(crate) fn stop(&self) {
        // SAFETY: `raw` was initialised (type invariant).
        unsafe { helpers::rcu_lab_kick_stop(self.raw.get()) }
    }
}

#[pinned_drop]
impl<T: DeferredRun> PinnedDrop for Deferred<T> {
    fn drop(self: Pin<&mut Self>) {
        self.stop();
    }
}
