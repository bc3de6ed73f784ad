// SPDX-License-Identifier: GPL-2.0

//! Experiment 2's evidence matrix: each variant handed objects in each
//! context, on the model the module runs on, with what the context looks
//! like at run time and which path each variant took.
//!
//! The expected outcome of every cell is written here before the run, from
//! the 7.3.4 source (`Documentation/raw_call_rcu.rst` cites the lines), and
//! each cell the run makes is compared with it:
//!
//! * which cells lockdep (and, on PREEMPT_RT, the sleeping-function check)
//!   must report ([`expected_report`]): only `nowait`, under a raw spinlock
//!   and in a hard interrupt on every model, and with interrupts off on RT.
//!   Those cells run in boots of their own ([`provoke`], the negative tests
//!   `matrix_nowait_*`); every other cell runs here, under the splat gate;
//! * whether `preemptible()` holds in the context ([`Context::preemptible`]);
//! * whether a block-page miss allocates in the caller's context or falls
//!   back to the object's own `rcu_head` ([`expected_alloc`]).
//!
//! A cell hands over [`CELL_OBJECTS`] objects to an engine with no page
//! cache and [`CELL_ENTRIES`] entries per block, so that every policy meets
//! several misses in every context; for `call_rcu` and the kernel's
//! `kfree_rcu()` and `kfree_rcu_nolock()` (objects without `Drop`, for
//! reference) the cell shows only that the context is legal.

use super::{Obj, DROPPED};
use crate::{
    context::{self as token, Context as Token, Sleep},
    experiments::stress::retired,
    new_raw_spinlock, new_spinlock,
    rcu::{
        self,
        batch::{Batch, Config, Inline, Stats, Typed, ZoneProbe},
        IrqDeferred, Retired,
    },
    reclaim::{CallRcu, KfreeRcuNolock, KvfreeRcu, Reclaim},
    sync::{RawSpinLock, SpinLock},
    system::{self, ContextState},
    time::hrtimer::{PeriodicSoftTimer, PeriodicTimer},
};
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
use kernel::{
    prelude::*,
    sync::Arc,
    time::{delay::fsleep, Delta},
};

/// Objects handed over per cell: within [`rcu::RAW_CALL_RCU_BURST`], so
/// that `call_rcu()` from a raw context cannot run debug-objects' pool dry
/// on RT.
pub(crate) const CELL_OBJECTS: usize = 32;
/// Entries per block of the matrix's engines: a cell meets 4 misses when
/// every allocation succeeds, and one per object when none is made.
pub(crate) const CELL_ENTRIES: usize = 8;

/// The contexts, in the matrix's column order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Context {
    /// A kthread (the writer of `run`), nothing held.
    Task,
    /// Under a `spinlock_t` (rcu_lab's `SpinLock`, `lock()`).
    Spinlock,
    /// Under a `raw_spinlock_t` (rcu_lab's `RawSpinLock`, `lock()`,
    /// interrupts on).
    RawSpinlock,
    /// Interrupts off, no lock: the crate's `local_interrupt_disable()`,
    /// which also raises `preempt_count`'s `HARDIRQ_DISABLE` field (C's
    /// `local_irq_save()` does not).
    IrqsOff,
    /// An hrtimer in `HRTIMER_MODE_REL_PINNED_SOFT`: the timer softirq, a
    /// thread on RT.
    Softirq,
    /// An hrtimer in `HRTIMER_MODE_REL_PINNED_HARD`: hard interrupt on
    /// every model.
    Hardirq,
    /// An RCU callback: `RCU_SOFTIRQ` on lazy and full (`use_softirq`), the
    /// rcuc thread with bottom halves off on RT.
    RcuCallback,
}

impl Context {
    /// Every context, in column order.
    pub(crate) const ALL: [Context; 7] = [
        Context::Task,
        Context::Spinlock,
        Context::RawSpinlock,
        Context::IrqsOff,
        Context::Softirq,
        Context::Hardirq,
        Context::RcuCallback,
    ];

