// SPDX-License-Identifier: GPL-2.0

//! Scheduler-context checks and kernel threads.
//!
//! [`might_sleep`] is the `kernel` crate's; `cond_resched()` and kernel
//! threads are not bound by it in 7.3.
//!
//! A kernel thread's body gets the thread's [`Sleep`] token
//! (`crate::context`).
//!
//! C header: [`include/linux/kernel.h`](srctree/include/linux/kernel.h),
//! [`include/linux/kthread.h`](srctree/include/linux/kthread.h).

use crate::{
    context::{self, Context, Lend, MaySleep, Sleep},
    helpers,
};
use core::ffi::c_void;
use kernel::{error::from_err_ptr, new_mutex, prelude::*, sync::Arc};

pub(crate) use kernel::task::might_sleep;

/// Gives the scheduler a chance to run another task (`cond_resched()`).
///
/// It is a sleeping call: in atomic context it is reported like
/// [`might_sleep`] (and does not schedule).
pub(crate) fn cond_resched() {
    // SAFETY: `cond_resched()` may be called from any context.
    unsafe { helpers::rcu_lab_cond_resched() };
}

/// Whether the current task has a fatal signal pending (`SIGKILL`, or a
/// signal it does not handle, such as `SIGINT` for a shell's `echo`): what
/// a long operation on its behalf checks to stop early. Any context; in an
/// interrupt it speaks of the interrupted task.
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: Reads the current task's pending signals; any context.
    unsafe { helpers::rcu_lab_fatal_signal_pending() }
}

/// Preemption disabled on this CPU until the guard is dropped
/// (`preempt_disable()` ... `preempt_enable()`): the thread stays on its CPU
/// and the section is an RCU read-side critical section, but interrupts
/// still come in (code that shares per-CPU state with them needs a flag of
/// its own, as `local_trylock_t` has). Not `Send` (the token is not): it
/// must be dropped on the CPU that took it. It holds the caller's token
/// and lends `L`, the caller's `Context::PreemptOff`.
pub(crate) struct PreemptDisabled<'a, L: Context> {
    lend: Lend<'a, L>,
}

/// Disables preemption; any context. See [`PreemptDisabled`].
#[inline]
pub(crate) fn preempt_disable<C: Context>(ctx: &mut C) -> PreemptDisabled<'_, C::PreemptOff> {
    // SAFETY: Any context may disable preemption; the guard re-enables it
    // once, on this CPU (it is not `Send`).
    unsafe { helpers::rcu_lab_preempt_disable() };
    PreemptDisabled {
        // SAFETY: With preemption off the caller may still do what it could
        // but block; on PREEMPT_RT not allocate either (`PreemptOff`).
        lend: unsafe { Lend::new(ctx) },
    }
}

impl<L: Context> PreemptDisabled<'_, L> {
    /// The token lent inside.
    pub(crate) fn ctx(&mut self) -> &mut L {
        self.lend.ctx()
    }
}

impl<L: Context> Drop for PreemptDisabled<'_, L> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: Pairs with the `preempt_disable()` of `preempt_disable`.
        unsafe { helpers::rcu_lab_preempt_enable() };
    }
}

/// A kernel thread running a closure, joined by [`KThread::join`] or drop.
///
/// # Invariants
///
/// `raw` was returned by `rcu_lab_kthread_start()` and not yet joined.
pub(crate) struct KThread {
    raw: *mut helpers::rcu_lab_kthread,
}

// SAFETY: The handle only allows joining, which any thread may do.
unsafe impl Send for KThread {}

unsafe extern "C" fn kthread_main<F: FnOnce(&mut Sleep) + Send + 'static>(
    data: *mut c_void,
) -> c_int {
    // SAFETY: `data` is the `KBox<F>` that `KThread::spawn` turned into a
    // raw pointer for this thread; the thread function runs exactly once
    // (`join` waits for it before stopping the thread).
    let f = unsafe { KBox::<F>::from_raw(data.cast()) };
    // SAFETY: A kernel thread's function runs in task context, holding
    // nothing, interrupts and preemption on: it may sleep.
    unsafe { context::enter(|ctx: &mut Sleep| KBox::into_inner(f)(ctx)) };
    0
}

