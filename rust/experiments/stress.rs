// SPDX-License-Identifier: GPL-2.0

//! A reader/updater stress harness for the deferred-reclamation types, on
//! the experiment floor so that experiments and the selftests both use it.
//!
//! A [`Table`] of [`CELLS`] pointers to elements. One reader thread per
//! online CPU loops over every cell, and a timer on each of those CPUs reads
//! one cell per tick in hard interrupt context, on top of whatever the
//! reader thread was doing (so hazard-pointer readers nest and take the
//! wildcard). Updater threads ([`Table::UPDATERS`]) keep replacing elements
//! and reclaiming the old ones the table's way. Every read checks the element's magic value
//! twice, with a pause between; elements poison it when dropped. Safe code
//! only: a bad read here means a wrapper type is broken.

use crate::{
    context::{Context, Sleep},
    rcu::{RcuBox, RcuPtr, Retired},
    system,
    task::{self, KThread},
    time::hrtimer::PeriodicTimer,
    time::Instant,
};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use kernel::{prelude::*, sync::Arc};

/// Number of element pointers in a table.
pub(crate) const CELLS: usize = 8;
/// Value of a live element's magic field ("rcu_lab!").
const MAGIC: u64 = 0x7263_755f_6c61_6221;
/// Value a dropped element leaves in its magic field.
const POISON: u64 = 0x6b6b_6b6b_6b6b_6b6b;
/// Period of the interrupt-context readers.
const IRQ_PERIOD_NS: u64 = 100_000;

/// Counters of one run, shared by its threads, timers and elements.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) reads: AtomicU64,
    pub(crate) bad: AtomicU64,
    pub(crate) irq_reads: AtomicU64,
    pub(crate) irq_nested: AtomicU64,
    pub(crate) irq_bad: AtomicU64,
    pub(crate) updates: AtomicU64,
    pub(crate) allocated: AtomicU64,
    pub(crate) freed: AtomicU64,
    irq_turn: AtomicUsize,
    stop: AtomicBool,
}

impl Stats {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Ok(Arc::new(Stats::default(), GFP_KERNEL)?)
    }

    /// Elements allocated and not yet dropped.
    pub(crate) fn outstanding(&self) -> u64 {
        self.allocated
            .load(Relaxed)
            .saturating_sub(self.freed.load(Relaxed))
    }
}

/// An element readers check.
pub(crate) trait Element: Send + Sync + Sized + 'static {
    /// A new live element.
    fn new(seq: u64, stats: &Arc<Stats>) -> Self;
    /// Its magic field.
    fn magic(&self) -> &AtomicU64;
}

/// An element that poisons its magic and counts itself in
/// [`Stats::freed`] when dropped.
pub(crate) struct Counted {
    magic: AtomicU64,
    seq: u64,
    stats: Arc<Stats>,
}

impl Counted {
    /// The sequence number it was created with.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }
}

impl Element for Counted {
    fn new(seq: u64, stats: &Arc<Stats>) -> Self {
        Counted {
            magic: AtomicU64::new(MAGIC),
            seq,
            stats: stats.clone(),
        }
    }

    fn magic(&self) -> &AtomicU64 {
        &self.magic
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.magic.store(POISON, Relaxed);
        self.stats.freed.fetch_add(1, Relaxed);
    }
}

/// An element without `Drop`, as `kfree_rcu()` requires: only KASAN and
/// kmemleak can tell when it is freed.
pub(crate) struct Plain {
    magic: AtomicU64,
    _seq: u64,
}

impl Element for Plain {
    fn new(seq: u64, _stats: &Arc<Stats>) -> Self {
        Plain {
            magic: AtomicU64::new(MAGIC),
            _seq: seq,
        }
    }

    fn magic(&self) -> &AtomicU64 {
        &self.magic
    }
}

/// Checks a live element: the magic, a pause to widen any race, the magic
/// again (relaxed atomic loads, so both are real reads).
pub(crate) fn check<E: Element>(e: &E) -> bool {
    let first = e.magic().load(Relaxed);
    for _ in 0..16 {
        core::hint::spin_loop();
    }
    first == MAGIC && e.magic().load(Relaxed) == MAGIC
}

/// What one read found.
pub(crate) struct Read {
    /// The cell held an element.
    pub(crate) found: bool,
    /// The element passed [`check`].
    pub(crate) ok: bool,
    /// The reader nested on a slot in use (hazard pointers only).
    pub(crate) nested: bool,
}

/// A structure under stress.
pub(crate) trait Table: Send + Sync + 'static {
    /// Number of updater threads. Updaters that block for a whole grace
    /// period each need company to keep the structure changing: concurrent
    /// waits share grace periods.
    const UPDATERS: usize = 1;

    /// Reads cell `i` in the context `ctx` describes (a thread's, a hard
    /// interrupt's); `turn` lets a table alternate its ways of reading.
    fn read(&self, ctx: &mut impl Context, i: usize, turn: usize) -> Read;
    /// Replaces the element of cell `i` and reclaims the old one, in an
    /// updater thread.
    fn update(&self, ctx: &mut Sleep, i: usize, seq: u64, stats: &Arc<Stats>) -> Result;
}

/// What a run saw.
pub(crate) struct Report {
    pub(crate) cpus: u32,
    pub(crate) ms: u64,
    pub(crate) reads: u64,
    pub(crate) bad: u64,
    pub(crate) irq_reads: u64,
    pub(crate) irq_nested: u64,
    pub(crate) irq_bad: u64,
    pub(crate) updates: u64,
    pub(crate) errors: u64,
}

