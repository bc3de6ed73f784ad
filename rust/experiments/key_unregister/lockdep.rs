// SPDX-License-Identifier: GPL-2.0

//! Experiment 3, real lockdep keys (`lockdep_keys`): the teardown of `keys`
//! dynamic keys, each with a lock initialised with it and taken once (so a
//! class exists and unregistering zaps it, as a qdisc's key), dropped
//! serially in the caller (the crate's `LockClassKey` through
//! [`LockClass::Dynamic`]: one `lockdep_unregister_key()` and one wait per
//! key, as `__qdisc_destroy()` does under rtnl) or through rcu_lab's
//! [`KeyReaper`] (the drop only hands the key over; a pool of threads
//! unregisters them concurrently, sharing grace periods).
//!
//! The zap floor, the time each unregister spends under `lockdep_lock()`
//! (which concurrency cannot remove), cannot be traced in these kernels (no
//! kprobes, no ftrace): a serial run estimates it as its teardown less
//! `keys` expedited grace periods, each timed alone in the same run just
//! before. On the performance kernel (no lockdep) keys register nothing and
//! the run only times the bookkeeping.

use super::super::{params, Activity, Control, Counts, Field, Run, Spec, Variant};
use crate::{
    context::Sleep,
    rcu,
    stats::median,
    sync::{KeyReaper, LockClass, RawSpinLock},
    system,
    time::Instant,
};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::{prelude::*, str::CString};

params! {
    pub(crate) struct Params {
        keys: 1..=4096 = 65, "keys torn down per run, each with a lock taken once (mq on 64 queues: 65)";
        rounds: 1..=20 = 3, "rounds over the variants, in rotating order; results are medians";
        variants: 1..=3 = 3, "bit mask: 1 serial (drop in the caller, one wait each), 2 reaped (handed to the reaper)";
        pool: 1..=32 = 16, "reaped: threads unregistering at once (the reaper has 32)";
        idle: 0..=1 = 1, "1: count grace periods and IPIs over an idle interval of the same length";
        flush: 0..=1 = 1, "0: the last reaped run returns with its keys still being unregistered (the unload test)";
    }
}

/// Experiment 3's real-lockdep part.
pub(crate) struct LockdepKeys;

/// How the keys are dropped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Serial,
    Reaped,
}

const VARIANTS: &[Variant<Way>] = &[
    Variant {
        name: "serial",
        v: Way::Serial,
    },
    Variant {
        name: "reaped",
        v: Way::Reaped,
    },
];

/// The zap floor the last serial run estimated, in us (0: none yet).
static ZAP_FLOOR_US: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy, Default)]
struct Measured {
    keys: u64,
    /// One expedited grace period timed alone (median of 8), in ns.
    exp_gp_ns: u64,
    /// The caller's time dropping every key.
    caller_us: u64,
    /// Until every key was unregistered and freed.
    total_us: u64,
    /// Serial: `total_us` less `keys` expedited grace periods.
    zap_floor_us: Option<u64>,
    /// Reaped: `total_us` against the last serial run's zap floor, in %.
    floor_pct: Option<u64>,
    /// Grace periods and IPIs over `total_us`, and over an idle interval
    /// as long right after it.
    run: Counts,
    idle: Option<Counts>,
    /// Reaped: runs of the reaper's work that found keys.
    batches: Option<u64>,
}

type F = Field<Measured>;

const FIELDS: &[Field<Measured>] = &[
    F::value("keys", |m| Some(m.keys)),
    F::value("caller_us", |m| Some(m.caller_us)).summary("us in the caller,"),
    F::value("total_us", |m| Some(m.total_us)).summary("us in all,"),
    F::value("exp_gp_us", |m| Some(m.exp_gp_ns / 1000)),
    F::value("zap_floor_us", |m| m.zap_floor_us),
    F::value("floor_pct", |m| m.floor_pct),
    F::count("gps", |m| m.run.gps, |m| m.idle.map(|i| i.gps)),
    F::count("exp_gps", |m| m.run.exp_gps, |m| m.idle.map(|i| i.exp_gps)),
    F::value("keys_per_gp_x10", |m| {
        let idle = m.idle.unwrap_or_default();
        let net = (m.run.gps + m.run.exp_gps).saturating_sub(idle.gps + idle.exp_gps);
        Some(m.keys * 10 / net.max(1))
    }),
    F::count(
        "ipis",
        |m| m.run.ipis.unwrap_or(0),
        |m| m.idle.and_then(|i| i.ipis),
    )
    .summary("net IPIs"),
    F::value("batches", |m| m.batches),
];

/// The reaper the runs use, made at module load: its drop at unload waits
/// for keys still in flight.
pub(crate) struct Shared {
    reaper: KeyReaper,
}