impl KThread {
    /// Starts a kernel thread named `rcu_lab/<name>` running `f` (with the
    /// thread's token), bound to `cpu` if given.
    pub(crate) fn spawn<F: FnOnce(&mut Sleep) + Send + 'static>(
        name: &CStr,
        cpu: Option<u32>,
        f: F,
    ) -> Result<Self> {
        let data = KBox::into_raw(KBox::new(f, GFP_KERNEL)?);
        let cpu = cpu.map_or(-1, |c| c as c_int);
        // SAFETY: `kthread_main::<F>` takes ownership of `data`, a `KBox<F>`;
        // `name` is NUL-terminated and copied by the kernel.
        let raw = unsafe {
            helpers::rcu_lab_kthread_start(
                Some(kthread_main::<F>),
                data.cast(),
                cpu,
                name.as_char_ptr(),
            )
        };
        match from_err_ptr(raw) {
            // INVARIANT: the thread was started and is not joined.
            Ok(raw) => Ok(KThread { raw }),
            Err(e) => {
                // SAFETY: The thread was not created, so `data` is still ours.
                drop(unsafe { KBox::from_raw(data) });
                Err(e)
            }
        }
    }

    /// Runs `f` on a kernel thread named `rcu_lab/<name>`, bound to `cpu` if
    /// given, waits for it and returns its result. Sleeps: `ctx` proves
    /// it may.
    pub(crate) fn run<R: Send + Unpin + 'static>(
        _ctx: &mut impl MaySleep,
        name: &CStr,
        cpu: Option<u32>,
        f: impl FnOnce(&mut Sleep) -> R + Send + 'static,
    ) -> Result<R> {
        let slot = Arc::pin_init(new_mutex!(None, "rcu_lab_kthread_result"), GFP_KERNEL)?;
        let s = slot.clone();
        KThread::spawn(name, cpu, move |ctx| {
            let r = f(ctx);
            *s.lock() = Some(r)
        })?
        .join();
        // The closure ran to completion before `join` returned.
        let r = slot.lock().take();
        r.ok_or(EINVAL)
    }

    /// Waits up to `ms` milliseconds for the closure to return; `true` once
    /// it has. Sleeps (uninterruptibly, for at most `ms`): `ctx` proves it
    /// may.
    pub(crate) fn wait(&self, _ctx: &mut impl MaySleep, ms: u32) -> bool {
        // SAFETY: By the type invariant `raw` is a started, unjoined thread.
        unsafe { helpers::rcu_lab_kthread_wait(self.raw, ms) }
    }

    /// Waits until the closure has returned and the thread has exited.
    pub(crate) fn join(self) {
        // `drop` does the work.
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `raw` is a started, unjoined thread;
        // this joins and frees it, exactly once.
        unsafe { helpers::rcu_lab_kthread_join(self.raw) };
    }
}

/// A borrowed closure with its lifetime erased, for [`scoped`].
struct Erased(*const (dyn Fn(usize, &mut Sleep) + Sync + 'static));

// SAFETY: The closure is `Sync`, so calling it from another thread through a
// shared pointer is fine; `scoped` keeps it alive while threads use it.
unsafe impl Send for Erased {}

/// Starts `n` threads running `(*f.0)(i)`, thread `i` bound to CPU `i %
/// cpus` if `cpus` is given; the caller joins them.
fn spawn_erased(
    name: &CStr,
    n: usize,
    cpus: Option<u32>,
    f: *const (dyn Fn(usize, &mut Sleep) + Sync + 'static),
) -> Result<KVec<KThread>> {
    let mut threads = KVec::with_capacity(n, GFP_KERNEL)?;
    for i in 0..n {
        let e = Erased(f);
        let cpu = cpus.map(|c| (i % c.max(1) as usize) as u32);
        let t = KThread::spawn(name, cpu, move |ctx| {
            let e = e;
            // SAFETY: `scoped` joins every thread before the closure it
            // borrowed goes away.
            unsafe { (*e.0)(i, ctx) }
        })?;
        threads.push(t, GFP_KERNEL)?;
    }
    Ok(threads)
}

/// How often [`scoped`] calls its `poll`.
const POLL_MS: u32 = 100;

/// Runs `f(0, ctx)`, ..., `f(n - 1, ctx)` (each with its thread's token)
/// on `n` kernel threads named
/// `rcu_lab/<name>`, thread `i` bound to CPU `i % cpus` when `cpus` is given
/// (as rcuscale binds its threads), and waits for all of them; `f` may
/// borrow from the caller's stack, as with `std::thread::scope`. Until
/// every thread has returned, `poll()` runs in the caller's context every
/// 100 ms (it may look at the caller's signals and tell the threads,
/// through state `f` reads, to stop). The caller never sleeps
/// uninterruptibly for longer than that, so a long run stays clear of the
/// hung-task detector. Sleeps.
///
/// # Examples
///
/// ```ignore
/// let hits = AtomicUsize::new(0);
/// task::scoped(ctx, c"demo", 4, None, &|_, _| { hits.fetch_add(1, Relaxed); }, &mut || ())?;
/// assert_eq!(hits.load(Relaxed), 4);
/// ```
pub(crate) fn scoped<F: Fn(usize, &mut Sleep) + Sync>(
    ctx: &mut impl MaySleep,
    name: &CStr,
    n: usize,
    cpus: Option<u32>,
    f: &F,
    poll: &mut dyn FnMut(),
) -> Result {
    let f: &(dyn Fn(usize, &mut Sleep) + Sync) = f;
    // SAFETY: Only the lifetime changes. Every thread that gets the pointer
    // is joined before this function returns: on success below, and on
    // failure by the drop of the partial `KVec<KThread>` inside
    // `spawn_erased` (a `KThread` joins when dropped).
    let raw: *const (dyn Fn(usize, &mut Sleep) + Sync + 'static) =
        unsafe { core::mem::transmute(f as *const (dyn Fn(usize, &mut Sleep) + Sync)) };
    let threads = spawn_erased(name, n, cpus, raw)?;
    for t in threads.iter() {
        while !t.wait(ctx, POLL_MS) {
            poll();
        }
    }
    drop(threads);
    Ok(())
}
