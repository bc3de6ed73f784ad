// SPDX-License-Identifier: GPL-2.0

//! Experiment 1: `kfree_rcu()` batching (seed 002).
//!
//! The question: is it worth storing pointers in page-sized blocks and
//! freeing a block with `kfree_bulk()` after one grace period, instead of an
//! `rcu_head` and a callback per object, given that the blocks must never
//! be allocated inline (raw spinlocks, PREEMPT_RT)? And how does that 5.11
//! design compare with 7.3's slab sheaves?
//!
//! An rcuscale-like load (`threads` threads, each `loops` loops of
//! allocating `objects` objects of `size` bytes and freeing each after a
//! grace period) runs once per variant, variants one after another,
//! `rounds` times in a rotating order. Each variant has its own slab cache
//! (`SLAB_NO_MERGE`, same size class) and ends with a barrier: the cache is
//! destroyed, which waits for its `kfree_rcu()` objects and warns about any
//! left over. The variants:
//!
//! * `engine`: rcu_lab's [`KfreeBatch`], one for the module's life (warm:
//!   its page cache keeps what earlier runs grew it to), lent to each run
//!   with [`KfreeBatch::scope`];
//! * `sheaf`: the kernel's `kvfree_call_rcu()` on a cache with sheaves;
//! * `pageblock`: `kvfree_call_rcu()` on a cache without sheaves
//!   (`SLAB_NOLEAKTRACE`): the 5.11 page-block path;
//! * `nolock`: `kfree_rcu_nolock()` on a cache with sheaves;
//! * `call_rcu`: per-object `call_rcu()` with a freeing callback;
//! * `sync`: `synchronize_rcu()` after each loop, then plain frees.
//!
//! What each row reports is documented in `Documentation/kfree_batching.rst`
//! and in the `# method` lines of the results.

use super::{params, Control, Field, Run, Spec, Variant};
use crate::{
    context::Sleep,
    mm::slab::{SlabCache, SlabObj},
    rcu::{
        self,
        batch::{Config, KfreeBatch, Scope, Stats, BLOCK_ENTRIES},
    },
    reclaim::{CallRcu, KfreeRcuNolock, KvfreeRcu, Reclaim, SynchronizeRcu},
    system, task,
    time::Instant,
};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use kernel::{page::PAGE_SIZE, prelude::*, str::CString};

params! {
    pub(crate) struct Params {
        threads: 1..=64 = 2, "load threads (rcuscale kfree_nthreads)";
        objects: 1..=1_000_000 = 2000, "objects per loop and thread (rcuscale kfree_alloc_num)";
        loops: 1..=100_000 = 8, "loops per thread (rcuscale kfree_loops)";
        size: 16..=4096 = 32, "object size in bytes; the rcu_head is its first 16";
        rounds: 1..=50 = 3, "rounds over all variants, in rotating order; results are medians";
        variants: 1..=63 = 63, "bit mask: 1 engine, 2 sheaf, 4 pageblock, 8 nolock, 16 call_rcu, 32 sync";
        drain_ms: 1..=5000 = 20, "engine: longest time a block stays open";
        cache_pages: 0..=1024 = 5, "engine: empty block pages kept per CPU (kernel: rcu_min_cached_objs 5)";
        idle: 0..=1 = 1, "1: measure grace periods over an idle interval of the same length";
        failslab: 0..=1 = 0, "1: failslab's cache-filter applies to the load's caches (tests)";
    }
}

/// Experiment 1.
pub(crate) struct KfreeBatching;

/// The ways of freeing an object after a grace period.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Engine,
    Sheaf,
    PageBlock,
    Nolock,
    CallRcu,
    Sync,
}

