// SPDX-License-Identifier: GPL-2.0

//! Experiment 2: `raw_call_rcu()` against `call_rcu()` (seed 002), the
//! costs part: objects whose type needs `Drop`, dropped after a grace
//! period by the kernel's `call_rcu()` or by rcu_lab's batched callbacks,
//! with the block pages got in each of the ways the thread argued about.
//!
//! Each thread, each loop: `objects` objects are allocated and unlinked
//! (each swapped out of an RCU pointer, so each is a `Retired` that readers
//! could still hold) outside the timed part, then handed to the variant's
//! reclaim, timed: odd loops in task context with nothing held, even loops
//! under a raw spinlock with interrupts off, 64 objects per hold (so that
//! debug-objects' pool, which cannot refill under the lock on PREEMPT_RT,
//! lasts: [`RAW_HOLD`]). The variants:
//!
//! * `call_rcu`: the kernel's, one `rcu_head` per object;
//! * `raw_typed`, `raw_pairs`: batched, never allocating in the caller's
//!   context (5.11's design applied to callbacks), typed blocks and
//!   (`rcu_head`, callback) blocks;
//! * `nowait`: batched (typed), a page allocated with `GFP_NOWAIT` when the
//!   cache is empty; it runs its raw-lock loops in task context, since under
//!   a raw spinlock lockdep reports it (the evidence matrix's cell);
//! * `override`: batched (typed), `can_fill_pool()`'s policy;
//! * `runtime_check`: batched (typed), `GFP_NOWAIT` only when
//!   `preemptible()`;
//! * `deferred`: an llist and an `irq_work` ([`IrqDeferred`]) pass the
//!   objects on to a `runtime_check` engine later: from hard interrupt on
//!   lazy and full kernels, from the preemptible `irq_work/N` thread on RT;
//! * `typed`: batched (typed), one call that takes the caller's context
//!   token (`crate::context`) and picks its path from the token's type: a
//!   page allocated with `GFP_NOWAIT` on a miss when the token proves that
//!   legal (task loops: `Sleep`), the object's own `rcu_head` when it does
//!   not (raw-lock loops: the guard lends `Atomic`). Nothing is decided at
//!   run time.
//!
//! Every batched variant has its own engine, living as long as the module
//! (warm). After the rounds, with `matrix=1`, the run adds the evidence
//! matrix's clean cells on this model ([`matrix`]); the cells lockdep must
//! report run in boots of their own (the negative tests `matrix_nowait_*`).
//! See `Documentation/raw_call_rcu.rst`.

pub(crate) mod matrix;

use super::{params, Control, Field, Run, Spec, Variant};
use crate::{
    context::{Context, Sleep},
    new_raw_spinlock,
    rcu::{
        self,
        batch::{Batch, Callbacks, Config, Inline, Stats, Typed, BLOCK_ENTRIES},
        IrqDeferred, RcuBox, RcuPtr, Retired,
    },
    reclaim::{CallRcu, Reclaim},
    sync::RawSpinLock,
    system, task,
    time::{self, Instant},
};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use kernel::{cpu::CpuId, page::PAGE_SIZE, prelude::*, str::CString};

params! {
    pub(crate) struct Params {
        threads: 1..=64 = 2, "load threads, bound to CPU i % online CPUs";
        objects: 1..=100_000 = 2000, "objects per loop and thread";
        loops: 2..=10_000 = 8, "loops per thread: odd ones in task context, even ones under a raw spinlock";
        rounds: 1..=50 = 3, "rounds over all variants, in rotating order; results are medians";
        variants: 1..=255 = 255, "bit mask: 1 call_rcu, 2 raw_typed, 4 raw_pairs, 8 nowait, 16 override, 32 runtime_check, 64 deferred, 128 typed";
        cache_pages: 0..=1024 = 5, "batched: empty block pages kept per CPU (kernel: rcu_min_cached_objs 5)";
        idle: 0..=1 = 1, "1: measure grace periods over an idle interval of the same length";
        matrix: 0..=1 = 1, "1: then run the evidence matrix's clean cells on this model";
    }
}

/// Experiment 2.
pub(crate) struct RawCallRcu;

