// SPDX-License-Identifier: GPL-2.0

//! The drain: closes blocks left open, frees blocks whose grace period has
//! ended, recycles their pages and refills the page caches. Process
//! context (the engine's [`Deferred`] worker, or a caller's barrier).
//!
//! [`Deferred`]: crate::deferred::Deferred

use super::{block::BlockList, Contents, Engine};
use crate::{
    context::{MaySleep, Sleep},
    deferred::DeferredRun,
    rcu::GpState,
};
use core::sync::atomic::Ordering::Relaxed;
use kernel::time::{delay::fsleep, Delta};

/// How often the drain polls while closed blocks wait for their grace
/// period (one jiffy at `HZ=250`).
const POLL_NS: u64 = 4_000_000;

/// What a drain pass left behind.
#[derive(Default)]
pub(super) struct Pending {
    /// The newest cookie of a closed block still waiting.
    newest: Option<GpState>,
    /// Whether a non-empty block is still open.
    open: bool,
}

impl<C: Contents> Engine<'_, C> {
    /// One pass of the drain: closes blocks open longer than the drain
    /// delay (all non-empty ones with `flush`), gives a block it closed
    /// (`stolen`) a second cookie once its first has completed, frees the
    /// objects of closed blocks whose grace period has ended, and recycles
    /// or frees their pages. Returns what is left. Sleeps (it calls
    /// `cond_resched()` between CPUs).
    fn drain_once(&self, ctx: &mut Sleep, flush: bool) -> Pending {
        let _draining = self.draining.lock();
        let c = &self.inner.counters;
        let (cache_pages, delay_ns) = (self.cache_pages(), self.drain_delay_ns());
        let mut pending = Pending::default();
        for ch in self.inner.cpus.iter() {
            let stolen = ch.steal(flush, delay_ns);
            let mut ready = BlockList::new();
            {
                let mut l = ch.locked.lock_irqsave(ctx);
                if let Some(b) = stolen {
                    l.push_closed(b);
                }
                while l.closed.front().is_some_and(|h| h.gp.completed()) {
                    let Some(mut b) = l.closed.pop_front() else {
                        break;
                    };
                    if b.h().stolen {
                        // Its CPU's last add is done and visible now; the
                        // objects' readers need a grace period from here.
                        // A fresh cookie is never complete: the loop ends.
                        // INVARIANT: the second cookie, after the first.
                        let h = b.h_mut();
                        h.stolen = false;
                        h.gp = GpState::start();
                        l.closed.push_back(b);
                    } else {
                        ready.push_back(b);
                    }
                }
                if let Some(h) = l.closed.back() {
                    pending.newest = Some(h.gp);
                }
            }
            pending.open |= ch.open_nonempty();
            let mut spare = BlockList::new();
            while let Some(mut b) = ready.pop_front() {
                // SAFETY: The block's cookie has completed, and it was taken
                // after its last entry was added (type invariant).
                let n = unsafe { b.release() };
                c.freed_in_blocks.fetch_add(n, Relaxed);
                spare.push_back(b);
            }
            if spare.len > 0 {
                // Recycled pages stay, up to what the busiest burst had in
                // flight: the engine stays warm for the next one.
                let mut l = ch.locked.lock_irqsave(ctx);
                let most = l.keep(cache_pages);
                while l.cache.len < most {
                    match spare.pop_front() {
                        Some(b) => l.cache.push_back(b),
                        None => break,
                    }
                }
            }
            while let Some(b) = spare.pop_front() {
                self.page_freed(b);
            }
            crate::task::cond_resched();
        }
        pending
    }

    /// Fills every CPU's page cache with `GFP_KERNEL` pages. Holds
    /// `draining`: a drain pass releasing blocks has taken them off their
    /// CPU's list, but their pages are still allocated until it recycles or
    /// frees them, and a refill beside it would count them out (the
    /// `batch_refill_race` selftest). Sleeps.
    fn refill(&self, ctx: &mut Sleep) {
        let _draining = self.draining.lock();
        let cache_pages = self.cache_pages();
        for ch in self.inner.cpus.iter() {
            let target = {
                let mut l = ch.locked.lock_irqsave(ctx);
                l.note_need(self.inner.config.block_entries);
                let t = l.target(cache_pages);
                l.demand = 0;
                l.missed = 0;
                t
            };
            // One page at a time, checked against the room as it is then:
            // the allocation sleeps outside the lock, and this CPU may move
            // from block to block meanwhile.
            while ch.locked.lock_irqsave(ctx).wants_page(target, cache_pages) {
                let page = self.page_allocated(
                    self.inner
                        .blocks
                        .alloc_noretry()
                        .map(super::BlockPage::from_slab),
                );
                let Some(page) = page else {
                    self.inner.counters.refill_failures.fetch_add(1, Relaxed);
                    return;
                };
                ch.locked.lock_irqsave(ctx).cache.push_back(page);
            }
        }
    }

    /// Fills every CPU's page cache now, in the caller's context (the
    /// drain's worker does it too, later). Sleeps.
    pub(crate) fn fill_caches(&self, ctx: &mut impl MaySleep) {
        self.refill(ctx.sleep());
    }

    /// Closes every open block and waits until every object queued before
    /// the call is freed, emergency ones included. Sleeps.
    pub(crate) fn barrier(&self, ctx: &mut impl MaySleep) {
        let ctx = ctx.sleep();
        while let Some(gp) = self.drain_once(ctx, true).newest {
            // Poll the cookie rather than `cond_synchronize_rcu()`, whose
            // `synchronize_rcu()` would wait for a grace period of its own,
            // one more than the blocks need.
            while !gp.completed() {
                fsleep(Delta::from_millis(1));
            }
        }
        crate::rcu::barrier(ctx);
    }
}

impl<C: Contents> DeferredRun for Engine<'_, C> {
    fn run(&self, ctx: &mut Sleep) {
        let pending = self.drain_once(ctx, false);
        self.refill(ctx);
        if pending.newest.is_some() {
            self.drain.later(POLL_NS.min(self.drain_delay_ns()));
        } else if pending.open {
            self.drain.later(self.drain_delay_ns());
        }
    }
}
