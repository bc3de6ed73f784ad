// SPDX-License-Identifier: GPL-2.0

//! Experiment 3: a lockdep-friendly key-unregister path (seeds 000 and 003).
//!
//! A replica of lockdep's key hash ([`HashTable`]: 4096 buckets,
//! `hash_long(key, 12)`, RCU hlists changed under one lock with interrupts
//! off; lockdep's lock is the bare `lockdep_lock()`, this one an rcu_lab
//! raw spinlock) holds `keys` entries, registered and looked up once each,
//! then unregistered one after another, as rtnl serialises a qdisc
//! teardown (`mq` on 64 queues: 65 keys). Each unregister unlinks its
//! entry under the lock, optionally runs a zap stand-in there ([`Zap`]),
//! and then gets rid of the entry by the variant's strategy:
//!
//! * `sync`: `synchronize_rcu()` per key (lockdep up to v6.16);
//! * `expedited`: `synchronize_rcu_expedited()` per key (v6.17 on, 7.3; a
//!   normal grace period on PREEMPT_RT after boot);
//! * `sync_batched`: all keys unhashed, then one expedited wait, then all
//!   freed: the lower bound for any strategy that waits for grace periods;
//! * `hazptr`: readers protect the bucket with a hazard pointer; the
//!   unregister waits for that bucket's readers only (Boqun Feng's shazptr);
//! * `deferred`: no wait: seed 003's two pending halves ([`PendingFree`]);
//! * `batched`: no wait: the batching engine ([`Batch`] of typed blocks);
//! * `park`: no wait: entries parked and all freed after one
//!   `synchronize_rcu()` at the end (the cost of unhashing alone);
//! * `none`: freed at once, with no wait: a use after free for readers
//!   still on the entry; run only with `unsafe_none=1` (the negative test).
//!
//! With `readers=1`, one reader thread per other CPU looks keys up (half
//! live keys, half misses) and a hard-interrupt timer on each of those CPUs
//! looks one up per tick on top of it (with hazard pointers its guard
//! nests and stores the wildcard). Every entry a walk passes is checked
//! (its magic, which a freed entry poisons). See
//! `Documentation/key_unregister.rst`.

pub(crate) mod lockdep;

use super::{params, Activity, Control, Counts, Field, Run, Spec, Variant};
use crate::{
    context::{self, Context, Sleep},
    rcu::{
        self,
        batch::{Batch, Config, Typed},
        hlist::{ByHazptr, ByRcu, Entry, Found, HashTable, Key, Protection},
        PendingFree, Retired,
    },
    reclaim::{HazptrSynchronize, Reclaim, SynchronizeRcu, SynchronizeRcuExpedited},
    system, task,
    time::{hrtimer::PeriodicTimer, Instant},
};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use kernel::{
    new_spinlock,
    prelude::*,
    str::CString,
    sync::Arc,
    time::{delay::fsleep, Delta},
};

params! {
    pub(crate) struct Params {
        keys: 1..=4096 = 65, "keys registered and then unregistered one after another (mq on 64 queues: 65)";
        readers: 0..=1 = 1, "1: a busy reader on every other CPU (half hits, half misses) and a hard-irq reader there";
        zap: 0..=1 = 0, "1: run the zap stand-in (4096 class-hash heads, 512 in-use bitmap words, 32768 chain buckets) under the lock per key";
        bits: 1..=12 = 12, "log2 of the buckets (lockdep: 12)";
        rounds: 1..=50 = 3, "rounds over all variants, in rotating order; results are medians";
        variants: 1..=255 = 127, "bit mask: 1 sync, 2 expedited, 4 sync_batched, 8 hazptr, 16 deferred, 32 batched, 64 park, 128 none (needs unsafe_none=1)";
        lookups: 0..=1_000_000 = 20000, "lookups timed per run before the teardown, hits and misses alternating";
        idle: 0..=1 = 1, "1: count grace periods and IPIs over an idle interval of the same length";
        unsafe_none: 0..=1 = 0, "1: allow variant none, which frees with no wait (a use after free: the negative test)";
    }
}

/// Experiment 3.
pub(crate) struct KeyUnregister;

/// Value of a live key's magic field.
const MAGIC: u64 = 0x6b65_795f_6c69_7665;
/// Value a freed key leaves in it.
const POISON: u64 = 0x6b65_795f_6465_6164;

