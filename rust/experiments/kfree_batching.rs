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
//! * `engine`: rcu_lab's [`KfreeBatch`];
//! * `sheaf`: the kernel's `kvfree_call_rcu()` on a cache with sheaves;
//! * `pageblock`: `kvfree_call_rcu()` on a cache without sheaves
//!   (`SLAB_NOLEAKTRACE`): the 5.11 page-block path;
//! * `nolock`: `kfree_rcu_nolock()` on a cache with sheaves;
//! * `call_rcu`: per-object `call_rcu()` with a freeing callback;
//! * `sync`: `synchronize_rcu()` after each loop, then plain frees.
//!
//! What each row reports is documented in `Documentation/kfree_batching.rst`
//! and in the `# method` lines of the results.

use super::{Experiment, Param, Values};
use crate::{
    rcu::{
        self,
        batch::{Config, KfreeBatch, Stats},
    },
    slab::{SlabCache, SlabObj},
    system, task,
    text::Text,
    time::Instant,
};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use kernel::{prelude::*, str::CString, time::delay::fsleep, time::Delta};

/// The experiment's debugfs directory, parameters and code.
pub(crate) static EXPERIMENT: Experiment = Experiment {
    name: c"kfree_batching",
    params: PARAMS,
    run,
};

const PARAMS: &[Param] = &[
    Param {
        name: "threads",
        default: 2,
        min: 1,
        max: 64,
        about: "load threads (rcuscale kfree_nthreads)",
    },
    Param {
        name: "objects",
        default: 2000,
        min: 1,
        max: 1_000_000,
        about: "objects per loop and thread (rcuscale kfree_alloc_num)",
    },
    Param {
        name: "loops",
        default: 8,
        min: 1,
        max: 100_000,
        about: "loops per thread (rcuscale kfree_loops)",
    },
    Param {
        name: "size",
        default: 32,
        min: 16,
        max: 4096,
        about: "object size in bytes; the rcu_head is its first 16",
    },
    Param {
        name: "rounds",
        default: 3,
        min: 1,
        max: 50,
        about: "rounds over all variants, in rotating order; results are medians",
    },
    Param {
        name: "variants",
        default: 63,
        min: 1,
        max: 63,
        about: "bit mask: 1 engine, 2 sheaf, 4 pageblock, 8 nolock, 16 call_rcu, 32 sync",
    },
    Param {
        name: "drain_ms",
        default: 20,
        min: 1,
        max: 5000,
        about: "engine: longest time a block stays open",
    },
    Param {
        name: "cache_pages",
        default: 5,
        min: 0,
        max: 1024,
        about: "engine: empty block pages kept per CPU (kernel: rcu_min_cached_objs 5)",
    },
    Param {
        name: "idle",
        default: 1,
        min: 0,
        max: 1,
        about: "1: measure grace periods over an idle interval of the same length",
    },
];

/// The ways of freeing an object after a grace period.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Engine,
    Sheaf,
    PageBlock,
    Nolock,
    CallRcu,
    Sync,
}

const VARIANTS: [Variant; 6] = [
    Variant::Engine,
    Variant::Sheaf,
    Variant::PageBlock,
    Variant::Nolock,
    Variant::CallRcu,
    Variant::Sync,
];

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Engine => "engine",
            Variant::Sheaf => "sheaf",
            Variant::PageBlock => "pageblock",
            Variant::Nolock => "nolock",
            Variant::CallRcu => "call_rcu",
            Variant::Sync => "sync",
        }
    }

    /// Whether its cache has 7.3's per-CPU sheaves.
    fn sheaves(self) -> bool {
        self != Variant::PageBlock
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
    /// Sum over threads of the time in their loops, per object (allocation
    /// and deferred free, as rcuscale times it).
    enqueue_ns_per_obj: u64,
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
    /// Engine block pages at their peak.
    block_pages: Option<u64>,
    /// Objects that took an emergency or fallback path.
    fallback: Option<u64>,
    /// Slab counters (`sheaf_capacity`; `free_rcu_sheaf`,
    /// `free_rcu_sheaf_fail` with `CONFIG_SLUB_STATS`).
    sheaf_capacity: Option<u64>,
    free_rcu_sheaf: Option<u64>,
    free_rcu_sheaf_fail: Option<u64>,
}