/// The object: a payload, and a drop that counts itself.
pub(crate) struct Obj {
    _payload: [u64; 2],
}

/// Objects dropped, over the module's life (one run at a time).
static DROPPED: AtomicU64 = AtomicU64::new(0);

impl Drop for Obj {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Relaxed);
        if GAPS.on.load(Relaxed) {
            GAPS.record();
        }
    }
}

/// The invocation cost per callback, measured in the guest without the 4 ms
/// tick: each drop reads the monotonic clock, and the gap since the
/// previous drop on the same CPU is one callback's cost (the walk's step,
/// the drop, and whatever the shape does per object: `call_rcu()` frees
/// each object in its callback, the typed block frees its objects with one
/// `kfree_bulk()` after the loop, which lands in the gap after it). A grace
/// period lies between two batches, so only gaps below [`GAP_MAX_NS`] count.
struct Gaps {
    on: AtomicBool,
    /// Per CPU (modulo [`GAP_CPUS`]), the last drop's time; 0: none yet.
    last: [AtomicU64; GAP_CPUS],
    sum: AtomicU64,
    count: AtomicU64,
}

/// CPUs with a slot of their own; more share slots (and lose some gaps).
const GAP_CPUS: usize = 64;
/// Longest gap taken as inside one batch of callbacks.
const GAP_MAX_NS: u64 = 100_000;

static GAPS: Gaps = Gaps {
    on: AtomicBool::new(false),
    last: [const { AtomicU64::new(0) }; GAP_CPUS],
    sum: AtomicU64::new(0),
    count: AtomicU64::new(0),
};

impl Gaps {
    /// Called by each drop while on. Any context.
    fn record(&self) {
        let now = time::monotonic_ns();
        let cpu = CpuId::current().as_u32() as usize % GAP_CPUS;
        let prev = self.last[cpu].swap(now, Relaxed);
        let gap = now.wrapping_sub(prev);
        if prev != 0 && gap <= GAP_MAX_NS {
            self.sum.fetch_add(gap, Relaxed);
            self.count.fetch_add(1, Relaxed);
        }
    }

    /// Starts recording from nothing.
    fn start(&self) {
        for l in &self.last {
            l.store(0, Relaxed);
        }
        self.sum.store(0, Relaxed);
        self.count.store(0, Relaxed);
        self.on.store(true, Relaxed);
    }

    /// Stops recording; returns the mean gap and the gaps counted.
    fn stop(&self) -> (Option<u64>, u64) {
        self.on.store(false, Relaxed);
        let n = self.count.load(Relaxed);
        ((n > 0).then(|| self.sum.load(Relaxed) / n), n)
    }
}

/// How a variant frees: the kernel's `call_rcu()`, or one of the engines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    CallRcu,
    /// An engine of [`Engines::typed`], by index.
    Typed(usize),
    Pairs,
    /// [`Engines::deferred`]: an `irq_work` in front of a `runtime_check`
    /// engine.
    Deferred,
    /// [`Engines::by_type`]: the path picked by the caller's token type.
    ByType,
}

/// The variants, in the bit order of the `variants` parameter.
const VARIANTS: &[Variant<Way>] = &[
    Variant {
        name: "call_rcu",
        v: Way::CallRcu,
    },
    Variant {
        name: "raw_typed",
        v: Way::Typed(0),
    },
    Variant {
        name: "raw_pairs",
        v: Way::Pairs,
    },
    Variant {
        name: "nowait",
        v: Way::Typed(1),
    },
    Variant {
        name: "override",
        v: Way::Typed(2),
    },
    Variant {
        name: "runtime_check",
        v: Way::Typed(3),
    },
    Variant {
        name: "deferred",
        v: Way::Deferred,
    },
    Variant {
        name: "typed",
        v: Way::ByType,
    },
];

/// The `nowait` variant's way.
const NOWAIT: Way = Way::Typed(1);

/// The inline policy of each typed engine, by index.
const TYPED: [Inline; 4] = [
    Inline::Never,
    Inline::Nowait,
    Inline::Override,
    Inline::RuntimeCheck,
];