/// Keys freed, over the module's life (one run at a time).
static FREED: AtomicU64 = AtomicU64::new(0);

/// A replica key's payload: a magic value a freed key poisons.
pub(crate) struct KeyObj {
    magic: AtomicU64,
}

impl Drop for KeyObj {
    fn drop(&mut self) {
        self.magic.store(POISON, Relaxed);
        FREED.fetch_add(1, Relaxed);
    }
}

/// The unlinked entry of an RCU-protected table.
type Unhashed = Retired<Entry<KeyObj>>;

/// How an unregister gets rid of its entry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Sync,
    Expedited,
    SyncBatched,
    Hazptr,
    Deferred,
    Batched,
    Park,
    None,
}

/// The variants, in the bit order of the `variants` parameter.
const VARIANTS: &[Variant<Strategy>] = &[
    Variant {
        name: "sync",
        v: Strategy::Sync,
    },
    Variant {
        name: "expedited",
        v: Strategy::Expedited,
    },
    Variant {
        name: "sync_batched",
        v: Strategy::SyncBatched,
    },
    Variant {
        name: "hazptr",
        v: Strategy::Hazptr,
    },
    Variant {
        name: "deferred",
        v: Strategy::Deferred,
    },
    Variant {
        name: "batched",
        v: Strategy::Batched,
    },
    Variant {
        name: "park",
        v: Strategy::Park,
    },
    Variant {
        name: "none",
        v: Strategy::None,
    },
];

/// Bit of `none` in `variants`.
const NONE_BIT: u64 = 128;

/// The zap stand-in: what 7.3's `__lockdep_free_key_range()` walks per key
/// of one class, under `lockdep_lock()` with interrupts off
/// (lockdep.c:6322-6358, 6489-6506): the 4096 class-hash heads, the
/// in-use bitmap of the 32768 list entries (`MAX_LOCKDEP_ENTRIES` with
/// `LOCKDEP_BITS=15`: 512 words), and the 32768 chain-hash buckets
/// (`LOCKDEP_CHAINS_BITS=16`). Loads only: the stand-in costs the walk, not
/// what lockdep frees.
pub(crate) struct Zap {
    words: KVec<AtomicUsize>,
}

/// Words the zap stand-in reads.
const ZAP_WORDS: usize = 4096 + 512 + 32768;

impl Zap {
    fn new() -> Result<Self> {
        let mut words = KVec::with_capacity(ZAP_WORDS, GFP_KERNEL)?;
        for i in 0..ZAP_WORDS {
            words.push(AtomicUsize::new(i), GFP_KERNEL)?;
        }
        Ok(Zap { words })
    }

    /// Walks every word; the sum keeps the loads.
    fn walk(&self) -> usize {
        self.words
            .iter()
            .fold(0usize, |a, w| a.wrapping_add(w.load(Relaxed)))
    }
}

/// What the experiment keeps from load to unload.
pub(crate) struct Shared {
    zap: Zap,
    /// `batched`'s warm engine.
    engine: Batch<'static, Typed<Entry<KeyObj>>>,
    /// `deferred`'s two halves.
    pending: Pin<KBox<PendingFree<Entry<KeyObj>>>>,
    /// Sum of the zap walks (so they are not optimised away).
    zap_sum: AtomicUsize,
}

/// How readers look keys up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Look {
    /// Half live keys, half misses (the workload).
    Mixed,
    /// Live keys only: every walk passes the entries being torn down (the
    /// negative tests).
    Live,
    /// Live keys only, with no protection at all (the negative test of
    /// `hazptr`: its updater waits for protected readers only).
    Unprotected,
}

/// The readers of one run: the keys they look up and their counters.
struct Readers {
    /// The keys of the current cycle, as numbers (0: none yet).
    keys: KVec<AtomicUsize>,
    look: Look,
    reads: AtomicU64,
    hits: AtomicU64,
    bad: AtomicU64,
    irq_reads: AtomicU64,
    /// Hard-interrupt lookups whose hazard pointer nested (the wildcard).
    wildcard: AtomicU64,
    /// Reader threads that have started looking keys up.
    started: AtomicUsize,
    done: AtomicBool,
}

