// SPDX-License-Identifier: GPL-2.0

//! Periodic high-resolution timers whose callback runs in hard interrupt
//! context, on the `kernel` crate's [`kernel::time::hrtimer`].
//!
//! C header: [`include/linux/hrtimer.h`](srctree/include/linux/hrtimer.h).
//!
//! The stress tests run readers in interrupt context: a timer pinned to the
//! CPU that starts it ([`RelativePinnedHardMode`], so the callback is a
//! hardirq on PREEMPT_RT too), re-armed every period while the code given to
//! [`PeriodicTimer::run_while`] runs, and cancelled (waiting for a running
//! callback) before that returns.

use kernel::{
    impl_has_hr_timer,
    prelude::*,
    time::{
        hrtimer::{
            HrTimer, HrTimerCallback, HrTimerCallbackContext, HrTimerRestart,
            RelativePinnedHardMode, ScopedHrTimerPointer,
        },
        Delta, Monotonic,
    },
};

/// A periodic timer calling `F` in hard interrupt context.
///
/// # Examples
///
/// ```ignore
/// let ticks = AtomicU64::new(0);
/// let t = KBox::pin_init(PeriodicTimer::new(100_000, || { ticks.fetch_add(1, Relaxed); }), GFP_KERNEL)?;
/// t.as_ref().run_while(|| busy_work()); // ticks every 100 us on this CPU meanwhile
/// ```
#[pin_data]
pub(crate) struct PeriodicTimer<F: Fn() + Send + Sync + 'static> {
    #[pin]
    timer: HrTimer<Self>,
    period: Delta,
    f: F,
}

impl<F: Fn() + Send + Sync + 'static> PeriodicTimer<F> {
    /// A stopped timer that will call `f` every `period_ns` nanoseconds.
    pub(crate) fn new(period_ns: u64, f: F) -> impl PinInit<Self> {
        pin_init!(Self {
            timer <- HrTimer::new(),
            period: Delta::from_nanos(i64::try_from(period_ns).unwrap_or(i64::MAX)),
            f,
        })
    }

    /// Runs `body` with the timer ticking on the current CPU (call it from a
    /// task bound to the CPU it should tick on); the first tick is one
    /// period from now. The timer is cancelled before this returns.
    pub(crate) fn run_while<R>(self: Pin<&Self>, body: impl FnOnce() -> R) -> R {
        let period = self.period;
        self.start_scoped(period, body)
    }
}

impl<F: Fn() + Send + Sync + 'static> HrTimerCallback for PeriodicTimer<F> {
    type Pointer<'a> = Pin<&'a Self>;

    fn run(this: Pin<&Self>, mut ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        (this.f)();
        ctx.forward_now(this.period);
        HrTimerRestart::Restart
    }
}

impl_has_hr_timer! {
    impl{F: Fn() + Send + Sync + 'static} HasHrTimer<Self> for PeriodicTimer<F> {
        mode: RelativePinnedHardMode<Monotonic>,
        field: self.timer
    }
}