/// Times one expedited grace period alone: the median of 8, in ns. Sleeps.
fn exp_gp_ns(ctx: &mut Sleep) -> Result<u64> {
    let mut v = KVec::with_capacity(8, GFP_KERNEL)?;
    for _ in 0..8 {
        let t = Instant::now();
        rcu::synchronize_expedited(ctx);
        v.push(t.elapsed_ns(), GFP_KERNEL)?;
    }
    Ok(median(&mut v).unwrap_or(0))
}

/// One run: `p.keys` keys, each with a lock taken once, dropped the `way`
/// way. Sleeps.
fn measure(
    ctx: &mut Sleep,
    ctl: &Control,
    p: &Params,
    shared: &Shared,
    way: Way,
    last: bool,
) -> Result<Measured> {
    let n = p.keys as usize;
    let mut classes = KVec::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        let class = match way {
            Way::Serial => LockClass::new_dynamic(ctx)?,
            Way::Reaped => LockClass::Reaped(shared.reaper.key(ctx)?),
        };
        let lock: Pin<KBox<RawSpinLock<u64>>> = KBox::pin_init(
            RawSpinLock::new(0, c"rcu_lab_key_lock", class.clone()),
            GFP_KERNEL,
        )?;
        *lock.lock(ctx) += 1;
        drop(lock);
        classes.push(class, GFP_KERNEL)?;
    }
    let mut m = Measured {
        keys: p.keys,
        exp_gp_ns: exp_gp_ns(ctx)?,
        ..Measured::default()
    };
    let (_, _, batches) = shared.reaper.counts();
    let activity = Activity::now();
    let start = Instant::now();
    drop(classes);
    m.caller_us = start.elapsed_us();
    if way == Way::Reaped && !(last && p.flush == 0) {
        shared.reaper.flush(ctx);
    }
    m.total_us = start.elapsed_us();
    m.run = activity.since();
    match way {
        Way::Serial => {
            let floor = m.total_us.saturating_sub(p.keys * m.exp_gp_ns / 1000);
            ZAP_FLOOR_US.store(floor, Relaxed);
            m.zap_floor_us = Some(floor);
        }
        Way::Reaped => {
            m.batches = Some(shared.reaper.counts().2 - batches);
            let floor = ZAP_FLOOR_US.load(Relaxed);
            m.floor_pct = (floor > 0).then(|| m.total_us * 100 / floor);
        }
    }
    if p.idle == 1 {
        m.idle = Some(ctl.idle(ctx, m.total_us)?);
    }
    Ok(m)
}

impl Spec for LockdepKeys {
    const NAME: &'static CStr = c"lockdep_keys";
    type Params = Params;
    type Shared = Shared;

    fn shared(ctx: &mut Sleep) -> Result<Shared> {
        Ok(Shared {
            reaper: KeyReaper::new(ctx, 32)?,
        })
    }

    /// A key, a lock and a class handle per key, with slab overheads.
    fn peak_bytes(_ctx: &mut Sleep, p: &Params) -> Result<u64> {
        Ok(p.keys * 512)
    }

    fn run(ctx: &mut Sleep, p: &Params, shared: &Shared, run: &mut Run) -> Result<CString> {
        shared.reaper.set_pool(p.pool as usize);
        run.line(format_args!(
            "# method: per run {} dynamic keys, each with a raw spinlock initialised with it and \
             taken once (a class to zap), then all dropped: serial = the crate's LockClassKey \
             dropped in the caller (lockdep_unregister_key(): zap under lockdep_lock, then \
             synchronize_rcu_expedited(), per key); reaped = handed to rcu_lab's KeyReaper, \
             unregistered by up to {} threads at once; lockdep {}",
            p.keys,
            p.pool,
            system::Lockdep::current().as_str()
        ))?;
        run.line(format_args!(
            "# caller_us: the caller dropping every key; total_us: until every key was \
             unregistered and freed; exp_gp_us: one synchronize_rcu_expedited() timed alone \
             (median of 8, just before); zap_floor_us (serial): total_us - keys * exp_gp_us, \
             the time under lockdep_lock estimated (no tracing in these kernels); floor_pct \
             (reaped): total_us / the last serial run's zap floor; keys_per_gp_x10: 10 x keys / net \
             grace periods (normal + expedited); batches: reaper work runs that found keys"
        ))?;
        run.plot(
            "total_us",
            true,
            "lockdep keys: teardown until every key is freed, us",
        )?;
        let rounds = p.rounds as usize;
        let chosen = VARIANTS
            .iter()
            .enumerate()
            .filter(|(i, _)| p.variants & (1 << i) != 0)
            .count();
        let summary = run.rounds(
            ctx,
            VARIANTS,
            p.variants,
            rounds,
            FIELDS,
            |ctx, ctl, way, seq| measure(ctx, ctl, p, shared, way, seq + 1 == rounds * chosen),
        )?;
        let summary = summary.into_bytes();
        let summary = core::str::from_utf8(&summary).map_err(|_| EINVAL)?;
        CString::try_from_fmt(fmt!("{summary}"))
    }
}