/// The experiment's warm engines.
pub(crate) struct Engines {
    typed: KVec<Batch<'static, Typed<Obj>>>,
    pairs: Batch<'static, Callbacks>,
    deferred: Pin<KBox<IrqDeferred<Obj, Batch<'static, Typed<Obj>>>>>,
    /// `typed`: its own policy is never consulted (the caller's token type
    /// decides).
    by_type: Batch<'static, Typed<Obj>>,
}

/// What the run does with a variant's engine, whatever its contents.
trait Warm {
    fn counters(&self) -> Stats;
    /// Tunes the engine to the run's parameters, fills its caches and
    /// restarts its peak. Sleeps.
    fn reset(&self, ctx: &mut Sleep, p: &Params);
    /// Waits until every object handed over so far was dropped, but for
    /// the emergency path's (`rcu_barrier()`). Sleeps.
    fn drain_all(&self, ctx: &mut Sleep);
}

impl<C: rcu::batch::Contents> Warm for Batch<'static, C> {
    fn counters(&self) -> Stats {
        self.stats()
    }

    fn reset(&self, ctx: &mut Sleep, p: &Params) {
        self.tune(p.cache_pages as usize, Config::default().drain_delay_ns);
        self.fill_caches(ctx);
        self.reset_peak();
    }

    fn drain_all(&self, ctx: &mut Sleep) {
        self.barrier(ctx)
    }
}

impl Engines {
    /// The engine `way` ends in (`None` for the kernel's `call_rcu()`).
    fn engine(&self, way: Way) -> Option<&dyn Warm> {
        match way {
            Way::CallRcu => None,
            Way::Typed(i) => Some(&self.typed[i]),
            Way::Pairs => Some(&self.pairs),
            Way::Deferred => Some(self.deferred.target()),
            Way::ByType => Some(&self.by_type),
        }
    }

    /// Waits until every object handed to `way` so far was dropped: the
    /// deferral's flush, the engine's barrier, then `rcu_barrier()` (for
    /// `call_rcu()` and the emergency paths). Sleeps.
    fn barrier(&self, ctx: &mut Sleep, way: Way) {
        if way == Way::Deferred {
            self.deferred.flush(ctx);
        }
        if let Some(e) = self.engine(way) {
            e.drain_all(ctx);
        }
        rcu::barrier(ctx);
    }
}

/// What one variant run measured.
#[derive(Clone, Copy, Default)]
struct Measured {
    objects: u64,
    /// Thread time handing objects over, task-context loops and raw-lock
    /// loops, and how many objects each saw.
    task_ns: u64,
    task_objs: u64,
    raw_ns: u64,
    raw_objs: u64,
    /// Whether the raw-lock loops really ran under the raw lock.
    raw_run: bool,
    /// First hand-over until every object was dropped.
    reclaim_us: u64,
    gps: u64,
    idle_gps: Option<u64>,
    /// Engine counters over the run (none for `call_rcu`).
    stats: Option<Stats>,
    /// Mean gap between consecutive drops on one CPU ([`Gaps`]), and how
    /// many gaps it averages.
    invoke_ns: Option<u64>,
    invoke_gaps: u64,
}

type F = Field<Measured>;

const FIELDS: &[Field<Measured>] = &[
    F::value("objects", |m| Some(m.objects)),
    F::value("enqueue_task_ns_per_obj", |m| {
        Some(m.task_ns / m.task_objs.max(1))
    })
    .summary("ns/obj in task context,"),
    F::value("enqueue_raw_ns_per_obj", |m| {
        m.raw_run.then(|| m.raw_ns / m.raw_objs.max(1))
    })
    .summary("ns/obj under a raw spinlock,"),
    F::value("reclaim_us", |m| Some(m.reclaim_us)),
    F::value("invoke_ns_per_cb", |m| m.invoke_ns).summary("ns per callback invoked,"),
    F::value("invoke_gaps", |m| Some(m.invoke_gaps)),
    F::count("gps", |m| m.gps, |m| m.idle_gps).summary("net GPs"),
    F::value("callbacks_per_gp", |m| {
        m.idle_gps
            .map(|i| m.objects / m.gps.saturating_sub(i).max(1))
    }),
    F::value("fallback", |m| m.stats.map(|s| s.emergency as u64)),
    F::value("fallback_per_mille", |m| {
        m.stats
            .map(|s| s.emergency as u64 * 1000 / m.objects.max(1))
    }),
    F::value("inline_allocated", |m| {
        m.stats.map(|s| s.inline_allocated as u64)
    }),
    F::value("inline_declined", |m| {
        m.stats.map(|s| s.inline_declined as u64)
    }),
    F::value("block_pages", |m| m.stats.map(|s| s.pages_peak as u64)),
];

