// SPDX-License-Identifier: GPL-2.0

//! The per-CPU channel: the open block its CPU fills with no lock, no
//! atomic read-modify-write and no interrupt masking, and, under a lock
//! taken once per block, the closed blocks and the cache of empty pages.
//!
//! Who touches what:
//!
//! * An enqueue runs with preemption disabled and holds its CPU's `busy`
//!   flag, as `local_trylock()` holds its `acquired` flag on non-RT
//!   kernels: an interrupt that enqueues on the same CPU meanwhile finds
//!   the flag set and sends its object down the emergency path instead of
//!   touching the channel (`nested` counts those, with an atomic
//!   increment, as they may nest in turn). Checking and setting the flag
//!   need no atomic instruction: an interrupt runs to completion before the
//!   code it interrupted goes on.
//! * `open` is set and filled only by its own CPU, holding `busy`. That CPU
//!   closes the block when it is full, with a compare-exchange to null;
//!   the drain closes a block that stayed open too long with a
//!   compare-exchange of its own, from any CPU, which also closes the
//!   blocks of a CPU that went offline. Whichever exchange wins owns the
//!   block. A block the drain took may still be written by its CPU, inside
//!   the preemption-disabled section that had loaded it: it is marked
//!   `stolen`, and its first grace period only waits for that section to
//!   end (a preemption-disabled region is an RCU reader); a second one,
//!   started after the first ended, waits for the objects' readers. A
//!   block its own CPU closed needs one.
//! * `queued` is written only by its CPU holding `busy`
//!   (a load and a store, not a locked increment) and read by
//!   [`Channel::queued`]; the emergency path is counted by the engine.
//! * [`Locked`] is taken by the owner once per block and by the drain, the
//!   refill and the shrinker, always with `lock_irqsave()` (an owner in
//!   hard interrupt context takes it too).

use super::{
    block::{Block, BlockList, BlockPage},
    Config, Contents,
};
use crate::{context::Context, new_raw_spinlock, rcu::GpState, sync::RawSpinLock};
use core::{
    ptr::{self, NonNull},
    sync::atomic::{
        compiler_fence, AtomicBool, AtomicPtr, AtomicUsize,
        Ordering::{Acquire, Relaxed, Release, SeqCst},
    },
};
use kernel::prelude::*;

/// How far above `cache_pages` a channel's cache may grow with demand.
pub(super) const MAX_DEMAND_FACTOR: usize = 16;

/// A CPU's blocks and pages under its lock.
pub(super) struct Locked<C: Contents> {
    /// Full or timed-out blocks, oldest first, each with its cookie.
    pub(super) closed: BlockList<C>,
    /// Empty pages for new blocks.
    pub(super) cache: BlockList<C>,
    /// Blocks opened since the last refill, and the objects that found no
    /// page meanwhile (they took the emergency path): the refill keeps that
    /// many pages (twice as many after a miss), within `cache_pages ..=
    /// cache_pages * MAX_DEMAND_FACTOR`, so the cache follows the load.
    pub(super) demand: usize,
    pub(super) missed: usize,
    /// Blocks closed on this CPU.
    pub(super) closed_blocks: usize,
    /// The most blocks this CPU has had in flight at once (closed and
    /// waiting, plus the open one): what a burst like the last needs.
    in_flight_peak: usize,
    /// The most blocks a burst has needed here, as seen at a refill: those
    /// in flight plus the missed objects' worth. It grows while a cold
    /// cache sends objects to the emergency path, which `in_flight_peak`
    /// does not see.
    need_peak: usize,
}

impl<C: Contents> Locked<C> {
    /// Queues a closed block to wait for its cookie.
    pub(super) fn push_closed(&mut self, b: BlockPage<C>) {
        self.closed.push_back(b);
        self.closed_blocks += 1;
        self.in_flight_peak = self.in_flight_peak.max(self.closed.len + 1);
    }