/// The variants, in the bit order of the `variants` parameter.
const VARIANTS: &[Variant<Way>] = &[
    Variant {
        name: "engine",
        v: Way::Engine,
    },
    Variant {
        name: "sheaf",
        v: Way::Sheaf,
    },
    Variant {
        name: "pageblock",
        v: Way::PageBlock,
    },
    Variant {
        name: "nolock",
        v: Way::Nolock,
    },
    Variant {
        name: "call_rcu",
        v: Way::CallRcu,
    },
    Variant {
        name: "sync",
        v: Way::Sync,
    },
];

impl Way {
    /// Whether its cache has 7.3's per-CPU sheaves.
    fn sheaves(self) -> bool {
        self != Way::PageBlock
    }
}

/// The load's shape.
#[derive(Clone, Copy)]
struct Load {
    threads: usize,
    objects: usize,
    loops: usize,
    size: usize,
}

impl Load {
    fn total(&self) -> usize {
        self.threads * self.objects * self.loops
    }
}

/// What one variant run measured. `None`: not observable for this variant
/// or kernel.
#[derive(Clone, Copy, Default)]
struct Measured {
    objects: u64,
    /// Thread time allocating a loop's objects, and then enqueueing them
    /// (handing each to its deferred free; `sync`: one `synchronize_rcu()`
    /// and the frees), summed over threads and loops.
    alloc_ns: u64,
    enqueue_ns: u64,
    /// First enqueue to the last thread done.
    window_us: u64,
    /// First enqueue until every object is freed and the cache destroyed.
    reclaim_us: u64,
    /// Normal grace periods over `reclaim_us`, and over an idle interval
    /// of the same length.
    gps: u64,
    idle_gps: Option<u64>,
    /// Expedited grace periods over `reclaim_us`, and idle.
    exp_gps: u64,
    idle_exp_gps: Option<u64>,
    /// The mechanism's own grace-period requests.
    requests: Option<u64>,
    /// Highest slab count of the variant's cache seen, pages per slab.
    peak_slabs: Option<u64>,
    slab_pages: Option<u64>,
    /// Engine block pages at their peak, and their bound: the blocks the
    /// run's objects need, plus one open block and `cache_pages` per CPU
    /// (as `batch_flood` checks it).
    block_pages: Option<u64>,
    block_bound: Option<u64>,
    /// Objects that took an emergency or fallback path.
    fallback: Option<u64>,
    /// Slab counters (`sheaf_capacity`; `free_rcu_sheaf`,
    /// `free_rcu_sheaf_fail` with `CONFIG_SLUB_STATS`).
    sheaf_capacity: Option<u64>,
    free_rcu_sheaf: Option<u64>,
    free_rcu_sheaf_fail: Option<u64>,
}

impl Measured {
    fn per_obj(&self, ns: u64) -> Option<u64> {
        Some(ns / self.objects.max(1))
    }

    fn peak_pages(&self) -> Option<u64> {
        let slab = self.peak_slabs? * self.slab_pages?;
        Some(slab + self.block_pages.unwrap_or(0))
    }
}

/// The result fields, in row order.
/// A result field of this experiment.
type F = Field<Measured>;

const FIELDS: &[Field<Measured>] = &[
    F::value("objects", |m| Some(m.objects)),
    F::value("enqueue_ns_per_obj", |m| {
        m.per_obj(m.alloc_ns + m.enqueue_ns)
    })
    .summary("ns/obj"),
    F::value("alloc_ns_per_obj", |m| m.per_obj(m.alloc_ns)),
    F::value("enqueue_only_ns_per_obj", |m| m.per_obj(m.enqueue_ns))
        .summary("ns/obj enqueue alone,"),
    F::value("window_us", |m| Some(m.window_us)),
    F::value("reclaim_us", |m| Some(m.reclaim_us)),
    F::count("gps", |m| m.gps, |m| m.idle_gps).summary("net GPs"),
    F::value("net_gps_per_1000_milli", |m| {
        m.idle_gps
            .map(|i| m.gps.saturating_sub(i) * 1_000_000 / m.objects.max(1))
    }),
    F::count("exp_gps", |m| m.exp_gps, |m| m.idle_exp_gps),
    F::value("requests", |m| m.requests),
    F::value("peak_slabs", |m| m.peak_slabs),
    F::value("slab_pages", |m| m.slab_pages),
    F::value("block_pages", |m| m.block_pages),
    F::value("block_bound", |m| m.block_bound),
    F::value("peak_pages", |m| m.peak_pages()),
    F::value("fallback", |m| m.fallback),
    F::value("sheaf_capacity", |m| m.sheaf_capacity),
    F::value("free_rcu_sheaf", |m| m.free_rcu_sheaf),
    F::value("free_rcu_sheaf_fail", |m| m.free_rcu_sheaf_fail),
];