impl Readers {
    fn new(n: usize, look: Look) -> Result<Arc<Self>> {
        let mut keys = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            keys.push(AtomicUsize::new(0), GFP_KERNEL)?;
        }
        Ok(Arc::new(
            Readers {
                keys,
                look,
                reads: AtomicU64::new(0),
                hits: AtomicU64::new(0),
                bad: AtomicU64::new(0),
                irq_reads: AtomicU64::new(0),
                wildcard: AtomicU64::new(0),
                started: AtomicUsize::new(0),
                done: AtomicBool::new(false),
            },
            GFP_KERNEL,
        )?)
    }

    /// Publishes this cycle's keys to the readers.
    fn set_keys(&self, keys: &[Key]) {
        for (slot, k) in self.keys.iter().zip(keys) {
            slot.store(k.addr(), Relaxed);
        }
    }

    /// The key of the `i`th lookup: with [`Look::Mixed`], live keys on even
    /// turns and keys no entry has on odd ones.
    fn pick(&self, i: usize) -> Key {
        if self.look == Look::Mixed && i % 2 == 1 {
            return Key::absent(i);
        }
        let n = if self.look == Look::Mixed { i / 2 } else { i };
        // No panicking path (a division by zero, a bounds check) in a
        // lookup that runs in hard interrupt.
        let len = self.keys.len().max(1);
        Key::from_addr(self.keys.get(n % len).map_or(0, |k| k.load(Relaxed)))
    }

    /// One lookup by the readers' way, in the context `ctx` describes;
    /// counts it.
    fn lookup<P: Protected>(
        &self,
        ctx: &mut impl Context,
        t: &HashTable<KeyObj, P>,
        i: usize,
        irq: bool,
    ) {
        let (f, bad) = if self.look == Look::Unprotected {
            unprotected(t, self.pick(i))
        } else {
            P::lookup(ctx, t, self.pick(i))
        };
        if irq {
            self.irq_reads.fetch_add(1, Relaxed);
            if f.nested {
                self.wildcard.fetch_add(1, Relaxed);
            }
        } else {
            self.reads.fetch_add(1, Relaxed);
        }
        if f.hit {
            self.hits.fetch_add(1, Relaxed);
        }
        if bad > 0 {
            self.bad.fetch_add(bad, Relaxed);
        }
    }
}

/// A walk with no protection. Deliberately wrong: only the negative test
/// `key_unregister_unprotected` looks keys up this way, while its updater
/// frees entries once no *protected* reader is on their bucket.
#[allow(unsafe_code)]
fn unprotected<P: Protection>(t: &HashTable<KeyObj, P>, key: Key) -> (Found, u64) {
    let mut bad = 0;
    // SAFETY: None: the updater may free an entry this walk is on (the
    // negative test wants KASAN to see that).
    let f = unsafe { t.find_unprotected(key, |k| bad += check(k)) };
    (f, bad)
}

/// A table's way of looking keys up, and what each strategy does with the
/// entries it unlinks.
trait Protected: Protection + Sized + Send + Sync {
    /// Looks `key` up (`is_dynamic_key()`); returns what it found and how
    /// many entries it met were not live. Any context but NMI.
    fn lookup(ctx: &mut impl Context, t: &HashTable<KeyObj, Self>, key: Key) -> (Found, u64);

    /// Gets rid of one unlinked entry by `s` (waits, hands it over, or parks
    /// it in `parked`); `EINVAL` for a strategy this protection does not
    /// have. Sleeps (by the strategy).
    fn dispose(
        old: Self::Unhashed<KeyObj>,
        s: Strategy,
        shared: &Shared,
        parked: &mut KVec<Self::Unhashed<KeyObj>>,
    ) -> Result;

    /// After the last unlink, still inside the caller-visible teardown:
    /// `sync_batched`'s one wait for every parked entry. Sleeps.
    fn end(_parked: &mut KVec<Self::Unhashed<KeyObj>>, _s: Strategy) {}

    /// Frees what the teardown left: `park`'s one `synchronize_rcu()`, the
    /// deferred and batched flushes. Sleeps.
    fn flush(ctx: &mut Sleep, parked: KVec<Self::Unhashed<KeyObj>>, s: Strategy, shared: &Shared);
}