/// Objects a load thread checks [`Control::stopping`] after.
const STOP_CHECK: usize = 256;

/// Objects handed over per hold of the raw spinlock: each may take
/// `call_rcu()` (the `call_rcu` variant, or an engine's emergency path),
/// and on the PREEMPT_RT debug kernel debug-objects cannot refill its pool
/// under the lock (see [`rcu::debug_objects_refill`]; 300 in one hold ran
/// it dry in CI on 2026-12-04).
const RAW_HOLD: usize = rcu::RAW_CALL_RCU_BURST;

/// The load's shared state.
struct Load<'a> {
    ctl: &'a Control,
    engines: &'a Engines,
    way: Way,
    p: &'a Params,
    lock: &'a RawSpinLock<()>,
    task_ns: AtomicU64,
    task_objs: AtomicU64,
    raw_ns: AtomicU64,
    raw_objs: AtomicU64,
    failed: AtomicUsize,
}

impl Load<'_> {
    /// Hands `objs` to the variant's reclaim, emptying it, in the context
    /// `ctx` describes (only `typed` asks).
    fn reclaim(&self, ctx: &mut impl Context, objs: &mut KVVec<Retired<Obj>>) {
        match self.way {
            Way::CallRcu => CallRcu.reclaim_all(objs),
            Way::Typed(i) => self.engines.typed[i].reclaim_all(objs),
            Way::Pairs => self.engines.pairs.reclaim_all(objs),
            Way::Deferred => self.engines.deferred.reclaim_all(objs),
            Way::ByType => {
                for o in objs.drain_all() {
                    self.engines.by_type.call_rcu_typed(ctx, o);
                }
            }
        }
    }

    /// Hands `objs` over in task context: `nowait` through the engine's
    /// call that demands the proof that allocating is legal (the thread's
    /// `Sleep` has it), the others as [`Load::reclaim`].
    fn reclaim_task(&self, ctx: &mut Sleep, objs: &mut KVVec<Retired<Obj>>) {
        if self.way == NOWAIT {
            for o in objs.drain_all() {
                self.engines.typed[1].call_rcu_nowait(ctx, o);
            }
        } else {
            self.reclaim(ctx, objs);
        }
    }

    /// Hands `objs` over under the raw spinlock, [`RAW_HOLD`] objects per
    /// hold, each hold after [`rcu::debug_objects_refill`], and returns the
    /// time spent in the holds. `hold` is empty, with room for a hold.
    fn reclaim_locked(
        &self,
        ctx: &mut Sleep,
        objs: &mut KVVec<Retired<Obj>>,
        hold: &mut KVVec<Retired<Obj>>,
    ) -> u64 {
        let mut ns = 0;
        while !objs.is_empty() {
            while hold.len() < RAW_HOLD {
                let Some(o) = objs.pop() else { break };
                // Within the capacity reserved.
                let _ = hold.push_within_capacity(o);
            }
            rcu::debug_objects_refill();
            let t = Instant::now();
            {
                let mut g = self.lock.lock_irqsave(ctx);
                self.reclaim(g.ctx(), hold);
            }
            ns += t.elapsed_ns();
        }
        ns
    }

    /// Whether the variant's raw-lock loops run under the lock (`nowait`
    /// would provoke lockdep there: see the module doc).
    fn raw_allowed(&self) -> bool {
        self.way != NOWAIT
    }

    fn thread(&self, ctx: &mut Sleep) {
        let n = self.p.objects as usize;
        let Ok(mut objs) = KVVec::<Retired<Obj>>::with_capacity(n, GFP_KERNEL) else {
            self.failed.fetch_add(1, Relaxed);
            return self.ctl.stop();
        };
        let Ok(mut hold) = KVVec::<Retired<Obj>>::with_capacity(RAW_HOLD, GFP_KERNEL) else {
            self.failed.fetch_add(1, Relaxed);
            return self.ctl.stop();
        };
        let cell = RcuPtr::new(None);
        for l in 0..self.p.loops {
            if self.ctl.stopping() {
                return;
            }
            for j in 0..n {
                if j % STOP_CHECK == 0 && self.ctl.stopping() {
                    return;
                }
                // `GFP_KERNEL`: the crate's flags have no `__GFP_NORETRY`;
                // the floor's memory check before the run keeps the load
                // within half the memory available.
                let new = RcuBox::new(
                    Obj {
                        _payload: [j as u64; 2],
                    },
                    GFP_KERNEL | __GFP_NOWARN,
                );
                let Ok(new) = new else {
                    self.failed.fetch_add(1, Relaxed);
                    return self.ctl.stop();
                };
                if let Some(old) = cell.swap(Some(new)) {
                    // Within the capacity reserved above.
                    let _ = objs.push_within_capacity(old);
                }
            }
            let under_lock = l % 2 == 1 && self.raw_allowed();
            let got = objs.len() as u64;
            let ns = if under_lock {
                self.reclaim_locked(ctx, &mut objs, &mut hold)
            } else {
                let t = Instant::now();
                self.reclaim_task(ctx, &mut objs);
                t.elapsed_ns()
            };
            let (sum, count) = if l % 2 == 1 {
                (&self.raw_ns, &self.raw_objs)
            } else {
                (&self.task_ns, &self.task_objs)
            };
            sum.fetch_add(ns, Relaxed);
            count.fetch_add(got, Relaxed);
            task::cond_resched();
        }
        // The cell's last object goes by `call_rcu()` when it is dropped.
    }
}