/// Objects a load thread checks [`Control::stopping`] after.
const STOP_CHECK: usize = 256;

/// Per-thread state of the load: objects of `cache` (lifetime `'c`),
/// handed to the engine's scope `batch` for the engine variant.
struct Shared<'a, 'c> {
    ctl: &'a Control,
    cache: &'c SlabCache,
    batch: Option<&'a Scope<'a, 'c>>,
    way: Way,
    load: Load,
    alloc_ns: AtomicU64,
    enqueue_ns: AtomicU64,
    peak_slabs: AtomicU64,
    failed: AtomicUsize,
}

/// What a load left in its [`Shared`] counters.
struct Loaded {
    alloc_ns: u64,
    enqueue_ns: u64,
    peak_slabs: u64,
    failed: usize,
    window_us: u64,
}

impl Shared<'_, '_> {
    fn sample_slabs(&self, ctx: &mut Sleep) {
        if let Some(s) = self.cache.attr(ctx, c"slabs") {
            self.peak_slabs.fetch_max(s, Relaxed);
        }
    }

    fn fail(&self) {
        self.failed.fetch_add(1, Relaxed);
        self.ctl.stop();
    }

    /// One thread's loops: allocate a loop's objects, then hand each to
    /// its deferred free, each part timed. Ends early when the run stops
    /// or an allocation fails (which stops the others too); objects
    /// allocated and not yet handed over are then freed at once.
    fn thread(&self, ctx: &mut Sleep, i: usize) {
        let Ok(mut objs) = KVVec::<SlabObj<'_>>::with_capacity(self.load.objects, GFP_KERNEL)
        else {
            return self.fail();
        };
        for _ in 0..self.load.loops {
            if self.ctl.stopping() {
                return;
            }
            let t = Instant::now();
            for j in 0..self.load.objects {
                if j % STOP_CHECK == 0 && self.ctl.stopping() {
                    return;
                }
                let Ok(obj) = self.cache.alloc(ctx) else {
                    return self.fail();
                };
                // Within the capacity reserved above.
                let _ = objs.push_within_capacity(obj);
            }
            let t1 = Instant::now();
            self.alloc_ns.fetch_add(t.elapsed_ns(), Relaxed);
            // One strategy per variant, its loop monomorphised.
            match (self.way, self.batch) {
                (Way::Engine, Some(b)) => b.reclaim_all(&mut objs),
                (Way::Engine, None) => objs.clear(),
                (Way::Sheaf | Way::PageBlock, _) => KvfreeRcu.reclaim_all(&mut objs),
                (Way::Nolock, _) => KfreeRcuNolock.reclaim_all(&mut objs),
                (Way::CallRcu, _) => CallRcu.reclaim_all(&mut objs),
                (Way::Sync, _) => SynchronizeRcu.reclaim_all(&mut objs),
            }
            self.enqueue_ns.fetch_add(t1.elapsed_ns(), Relaxed);
            if i == 0 {
                self.sample_slabs(ctx);
            }
            task::cond_resched();
        }
    }
}

