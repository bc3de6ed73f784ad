// SPDX-License-Identifier: GPL-2.0

//! Test cases for the RCU types in [`crate::rcu`].

use super::{Case, Outcome};
use crate::experiments::stress::{
    self, retired, Counted, Element, Plain, Read, Stats, Table, CELLS,
};
use crate::{
    context::{self, Context, Sleep},
    new_raw_spinlock,
    rcu::{self, GpState, RcuBox, RcuPtr, Retired},
    reclaim::{CallRcu, KvfreeRcu, Reclaim, SynchronizeRcu},
    system::Lockdep,
};
use core::{marker::PhantomData, sync::atomic::Ordering::Relaxed};
use kernel::{prelude::*, sync::Arc};

pub(super) const CASES: &[Case] = &[
    Case {
        name: "rcu_guard_lockdep",
        negative: false,
        about: "the read guard is rcu_read_lock(): rcu_read_lock_held() sees it, nested too",
        run: guard_lockdep,
    },
    Case {
        name: "rcu_poll",
        negative: false,
        about: "grace-period cookies: a retired object comes back once its cookie completes",
        run: poll,
    },
    Case {
        name: "rcu_stress_synchronize",
        negative: false,
        about: "readers (threads + hardirq) vs an updater freeing after synchronize_rcu()",
        run: stress::<Counted, SynchronizeRcu>,
    },
    Case {
        name: "rcu_stress_call_rcu",
        negative: false,
        about: "readers (threads + hardirq) vs an updater dropping in call_rcu() callbacks",
        run: stress::<Counted, CallRcu>,
    },
    Case {
        name: "rcu_stress_kfree_rcu",
        negative: false,
        about: "readers (threads + hardirq) vs an updater freeing with kfree_rcu()",
        run: stress::<Plain, KvfreeRcu>,
    },
    Case {
        name: "rcu_use_after_free",
        negative: true,
        about: "the stress test with an updater that frees without a grace period: KASAN",
        run: use_after_free,
    },
    Case {
        name: "rcu_double_call_rcu",
        negative: true,
        about: "one rcu_head queued twice with call_rcu(): debug-objects",
        run: double_call_rcu,
    },
    Case {
        name: "odebug_pool_raw",
        negative: true,
        about: "8192 call_rcu() under one raw spinlock hold: debug-objects' pool runs dry on RT",
        run: odebug_pool_raw,
    },
];

/// Length of a stress run.
const STRESS_MS: u64 = 2000;
/// Objects the updaters let wait for a grace period before they wait too.
const BACKLOG: u64 = 10_000;

fn guard_lockdep(ctx: &mut Sleep) -> Result<Outcome> {
    let outside = rcu::read_lock_held();
    let (inside, nested, after_inner) = {
        let mut g = context::rcu_read_lock(ctx);
        let inside = rcu::read_lock_held();
        let nested = {
            let _g2 = context::rcu_read_lock(g.ctx());
            rcu::read_lock_held()
        };
        (inside, nested, rcu::read_lock_held())
    };
    let after = rcu::read_lock_held();
    let lockdep = Lockdep::current();
    Outcome::new(
        lockdep == Lockdep::On && !outside && inside && nested && after_inner && !after,
        format_args!(
            "rcu_read_lock_held(): outside {outside}, in a guard {inside}, nested {nested}, \
             after the inner one {after_inner}, after both {after}; lockdep {}",
            lockdep.as_str()
        ),
    )
}

fn poll(ctx: &mut Sleep) -> Result<Outcome> {
    let stats = Stats::new()?;
    // A cookie for the current state completes after a full grace period.
    let cookie = GpState::current();
    rcu::synchronize(ctx);
    let cookie_done = cookie.completed();

    let p = RcuPtr::new(Some(RcuBox::new(Counted::new(0, &stats), GFP_KERNEL)?));
    let old = p
        .swap(Some(RcuBox::new(Counted::new(1, &stats), GFP_KERNEL)?))
        .ok_or(EINVAL)?;
    let (early, back) = match old.start_poll().try_reclaim() {
        // Completed already (the thread was preempted for a whole grace
        // period): correct, just not the common case.
        Ok(b) => (false, b),
        Err(polled) => (true, polled.reclaim(ctx)),
    };
    let right_one = back.seq() == 0;
    drop(back);
    drop(p);
    let freed = stats.freed.load(Relaxed);
    Outcome::new(
        cookie_done && right_one && freed == 2,
        format_args!(
            "cookie completed after synchronize(): {cookie_done}; retired object {} at \
             once, back after its grace period: {right_one}; {freed}/2 freed",
            if early { "pending" } else { "completed" }
        ),
    )
}

