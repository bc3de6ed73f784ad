// SPDX-License-Identifier: GPL-2.0

//! Periodic high-resolution timers whose callback runs in hard interrupt
//! context or in softirq context, on the `kernel` crate's
//! [`kernel::time::hrtimer`].
//!
//! C header: [`include/linux/hrtimer.h`](srctree/include/linux/hrtimer.h).
//!
//! The stress tests run readers in interrupt context: a timer pinned to the
//! CPU that starts it ([`RelativePinnedHardMode`], so the callback is a
//! hardirq on PREEMPT_RT too), re-armed every period while the code given to
//! [`Timer::run_while`] runs, and cancelled (waiting for a running
//! callback) before that returns. Experiment 2's evidence matrix also needs
//! softirq context: the same timer in [`RelativePinnedSoftMode`] (run from
//! the timer softirq; on PREEMPT_RT from its thread). A plain mode would not
//! do: on RT plain hrtimers expire in softirq, and lockdep treats them so.
//!
//! The callback gets the token of its context (`crate::context`): a hard
//! timer's proves nothing ([`Atomic`]), a soft timer's that it may allocate
//! without sleeping ([`NoWait`]: softirq on lazy and full, the timer
//! thread on RT).

use crate::context::{self, Atomic, Context, MaySleep, NoWait};
use core::marker::PhantomData;
use kernel::{
    impl_has_hr_timer,
    prelude::*,
    time::{
        hrtimer::{
            HrTimer, HrTimerCallback, HrTimerCallbackContext, HrTimerMode, HrTimerRestart,
            RelativePinnedHardMode, RelativePinnedSoftMode, ScopedHrTimerPointer,
        },
        Delta, Monotonic,
    },
};

/// A periodic timer calling `F` in the context of mode `M`.
///
/// # Examples
///
/// ```ignore
/// let ticks = AtomicU64::new(0);
/// let t = KBox::pin_init(PeriodicTimer::new(100_000, |_ctx| { ticks.fetch_add(1, Relaxed); }), GFP_KERNEL)?;
/// t.as_ref().run_while(ctx, |ctx| busy_work(ctx)); // ticks every 100 us on this CPU meanwhile
/// ```
#[pin_data]
pub(crate) struct Timer<F, M>
where
    F: Fn(&mut M::Token) + Send + Sync + 'static,
    M: HrTimerMode<Expires = Delta> + Entered + 'static,
{
    #[pin]
    timer: HrTimer<Self>,
    period: Delta,
    f: F,
    _mode: PhantomData<M>,
}

/// A periodic timer whose callback runs in hard interrupt context.
pub(crate) type PeriodicTimer<F> = Timer<F, RelativePinnedHardMode<Monotonic>>;

/// A periodic timer whose callback runs in softirq context.
pub(crate) type PeriodicSoftTimer<F> = Timer<F, RelativePinnedSoftMode<Monotonic>>;

/// The token a timer mode's callback gets.
pub(crate) trait Entered {
    /// What the callback's context proves.
    type Token: Context;
}

impl Entered for RelativePinnedHardMode<Monotonic> {
    type Token = Atomic;
}

impl Entered for RelativePinnedSoftMode<Monotonic> {
    type Token = NoWait;
}

macro_rules! timer_mode {
    ($mode:ident) => {
        impl<F: Fn(&mut <$mode<Monotonic> as Entered>::Token) + Send + Sync + 'static> Timer<F, $mode<Monotonic>> {
            /// A stopped timer that will call `f` every `period_ns`
            /// nanoseconds.
            pub(crate) fn new(period_ns: u64, f: F) -> impl PinInit<Self> {
                pin_init!(Self {
                    timer <- HrTimer::new(),
                    period: Delta::from_nanos(i64::try_from(period_ns).unwrap_or(i64::MAX)),
                    f,
                    _mode: PhantomData,
                })
            }

            /// Runs `body` with the timer ticking on the current CPU (call
            /// it from a task bound to the CPU it should tick on); the first
            /// tick is one period from now. The timer is cancelled before
            /// this returns. Sleeps: `ctx` proves it may, and `body` gets it
            /// back.
            pub(crate) fn run_while<X: MaySleep, R>(
                self: Pin<&Self>,
                ctx: &mut X,
                body: impl FnOnce(&mut X) -> R,
            ) -> R {
                let period = self.period;
                self.start_scoped(period, || body(ctx))
            }
        }

        impl<F: Fn(&mut <$mode<Monotonic> as Entered>::Token) + Send + Sync + 'static> HrTimerCallback
            for Timer<F, $mode<Monotonic>>
        {
            type Pointer<'a> = Pin<&'a Self>;

            fn run(this: Pin<&Self>, mut ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
                // SAFETY: The callback runs in this mode's context, which
                // proves what its `Entered::Token` proves, for this call.
                unsafe { context::enter(|c: &mut <$mode<Monotonic> as Entered>::Token| (this.f)(c)) };
                ctx.forward_now(this.period);
                HrTimerRestart::Restart
            }
        }

        impl_has_hr_timer! {
            impl{F: Fn(&mut <$mode<Monotonic> as Entered>::Token) + Send + Sync + 'static} HasHrTimer<Self> for Timer<F, $mode<Monotonic>> {
                mode: $mode<Monotonic>,
                field: self.timer
            }
        }
    };
}

timer_mode!(RelativePinnedHardMode);
timer_mode!(RelativePinnedSoftMode);