/// Runs the load on objects of `cache`, handing them to `batch` for the
/// engine variant; `t0` is its start.
fn load_run<'c>(
    ctx: &mut Sleep,
    ctl: &Control,
    cache: &'c SlabCache,
    batch: Option<&Scope<'_, 'c>>,
    way: Way,
    load: Load,
    t0: Instant,
) -> (Result, Loaded) {
    let shared = Shared {
        ctl,
        cache,
        batch,
        way,
        load,
        alloc_ns: AtomicU64::new(0),
        enqueue_ns: AtomicU64::new(0),
        peak_slabs: AtomicU64::new(0),
        failed: AtomicUsize::new(0),
    };
    let r = ctl.threads(ctx, c"kfree_batching", load.threads, &|i, ctx| {
        shared.thread(ctx, i)
    });
    let window_us = t0.elapsed_us();
    shared.sample_slabs(ctx);
    let loaded = Loaded {
        alloc_ns: shared.alloc_ns.load(Relaxed),
        enqueue_ns: shared.enqueue_ns.load(Relaxed),
        peak_slabs: shared.peak_slabs.load(Relaxed),
        failed: shared.failed.load(Relaxed),
        window_us,
    };
    (r, loaded)
}

/// Runs one variant once and measures it.
/// With `failslab`, failslab's `cache-filter` applies to the load's cache.
fn measure(
    ctx: &mut Sleep,
    ctl: &Control,
    engine: &KfreeBatch<'static>,
    way: Way,
    load: Load,
    cfg: Config,
    (idle, failslab): (bool, bool),
    seq: usize,
) -> Result<Measured> {
    let name = CString::try_from_fmt(fmt!(
        "rcu_lab_kfb_{}_{}",
        VARIANTS.iter().find(|v| v.v == way).map_or("?", |v| v.name),
        seq
    ))?;
    let cache = SlabCache::new(ctx, name, load.size, way.sheaves())?;
    if failslab {
        cache.set_attr(ctx, c"failslab", 1)?;
    }
    // The engine is the experiment's warm one, tuned to this run's params;
    // its counters are read as the change over this run.
    let engine = (way == Way::Engine).then_some(engine);
    let before = engine.map(|e| {
        e.tune(cfg.cache_pages, cfg.drain_delay_ns);
        e.fill_caches(ctx);
        e.reset_peak();
        e.stats()
    });
    let mut m = Measured {
        objects: load.total() as u64,
        sheaf_capacity: cache.attr(ctx, c"sheaf_capacity"),
        slab_pages: cache.attr(ctx, c"order").map(|o| 1u64 << o.min(10)),
        ..Measured::default()
    };
    let gp0 = rcu::GpSeq::now();
    let t0 = Instant::now();
    // The end of reclaim: every object freed. For the engine, when its
    // scope's barrier returns (the engine itself lives on, like the
    // kernel's per-CPU state); for the others, when the cache is
    // destroyed: `rcu_barrier()` for `call_rcu()`, and
    // `kvfree_rcu_barrier_on_cache()` for the kernel's kfree_rcu paths.
    let (r, loaded, end, stats) = match (engine, before) {
        (Some(e), Some(before)) => {
            let (r, loaded) = e.scope(ctx, |s, ctx| {
                load_run(ctx, ctl, &cache, Some(s), way, load, t0)
            });
            let end = (t0.elapsed_us(), gp0.elapsed());
            (r, loaded, Some(end), e.stats().since(&before))
        }
        _ => {
            let (r, loaded) = load_run(ctx, ctl, &cache, None, way, load, t0);
            (r, loaded, None, Stats::default())
        }
    };
    // A stop (signal) leaves here, after the threads were joined and, for
    // the engine, its objects freed; dropping the cache frees the rest.
    r?;
    m.window_us = loaded.window_us;
    m.free_rcu_sheaf = cache.attr(ctx, c"free_rcu_sheaf");
    m.free_rcu_sheaf_fail = cache.attr(ctx, c"free_rcu_sheaf_fail");
    let failed = loaded.failed;
    m.alloc_ns = loaded.alloc_ns;
    m.enqueue_ns = loaded.enqueue_ns;
    m.peak_slabs = Some(loaded.peak_slabs).filter(|s| *s > 0);
    // Waits for `call_rcu()` callbacks and the cache's kfree_rcu objects.
    drop(cache);
    let (us, gps) = end.unwrap_or_else(|| (t0.elapsed_us(), gp0.elapsed()));
    m.reclaim_us = us;
    (m.gps, m.exp_gps) = gps;
    let cap = m.sheaf_capacity.filter(|c| *c > 0);
    match way {
        Way::Engine => {
            m.requests = Some(stats.blocks_closed as u64);
            m.block_pages = Some(stats.pages_peak as u64);
            m.block_bound = Some(
                m.objects.div_ceil(BLOCK_ENTRIES as u64)
                    + system::possible_cpus() as u64 * (1 + cfg.cache_pages as u64),
            );
            m.fallback = Some(stats.emergency as u64);
            if stats.queued != stats.freed_in_blocks + stats.emergency {
                pr_err!(
                    "kfree_batching: engine queued {} objects but freed {} in blocks and {} by call_rcu\n",
                    stats.queued,
                    stats.freed_in_blocks,
                    stats.emergency
                );
                return Err(EIO);
            }
        }
        Way::Sheaf | Way::Nolock => {
            // Full sheaves handed to call_rcu(), from the objects freed to
            // them; only with CONFIG_SLUB_STATS.
            m.requests = m.free_rcu_sheaf.zip(cap).map(|(f, c)| f.div_ceil(c));
            m.fallback = m.free_rcu_sheaf_fail;
        }
        Way::PageBlock => {
            m.fallback = m.free_rcu_sheaf_fail;
        }
        Way::CallRcu => m.requests = Some(load.total() as u64),
        Way::Sync => m.requests = Some((load.threads * load.loops) as u64),
    }
    // After the engine's count check: a failed run frees everything too.
    if failed > 0 {
        pr_warn!(
            "kfree_batching: {} threads stopped early: an allocation failed (out of memory); \
             everything allocated was freed\n",
            failed
        );
        return Err(ENOMEM);
    }
    if idle {
        let c = ctl.idle(ctx, m.reclaim_us)?;
        m.idle_gps = Some(c.gps);
        m.idle_exp_gps = Some(c.exp_gps);
    }
    Ok(m)
}