/// Checks an entry a walk met; 1 if it is not live.
fn check(k: &KeyObj) -> u64 {
    u64::from(k.magic.load(Relaxed) != MAGIC)
}

/// Unregisters every key of `keys` in order by `s` (the caller-visible
/// teardown), with the zap stand-in under the lock if `zap`, until
/// `stop()`; returns what `park` parked (else nothing). Sleeps (by the
/// strategy).
fn teardown<P: Protected>(
    ctx: &mut Sleep,
    t: &HashTable<KeyObj, P>,
    keys: &[Key],
    s: Strategy,
    shared: &Shared,
    zap: bool,
    stop: &dyn Fn() -> bool,
) -> Result<KVec<P::Unhashed<KeyObj>>> {
    let mut parked = KVec::new();
    if matches!(s, Strategy::SyncBatched | Strategy::Park) {
        parked.reserve(keys.len(), GFP_KERNEL)?;
    }
    for &key in keys {
        if stop() {
            break;
        }
        let old = t
            .remove(ctx, key, |_| {
                if zap {
                    shared.zap_sum.fetch_add(shared.zap.walk(), Relaxed);
                }
            })
            .ok_or(ENOENT)?;
        P::dispose(old, s, shared, &mut parked)?;
    }
    P::end(&mut parked, s);
    Ok(parked)
}

impl Protected for ByRcu {
    #[inline]
    fn lookup(ctx: &mut impl Context, t: &HashTable<KeyObj, Self>, key: Key) -> (Found, u64) {
        let mut bad = 0;
        let g = context::rcu_read_lock(ctx);
        let f = t.find(g.guard(), key, |k| bad += check(k));
        drop(g);
        (f, bad)
    }

    fn dispose(old: Unhashed, s: Strategy, shared: &Shared, parked: &mut KVec<Unhashed>) -> Result {
        match s {
            Strategy::Sync => SynchronizeRcu.reclaim(old),
            Strategy::Expedited => SynchronizeRcuExpedited.reclaim(old),
            Strategy::Deferred => shared.pending.reclaim(old),
            Strategy::Batched => shared.engine.reclaim(old),
            Strategy::SyncBatched | Strategy::Park => parked.push(old, GFP_KERNEL)?,
            Strategy::None => free_now(old),
            Strategy::Hazptr => return Err(EINVAL),
        }
        Ok(())
    }

    fn end(parked: &mut KVec<Unhashed>, s: Strategy) {
        if s == Strategy::SyncBatched {
            SynchronizeRcuExpedited.reclaim_all(parked);
        }
    }

    fn flush(ctx: &mut Sleep, mut parked: KVec<Unhashed>, s: Strategy, shared: &Shared) {
        match s {
            Strategy::Park => SynchronizeRcu.reclaim_all(&mut parked),
            Strategy::Deferred => shared.pending.flush(ctx),
            Strategy::Batched => shared.engine.barrier(ctx),
            _ => {}
        }
        // The engine's emergency path uses `call_rcu()`.
        rcu::barrier(ctx);
    }
}

impl Protected for ByHazptr {
    #[inline]
    fn lookup(ctx: &mut impl Context, t: &HashTable<KeyObj, Self>, key: Key) -> (Found, u64) {
        let mut bad = 0;
        let f = t.find_hazptr(ctx, key, |k| bad += check(k));
        (f, bad)
    }

    fn dispose(
        old: Self::Unhashed<KeyObj>,
        s: Strategy,
        _shared: &Shared,
        _parked: &mut KVec<Self::Unhashed<KeyObj>>,
    ) -> Result {
        if s != Strategy::Hazptr {
            return Err(EINVAL);
        }
        HazptrSynchronize.reclaim(old);
        Ok(())
    }

    fn flush(
        _ctx: &mut Sleep,
        _parked: KVec<Self::Unhashed<KeyObj>>,
        _s: Strategy,
        _shared: &Shared,
    ) {
    }
}

/// `none`: frees the entry at once, with readers possibly still on it.
/// Deliberately wrong: the negative test `key_unregister_none` provokes the
/// use after free KASAN reports.
#[allow(unsafe_code)]
fn free_now(old: Unhashed) {
    // SAFETY: None: this breaks `free_now()`'s contract on purpose (the
    // variant runs only with `unsafe_none=1`, and in the negative test):
    // readers that found the entry before the unlink may still be on it.
    unsafe { old.free_now() };
}