    /// The name rows and reports use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Context::Task => "task",
            Context::Spinlock => "spinlock",
            Context::RawSpinlock => "raw_spinlock",
            Context::IrqsOff => "irqs_off",
            Context::Softirq => "softirq",
            Context::Hardirq => "hardirq",
            Context::RcuCallback => "rcu_callback",
        }
    }

    /// Whether `preemptible()` is true here, from the source: on lazy and
    /// full only in a task with nothing held (a spinlock, softirq and the
    /// softirq that runs RCU callbacks raise `preempt_count`); on RT also
    /// under a `spinlock_t` (`migrate_disable()`), in softirq and in the
    /// rcuc thread (bottom halves off count in the task, not in
    /// `preempt_count`).
    pub(crate) fn preemptible(self, rt: bool) -> bool {
        match self {
            Context::Task => true,
            Context::Spinlock | Context::Softirq | Context::RcuCallback => rt,
            Context::RawSpinlock | Context::IrqsOff | Context::Hardirq => false,
        }
    }
}

/// How a matrix variant frees.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Way {
    /// The kernel's `call_rcu()`.
    CallRcu,
    /// A typed engine with this inline policy.
    Engine(Inline),
    /// An `irq_work` that passes the objects on to a `runtime_check`
    /// engine later ([`IrqDeferred`]).
    Deferred,
    /// The kernel's `kfree_rcu()` (two arguments), objects without `Drop`.
    KfreeRcu,
    /// The kernel's `kfree_rcu_nolock()`, objects without `Drop`.
    KfreeRcuNolock,
    /// A typed engine whose path the cell's token type picks
    /// (`call_rcu_typed()`).
    ByType,
}

/// The matrix's variants, in row order.
pub(crate) const VARIANTS: &[(&str, Way)] = &[
    ("call_rcu", Way::CallRcu),
    ("raw", Way::Engine(Inline::Never)),
    ("nowait", Way::Engine(Inline::Nowait)),
    ("override", Way::Engine(Inline::Override)),
    ("runtime_check", Way::Engine(Inline::RuntimeCheck)),
    ("deferred", Way::Deferred),
    ("kfree_rcu", Way::KfreeRcu),
    ("kfree_rcu_nolock", Way::KfreeRcuNolock),
    ("typed", Way::ByType),
];

/// The engine policies, in the order of [`Shared::engines`].
const POLICIES: [Inline; 4] = [
    Inline::Never,
    Inline::Nowait,
    Inline::Override,
    Inline::RuntimeCheck,
];

/// The reports the splat gate must see for `way` in `ctx` (its `--expect`
/// kinds), or `""` for none. Only `nowait` allocates where it must not:
/// `zone->lock` is a `spinlock_t` (`LD_WAIT_CONFIG`), which lockdep forbids
/// inside a raw spinlock (`LD_WAIT_SPIN`) and in a non-threaded hard
/// interrupt; on RT it is a sleeping lock, which `rtlock_might_resched()`
/// also reports with interrupts off. The other variants never allocate
/// where lockdep would see it: `override` under its wait-type override (or
/// not at all on RT), `runtime_check` only when preemptible (`deferred`
/// calls it from its `irq_work`), `raw` never,
/// and the kernel's three only with raw locks (`kfree_rcu()` skips sheaves
/// on RT, and its sheaf path uses the same override elsewhere).
pub(crate) fn expected_report(way: Way, ctx: Context, rt: bool) -> &'static str {
    match (way, ctx) {
        (Way::Engine(Inline::Nowait), Context::RawSpinlock | Context::Hardirq) => {
            if rt {
                "lockdep-invalid-wait-context,sleep-in-atomic"
            } else {
                "lockdep-invalid-wait-context"
            }
        }
        (Way::Engine(Inline::Nowait), Context::IrqsOff) if rt => "sleep-in-atomic",
        _ => "",
    }
}

