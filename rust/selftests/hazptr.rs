// SPDX-License-Identifier: GPL-2.0

//! Test cases for the hazard pointers in [`crate::hazptr`].

use super::{Case, Outcome};
use crate::experiments::stress::{self, Counted, Element, Read, Stats, Table, CELLS};
use crate::{
    context::{Atomic, Context, Sleep},
    hazptr::HazPtr,
    system::{self, Lockdep},
    task::{self, KThread},
    time::Instant,
};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::{prelude::*, sync::Arc};

pub(super) const CASES: &[Case] = &[
    Case {
        name: "hazptr_basics",
        negative: false,
        about: "nesting stores the wildcard; synchronize waits for a reader on another CPU, \
                whose guards were dropped out of order",
        run: basics,
    },
    Case {
        name: "hazptr_stress",
        negative: false,
        about: "element and container readers (threads + hardirq, wildcard) vs synchronize",
        run: stress_run,
    },
];

/// Length of the stress run.
const STRESS_MS: u64 = 2000;
/// How long the reader of `hazptr_basics` holds its guard.
const HOLD_MS: u64 = 50;

/// A second token for the reader of `hazptr_basics`, whose guards are
/// released out of order on purpose: the protocol allows it (the last user
/// clears the slot), the tokens do not (a nested guard borrows the token
/// its outer one lends), so the test needs a token of its own.
#[allow(unsafe_code)]
fn out_of_order_token() -> Atomic {
    // SAFETY: `Atomic` proves nothing; the test uses it for one guard only.
    unsafe { <Atomic as Context>::assume() }
}

fn basics(ctx: &mut Sleep) -> Result<Outcome> {
    let stats = Stats::new()?;
    let p = HazPtr::new(Some(KBox::new(Counted::new(0, &stats), GFP_KERNEL)?));
    // Nesting on one CPU: the first user owns the slot, the second stores
    // the wildcard; both read the element.
    // The second guard takes the token the first lends: nested guards are
    // released in order.
    let (outer_nested, inner_nested, seqs) = {
        let mut outer = p.protect(ctx).ok_or(EINVAL)?;
        let (outer_seq, outer_nested) = (outer.seq(), outer.is_nested());
        let inner = p.protect_cell(outer.ctx());
        let seqs = (outer_seq, inner.get().map(Counted::seq));
        (outer_nested, inner.is_nested(), seqs)
    };

    // Nobody protects the element: synchronize returns it at once.
    let old = p
        .swap(Some(KBox::new(Counted::new(1, &stats), GFP_KERNEL)?))
        .ok_or(EINVAL)?;
    let t = Instant::now();
    let back = old.synchronize(ctx);
    let idle_us = t.elapsed_us();
    let back_seq = back.seq();
    drop(back);

    // A reader on another CPU holds the element for HOLD_MS: synchronize
    // must not return before it lets go. The reader first takes another
    // guard and drops it after taking the element's (out of order, as Rust
    // allows): the element's guard is the nested one, and the slot must stay
    // set until it is dropped too.
    let (waited_ms, reader_done) = if system::online_cpus() > 1 {
        let p = Arc::new(p, GFP_KERNEL)?;
        let other = Arc::new(HazPtr::new(Some(KBox::new(0u64, GFP_KERNEL)?)), GFP_KERNEL)?;
        let holding = Arc::new(AtomicU32::new(0), GFP_KERNEL)?;
        let done = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
        let (rp, ro, rh, rd) = (p.clone(), other.clone(), holding.clone(), done.clone());
        let reader = KThread::spawn(c"hp-hold", Some(1), move |ctx| {
            let first = ro.protect_cell(ctx);
            let mut second = out_of_order_token();
            let nested = rp.protect(&mut second).filter(|g| g.is_nested());
            if let Some(g) = nested {
                drop(first);
                rh.store(1, Ordering::Release);
                let t = Instant::now();
                while t.elapsed_ns() < HOLD_MS * 1_000_000 {
                    core::hint::spin_loop();
                }
                // Ordered before the slot's release store, which the
                // updater's acquire load reads.
                rd.store(true, Ordering::Relaxed);
                drop(g);
            } else {
                rh.store(2, Ordering::Release);
            }
        })?;
        while holding.load(Ordering::Acquire) == 0 {
            // The reader may be waiting for this CPU.
            task::cond_resched();
        }
        let old = p
            .swap(Some(KBox::new(Counted::new(2, &stats), GFP_KERNEL)?))
            .ok_or(EINVAL)?;
        let t = Instant::now();
        drop(old.synchronize(ctx));
        let waited = t.elapsed_us() / 1000;
        let seen = done.load(Ordering::Relaxed);
        reader.join();
        (Some(waited), holding.load(Ordering::Relaxed) == 1 && seen)
    } else {
        drop(p);
        (None, true)
    };
    let freed = stats.freed.load(Ordering::Relaxed);
    // `p` is gone in both branches once the reader has been joined.
    let want_freed = if waited_ms.is_some() { 3 } else { 2 };
    Outcome::new(
        !outer_nested
            && inner_nested
            && seqs == (0, Some(0))
            && back_seq == 0
            && reader_done
            && freed == want_freed,
        format_args!(
            "outer guard nested {outer_nested}, inner (container) nested {inner_nested}; \
             idle synchronize {idle_us} us; with a reader on CPU 1 holding {HOLD_MS} ms \
             (its nested guard, the outer one dropped first): {}, reader done first \
             {reader_done}; {freed}/{want_freed} freed",
            Waited(waited_ms)
        ),
    )
}