/// Runs one variant once and measures it.
fn measure(
    ctx: &mut Sleep,
    ctl: &Control,
    engines: &Engines,
    way: Way,
    p: &Params,
) -> Result<Measured> {
    let lock = KBox::pin_init(
        new_raw_spinlock!((), "rcu_lab_raw_call_rcu_caller"),
        GFP_KERNEL,
    )?;
    let engine = engines.engine(way);
    let engine_stats = || engine.map(|e| e.counters());
    let before = engine_stats();
    if let Some(e) = engine {
        e.reset(ctx, p);
    }
    let dropped0 = DROPPED.load(Relaxed);
    let load = Load {
        ctl,
        engines,
        way,
        p,
        lock: &lock,
        task_ns: AtomicU64::new(0),
        task_objs: AtomicU64::new(0),
        raw_ns: AtomicU64::new(0),
        raw_objs: AtomicU64::new(0),
        failed: AtomicUsize::new(0),
    };
    let gp0 = rcu::GpSeq::now();
    let t0 = Instant::now();
    GAPS.start();
    let r = ctl.threads(ctx, c"raw_call_rcu", p.threads as usize, &|_, ctx| {
        load.thread(ctx)
    });
    // Every object handed over is dropped before the run ends, stopped or
    // not (the load threads' last objects too).
    engines.barrier(ctx, way);
    let (invoke_ns, invoke_gaps) = GAPS.stop();
    let reclaim_us = t0.elapsed_us();
    let (gps, _) = gp0.elapsed();
    r?;
    let objects = load.task_objs.load(Relaxed) + load.raw_objs.load(Relaxed);
    // Each thread's cell drops one more object.
    let dropped = DROPPED.load(Relaxed) - dropped0;
    let stats = engine_stats()
        .zip(before)
        .map(|(now, before)| now.since(&before));
    if load.failed.load(Relaxed) > 0 {
        pr_warn!("raw_call_rcu: an allocation failed (out of memory); everything was freed\n");
        return Err(ENOMEM);
    }
    if dropped != objects + p.threads {
        pr_err!(
            "raw_call_rcu: {} objects handed over (and {} left in cells) but {} dropped\n",
            objects,
            p.threads,
            dropped
        );
        return Err(EIO);
    }
    let mut m = Measured {
        objects,
        task_ns: load.task_ns.load(Relaxed),
        task_objs: load.task_objs.load(Relaxed),
        raw_ns: load.raw_ns.load(Relaxed),
        raw_objs: load.raw_objs.load(Relaxed),
        raw_run: load.raw_allowed(),
        reclaim_us,
        gps,
        idle_gps: None,
        stats,
        invoke_ns,
        invoke_gaps,
    };
    if p.idle == 1 {
        m.idle_gps = Some(ctl.idle(ctx, m.reclaim_us)?.gps);
    }
    Ok(m)
}