/// Whether a block-page miss allocates in the caller's context (`None`:
/// the variant has no block pages).
pub(crate) fn expected_alloc(way: Way, ctx: Context, rt: bool) -> Option<bool> {
    match way {
        Way::Engine(Inline::Never) => Some(false),
        Way::Engine(Inline::Nowait) | Way::Engine(Inline::Atomic) => Some(true),
        Way::Engine(Inline::Override) => Some(!rt || ctx.preemptible(rt)),
        Way::Engine(Inline::RuntimeCheck) => Some(ctx.preemptible(rt)),
        // What the cell's token proves: `MayAlloc` in a task, under a
        // `spinlock_t`, in a softirq timer and in an RCU callback; `Atomic`
        // under a raw spinlock, with interrupts off and in a hard
        // interrupt. The same on every model.
        Way::ByType => Some(token_may_alloc(ctx)),
        // The `runtime_check` engine, called from the `irq_work`: hard
        // interrupt on non-RT, the preemptible `irq_work/N` thread on RT.
        Way::Deferred => Some(rt),
        Way::CallRcu | Way::KfreeRcu | Way::KfreeRcuNolock => None,
    }
}

/// Whether the token the matrix's `ctx` hands its body proves that
/// allocating without sleeping is legal.
pub(crate) fn token_may_alloc(ctx: Context) -> bool {
    match ctx {
        Context::Task | Context::Spinlock | Context::Softirq | Context::RcuCallback => true,
        Context::RawSpinlock | Context::IrqsOff | Context::Hardirq => false,
    }
}

/// Whether allocating a block page is legal in `ctx`: where `nowait` is
/// expected clean.
pub(crate) fn alloc_legal(ctx: Context, rt: bool) -> bool {
    expected_report(Way::Engine(Inline::Nowait), ctx, rt).is_empty()
}

/// An object that needs no `Drop`, for `kfree_rcu()`.
struct Bare {
    _payload: [u64; 2],
}

/// State the contexts share with the task running the matrix.
struct Shared {
    /// The matrix's engines, by [`POLICIES`] index.
    engines: KVec<Batch<'static, Typed<Obj>>>,
    /// `deferred`: an `irq_work` in front of a `runtime_check` engine.
    deferred: Pin<KBox<IrqDeferred<Obj, Batch<'static, Typed<Obj>>>>>,
    /// `typed`: the cell's token type picks the path.
    by_type: Batch<'static, Typed<Obj>>,
    /// Objects waiting to be handed over, taken one at a time (the lock is
    /// released before each hand-over, so it does not change the context).
    objs: Pin<KBox<RawSpinLock<KVVec<Retired<Obj>>>>>,
    bare: Pin<KBox<RawSpinLock<KVVec<Retired<Bare>>>>>,
    spin: Pin<KBox<SpinLock<()>>>,
    raw: Pin<KBox<RawSpinLock<()>>>,
    /// The context state the cell body saw.
    seen: Pin<KBox<RawSpinLock<Option<ContextState>>>>,
    /// Set to run the body once in a timer or callback; cleared by it.
    armed: AtomicBool,
    /// Set when the body has run.
    done: AtomicBool,
    /// For [`provoke`]: hand over only [`PROVOKE_MARGIN`] objects more than
    /// this CPU's per-CPU page lists hold, read in the context.
    probe: Option<ZoneProbe>,
}