impl Spec for KfreeBatching {
    const NAME: &'static CStr = c"kfree_batching";
    type Params = Params;
    /// The engine variant's engine: one for the module's life, warm from
    /// run to run (its page cache keeps what earlier runs' demand grew).
    type Shared = KfreeBatch<'static>;

    fn shared(ctx: &mut Sleep) -> Result<KfreeBatch<'static>> {
        KfreeBatch::new(ctx, c"kfree_batching", Config::default())
    }

    /// Every object may still wait for its grace period when the last one
    /// is allocated (the kernel's page-block path drains after up to 5 s,
    /// and nothing throttles the load), so the worst case holds them all:
    /// objects x their slab footprint (`slab_size`, with KASAN's and the
    /// debug options' metadata, read from a probe cache), plus each
    /// thread's array of a loop's objects, plus the engine's block pages
    /// (one per [`BLOCK_ENTRIES`] objects, and per CPU an open block and
    /// its largest cache).
    fn peak_bytes(ctx: &mut Sleep, p: &Params) -> Result<u64> {
        let probe = SlabCache::new(
            ctx,
            CString::try_from_fmt(fmt!("rcu_lab_kfb_probe"))?,
            p.size as usize,
            true,
        )?;
        let footprint = probe.attr(ctx, c"slab_size").unwrap_or(p.size).max(p.size);
        drop(probe);
        let total = p.threads * p.objects * p.loops;
        let blocks = total.div_ceil(BLOCK_ENTRIES as u64)
            + system::possible_cpus() as u64 * (1 + p.cache_pages * 16);
        Ok(total * footprint + p.threads * p.objects * 8 + blocks * PAGE_SIZE as u64)
    }

    fn run(
        ctx: &mut Sleep,
        p: &Params,
        shared: &KfreeBatch<'static>,
        run: &mut Run,
    ) -> Result<CString> {
        let load = Load {
            threads: p.threads as usize,
            objects: p.objects as usize,
            loops: p.loops as usize,
            size: p.size as usize,
        };
        let cfg = Config {
            cache_pages: p.cache_pages as usize,
            drain_delay_ns: p.drain_ms * 1_000_000,
            ..Config::default()
        };
        run.line(format_args!(
            "# method: each variant frees threads*loops*objects objects of its own SLAB_NO_MERGE \
             cache from threads bound to CPU i % online CPUs (as rcuscale's); in each loop a \
             thread allocates its objects (GFP_KERNEL|__GFP_NORETRY, zeroed) into an array, then \
             hands each to the variant's deferred free; variants run one after another"
        ))?;
        run.line(format_args!(
            "# enqueue_ns_per_obj: thread time in the loops, allocation + deferred free (sync: + \
             synchronize_rcu per loop), per object; alloc_ns_per_obj and \
             enqueue_only_ns_per_obj: its two parts; reclaim_us: first enqueue until every \
             object is freed (engine: its barrier returned, its own teardown not counted; kernel \
             paths: the cache destroyed, kmem_cache_destroy runs kvfree_rcu_barrier_on_cache; \
             call_rcu: rcu_barrier and destroy; sync: destroy)"
        ))?;
        run.line(format_args!(
            "# gps: grace periods over reclaim_us (rcu_seq_diff() of rcu_get_gp_seq()); idle_gps: \
             the same over an idle interval as long, right after; net_gps_per_1000_milli: net \
             grace periods per 1000 objects x 1000; exp_gps: expedited ones \
             (rcu_exp_batches_completed)"
        ))?;
        run.line(format_args!(
            "# requests: engine blocks closed (start_poll_synchronize_rcu cookies); sheaf/nolock \
             ceil(free_rcu_sheaf / sheaf_capacity), sheaves handed to call_rcu (CONFIG_SLUB_STATS); \
             call_rcu one per object; sync one per loop and thread; pageblock not observable"
        ))?;
        run.line(format_args!(
            "# peak_pages: highest /sys/kernel/slab/<cache>/slabs seen (after each loop of thread 0 \
             and at the end) x pages per slab, plus engine block pages at their peak; the kernel's own \
             block pages and sheaves are not observable from a module; KASAN's quarantine keeps freed \
             objects on the debug kernel. fallback: engine emergency call_rcu objects; kernel \
             paths free_rcu_sheaf_fail (objects that missed a sheaf)"
        ))?;
        run.line(format_args!(
            "# engine: block_entries={} drain_ms={} cache_pages={}",
            cfg.block_entries.min(BLOCK_ENTRIES),
            cfg.drain_delay_ns / 1_000_000,
            cfg.cache_pages
        ))?;
        run.plot(
            "enqueue_ns_per_obj",
            true,
            "kfree_rcu variants: ns per object",
        )?;
        run.plot(
            "peak_pages",
            false,
            "kfree_rcu variants: peak pages (cache slabs + engine blocks)",
        )?;
        let flags = (p.idle == 1, p.failslab == 1);
        let summary = run.rounds(
            ctx,
            VARIANTS,
            p.variants,
            p.rounds as usize,
            FIELDS,
            |ctx, ctl, way, seq| measure(ctx, ctl, shared, way, load, cfg, flags, seq),
        )?;
        let summary = summary.into_bytes();
        CString::try_from_fmt(fmt!(
            "{}",
            core::str::from_utf8(&summary).map_err(|_| EINVAL)?
        ))
    }
}