impl Measured {
    fn net_gps(&self) -> Option<i64> {
        self.idle_gps.map(|i| self.gps as i64 - i as i64)
    }

    fn peak_pages(&self) -> Option<u64> {
        let slab = self.peak_slabs? * self.slab_pages?;
        Some(slab + self.block_pages.unwrap_or(0))
    }
}

/// An optional number as a results field: the number or `-`.
struct Opt<T>(Option<T>);

impl<T: core::fmt::Display> core::fmt::Display for Opt<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0 {
            Some(v) => write!(f, "{v}"),
            None => f.write_str("-"),
        }
    }
}

/// Per-thread state of the load.
struct Shared<'c> {
    cache: &'c SlabCache,
    batch: Option<&'c KfreeBatch<'c>>,
    variant: Variant,
    load: Load,
    loop_ns: AtomicU64,
    peak_slabs: AtomicU64,
    failed: AtomicUsize,
}

impl Shared<'_> {
    fn sample_slabs(&self) {
        if let Some(s) = self.cache.attr(c"slabs") {
            self.peak_slabs.fetch_max(s, Relaxed);
        }
    }

    /// One thread's loops.
    fn thread(&self, i: usize) {
        let mut kept: KVec<SlabObj<'_>> = KVec::new();
        if self.variant == Variant::Sync && kept.reserve(self.load.objects, GFP_KERNEL).is_err() {
            self.failed.fetch_add(1, Relaxed);
            return;
        }
        for _ in 0..self.load.loops {
            let t = Instant::now();
            for _ in 0..self.load.objects {
                let Ok(obj) = self.cache.alloc() else {
                    self.failed.fetch_add(1, Relaxed);
                    return;
                };
                match self.variant {
                    Variant::Engine => match self.batch {
                        Some(b) => b.kfree_rcu(obj),
                        None => drop(obj),
                    },
                    Variant::Sheaf | Variant::PageBlock => obj.kvfree_rcu(),
                    Variant::Nolock => obj.kfree_rcu_nolock(),
                    Variant::CallRcu => obj.call_rcu(),
                    // Reserved above: the push cannot fail.
                    Variant::Sync => {
                        let _ = kept.push(obj, GFP_KERNEL);
                    }
                }
            }
            if self.variant == Variant::Sync {
                rcu::synchronize();
                kept.clear();
            }
            self.loop_ns.fetch_add(t.elapsed_ns(), Relaxed);
            if i == 0 {
                self.sample_slabs();
            }
            task::cond_resched();
        }
    }
}