impl Shared {
    fn new(tok: &mut Sleep, probe: Option<ZoneProbe>, entries: usize) -> Result<Arc<Self>> {
        let cfg = |inline| Config {
            inline,
            cache_pages: 0,
            block_entries: entries,
            ..Config::default()
        };
        let mut engines = KVec::with_capacity(POLICIES.len(), GFP_KERNEL)?;
        for inline in POLICIES {
            engines.push(
                Batch::new(tok, c"raw_call_rcu_matrix", cfg(inline))?,
                GFP_KERNEL,
            )?;
        }
        let target = Batch::new(tok, c"raw_call_rcu_matrix", cfg(Inline::RuntimeCheck))?;
        let deferred = KBox::pin_init(IrqDeferred::new(target), GFP_KERNEL)?;
        let by_type = Batch::new(tok, c"raw_call_rcu_matrix", cfg(Inline::Never))?;
        Ok(Arc::new(
            Shared {
                engines,
                deferred,
                by_type,
                objs: KBox::pin_init(new_raw_spinlock!(KVVec::new(), "matrix_objs"), GFP_KERNEL)?,
                bare: KBox::pin_init(new_raw_spinlock!(KVVec::new(), "matrix_bare"), GFP_KERNEL)?,
                spin: KBox::pin_init(new_spinlock!((), "matrix_spinlock"), GFP_KERNEL)?,
                raw: KBox::pin_init(new_raw_spinlock!((), "matrix_raw_spinlock"), GFP_KERNEL)?,
                seen: KBox::pin_init(new_raw_spinlock!(None, "matrix_seen"), GFP_KERNEL)?,
                armed: AtomicBool::new(false),
                done: AtomicBool::new(false),
                probe,
            },
            GFP_KERNEL,
        )?)
    }

    /// The engine `way` ends in, if any.
    fn engine(&self, way: Way) -> Option<&Batch<'static, Typed<Obj>>> {
        match way {
            Way::Engine(policy) => POLICIES
                .iter()
                .position(|p| *p == policy)
                .map(|i| &self.engines[i]),
            Way::Deferred => Some(self.deferred.target()),
            Way::ByType => Some(&self.by_type),
            Way::CallRcu | Way::KfreeRcu | Way::KfreeRcuNolock => None,
        }
    }

    /// Hands the waiting objects to `way`, one at a time. Runs in the
    /// cell's context, whose token is `tok`.
    fn body(&self, tok: &mut impl Token, way: Way) {
        let state = ContextState::now();
        *self.seen.lock_irqsave(tok) = Some(state);
        let limit = self
            .probe
            .as_ref()
            .map_or(usize::MAX, |p| p.pcp_pages() + PROVOKE_MARGIN);
        match way {
            Way::CallRcu => hand_over(tok, &self.objs, limit, |_, o| CallRcu.reclaim(o)),
            Way::Engine(_) => {
                if let Some(e) = self.engine(way) {
                    hand_over(tok, &self.objs, limit, |_, o| e.reclaim(o))
                }
            }
            Way::Deferred => hand_over(tok, &self.objs, limit, |_, o| self.deferred.reclaim(o)),
            Way::KfreeRcu => hand_over(tok, &self.bare, limit, |_, o| KvfreeRcu.reclaim(o)),
            Way::KfreeRcuNolock => {
                hand_over(tok, &self.bare, limit, |_, o| KfreeRcuNolock.reclaim(o))
            }
            Way::ByType => hand_over(tok, &self.objs, limit, |t, o| {
                self.by_type.call_rcu_typed(t, o)
            }),
        }
    }

    /// Runs the body once if armed (timers tick until the task sees it
    /// done).
    fn once(&self, tok: &mut impl Token, way: Way) {
        if self.armed.swap(false, Relaxed) {
            self.body(tok, way);
            self.done.store(true, Relaxed);
        }
    }

    /// Waits up to 10 s for an armed body to have run. Sleeps.
    fn wait_done(&self) -> Result {
        for _ in 0..20_000 {
            if self.done.load(Relaxed) {
                return Ok(());
            }
            fsleep(Delta::from_micros(500));
        }
        self.armed.store(false, Relaxed);
        Err(ETIMEDOUT)
    }
}

/// Pops up to `limit` objects from `pool` and hands each to `f`, with the
/// pool's lock released, and the caller's token `tok`.
fn hand_over<T, X: Token>(
    tok: &mut X,
    pool: &RawSpinLock<KVVec<T>>,
    limit: usize,
    f: impl Fn(&mut X, T),
) {
    for _ in 0..limit {
        let o = pool.lock_irqsave(tok).pop();
        match o {
            Some(o) => f(tok, o),
            None => break,
        }
    }
}