    /// How many recycled pages the cache keeps: as many as the busiest
    /// burst so far had in flight, within `cache_pages ..= cache_pages *
    /// MAX_DEMAND_FACTOR`. The next such burst finds its pages cached (the
    /// engine stays warm), and the pages live at its peak stay near what
    /// its objects need (the shrinker takes them back under pressure).
    pub(super) fn keep(&self, cache_pages: usize) -> usize {
        self.peak()
            .clamp(cache_pages, cache_pages * MAX_DEMAND_FACTOR)
    }

    /// The most blocks a burst has needed here so far.
    fn peak(&self) -> usize {
        self.in_flight_peak.max(self.need_peak)
    }

    /// Called by the refill before [`Locked::target`], with the engine's
    /// objects per block: records what the burst needs now (blocks in
    /// flight, plus blocks for the objects that missed since the last
    /// refill).
    pub(super) fn note_need(&mut self, block_entries: usize) {
        let need = self.closed.len + 1 + self.missed.div_ceil(block_entries.max(1));
        self.need_peak = self.need_peak.max(need);
    }

    /// Pages the refill keeps for this channel: what was opened since the
    /// last refill (twice that after a miss), within `cache_pages ..=
    /// cache_pages * MAX_DEMAND_FACTOR` ([`Config::cache_pages`], as tuned
    /// now), and never more than the busiest burst so far (its blocks in
    /// flight and missed objects' worth) leaves room for beside the blocks
    /// in flight now. So this CPU's pages live (in flight plus cached) stay
    /// within the blocks that burst needed plus `cache_pages`: the bound
    /// `batch_flood` and `batch_warm_bound` check. Without the last limit a
    /// warm engine kept twice a burst's demand cached on top of the burst
    /// (experiment 1: 127 block pages at the peak against a bound of 76).
    pub(super) fn target(&self, cache_pages: usize) -> usize {
        let want = if self.missed > 0 {
            self.demand * 2
        } else {
            self.demand
        };
        want.clamp(cache_pages, cache_pages * MAX_DEMAND_FACTOR)
            .min(self.room(cache_pages))
    }

    /// Pages the cache may hold beside the blocks
    /// in flight now: the busiest burst's blocks plus `cache_pages`, less
    /// the blocks in flight, and never below `cache_pages`.
    fn room(&self, cache_pages: usize) -> usize {
        (self.peak() + cache_pages)
            .saturating_sub(self.closed.len + 1)
            .max(cache_pages)
    }

    /// Whether the refill should allocate one more page: the cache is below
    /// both `target` and the room as it is now (blocks may have closed
    /// since `target` was worked out). The refill asks before each page,
    /// and refills are serialised (the engine's `draining` mutex).
    pub(super) fn wants_page(&self, target: usize, cache_pages: usize) -> bool {
        self.cache.len < target.min(self.room(cache_pages))
    }
}

/// What the slow path of an enqueue did.
pub(super) struct Slow<E> {
    /// `Err(entry)`: no page for a new block; the entry is the caller's.
    pub(super) placed: Result<(), E>,
    /// A full block was closed.
    pub(super) closed: bool,
    /// The page cache is below half its target.
    pub(super) low: bool,
    /// The enqueue nested on another of its CPU's and touched nothing.
    pub(super) nested: bool,
}

/// One CPU's channel.
///
/// # Invariants
///
/// `open` is null or a block given up with [`BlockPage::into_raw`],
/// owned by the channel, whose entries only this channel's CPU writes
/// (holding `busy`, preemption disabled) while it is there; a block taken
/// out of `open` by any CPU but its own is marked `stolen`.
#[pin_data]
pub(super) struct Channel<C: Contents> {
    open: AtomicPtr<Block<C>>,
    /// Held by this CPU's enqueue in progress.
    busy: AtomicBool,
    queued: AtomicUsize,
    /// Objects of enqueues that found `busy` held (interrupts nesting on an
    /// enqueue): all took the emergency path.
    nested: AtomicUsize,
    #[pin]
    pub(super) locked: RawSpinLock<Locked<C>>,
}