/// Runs one variant once and measures it.
fn measure(variant: Variant, load: Load, cfg: Config, idle: bool, seq: usize) -> Result<Measured> {
    let name = CString::try_from_fmt(fmt!("rcu_lab_kfb_{}_{}", variant.name(), seq))?;
    let cache = SlabCache::new(name, load.size, variant.sheaves())?;
    let batch = match variant {
        Variant::Engine => Some(KfreeBatch::new(c"kfree_batching", cfg)?),
        _ => None,
    };
    if let Some(b) = &batch {
        b.fill_caches();
    }
    let mut m = Measured {
        sheaf_capacity: cache.attr(c"sheaf_capacity"),
        slab_pages: cache.attr(c"order").map(|o| 1u64 << o.min(10)),
        ..Measured::default()
    };
    let shared = Shared {
        cache: &cache,
        batch: batch.as_ref(),
        variant,
        load,
        loop_ns: AtomicU64::new(0),
        peak_slabs: AtomicU64::new(0),
        failed: AtomicUsize::new(0),
    };
    let gp0 = rcu::GpSeq::now();
    let t0 = Instant::now();
    // Thread i on CPU i % online CPUs, as rcuscale binds its kfree threads.
    let cpus = Some(system::online_cpus());
    task::scoped(c"kfree_batching", load.threads, cpus, &|i| shared.thread(i))?;
    m.window_us = t0.elapsed_us();
    shared.sample_slabs();
    let mut stats = Stats::default();
    // The end of reclaim: every object freed. For the engine, when its
    // barrier returns (its own teardown, like the kernel's never torn down
    // per-CPU state, is not counted); for the others, when the cache is
    // destroyed: `rcu_barrier()` for `call_rcu()`, and
    // `kvfree_rcu_barrier_on_cache()` for the kernel's kfree_rcu paths.
    let mut end = None;
    if let Some(b) = &batch {
        b.barrier();
        end = Some((t0.elapsed_us(), gp0.elapsed()));
        stats = b.stats();
    }
    m.free_rcu_sheaf = cache.attr(c"free_rcu_sheaf");
    m.free_rcu_sheaf_fail = cache.attr(c"free_rcu_sheaf_fail");
    let failed = shared.failed.load(Relaxed);
    m.enqueue_ns_per_obj = shared.loop_ns.load(Relaxed) / load.total().max(1) as u64;
    m.peak_slabs = Some(shared.peak_slabs.load(Relaxed)).filter(|s| *s > 0);
    drop(shared);
    drop(batch);
    // Waits for `call_rcu()` callbacks and the cache's kfree_rcu objects.
    drop(cache);
    let (us, gps) = end.unwrap_or_else(|| (t0.elapsed_us(), gp0.elapsed()));
    m.reclaim_us = us;
    (m.gps, m.exp_gps) = gps;
    if failed > 0 {
        pr_warn!(
            "kfree_batching: {}: {} threads stopped early: allocation failed\n",
            variant.name(),
            failed
        );
        return Err(ENOMEM);
    }
    let cap = m.sheaf_capacity.filter(|c| *c > 0);
    match variant {
        Variant::Engine => {
            m.requests = Some(stats.blocks_closed as u64);
            m.block_pages = Some(stats.pages_peak as u64);
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
        Variant::Sheaf | Variant::Nolock => {
            // Full sheaves handed to call_rcu(), from the objects freed to
            // them; only with CONFIG_SLUB_STATS.
            m.requests = m.free_rcu_sheaf.zip(cap).map(|(f, c)| f.div_ceil(c));
            m.fallback = m.free_rcu_sheaf_fail;
        }
        Variant::PageBlock => {
            m.fallback = m.free_rcu_sheaf_fail;
        }
        Variant::CallRcu => m.requests = Some(load.total() as u64),
        Variant::Sync => m.requests = Some((load.threads * load.loops) as u64),
    }
    if idle {
        let g = rcu::GpSeq::now();
        fsleep(Delta::from_micros(m.reclaim_us as i64));
        let (n, e) = g.elapsed();
        m.idle_gps = Some(n);
        m.idle_exp_gps = Some(e);
    }
    Ok(m)
}

fn row(
    out: &mut Text,
    kind: &str,
    v: Variant,
    round: Option<usize>,
    m: &Measured,
    total: usize,
) -> Result {
    let net = m.net_gps();
    let per_k = net.map(|n| n.max(0) as u64 * 1_000_000 / total.max(1) as u64);
    out.line(format_args!(
        "{kind} variant={} round={} objects={} enqueue_ns_per_obj={} window_us={} reclaim_us={} \
         gps={} idle_gps={} net_gps={} net_gps_per_1000_milli={} exp_gps={} idle_exp_gps={} \
         requests={} peak_slabs={} slab_pages={} block_pages={} peak_pages={} fallback={} \
         sheaf_capacity={} free_rcu_sheaf={} free_rcu_sheaf_fail={}",
        v.name(),
        Opt(round),
        total,
        m.enqueue_ns_per_obj,
        m.window_us,
        m.reclaim_us,
        m.gps,
        Opt(m.idle_gps),
        Opt(net),
        Opt(per_k),
        m.exp_gps,
        Opt(m.idle_exp_gps),
        Opt(m.requests),
        Opt(m.peak_slabs),
        Opt(m.slab_pages),
        Opt(m.block_pages),
        Opt(m.peak_pages()),
        Opt(m.fallback),
        Opt(m.sheaf_capacity),
        Opt(m.free_rcu_sheaf),
        Opt(m.free_rcu_sheaf_fail),
    ))
}

/// Median of what `f` picks from the rounds (the lower middle one).
fn median<T: Ord + Copy>(ms: &[Measured], f: impl Fn(&Measured) -> T) -> Result<T> {
    let mut v = KVec::with_capacity(ms.len(), GFP_KERNEL)?;
    for m in ms {
        v.push(f(m), GFP_KERNEL)?;
    }
    v.sort_unstable();
    v.get((v.len() - 1) / 2).copied().ok_or(EINVAL)
}

fn median_opt<T: Ord + Copy>(
    ms: &[Measured],
    f: impl Fn(&Measured) -> Option<T>,
) -> Result<Option<T>> {
    if ms.iter().any(|m| f(m).is_none()) {
        return Ok(None);
    }
    median(ms, |m| f(m))
}

fn run(v: &Values<'_>, out: &mut Text) -> Result<CString> {
    let load = Load {
        threads: v.get("threads") as usize,
        objects: v.get("objects") as usize,
        loops: v.get("loops") as usize,
        size: v.get("size") as usize,
    };
    let rounds = v.get("rounds") as usize;
    let mask = v.get("variants");
    let idle = v.get("idle") == 1;
    let cfg = Config {
        cache_pages: v.get("cache_pages") as usize,
        drain_delay_ns: v.get("drain_ms") * 1_000_000,
        ..Config::default()
    };
    let chosen: KVec<Variant> = {
        let mut c = KVec::new();
        for (i, var) in VARIANTS.iter().enumerate() {
            if mask & (1 << i) != 0 {
                c.push(*var, GFP_KERNEL)?;
            }
        }
        c
    };
    out.line(format_args!(
        "# method: each variant frees threads*loops*objects objects of its own SLAB_NO_MERGE cache \
         from threads bound to CPU i % online CPUs (as rcuscale's); variants run one after \
         another, rounds in rotating order, medians over rounds"
    ))?;
    out.line(format_args!(
        "# enqueue_ns_per_obj: thread time in the loops (allocation + deferred free; sync: + \
         synchronize_rcu per loop) / objects; reclaim_us: first enqueue until every object is \
         freed (engine: its barrier returned, its own teardown not counted; kernel paths: the \
         cache destroyed, kmem_cache_destroy runs kvfree_rcu_barrier_on_cache; call_rcu: \
         rcu_barrier and destroy; sync: destroy)"
    ))?;
    out.line(format_args!(
        "# gps: grace periods over reclaim_us (rcu_seq_diff() of rcu_get_gp_seq()); idle_gps: the same over an idle \
         interval as long, right after; net_gps = gps - idle_gps; net_gps_per_1000_milli: net \
         grace periods per 1000 objects x 1000; exp_gps: expedited ones \
         (rcu_exp_batches_completed)"
    ))?;
    out.line(format_args!(
        "# requests: engine blocks closed (start_poll_synchronize_rcu cookies); sheaf/nolock \
         ceil(free_rcu_sheaf / sheaf_capacity), sheaves handed to call_rcu (CONFIG_SLUB_STATS); \
         call_rcu one per object; sync one per loop and thread; pageblock not observable"
    ))?;
    out.line(format_args!(
        "# peak_pages: highest /sys/kernel/slab/<cache>/slabs seen (after each loop of thread 0 \
         and at the end) x pages per slab, plus engine block pages at their peak; the kernel's own \
         block pages and sheaves are not observable from a module; KASAN's quarantine keeps freed \
         objects on the debug kernel. fallback: engine emergency call_rcu objects; kernel \
         paths free_rcu_sheaf_fail (objects that missed a sheaf)"
    ))?;
    out.line(format_args!(
        "# engine: block_entries={} drain_ms={} cache_pages={}",
        cfg.block_entries,
        cfg.drain_delay_ns / 1_000_000,
        cfg.cache_pages
    ))?;
    let mut all: KVec<KVec<Measured>> = KVec::new();
    for _ in 0..chosen.len() {
        all.push(KVec::new(), GFP_KERNEL)?;
    }
    let mut seq = 0;
    for round in 0..rounds {
        for k in 0..chosen.len() {
            let i = (round + k) % chosen.len();
            let m = measure(chosen[i], load, cfg, idle, seq)?;
            seq += 1;
            row(out, "run", chosen[i], Some(round), &m, load.total())?;
            all[i].push(m, GFP_KERNEL)?;
        }
        pr_info!("kfree_batching: round {}/{} done\n", round + 1, rounds);
    }
    // The dmesg summary, one line: the shape, then per variant its ns per
    // object and net grace periods.
    let mut sum = Text::new();
    core::fmt::Write::write_fmt(
        &mut sum,
        format_args!(
            "threads={} objects={} loops={} size={} rounds={}:",
            load.threads, load.objects, load.loops, load.size, rounds
        ),
    )
    .map_err(|_| ENOMEM)?;
    for (i, var) in chosen.iter().enumerate() {
        let ms = &all[i];
        let med = Measured {
            enqueue_ns_per_obj: median(ms, |m| m.enqueue_ns_per_obj)?,
            window_us: median(ms, |m| m.window_us)?,
            reclaim_us: median(ms, |m| m.reclaim_us)?,
            gps: median(ms, |m| m.gps)?,
            idle_gps: median_opt(ms, |m| m.idle_gps)?,
            exp_gps: median(ms, |m| m.exp_gps)?,
            idle_exp_gps: median_opt(ms, |m| m.idle_exp_gps)?,
            requests: median_opt(ms, |m| m.requests)?,
            peak_slabs: median_opt(ms, |m| m.peak_slabs)?,
            slab_pages: median_opt(ms, |m| m.slab_pages)?,
            block_pages: median_opt(ms, |m| m.block_pages)?,
            fallback: median_opt(ms, |m| m.fallback)?,
            sheaf_capacity: median_opt(ms, |m| m.sheaf_capacity)?,
            free_rcu_sheaf: median_opt(ms, |m| m.free_rcu_sheaf)?,
            free_rcu_sheaf_fail: median_opt(ms, |m| m.free_rcu_sheaf_fail)?,
        };
        // The net figure is the median of the rounds' net figures; the
        // median row's idle_gps is what makes gps - idle_gps equal to it.
        let net = median_opt(ms, |m| m.net_gps())?;
        let med = Measured {
            idle_gps: net.map(|n| (med.gps as i64 - n).max(0) as u64),
            ..med
        };
        row(out, "median", *var, None, &med, load.total())?;
        core::fmt::Write::write_fmt(
            &mut sum,
            format_args!(
                "{} {} {} ns/obj {} net GPs",
                if i == 0 { "" } else { ";" },
                var.name(),
                med.enqueue_ns_per_obj,
                Opt(net)
            ),
        )
        .map_err(|_| ENOMEM)?;
    }
    let sum = sum.into_bytes();
    CString::try_from_fmt(fmt!("{}", core::str::from_utf8(&sum).map_err(|_| EINVAL)?))
}