/// Timer period while waiting for the body to run in a timer.
const TICK_NS: u64 = 200_000;

/// Runs the cell body for `way` in `ctx`, and waits until it has run.
/// Sleeps.
fn in_context(tok: &mut Sleep, shared: &Arc<Shared>, ctx: Context, way: Way) -> Result {
    shared.done.store(false, Relaxed);
    match ctx {
        Context::Task => shared.body(tok, way),
        Context::Spinlock => {
            let mut g = shared.spin.lock(tok);
            shared.body(g.ctx(), way);
        }
        Context::RawSpinlock => {
            let mut g = shared.raw.lock(tok);
            shared.body(g.ctx(), way);
        }
        Context::IrqsOff => {
            let mut g = token::irqs_off(tok);
            shared.body(g.ctx(), way);
        }
        Context::Softirq => {
            let s = shared.clone();
            let t = KBox::pin_init(
                PeriodicSoftTimer::new(TICK_NS, move |tok| s.once(tok, way)),
                GFP_KERNEL,
            )?;
            shared.armed.store(true, Relaxed);
            t.as_ref().run_while(tok, |_| shared.wait_done())?;
        }
        Context::Hardirq => {
            let s = shared.clone();
            let t = KBox::pin_init(
                PeriodicTimer::new(TICK_NS, move |tok| s.once(tok, way)),
                GFP_KERNEL,
            )?;
            shared.armed.store(true, Relaxed);
            t.as_ref().run_while(tok, |_| shared.wait_done())?;
        }
        Context::RcuCallback => {
            let s = shared.clone();
            shared.armed.store(true, Relaxed);
            rcu::call_rcu_with(tok, move |tok| s.once(tok, way))?;
            shared.wait_done()?;
        }
    }
    Ok(())
}

/// What one cell showed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CellResult {
    pub(crate) way: Way,
    pub(crate) ctx: Context,
    /// The context as the body saw it.
    pub(crate) state: ContextState,
    pub(crate) objects: usize,
    /// Objects with `Drop` dropped by the end of the cell (after the
    /// engine's barrier and `rcu_barrier()`); `None` for objects without.
    pub(crate) dropped: Option<usize>,
    /// Engine counters over the cell (`None` for the kernel's functions).
    pub(crate) stats: Option<Stats>,
}

impl CellResult {
    /// Whether a miss allocated in the caller's context (`None`: no engine,
    /// or no miss at all).
    pub(crate) fn allocated(&self) -> Option<bool> {
        let s = self.stats?;
        if s.inline_allocated > 0 && s.inline_declined == 0 {
            Some(true)
        } else if s.inline_declined > 0 && s.inline_allocated == 0 {
            Some(false)
        } else if matches!(self.way, Way::Engine(Inline::Never) | Way::ByType) && s.emergency > 0 {
            Some(false)
        } else {
            None
        }
    }

    /// Whether the cell agrees with the expectations written beforehand:
    /// `preemptible()` as expected, the expected path on every miss, and
    /// every object handed over and dropped.
    pub(crate) fn agrees(&self, rt: bool) -> bool {
        self.state.preemptible == self.ctx.preemptible(rt)
            && self.allocated() == expected_alloc(self.way, self.ctx, rt)
            && self.dropped.is_none_or(|d| d == self.objects)
    }
}