/// Period of the hard-interrupt readers.
const IRQ_PERIOD_NS: u64 = 100_000;

/// Runs `body` with a hard-interrupt reader ticking on this CPU.
fn with_irq_reader<P: Protected, R>(
    ctx: &mut Sleep,
    t: &Arc<HashTable<KeyObj, P>>,
    r: &Arc<Readers>,
    body: impl FnOnce(&mut Sleep) -> R,
) -> Result<R> {
    let (tt, rr) = (t.clone(), r.clone());
    let timer = KBox::pin_init(
        PeriodicTimer::new(IRQ_PERIOD_NS, move |irq| {
            let n = rr.irq_reads.load(Relaxed) as usize;
            rr.lookup(irq, &tt, n, true);
        }),
        GFP_KERNEL,
    )?;
    Ok(timer.as_ref().run_while(ctx, body))
}

/// A reader thread's loop on its CPU, with a hard-interrupt reader on top,
/// until the run is done. Sleeps.
fn reader<P: Protected>(
    ctx: &mut Sleep,
    t: &Arc<HashTable<KeyObj, P>>,
    r: &Arc<Readers>,
    cpu: usize,
) -> Result {
    with_irq_reader(ctx, t, r, |ctx| {
        let mut i = cpu;
        r.started.fetch_add(1, Relaxed);
        while !r.done.load(Relaxed) {
            for _ in 0..64 {
                r.lookup(ctx, t, i, false);
                i += 1;
            }
            task::cond_resched();
        }
    })
}

/// Times `n` lookups, hits and misses alternating; the mean, in ns.
fn time_lookups<P: Protected>(
    ctx: &mut Sleep,
    t: &HashTable<KeyObj, P>,
    keys: &[Key],
    n: u64,
) -> u64 {
    if n == 0 {
        return 0;
    }
    let start = Instant::now();
    let mut hits = 0u64;
    for i in 0..n as usize {
        let len = keys.len().max(1);
        let key = match keys.get(i / 2 % len) {
            Some(&k) if i % 2 == 0 => k,
            _ => Key::absent(i),
        };
        hits += u64::from(P::lookup(ctx, t, key).0.hit);
    }
    core::hint::black_box(hits);
    start.elapsed_ns() / n
}

/// Registers `n` keys in `t`, each looked up once as a qdisc's is, and
/// publishes them to the readers. Sleeps.
fn register<P: Protected>(
    ctx: &mut Sleep,
    t: &HashTable<KeyObj, P>,
    n: usize,
    r: &Readers,
) -> Result<KVec<Key>> {
    let mut keys = KVec::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        let key = t.insert(
            ctx,
            KeyObj {
                magic: AtomicU64::new(MAGIC),
            },
        )?;
        keys.push(key, GFP_KERNEL)?;
        if !P::lookup(ctx, t, key).0.hit {
            return Err(EINVAL);
        }
    }
    r.set_keys(&keys);
    Ok(keys)
}

/// What one variant run measured.
#[derive(Clone, Copy, Default)]
struct Measured {
    keys: u64,
    /// Mean time of one timed lookup, before the teardown.
    lookup_ns: u64,
    /// Caller-visible teardown: the first unlink until the last
    /// unregister returned.
    teardown_ns: u64,
    /// The first unlink until every entry was freed.
    freed_us: u64,
    /// Entries freed by the run (must be `keys`).
    freed: u64,
    /// Grace periods and IPIs over `freed_us`, and over an idle interval as
    /// long right after it.
    run: Counts,
    idle: Option<Counts>,
    /// `deferred`: callbacks of the two halves that ran (each after a
    /// grace period); keys / callbacks is the keys one wait covered.
    pending_cbs: u64,
    /// Reader lookups during the run: threads and hard interrupts, hits,
    /// entries met that were not live, and the wildcard's uses.
    reads: u64,
    irq_reads: u64,
    hits: u64,
    bad: u64,
    wildcard: u64,
}

type F = Field<Measured>;