/// How long a synchronize waited, if it ran.
struct Waited(Option<u64>);

impl core::fmt::Display for Waited {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(ms) => write!(f, "waited {ms} ms"),
            None => f.write_str("skipped (one CPU)"),
        }
    }
}

/// [`CELLS`] hazard pointers, updated with swap + synchronize.
struct HpTable {
    cells: KVec<HazPtr<Counted>>,
}

impl HpTable {
    fn new(stats: &Arc<Stats>) -> Result<Self> {
        let mut cells = KVec::with_capacity(CELLS, GFP_KERNEL)?;
        for seq in 0..CELLS as u64 {
            cells.push(
                HazPtr::new(Some(KBox::new(Counted::new(seq, stats), GFP_KERNEL)?)),
                GFP_KERNEL,
            )?;
            stats.allocated.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Self { cells })
    }
}

impl Table for HpTable {
    /// Even turns protect the element, odd turns the cell (the container).
    fn read(&self, ctx: &mut impl Context, i: usize, turn: usize) -> Read {
        let (found, ok, nested) = if turn % 2 == 0 {
            match self.cells[i].protect(ctx) {
                Some(g) => (true, stress::check(&*g), g.is_nested()),
                None => (false, true, false),
            }
        } else {
            let g = self.cells[i].protect_cell(ctx);
            match g.get() {
                Some(e) => (true, stress::check(e), g.is_nested()),
                None => (false, true, g.is_nested()),
            }
        };
        Read { found, ok, nested }
    }

    fn update(&self, ctx: &mut Sleep, i: usize, seq: u64, stats: &Arc<Stats>) -> Result {
        let new = KBox::new(Counted::new(seq, stats), GFP_KERNEL)?;
        stats.allocated.fetch_add(1, Ordering::Relaxed);
        if let Some(old) = self.cells[i].swap(Some(new)) {
            drop(old.synchronize(ctx));
        }
        Ok(())
    }
}

fn stress_run(_ctx: &mut Sleep) -> Result<Outcome> {
    let stats = Stats::new()?;
    let table = Arc::new(HpTable::new(&stats)?, GFP_KERNEL)?;
    let r = stress::run(table, &stats, STRESS_MS)?;
    let allocated = stats.allocated.load(Ordering::Relaxed);
    let freed = stats.freed.load(Ordering::Relaxed);
    let outermost = r.irq_reads - r.irq_nested;
    let lockdep = Lockdep::current();
    Outcome::new(
        r.clean()
            && r.irq_nested > 0
            && outermost > 0
            && freed == allocated
            && lockdep == Lockdep::On,
        format_args!(
            "{r}; irq readers: {} on the wildcard, {outermost} owning the slot; \
             {allocated} allocated, {freed} freed; lockdep {}",
            r.irq_nested,
            lockdep.as_str()
        ),
    )
}