/// Runs one cell: `n` objects handed over to `way` in `ctx`, then every
/// one reclaimed. Sleeps.
fn cell(
    tok: &mut Sleep,
    shared: &Arc<Shared>,
    ctx: Context,
    way: Way,
    n: usize,
) -> Result<CellResult> {
    // The pools are swapped whole: nothing is allocated or freed under
    // their raw lock (on RT the slab allocator takes sleeping locks).
    match way {
        Way::KfreeRcu | Way::KfreeRcuNolock => {
            let v = retired(n, |i| Bare {
                _payload: [i as u64; 2],
            })?;
            let old = core::mem::replace(&mut *shared.bare.lock_irqsave(tok), v);
            drop(old);
        }
        _ => {
            let v = retired(n, |i| Obj {
                _payload: [i as u64; 2],
            })?;
            let old = core::mem::replace(&mut *shared.objs.lock_irqsave(tok), v);
            drop(old);
        }
    }
    let engine = shared.engine(way);
    let before = engine.map(|e| e.stats());
    let dropped0 = DROPPED.load(Relaxed);
    *shared.seen.lock_irqsave(tok) = None;
    rcu::debug_objects_refill();
    let r = in_context(tok, shared, ctx, way);
    // Whatever the body did not take (a provoking cell's rest, or a timer
    // that never ran) is dropped here, by `call_rcu()`, and not counted.
    let left_objs = core::mem::take(&mut *shared.objs.lock_irqsave(tok));
    let left_bare = core::mem::take(&mut *shared.bare.lock_irqsave(tok));
    let left = left_objs.len() + left_bare.len();
    let dropped_left = left_objs.len();
    drop(left_objs);
    drop(left_bare);
    if way == Way::Deferred {
        shared.deferred.flush(tok);
    }
    if let Some(e) = engine {
        e.barrier(tok);
    }
    rcu::barrier(tok);
    r?;
    let stats = engine.zip(before).map(|(e, b)| e.stats().since(&b));
    let dropped = match way {
        Way::KfreeRcu | Way::KfreeRcuNolock => None,
        _ => Some(
            (DROPPED.load(Relaxed).wrapping_sub(dropped0) as usize).saturating_sub(dropped_left),
        ),
    };
    let state = (*shared.seen.lock_irqsave(tok)).ok_or(EIO)?;
    Ok(CellResult {
        way,
        ctx,
        state,
        objects: n - left,
        dropped,
        stats,
    })
}

/// Whether the running kernel is PREEMPT_RT.
pub(crate) fn is_rt() -> bool {
    system::preempt_model().contains("rt")
}

/// Runs every cell of the matrix that is expected clean on this model,
/// calling `out` with each result. Sleeps.
pub(crate) fn run_clean(tok: &mut Sleep, mut out: impl FnMut(&CellResult) -> Result) -> Result {
    let rt = is_rt();
    let shared = Shared::new(tok, None, CELL_ENTRIES)?;
    for &(_, way) in VARIANTS {
        for ctx in Context::ALL {
            if !expected_report(way, ctx, rt).is_empty() {
                continue;
            }
            let r = cell(tok, &shared, ctx, way, CELL_OBJECTS)?;
            out(&r)?;
        }
    }
    Ok(())
}

/// The variant's name.
pub(crate) fn way_name(way: Way) -> &'static str {
    VARIANTS
        .iter()
        .find(|(_, w)| *w == way)
        .map_or("?", |(n, _)| n)
}

/// Objects a provoking cell hands over beyond the pages this CPU's per-CPU
/// lists held: one is enough where interrupts are off; the rest covers
/// pages an interrupt may free onto the lists meanwhile (a raw spinlock
/// leaves interrupts on).
const PROVOKE_MARGIN: usize = 64;

/// A report cell, in a boot of its own: `nowait` in `ctx`, made
/// deterministic. With one entry per block and no cache every object needs
/// a page; in the context, the body reads how many pages this CPU's
/// per-CPU lists hold and hands over [`PROVOKE_MARGIN`] objects more, so
/// an allocation must refill the lists under `zone->lock`, which is what
/// lockdep checks (the lists' own trylock it does not). Sleeps.
pub(crate) fn provoke(tok: &mut Sleep, ctx: Context) -> Result<CellResult> {
    let probe = ZoneProbe::new().ok_or(ENOMEM)?;
    let n = probe.pcp_pages() * 2 + 256;
    let shared = Shared::new(tok, Some(probe), 1)?;
    cell(tok, &shared, ctx, Way::Engine(Inline::Nowait), n)
}