const FIELDS: &[Field<Measured>] = &[
    F::value("keys", |m| Some(m.keys)),
    F::value("teardown_us", |m| Some(m.teardown_ns / 1000)).summary("us teardown,"),
    F::value("per_key_ns", |m| Some(m.teardown_ns / m.keys.max(1))),
    F::value("freed_us", |m| Some(m.freed_us)),
    F::value("freed", |m| Some(m.freed)),
    F::value("lookup_ns", |m| Some(m.lookup_ns)).summary("ns/lookup,"),
    F::count("gps", |m| m.run.gps, |m| m.idle.map(|i| i.gps)),
    F::count("exp_gps", |m| m.run.exp_gps, |m| m.idle.map(|i| i.exp_gps)),
    F::count(
        "ipis",
        |m| m.run.ipis.unwrap_or(0),
        |m| m.idle.and_then(|i| i.ipis),
    )
    .summary("net IPIs"),
    F::value("pending_cbs", |m| Some(m.pending_cbs)),
    F::value("reads", |m| Some(m.reads)),
    F::value("irq_reads", |m| Some(m.irq_reads)),
    F::value("hits", |m| Some(m.hits)),
    F::value("bad", |m| Some(m.bad)),
    F::value("wildcard", |m| Some(m.wildcard)),
];

/// Runs `updater` in thread 0 (on CPU 0) and, with `readers`, a reader
/// thread on every other CPU, each with a hard-interrupt reader (and one
/// on CPU 0 too when `irq_on_updater`), until `updater` returns; returns
/// its result. Sleeps.
fn with_readers<P: Protected, R: Send + Unpin>(
    ctx: &mut Sleep,
    ctl: &Control,
    t: &Arc<HashTable<KeyObj, P>>,
    r: &Arc<Readers>,
    readers: bool,
    irq_on_updater: bool,
    updater: impl Fn(&mut Sleep) -> Result<R> + Sync,
) -> Result<R> {
    let threads = if readers {
        system::online_cpus() as usize
    } else {
        1
    };
    let out = KBox::pin_init(
        new_spinlock!(None::<Result<R>>, "key_unregister_out"),
        GFP_KERNEL,
    )?;
    ctl.threads(ctx, c"rcu_lab/keys", threads, &|i, ctx| {
        if i != 0 {
            if reader(ctx, t, r, i).is_err() {
                ctl.stop();
            }
            return;
        }
        // The teardown starts only once every reader is looking keys up
        // (threads start in their own time: a short teardown would
        // otherwise run before any reader did).
        let mut waited = 0;
        while r.started.load(Relaxed) < threads - 1 && !ctl.stopping() && waited < 5000 {
            fsleep(Delta::from_micros(1000));
            waited += 1;
        }
        let res = if irq_on_updater {
            with_irq_reader(ctx, t, r, |ctx| updater(ctx)).and_then(|x| x)
        } else {
            updater(ctx)
        };
        r.done.store(true, Relaxed);
        *out.lock() = Some(res);
    })?;
    let res = out.lock().take();
    res.ok_or(EINTR)?
}

/// One run of strategy `s` on a fresh table protected by `P`.
fn measure_on<P: Protected>(
    ctx: &mut Sleep,
    ctl: &Control,
    shared: &Shared,
    s: Strategy,
    p: &Params,
) -> Result<Measured> {
    let table = Arc::pin_init(HashTable::<KeyObj, P>::new(p.bits as u32), GFP_KERNEL)?;
    let n = p.keys as usize;
    let r = Readers::new(n, Look::Mixed)?;
    let keys = register(ctx, &table, n, &r)?;
    let freed_before = FREED.load(Relaxed);
    let stop = || ctl.stopping();
    let mut m = with_readers(ctx, ctl, &table, &r, p.readers == 1, false, |ctx| {
        let mut m = Measured {
            keys: p.keys,
            lookup_ns: time_lookups(ctx, &table, &keys, p.lookups),
            ..Measured::default()
        };
        let activity = Activity::now();
        let cbs = shared.pending.counts().1;
        let start = Instant::now();
        let parked = teardown(ctx, &table, &keys, s, shared, p.zap == 1, &stop)?;
        m.teardown_ns = start.elapsed_ns();
        P::flush(ctx, parked, s, shared);
        m.freed_us = start.elapsed_us();
        m.pending_cbs = shared.pending.counts().1 - cbs;
        m.run = activity.since();
        Ok(m)
    })?;
    m.freed = FREED.load(Relaxed) - freed_before;
    m.reads = r.reads.load(Relaxed);
    m.irq_reads = r.irq_reads.load(Relaxed);
    m.hits = r.hits.load(Relaxed);
    m.bad = r.bad.load(Relaxed);
    m.wildcard = r.wildcard.load(Relaxed);
    if table.len(ctx) != 0 {
        return Err(EINVAL);
    }
    drop(table);
    if p.idle == 1 {
        m.idle = Some(ctl.idle(ctx, m.freed_us)?);
    }
    Ok(m)
}