impl Spec for RawCallRcu {
    const NAME: &'static CStr = c"raw_call_rcu";
    type Params = Params;
    /// One warm engine per batched variant.
    type Shared = Engines;

    fn shared(ctx: &mut Sleep) -> Result<Engines> {
        let mut typed = KVec::with_capacity(TYPED.len(), GFP_KERNEL)?;
        for inline in TYPED {
            let cfg = Config {
                inline,
                ..Config::default()
            };
            typed.push(Batch::new(ctx, c"raw_call_rcu", cfg)?, GFP_KERNEL)?;
        }
        let target = Batch::new(
            ctx,
            c"raw_call_rcu_deferred",
            Config {
                inline: Inline::RuntimeCheck,
                ..Config::default()
            },
        )?;
        Ok(Engines {
            typed,
            pairs: Batch::new(ctx, c"raw_call_rcu_pairs", Config::default())?,
            deferred: KBox::pin_init(IrqDeferred::new(target), GFP_KERNEL)?,
            by_type: Batch::new(ctx, c"raw_call_rcu_typed", Config::default())?,
        })
    }

    /// Every object may still wait for its grace period when the last one
    /// is handed over: each a 64-byte kmalloc object (an `RcuBox<Obj>` is
    /// 32 bytes; KASAN's redzones fit the 64-byte class on the debug
    /// kernel), each thread's array of a loop's objects, and the block
    /// pages of one engine (pairs: twice as many).
    fn peak_bytes(_ctx: &mut Sleep, p: &Params) -> Result<u64> {
        let total = p.threads * p.objects * p.loops;
        let blocks = 2 * total.div_ceil(BLOCK_ENTRIES as u64)
            + system::possible_cpus() as u64 * (1 + p.cache_pages * 16);
        Ok(total * 64 + p.threads * p.objects * 8 + blocks * PAGE_SIZE as u64)
    }

    fn run(ctx: &mut Sleep, p: &Params, shared: &Engines, run: &mut Run) -> Result<CString> {
        run.line(format_args!(
            "# method: threads bound to CPU i % online CPUs; per loop a thread allocates its \
             objects (RcuBox<Obj>, 16-byte payload with a counting Drop) and swaps each out of \
             an RCU pointer, untimed, then hands them all to the variant's reclaim, timed: odd \
             loops in task context, even loops under a raw spinlock with interrupts off, {} \
             objects per hold (nowait: in task context, as lockdep reports it under the lock)",
            RAW_HOLD
        ))?;
        run.line(format_args!(
            "# enqueue_task_ns_per_obj, enqueue_raw_ns_per_obj: thread time handing over, per \
             object; reclaim_us: first hand-over until every object was dropped (engine \
             barrier, then rcu_barrier); gps over reclaim_us, idle_gps over an idle interval \
             as long; callbacks_per_gp: objects / net gps; fallback: objects through the \
             emergency call_rcu(); inline_*: pages allocated or declined in the caller's \
             context; block_pages: the engine's peak; invoke_ns_per_cb: the mean gap between \
             consecutive drops on one CPU (ktime_get() in each drop; gaps under 100 us, as a \
             grace period separates batches; a typed block's kfree_bulk() falls in the gap \
             after its loop), invoke_gaps: how many"
        ))?;
        run.plot(
            "enqueue_task_ns_per_obj",
            true,
            "call_rcu variants: ns per object handed over, task context",
        )?;
        run.plot(
            "enqueue_raw_ns_per_obj",
            true,
            "call_rcu variants: ns per object handed over, under a raw spinlock",
        )?;
        let summary = run.rounds(
            ctx,
            VARIANTS,
            p.variants,
            p.rounds as usize,
            FIELDS,
            |ctx, ctl, way, _seq| measure(ctx, ctl, shared, way, p),
        )?;
        let summary = summary.into_bytes();
        let summary = core::str::from_utf8(&summary).map_err(|_| EINVAL)?;
        if p.matrix == 0 {
            return CString::try_from_fmt(fmt!("{summary}"));
        }
        let (cells, agree) = matrix_rows(ctx, run)?;
        CString::try_from_fmt(fmt!(
            "{summary}; matrix: {agree} of {cells} clean cells as expected"
        ))
    }
}