impl Report {
    /// Reads and updates happened, in both contexts, and all were good.
    pub(crate) fn clean(&self) -> bool {
        self.reads > 0
            && self.irq_reads > 0
            && self.updates > 0
            && self.bad == 0
            && self.irq_bad == 0
            && self.errors == 0
    }
}

impl core::fmt::Display for Report {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} CPUs, {} ms: {} reads ({} bad), {} irq reads ({} nested, {} bad), \
             {} updates, {} errors",
            self.cpus,
            self.ms,
            self.reads,
            self.bad,
            self.irq_reads,
            self.irq_nested,
            self.irq_bad,
            self.updates,
            self.errors
        )
    }
}

fn count_read(r: Read, reads: &AtomicU64, bad: &AtomicU64) -> bool {
    if r.found {
        reads.fetch_add(1, Relaxed);
        if !r.ok {
            bad.fetch_add(1, Relaxed);
        }
    }
    r.nested
}

/// The reader thread of one CPU, with its interrupt-context reader.
fn reader<T: Table>(ctx: &mut Sleep, table: Arc<T>, stats: Arc<Stats>) -> Result {
    let (t, s) = (table.clone(), stats.clone());
    let timer = KBox::pin_init(
        PeriodicTimer::new(IRQ_PERIOD_NS, move |ctx| {
            let turn = s.irq_turn.fetch_add(1, Relaxed);
            if count_read(t.read(ctx, turn % CELLS, turn), &s.irq_reads, &s.irq_bad) {
                s.irq_nested.fetch_add(1, Relaxed);
            }
        }),
        GFP_KERNEL,
    )?;
    // The timer ticks on this CPU while the loop runs, and is cancelled
    // (waiting for a running callback) before `run_while` returns.
    timer.as_ref().run_while(ctx, |ctx| {
        let mut turn = 0;
        while !stats.stop.load(Relaxed) {
            for i in 0..CELLS {
                count_read(table.read(ctx, i, turn), &stats.reads, &stats.bad);
            }
            turn += 1;
            task::cond_resched();
        }
    });
    Ok(())
}

/// Runs readers on every online CPU and one updater for `ms` milliseconds.
pub(crate) fn run<T: Table>(table: Arc<T>, stats: &Arc<Stats>, ms: u64) -> Result<Report> {
    let cpus = system::online_cpus();
    let mut readers = KVec::with_capacity(cpus as usize, GFP_KERNEL)?;
    let failed = Arc::new(AtomicU64::new(0), GFP_KERNEL)?;
    let start = Instant::now();
    for cpu in 0..cpus {
        let (t, s, f) = (table.clone(), stats.clone(), failed.clone());
        let spawned = KThread::spawn(c"reader", Some(cpu), move |ctx| {
            if reader(ctx, t, s).is_err() {
                f.fetch_add(1, Relaxed);
            }
        });
        match spawned {
            Ok(k) => readers.push(k, GFP_KERNEL)?,
            Err(e) => {
                stats.stop.store(true, Relaxed);
                return Err(e);
            }
        }
    }
    let mut updaters = KVec::with_capacity(T::UPDATERS, GFP_KERNEL)?;
    let mut spawned = Ok(());
    for k in 0..T::UPDATERS {
        let (t, s, f) = (table.clone(), stats.clone(), failed.clone());
        // Updater k of U takes cells k, k + U, k + 2U, ... (mod CELLS).
        let u = KThread::spawn(c"updater", None, move |ctx| {
            let mut seq = k as u64;
            while start.elapsed_ns() < ms * 1_000_000 {
                if t.update(ctx, seq as usize % CELLS, seq, &s).is_err() {
                    f.fetch_add(1, Relaxed);
                }
                s.updates.fetch_add(1, Relaxed);
                seq += T::UPDATERS as u64;
                task::cond_resched();
            }
        });
        match u {
            Ok(u) => updaters.push(u, GFP_KERNEL)?,
            Err(e) => {
                spawned = Err(e);
                break;
            }
        }
    }
    // Readers stop when the updaters are done, or at once if one failed to
    // start (the others stop at the deadline).
    drop(updaters);
    stats.stop.store(true, Relaxed);
    drop(readers);
    spawned?;
    Ok(Report {
        cpus,
        ms: start.elapsed_ns() / 1_000_000,
        reads: stats.reads.load(Relaxed),
        bad: stats.bad.load(Relaxed),
        irq_reads: stats.irq_reads.load(Relaxed),
        irq_nested: stats.irq_nested.load(Relaxed),
        irq_bad: stats.irq_bad.load(Relaxed),
        updates: stats.updates.load(Relaxed),
        errors: failed.load(Relaxed),
    })
}

/// `n` objects as an updater leaves them: each built by `new(i)`, published
/// in an RCU pointer and swapped out of it, so each is a [`Retired`] that
/// readers could still hold. Sleeps.
pub(crate) fn retired<T: Send + Sync>(
    n: usize,
    mut new: impl FnMut(usize) -> T,
) -> Result<KVVec<Retired<T>>> {
    let mut v = KVVec::with_capacity(n, GFP_KERNEL)?;
    for i in 0..n {
        let cell = RcuPtr::new(Some(RcuBox::new(new(i), GFP_KERNEL)?));
        if let Some(r) = cell.swap(None) {
            v.push(r, GFP_KERNEL)?;
        }
    }
    Ok(v)
}