// SAFETY: The blocks are plain memory whose entries are `Send` (`Contents`'
// contract), and every field is an atomic or under the lock.
unsafe impl<C: Contents> Send for Channel<C> {}
// SAFETY: Shared access goes through atomics (owner-only writes, see the
// module doc) and the lock.
unsafe impl<C: Contents> Sync for Channel<C> {}

/// Increments a counter only one CPU writes: a load and a store.
fn bump(c: &AtomicUsize) {
    c.store(c.load(Relaxed) + 1, Relaxed);
}

impl<C: Contents> Channel<C> {
    pub(super) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            open: AtomicPtr::new(ptr::null_mut()),
            busy: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            nested: AtomicUsize::new(0),
            locked <- new_raw_spinlock!(
                Locked {
                    closed: BlockList::new(),
                    cache: BlockList::new(),
                    demand: 0,
                    missed: 0,
                    closed_blocks: 0,
                    in_flight_peak: 0,
                    need_peak: 0,
                },
                "rcu_lab_kfree_batch_channel"
            ),
        })
    }

    /// Enqueues `obj` on this CPU: appends it to the open block if it has
    /// room (fewer than `cfg.block_entries` entries), else takes the slow
    /// path; `None` when the fast path placed it. With no page for a new
    /// block, or when the enqueue nests on another of this CPU's (an
    /// interrupt, [`Slow::nested`]), the object comes back as `Err` in
    /// [`Slow::placed`]. `RETRY`: a second attempt for an object already
    /// counted in `queued` (after an inline allocation).
    ///
    /// # Safety
    ///
    /// Called on this channel's CPU with preemption disabled;
    /// `cfg.block_entries <= C::CAPACITY`; `obj` is given up
    /// ([`Contents`]).
    pub(super) unsafe fn enqueue<const RETRY: bool>(
        &self,
        ctx: &mut impl Context,
        obj: C::Entry,
        cfg: &Config,
        cache_pages: usize,
    ) -> Option<Slow<C::Entry>> {
        if self.busy.load(Relaxed) {
            if !RETRY {
                self.nested.fetch_add(1, Relaxed);
            }
            return Some(Slow {
                placed: Err(obj),
                closed: false,
                low: false,
                nested: true,
            });
        }
        self.busy.store(true, Relaxed);
        // The flag is set before the channel is touched, and cleared after,
        // as an interrupt on this CPU sees it (a compiler barrier: same CPU).
        compiler_fence(SeqCst);
        if !RETRY {
            bump(&self.queued);
        }
        let r = match NonNull::new(self.open.load(Relaxed)) {
            // SAFETY: `b` is this CPU's open block (type invariant: the
            // drain only ever swaps it out, never frees it while this
            // preemption-disabled section can still use it), and holding
            // `busy` keeps every other context of this CPU off it.
            Some(b) => match unsafe { Block::push_owned(b, obj, cfg.block_entries) } {
                Ok(()) => None,
                // SAFETY: As above.
                Err(obj) => Some(unsafe { self.push_slow(ctx, obj, cache_pages) }),
            },
            // SAFETY: As above.
            None => Some(unsafe { self.push_slow(ctx, obj, cache_pages) }),
        };
        compiler_fence(SeqCst);
        self.busy.store(false, Relaxed);
        r
    }

    /// The slow path, once per block: closes the full open block (unless
    /// the drain took it meanwhile), opens a new one from the page cache,
    /// and adds `obj` to it. `cache_pages` is the cache's least size as tuned now.
    ///
    /// # Safety
    ///
    /// As for [`Channel::enqueue`], holding `busy`.
    unsafe fn push_slow(
        &self,
        ctx: &mut impl Context,
        obj: C::Entry,
        cache_pages: usize,
    ) -> Slow<C::Entry> {
        let cur = self.open.load(Relaxed);
        let mut full = None;
        if let Some(b) = NonNull::new(cur) {
            if self
                .open
                .compare_exchange(cur, ptr::null_mut(), Relaxed, Relaxed)
                .is_ok()
            {
                // SAFETY: The exchange made this CPU the block's only owner;
                // its last entry was written by this CPU, before this.
                let mut b = unsafe { BlockPage::from_raw(b) };
                // INVARIANT: the cookie is taken after the last add.
                b.h_mut().gp = GpState::start();
                full = Some(b);
            }
        }
        let closed = full.is_some();
        let (cached, low) = {
            let mut l = self.locked.lock_irqsave(ctx);
            if let Some(b) = full {
                l.push_closed(b);
            }
            let cached = l.cache.pop_front();
            if cached.is_some() {
                l.demand += 1;
            }
            (cached, l.cache.len * 2 < l.target(cache_pages))
        };
        let Some(mut b) = cached else {
            self.locked.lock_irqsave(ctx).missed += 1;
            return Slow {
                placed: Err(obj),
                closed,
                low: true,
                nested: false,
            };
        };
        b.reopen();
        // An empty block has room for one (`block_entries >= 1`).
        let placed = b.push(obj);
        // INVARIANT: an owned block, published for this CPU only; the
        // release orders its header before the drain's acquire load.
        self.open.store(b.into_raw().as_ptr(), Release);
        Slow {
            placed,
            closed,
            low,
            nested: false,
        }
    }

    /// The drain's side: takes the open block if it holds objects and was
    /// opened at least `delay_ns` ago (any age with `flush`). The block
    /// comes back `stolen`, with a cookie taken after the exchange. Any
    /// context; the caller serialises drain passes.
    pub(super) fn steal(&self, flush: bool, delay_ns: u64) -> Option<BlockPage<C>> {
        let b = NonNull::new(self.open.load(Acquire))?;
        // SAFETY: Only a drain pass frees blocks, and the caller's pass is
        // the only one: a block in `open` now stays allocated during the
        // call even if its CPU closes it meanwhile.
        let (nr, opened) = unsafe { Block::peek(b) };
        if nr == 0 || (!flush && opened.elapsed_ns() < delay_ns) {
            return None;
        }
        self.open
            .compare_exchange(b.as_ptr(), ptr::null_mut(), Acquire, Relaxed)
            .ok()?;
        // SAFETY: The exchange made the caller the block's owner; its CPU
        // may finish an add it began before: `stolen` makes the drain wait
        // for that (type invariant).
        let mut b = unsafe { BlockPage::from_raw(b) };
        b.h_mut().stolen = true;
        b.h_mut().gp = GpState::start();
        Some(b)
    }

    /// Whether the open block holds objects. Any context; the caller
    /// serialises drain passes (see [`Channel::steal`]).
    pub(super) fn open_nonempty(&self) -> bool {
        NonNull::new(self.open.load(Acquire)).is_some_and(|b| {
            // SAFETY: As in `steal`.
            unsafe { Block::peek(b) }.0 > 0
        })
    }

    /// Takes the open block for good.
    ///
    /// # Safety
    ///
    /// No enqueue can run on this channel any more, nor begin (the engine
    /// is being dropped).
    pub(super) unsafe fn take_open(&self) -> Option<BlockPage<C>> {
        let b = NonNull::new(self.open.swap(ptr::null_mut(), Acquire))?;
        // SAFETY: No CPU can be adding to it (the caller's guarantee), so
        // the swap made the caller its only owner.
        Some(unsafe { BlockPage::from_raw(b) })
    }

    /// Objects queued on this CPU (nested enqueues included).
    pub(super) fn queued(&self) -> usize {
        self.queued.load(Relaxed) + self.nested.load(Relaxed)
    }

    /// Puts a page allocated in the caller's context into the cache, for
    /// the retry that follows. Any context.
    pub(super) fn give_page(&self, ctx: &mut impl Context, b: BlockPage<C>) {
        self.locked.lock_irqsave(ctx).cache.push_back(b);
    }
}