/// Updater threads of a table reclaimed the `R` way (see
/// [`Table::UPDATERS`]): a strategy that waits a whole grace period per
/// update gets one updater per cell.
const fn updaters<R: Reclaim<Retired<E>>, E: Element>() -> usize {
    if R::WAITS {
        CELLS
    } else {
        1
    }
}

/// The broken updater of the negative test.
#[derive(Default)]
struct FreeWithoutGracePeriod;
impl<E: Element> Reclaim<Retired<E>> for FreeWithoutGracePeriod {
    const NAME: &'static str = "free at once (broken)";
    const WAITS: bool = false;
    #[allow(unsafe_code)]
    fn reclaim(&self, old: Retired<E>) {
        // SAFETY: None: this breaks `free_now()`'s contract on purpose, so
        // that readers use freed memory and KASAN reports it. Only the
        // negative test `rcu_use_after_free` runs this, in a boot of its own.
        unsafe { old.free_now() };
    }
}

/// [`CELLS`] RCU pointers, updated the `R` way.
struct RcuTable<E, R> {
    cells: KVec<RcuPtr<E>>,
    _reclaim: PhantomData<R>,
}

impl<E: Element, R: Reclaim<Retired<E>>> RcuTable<E, R> {
    fn new(stats: &Arc<Stats>) -> Result<Self> {
        let mut cells = KVec::with_capacity(CELLS, GFP_KERNEL)?;
        for seq in 0..CELLS as u64 {
            cells.push(
                RcuPtr::new(Some(RcuBox::new(E::new(seq, stats), GFP_KERNEL)?)),
                GFP_KERNEL,
            )?;
            stats.allocated.fetch_add(1, Relaxed);
        }
        Ok(Self {
            cells,
            _reclaim: PhantomData,
        })
    }
}

impl<E: Element, R: Reclaim<Retired<E>> + Default + Send + Sync + 'static> Table
    for RcuTable<E, R>
{
    const UPDATERS: usize = updaters::<R, E>();

    fn read(&self, ctx: &mut impl Context, i: usize, _turn: usize) -> Read {
        let guard = context::rcu_read_lock(ctx);
        match self.cells[i].read(guard.guard()) {
            Some(e) => Read {
                found: true,
                ok: stress::check(e),
                nested: false,
            },
            None => Read {
                found: false,
                ok: true,
                nested: false,
            },
        }
    }

    fn update(&self, ctx: &mut Sleep, i: usize, seq: u64, stats: &Arc<Stats>) -> Result {
        let new = RcuBox::new(E::new(seq, stats), GFP_KERNEL)?;
        stats.allocated.fetch_add(1, Relaxed);
        if let Some(old) = self.cells[i].swap(Some(new)) {
            R::default().reclaim(old);
            // Callbacks that count their drops are throttled (kfree_rcu()
            // objects cannot count, and the kernel bounds their backlog:
            // `kvfree_rcu_barrier()` is not exported in 7.3 to throttle).
            if !R::WAITS && core::mem::needs_drop::<E>() && stats.outstanding() > BACKLOG {
                rcu::barrier(ctx);
            }
        }
        Ok(())
    }
}