/// What a stress run saw.
pub(crate) struct StressReport {
    /// Register-and-tear-down cycles.
    pub(crate) cycles: u64,
    /// Keys registered, and freed (each exactly once, or KASAN reports).
    pub(crate) registered: u64,
    pub(crate) freed: u64,
    /// Lookups by reader threads and by hard interrupts, hits among them.
    pub(crate) reads: u64,
    pub(crate) irq_reads: u64,
    pub(crate) hits: u64,
    /// Entries met that were not live.
    pub(crate) bad: u64,
    /// Hard-interrupt lookups whose hazard pointer stored the wildcard.
    pub(crate) wildcard: u64,
}

impl core::fmt::Display for StressReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} cycles, {} keys registered, {} freed; {} reads, {} irq reads ({} with the \
             wildcard), {} hits, {} bad",
            self.cycles,
            self.registered,
            self.freed,
            self.reads,
            self.irq_reads,
            self.wildcard,
            self.hits,
            self.bad
        )
    }
}

/// Which stress to run.
#[derive(Clone, Copy)]
pub(crate) enum StressKind {
    /// Variant `variant` (by name), with correct readers, for `ms`.
    Strategy(&'static str),
    /// `none` with readers on exactly the keys torn down, two buckets,
    /// cycles until `stop()` says KASAN reported (or `ms` pass).
    None,
    /// `hazptr` with readers that take no protection, likewise.
    UnprotectedHazptr,
}

/// Registers and tears down `keys` keys again and again for `ms` (or until
/// `stop()`), by a strategy, with a reader thread on every other CPU and a
/// hard-interrupt reader on every CPU: the selftests' stress of each
/// strategy, and the negative tests' use after free. Sleeps.
pub(crate) fn stress(
    ctx: &mut Sleep,
    kind: StressKind,
    ms: u64,
    keys: usize,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<StressReport> {
    let (name, bits, look) = match kind {
        StressKind::Strategy(n) => (n, 4, Look::Mixed),
        StressKind::None => ("none", 1, Look::Live),
        StressKind::UnprotectedHazptr => ("hazptr", 1, Look::Unprotected),
    };
    let s = VARIANTS.iter().find(|v| v.name == name).ok_or(EINVAL)?.v;
    let shared = KeyUnregister::shared(ctx)?;
    let ctl = Control::new();
    match s {
        Strategy::Hazptr => {
            stress_on::<ByHazptr>(ctx, &ctl, &shared, s, ms, bits, keys, look, stop)
        }
        _ => stress_on::<ByRcu>(ctx, &ctl, &shared, s, ms, bits, keys, look, stop),
    }
}

#[allow(clippy::too_many_arguments)]
fn stress_on<P: Protected>(
    ctx: &mut Sleep,
    ctl: &Control,
    shared: &Shared,
    s: Strategy,
    ms: u64,
    bits: u32,
    keys: usize,
    look: Look,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<StressReport> {
    let table = Arc::pin_init(HashTable::<KeyObj, P>::new(bits), GFP_KERNEL)?;
    let r = Readers::new(keys, look)?;
    let freed_before = FREED.load(Relaxed);
    let start = Instant::now();
    let never = || false;
    let (cycles, registered) = with_readers(ctx, ctl, &table, &r, true, true, |ctx| {
        let (mut cycles, mut registered) = (0u64, 0u64);
        while start.elapsed_ns() < ms * 1_000_000 && !stop() && !ctl.stopping() {
            let ks = register(ctx, &table, keys, &r)?;
            registered += ks.len() as u64;
            let parked = teardown(ctx, &table, &ks, s, shared, false, &never)?;
            P::flush(ctx, parked, s, shared);
            cycles += 1;
            task::cond_resched();
        }
        Ok((cycles, registered))
    })?;
    drop(table);
    Ok(StressReport {
        cycles,
        registered,
        freed: FREED.load(Relaxed) - freed_before,
        reads: r.reads.load(Relaxed),
        irq_reads: r.irq_reads.load(Relaxed),
        hits: r.hits.load(Relaxed),
        bad: r.bad.load(Relaxed),
        wildcard: r.wildcard.load(Relaxed),
    })
}

impl Spec for KeyUnregister {
    const NAME: &'static CStr = c"key_unregister";
    type Params = Params;
    type Shared = Shared;

    fn shared(ctx: &mut Sleep) -> Result<Shared> {
        Ok(Shared {
            zap: Zap::new()?,
            engine: Batch::new(ctx, c"key_unregister", Config::default())?,
            pending: KBox::pin_init(PendingFree::new(), GFP_KERNEL)?,
            zap_sum: AtomicUsize::new(0),
        })
    }

    /// The keys (a 64-byte kmalloc object each on the debug kernel), the
    /// key lists and the buckets.
    fn peak_bytes(_ctx: &mut Sleep, p: &Params) -> Result<u64> {
        Ok(p.keys * (64 + 16) + (8 << p.bits))
    }

    fn run(ctx: &mut Sleep, p: &Params, shared: &Shared, run: &mut Run) -> Result<CString> {
        if p.variants & NONE_BIT != 0 && p.unsafe_none == 0 {
            crate::print::pr_warn_ratelimited!(
                "key_unregister: run refused: variant none (bit 128) frees with no wait; set \
                 unsafe_none=1 to run it\n"
            );
            return Err(EINVAL);
        }
        run.line(format_args!(
            "# method: a replica of lockdep's key hash ({} buckets, hash_long(key, {}), RCU \
             hlists under one raw spinlock taken irqsave); per run {} keys registered and \
             looked up once, {} lookups timed (hits and misses alternating), then every key \
             unregistered in order by the variant (zap stand-in under the lock: {}); readers: \
             {}",
            1u64 << p.bits,
            p.bits,
            p.keys,
            p.lookups,
            if p.zap == 1 { "on" } else { "off" },
            if p.readers == 1 {
                "one busy reader thread per other CPU (half hits, half misses) plus a hard-irq \
                 reader every 100 us on those CPUs"
            } else {
                "none"
            }
        ))?;
        run.line(format_args!(
            "# teardown_us, per_key_ns: caller-visible teardown (first unlink to last \
             unregister returned); freed_us: first unlink until every entry was freed \
             (deferred: its callbacks; batched: engine barrier, then rcu_barrier; park: one \
             synchronize_rcu); gps/exp_gps: normal/expedited grace periods over freed_us, \
             idle_*: over an idle interval as long after it; ipis: function-call interrupts \
             (CAL) of all online CPUs over the same interval; bad: entries met that were not \
             live (must be 0); wildcard: hard-irq lookups whose hazard pointer nested; \
             pending_cbs: deferred's callbacks (grace periods its two halves waited)"
        ))?;
        run.plot(
            "teardown_us",
            true,
            "key unregister: caller-visible teardown, us",
        )?;
        run.plot(
            "net_ipis",
            false,
            "key unregister: IPIs over the teardown, net of idle",
        )?;
        let summary = run.rounds(
            ctx,
            VARIANTS,
            p.variants,
            p.rounds as usize,
            FIELDS,
            |ctx, ctl, s, _seq| {
                let m = match s {
                    Strategy::Hazptr => measure_on::<ByHazptr>(ctx, ctl, shared, s, p)?,
                    _ => measure_on::<ByRcu>(ctx, ctl, shared, s, p)?,
                };
                if m.freed != m.keys || m.bad != 0 {
                    pr_warn!(
                        "key_unregister: {} keys torn down, {} freed, {} bad reads\n",
                        m.keys,
                        m.freed,
                        m.bad
                    );
                    if s != Strategy::None {
                        return Err(EIO);
                    }
                }
                Ok(m)
            },
        )?;
        let summary = summary.into_bytes();
        let summary = core::str::from_utf8(&summary).map_err(|_| EINVAL)?;
        CString::try_from_fmt(fmt!("{summary}"))
    }
}