/// Runs the evidence matrix's clean cells and writes a `cell` row each,
/// then a `matrix_fallback` row per policy that may decline (the two that
/// decide at run time, and `typed`, whose token type decides).
/// Returns the cells run and how many agreed with the expectations.
/// Sleeps.
fn matrix_rows(ctx: &mut Sleep, run: &mut Run) -> Result<(usize, usize)> {
    use matrix::{alloc_legal, expected_alloc, is_rt, way_name, Way};
    let rt = is_rt();
    run.line(format_args!(
        "# matrix: each variant handed {} objects in each context expected clean on this model \
         (engines with no page cache, {} entries per block); preemptible etc.: the context as \
         the hand-over saw it; path: alloc when block-page misses allocated in the caller's \
         context, fallback when they took the object's rcu_head, - without block pages; \
         *_expected: written beforehand from the 7.3 source; agree=1 when preemptible, path \
         and drops are as expected; alloc_legal: nowait is clean in this context",
        matrix::CELL_OBJECTS,
        matrix::CELL_ENTRIES
    ))?;
    let model = crate::system::preempt_model();
    let (mut cells, mut agree) = (0, 0);
    // Per policy: objects and fallbacks in the cells where allocating
    // would have been legal.
    let mut legal: [(usize, usize); 3] = [(0, 0); 3];
    let path = |a: Option<bool>| match a {
        Some(true) => "alloc",
        Some(false) => "fallback",
        None => "-",
    };
    matrix::run_clean(ctx, |c| {
        cells += 1;
        let ok = c.agrees(rt);
        if ok {
            agree += 1;
        } else {
            pr_warn!(
                "raw_call_rcu: matrix cell {} in {} disagrees with its expectation\n",
                way_name(c.way),
                c.ctx.name()
            );
        }
        let s = c.stats.unwrap_or_default();
        let slot = match c.way {
            Way::Engine(Inline::RuntimeCheck) => Some(0),
            Way::Engine(Inline::Override) => Some(1),
            Way::ByType => Some(2),
            _ => None,
        };
        if let Some(i) = slot.filter(|_| alloc_legal(c.ctx, rt)) {
            legal[i].0 += c.objects;
            legal[i].1 += s.emergency;
        }
        run.line(format_args!(
            "cell variant={} context={} model={model} preemptible={} preemptible_expected={} \
             preempt_count={:#x} irqs_disabled={} in_hardirq={} in_serving_softirq={} \
             objects={} dropped={} inline_allocated={} inline_declined={} fallback={} path={} \
             path_expected={} alloc_legal={} agree={}",
            way_name(c.way),
            c.ctx.name(),
            c.state.preemptible as u8,
            c.ctx.preemptible(rt) as u8,
            c.state.preempt_count,
            c.state.irqs_disabled as u8,
            c.state.in_hardirq as u8,
            c.state.in_serving_softirq as u8,
            c.objects,
            super::Opt(c.dropped),
            super::Opt(c.stats.map(|s| s.inline_allocated)),
            super::Opt(c.stats.map(|s| s.inline_declined)),
            super::Opt(c.stats.map(|s| s.emergency)),
            path(c.allocated()),
            path(expected_alloc(c.way, c.ctx, rt)),
            alloc_legal(c.ctx, rt) as u8,
            ok as u8
        ))
    })?;
    for (i, name) in ["runtime_check", "override", "typed"].iter().enumerate() {
        let (objects, fallback) = legal[i];
        run.line(format_args!(
            "matrix_fallback variant={name} model={model} legal_objects={objects} \
             fallback={fallback} fallback_per_mille={}",
            fallback * 1000 / objects.max(1)
        ))?;
    }
    Ok((cells, agree))
}