fn stress<E: Element, R: Reclaim<Retired<E>> + Default + Send + Sync + 'static>(
    ctx: &mut Sleep,
) -> Result<Outcome> {
    let stats = Stats::new()?;
    let table = Arc::new(RcuTable::<E, R>::new(&stats)?, GFP_KERNEL)?;
    let report = stress::run(table, &stats, STRESS_MS)?;
    // Every thread and timer is gone, so the table was dropped with the last
    // reference: wait for the callbacks. (kfree_rcu() objects cannot count
    // their frees; kmemleak checks them after the suite.)
    rcu::barrier(ctx);
    let allocated = stats.allocated.load(Relaxed);
    let freed = stats.freed.load(Relaxed);
    // Elements without `Drop` cannot count themselves: kmemleak checks them.
    let counted = core::mem::needs_drop::<E>();
    let lockdep = Lockdep::current();
    Outcome::new(
        report.clean() && (!counted || freed == allocated) && lockdep == Lockdep::On,
        format_args!(
            "{report}; reclaim: {}; {allocated} allocated, {}; lockdep {}",
            R::NAME,
            Freed(counted.then_some(freed)),
            lockdep.as_str()
        ),
    )
}

/// How many elements were freed, if they count themselves.
struct Freed(Option<u64>);

impl core::fmt::Display for Freed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n} freed"),
            None => f.write_str("frees not counted (kmemleak scans for leaks)"),
        }
    }
}

fn use_after_free(_ctx: &mut Sleep) -> Result<Outcome> {
    let stats = Stats::new()?;
    let table = Arc::new(
        RcuTable::<Counted, FreeWithoutGracePeriod>::new(&stats)?,
        GFP_KERNEL,
    )?;
    let report = stress::run(table, &stats, STRESS_MS)?;
    Outcome::new(
        true,
        format_args!(
            "{report}; reclaim: {}",
            <FreeWithoutGracePeriod as Reclaim<Retired<Counted>>>::NAME
        ),
    )
}

#[allow(unsafe_code)]
fn double_call_rcu(ctx: &mut Sleep) -> Result<Outcome> {
    let stats = Stats::new()?;
    let p = RcuPtr::new(Some(RcuBox::new(Counted::new(0, &stats), GFP_KERNEL)?));
    let raw = p.swap(None).ok_or(EINVAL)?.into_raw();
    {
        // Inside a read-side critical section no grace period can end, so
        // the object is still there for the second call.
        let _g = context::rcu_read_lock(ctx);
        // SAFETY: `raw` came from `into_raw` and this is its only owner.
        unsafe { Retired::from_raw(raw) }.call_rcu();
        // SAFETY: None: the object is already queued; this breaks
        // `from_raw()`'s "handed over exactly once" on purpose, so that
        // debug-objects reports the double call_rcu(). Only the negative
        // test `rcu_double_call_rcu` runs this, in a boot of its own. The
        // kernel leaks the object rather than free it twice.
        unsafe { Retired::from_raw(raw) }.call_rcu();
    }
    rcu::barrier(ctx);
    Outcome::new(true, format_args!("queued one rcu_head twice"))
}

/// Heads [`odebug_pool_raw`] queues under one hold: more than
/// debug-objects can have ready without refilling (its global pool holds at
/// most 1024, each CPU's 128, and the free list what recent frees left).
const ODEBUG_BURST: usize = 8192;

/// Seed 002's problem, in the kernel's own allocator user: every head
/// `call_rcu()` queues takes a debug-objects tracking object, and the pool
/// refills inline only where `can_fill_pool()` allows. Non-RT: always
/// (under a lockdep wait-type override), so the run is clean. PREEMPT_RT:
/// only when preemptible, never under a raw spinlock, so the pool runs dry
/// and the detector switches itself off (`ODEBUG: Out of memory. ODEBUG
/// disabled`). The negative test `odebug_pool_raw` runs it in a boot of its
/// own and expects exactly that report on RT and none elsewhere.
fn odebug_pool_raw(ctx: &mut Sleep) -> Result<Outcome> {
    let stats = Stats::new()?;
    let lock = KBox::pin_init(new_raw_spinlock!((), "selftest_odebug_raw"), GFP_KERNEL)?;
    let mut old = retired(ODEBUG_BURST, |i| Counted::new(i as u64, &stats))?;
    let n = old.len();
    {
        let _g = lock.lock_irqsave(ctx);
        CallRcu.reclaim_all(&mut old);
    }
    rcu::barrier(ctx);
    let freed = stats.freed.load(Relaxed) as usize;
    Outcome::new(
        freed == n,
        format_args!(
            "{n} objects by call_rcu() under one raw spinlock hold with interrupts off; \
             {freed} of {n} dropped after rcu_barrier()"
        ),
    )
}
