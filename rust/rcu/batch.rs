// SPDX-License-Identifier: GPL-2.0

//! `kfree_rcu()` batching: objects freed after a grace period, a page of
//! pointers at a time.
//!
//! The design of the kernel's page-block path (5.11, now in
//! `mm/slab_common.c`), built from rcu_lab's safe types:
//!
//! * Each CPU has a channel ([`RawSpinLock`], taken with interrupts off):
//!   an open block being filled, the closed blocks waiting for their grace
//!   period, and a cache of empty block pages.
//! * A block is one page holding [`BLOCK_ENTRIES`] object pointers, as the
//!   kernel's `KVFREE_BULK_MAX_ENTR`. When it is full, or when the drain
//!   finds it open for longer than the drain delay, it is closed with a
//!   cookie from `start_poll_synchronize_rcu()`, which starts a grace
//!   period only when none is already on its way: blocks closed close
//!   together share one.
//! * The drain (process context, [`Deferred`]) frees every block whose
//!   cookie has completed with `kfree_bulk()` and recycles its page; it also
//!   refills the page caches with `GFP_KERNEL`. Enqueueing never refills a
//!   cache itself and never queues work: it kicks the drain through a hard
//!   interrupt hrtimer, as the kernel kicks its refill worker.
//! * With no room in a block and no cached page, the object takes the
//!   emergency path: its own `rcu_head`, queued with `call_rcu()`.
//! * Cached pages are given back under memory pressure ([`Shrinker`]).
//! * Block pages are 4096-byte objects of the engine's own slab cache, so
//!   kmemleak scans them (the objects they point to are not reported as
//!   leaks while they wait) and failslab's `cache-filter` can make exactly
//!   their allocations fail.
//!
//! Enqueueing ([`Engine::kfree_rcu`]) therefore never allocates, never
//! takes a sleeping lock and never queues work: it is legal in task,
//! softirq and hardirq context and under a raw spinlock, on every
//! preemption model. [`Config::inline_atomic`] turns on the design the seed
//! thread rejected (allocate the block page inline with `GFP_ATOMIC`), kept
//! only to provoke lockdep's report in a negative test.
//!
//! See `Documentation/kfree_batching.rst`.

use super::GpState;
use crate::{
    deferred::{Deferred, DeferredRun},
    helpers,
    irq::local_interrupt_disable,
    new_raw_spinlock,
    shrinker::{Shrink, Shrinker},
    slab::{SlabCache, SlabObj},
    sync::RawSpinLock,
    time::Instant,
};
use core::{
    marker::PhantomData,
    ptr::{self, NonNull},
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
};
use kernel::{
    bindings, cpu, new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    str::CString,
    sync::Mutex,
    time::{delay::fsleep, Delta},
};

/// Memory that `kfree()` frees, handed over for freeing after a grace
/// period.
///
/// # Safety
///
/// `into_raw` returns a slab object (`kfree()` frees it) of at least
/// `size_of::<rcu_head>()` bytes, owned by nobody else, that is not queued
/// anywhere and needs nothing done but being freed (no destructor): its
/// first bytes may be used as an `rcu_head`.
pub(crate) unsafe trait KfreeRcu {
    /// Gives up ownership of the object.
    fn into_raw(self) -> NonNull<c_void>;
}

// SAFETY: A `KBox<RcuBox<T>>` is kmalloc memory (`kfree()` frees it) owned
// by the box, with its `rcu_head` at offset 0 (`#[repr(C)]`, first field),
// not queued (the box is not retired); `T` needs no `Drop` (checked at
// compile time), so freeing it is all dropping it does.
unsafe impl<T: Send + 'static> KfreeRcu for KBox<super::RcuBox<T>> {
    fn into_raw(self) -> NonNull<c_void> {
        const {
            assert!(
                !core::mem::needs_drop::<T>(),
                "kfree_rcu() does not run Drop: use call_rcu() for this type"
            )
        };
        // SAFETY: `KBox::into_raw` never returns null.
        unsafe { NonNull::new_unchecked(KBox::into_raw(self).cast()) }
    }
}

/// Header of a block page.
#[repr(C)]
struct BlockHeader {
    next: *mut Block,
    gp: GpState,
    opened: Instant,
    nr: usize,
    /// From the engine's block cache (else an atomic page).
    slab: bool,
}

/// Object pointers per block page (the kernel's `KVFREE_BULK_MAX_ENTR`).
pub(crate) const BLOCK_ENTRIES: usize =
    (PAGE_SIZE - size_of::<BlockHeader>()) / size_of::<*mut c_void>();

/// A page of object pointers.
#[repr(C)]
struct Block {
    h: BlockHeader,
    ptrs: [*mut c_void; BLOCK_ENTRIES],
}

kernel::static_assert!(size_of::<Block>() <= PAGE_SIZE);

/// One block page, owned.
///
/// # Invariants
///
/// `0` points to a page from `rcu_lab_block_page_alloc()` owned by this
/// value, whose header is initialised; `ptrs[..nr]` are objects (see
/// [`KfreeRcu`]) owned by the block; `next` is null unless the block is in
/// a [`BlockList`].
struct BlockPage(NonNull<Block>);

// SAFETY: A block page is plain memory owned by this value, and the objects
// it owns are `Send`.
unsafe impl Send for BlockPage {}

impl BlockPage {
    /// Makes `p`, a page-sized piece of memory owned by the caller, an
    /// empty block.
    ///
    /// # Safety
    ///
    /// `p` must be valid for `size_of::<Block>()` bytes and owned by the
    /// caller; it comes from the engine's block cache if `slab`, else from
    /// `rcu_lab_atomic_page_alloc()`.
    unsafe fn init(p: NonNull<c_void>, slab: bool) -> Self {
        let b = p.cast::<Block>();
        // SAFETY: `p` is valid for a `Block` and ours (the caller's
        // guarantee); writing the header initialises it.
        unsafe {
            ptr::write(
                ptr::addr_of_mut!((*b.as_ptr()).h),
                BlockHeader {
                    next: ptr::null_mut(),
                    gp: GpState::current(),
                    opened: Instant::now(),
                    nr: 0,
                    slab,
                },
            )
        };
        // INVARIANT: an owned page with an initialised, empty header.
        Self(b)
    }

    /// A block in an object of the engine's block cache (4096 bytes).
    fn from_slab(obj: SlabObj<'_>) -> Self {
        // SAFETY: The block cache's objects are `PAGE_SIZE` bytes, at least
        // a `Block` (static assertion); `into_raw` hands it over.
        unsafe { Self::init(obj.into_raw(), true) }
    }

    /// The rejected design: a page allocated inline with `GFP_ATOMIC`.
    fn alloc_atomic() -> Option<Self> {
        // SAFETY: May be called in any context but NMI; returns a page or
        // null.
        let p = NonNull::new(unsafe { helpers::rcu_lab_atomic_page_alloc() })?;
        // SAFETY: A page is a `Block`'s size, and it is ours.
        Some(unsafe { Self::init(p, false) })
    }

    fn h(&self) -> &BlockHeader {
        // SAFETY: The header is initialised (type invariant).
        unsafe { &(*self.0.as_ptr()).h }
    }

    fn h_mut(&mut self) -> &mut BlockHeader {
        // SAFETY: The header is initialised and owned (type invariant).
        unsafe { &mut (*self.0.as_ptr()).h }
    }

    fn len(&self) -> usize {
        self.h().nr
    }

    /// Reuses an empty block: opened now.
    fn reopen(&mut self) {
        let h = self.h_mut();
        h.opened = Instant::now();
    }

    /// Adds an object if the page has room; gives it back if not (callers
    /// check `len()` against their capacity first, which is at most
    /// `BLOCK_ENTRIES`, so that does not happen).
    fn push(&mut self, obj: NonNull<c_void>) -> Result<(), NonNull<c_void>> {
        let nr = self.h().nr;
        if nr >= BLOCK_ENTRIES {
            return Err(obj);
        }
        // SAFETY: `nr < BLOCK_ENTRIES`, the page is owned.
        unsafe { (*self.0.as_ptr()).ptrs[nr] = obj.as_ptr() };
        // INVARIANT: the block now owns `obj` (given up by `KfreeRcu`).
        self.h_mut().nr = nr + 1;
        Ok(())
    }

    /// Frees the block's objects with `kfree_bulk()`; returns how many.
    ///
    /// # Safety
    ///
    /// A full grace period must have elapsed since every object was added.
    unsafe fn free_objects(&mut self) -> usize {
        let nr = self.h().nr;
        // SAFETY: `ptrs[..nr]` are slab objects the block owns (type
        // invariant) whose readers are gone (the caller's guarantee);
        // `kmem_cache_free_bulk(NULL, ...)` is `kfree_bulk()`.
        unsafe {
            bindings::kmem_cache_free_bulk(
                ptr::null_mut(),
                nr,
                ptr::addr_of_mut!((*self.0.as_ptr()).ptrs).cast(),
            )
        };
        // INVARIANT: the objects are gone; the block is empty.
        self.h_mut().nr = 0;
        nr
    }
}

impl Drop for BlockPage {
    fn drop(&mut self) {
        // Only empty blocks are dropped: the engine frees objects first
        // (`Engine`'s invariant); a non-empty one would leak them.
        let p = self.0.as_ptr().cast::<c_void>();
        if self.h().slab {
            // SAFETY: An object of the engine's block cache, owned (type
            // invariant): `kfree()` frees objects of any cache. The engine
            // frees every block before its block cache.
            unsafe { bindings::kfree(p) }
        } else {
            // SAFETY: An atomic page, owned; this is its last use.
            unsafe { helpers::rcu_lab_atomic_page_free(p) }
        }
    }
}

/// A FIFO of blocks, linked through their headers.
///
/// # Invariants
///
/// `head` ... `tail` is a chain of `len` blocks linked by `next`, each
/// owned by the list as a [`BlockPage`] (from `into_raw`-style ownership
/// transfer in `push_back`); both are null when `len` is 0.
struct BlockList {
    head: *mut Block,
    tail: *mut Block,
    len: usize,
}

// SAFETY: The list owns its blocks, which are `Send`.
unsafe impl Send for BlockList {}

impl BlockList {
    const fn new() -> Self {
        Self {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
            len: 0,
        }
    }

    fn push_back(&mut self, b: BlockPage) {
        let p = core::mem::ManuallyDrop::new(b).0.as_ptr();
        // SAFETY: `p` is a block we now own; its `next` is null (the
        // `BlockPage` invariant); the tail, if any, is owned by the list.
        unsafe {
            (*p).h.next = ptr::null_mut();
            if self.tail.is_null() {
                self.head = p;
            } else {
                (*self.tail).h.next = p;
            }
        }
        // INVARIANT: `p` is appended and owned by the list.
        self.tail = p;
        self.len += 1;
    }

    fn pop_front(&mut self) -> Option<BlockPage> {
        let p = NonNull::new(self.head)?;
        // SAFETY: `p` is the list's first block (type invariant).
        unsafe {
            self.head = (*p.as_ptr()).h.next;
            (*p.as_ptr()).h.next = ptr::null_mut();
        }
        if self.head.is_null() {
            self.tail = ptr::null_mut();
        }
        self.len -= 1;
        // INVARIANT: ownership of the unlinked block goes to the caller.
        Some(BlockPage(p))
    }

    fn front(&self) -> Option<&BlockHeader> {
        // SAFETY: The first block is owned by the list (type invariant)
        // and lives as long as the borrow of it.
        NonNull::new(self.head).map(|p| unsafe { &(*p.as_ptr()).h })
    }

    /// The last block pushed: in a FIFO of closed blocks, the newest.
    fn back(&self) -> Option<&BlockHeader> {
        // SAFETY: The last block is owned by the list (type invariant)
        // and lives as long as the borrow of it.
        NonNull::new(self.tail).map(|p| unsafe { &(*p.as_ptr()).h })
    }

    fn append(&mut self, other: &mut BlockList) {
        while let Some(b) = other.pop_front() {
            self.push_back(b);
        }
    }
}

impl Drop for BlockList {
    fn drop(&mut self) {
        while self.pop_front().is_some() {}
    }
}

/// A CPU's state, under its raw spinlock.
struct Channel {
    /// The block being filled.
    open: Option<BlockPage>,
    /// Full or timed-out blocks, oldest first, each with its cookie.
    closed: BlockList,
    /// Empty pages for new blocks.
    cache: BlockList,
    /// Blocks opened since the last refill, and whether an object found no
    /// page meanwhile: the refill keeps that many pages (twice as many
    /// after a miss), within `cache_pages ..= cache_pages *
    /// MAX_DEMAND_FACTOR`, so the cache follows the load.
    demand: usize,
    starved: bool,
    /// Objects queued on this CPU, and those that took the emergency path.
    queued: usize,
    emergency: usize,
    /// Blocks closed on this CPU.
    closed_blocks: usize,
}

impl Channel {
    /// Pages the refill keeps for this channel.
    fn target(&self, cfg: &Config) -> usize {
        let want = if self.starved {
            self.demand * 2
        } else {
            self.demand
        };
        want.clamp(cfg.cache_pages, cfg.cache_pages * MAX_DEMAND_FACTOR)
    }
}

/// How far above `cache_pages` a channel's cache may grow with demand.
const MAX_DEMAND_FACTOR: usize = 16;

/// Tunables of a [`Engine`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// Objects per block, 1 to [`BLOCK_ENTRIES`].
    pub(crate) block_entries: usize,
    /// Empty pages each CPU keeps (the kernel's `rcu_min_cached_objs`: 5).
    pub(crate) cache_pages: usize,
    /// How long a block may stay open before the drain closes it.
    pub(crate) drain_delay_ns: u64,
    /// The rejected design: allocate block pages inline with `GFP_ATOMIC`
    /// in [`Engine::kfree_rcu`] (lockdep reports it under a raw
    /// spinlock). For the negative test only.
    pub(crate) inline_atomic: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            block_entries: BLOCK_ENTRIES,
            cache_pages: 5,
            drain_delay_ns: 20_000_000,
            inline_atomic: false,
        }
    }
}

/// Block caches created so far: each engine's has a name of its own.
static BLOCK_CACHES: AtomicUsize = AtomicUsize::new(0);

/// How often the drain polls while closed blocks wait for their grace
/// period (one jiffy at `HZ=250`).
const POLL_NS: u64 = 4_000_000;

/// What a drain pass left behind.
#[derive(Default)]
struct Pending {
    /// The newest cookie of a closed block still waiting.
    newest: Option<GpState>,
    /// Whether a non-empty block is still open.
    open: bool,
}

/// Counters of a [`Engine`]; see [`Engine::stats`].
#[derive(Default)]
struct Counters {
    freed_in_blocks: AtomicUsize,
    pages_live: AtomicUsize,
    pages_peak: AtomicUsize,
    pages_allocated: AtomicUsize,
    refill_failures: AtomicUsize,
    shrunk: AtomicUsize,
}

/// A snapshot of a [`Engine`]'s counters.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Stats {
    /// Objects handed to [`Engine::kfree_rcu`].
    pub(crate) queued: usize,
    /// Objects freed from blocks with `kfree_bulk()`.
    pub(crate) freed_in_blocks: usize,
    /// Objects that took the emergency `call_rcu()` path.
    pub(crate) emergency: usize,
    /// Blocks closed, each with a `start_poll_synchronize_rcu()` cookie:
    /// the engine's grace-period requests.
    pub(crate) blocks_closed: usize,
    /// Block pages allocated now (open, closed and cached), and the peak.
    pub(crate) pages_live: usize,
    /// Highest `pages_live` seen.
    pub(crate) pages_peak: usize,
    /// Block pages ever allocated.
    pub(crate) pages_allocated: usize,
    /// Refill allocations that failed.
    pub(crate) refill_failures: usize,
    /// Cached pages given back to a shrinker.
    pub(crate) shrunk: usize,
}

struct Inner<'a> {
    /// Before `blocks`: every block is freed before the block cache.
    cpus: KVec<Pin<KBox<RawSpinLock<Channel>>>>,
    /// Where block pages come from (4096-byte objects, `SLAB_NO_MERGE`):
    /// kmemleak scans them, and failslab's `cache-filter` can target them.
    blocks: SlabCache,
    config: Config,
    counters: Counters,
    _objects: PhantomData<&'a ()>,
}

/// The batching engine: objects of lifetime `'a` freed after a grace
/// period in page-sized blocks; its shrinker gives cached pages back.
///
/// # Examples
///
/// ```ignore
/// let batch = KfreeBatch::new(c"demo", Config::default())?;
/// batch.kfree_rcu(cache.alloc(GFP_KERNEL)?); // any context, even hardirq
/// batch.barrier();                           // everything freed
/// ```
pub(crate) struct KfreeBatch<'a> {
    /// Dropped first: no shrinker callback runs once the engine goes.
    _shrinker: Shrinker,
    engine: Pin<KBox<Engine<'a>>>,
}

impl<'a> KfreeBatch<'a> {
    /// A new engine with a shrinker named `rcu_lab-<name>`. Sleeps.
    pub(crate) fn new(name: &CStr, config: Config) -> Result<Self> {
        let engine = Engine::new(config)?;
        // SAFETY: The engine is pinned in its box, which outlives the
        // shrinker: `_shrinker` is dropped before `engine`.
        let shrinker = unsafe { Shrinker::register(name, &*engine as *const Engine<'a>) }?;
        Ok(Self {
            _shrinker: shrinker,
            engine,
        })
    }
}

impl<'a> core::ops::Deref for KfreeBatch<'a> {
    type Target = Engine<'a>;

    fn deref(&self) -> &Engine<'a> {
        &self.engine
    }
}

/// The engine behind a [`KfreeBatch`].
///
/// # Invariants
///
/// Every object handed to [`Engine::kfree_rcu`] is owned by exactly one
/// block (open or closed) of one channel, or queued with `call_rcu()`, until
/// it is freed; a closed block's cookie was taken after its last object was
/// added. Dropping the engine frees every object and page (a full
/// [`Engine::barrier`]).
#[pin_data(PinnedDrop)]
pub(crate) struct Engine<'a> {
    /// First field: stopped (and waited for) before anything else goes.
    #[pin]
    drain: Deferred<Engine<'a>>,
    /// Held by a drain pass: a barrier's pass waits for the worker's,
    /// whose freed blocks it could not see.
    #[pin]
    draining: Mutex<()>,
    inner: Inner<'a>,
}

/// The emergency path's callback: frees the object whose head it gets.
///
/// # Safety
///
/// `head` is at offset 0 of a [`KfreeRcu`] object queued by the engine.
unsafe extern "C" fn emergency_free(head: *mut bindings::callback_head) {
    // SAFETY: The object starts at its head and its grace period has
    // ended; `kfree()` frees it (`KfreeRcu` contract).
    unsafe { bindings::kfree(head.cast()) }
}

impl<'a> Engine<'a> {
    /// A new engine; its page caches fill right away (in the drain's
    /// worker). Sleeps.
    fn new(config: Config) -> Result<Pin<KBox<Self>>> {
        if config.block_entries == 0 || config.block_entries > BLOCK_ENTRIES {
            return Err(EINVAL);
        }
        let n = cpu::nr_cpu_ids() as usize;
        let mut cpus = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            cpus.push(
                KBox::pin_init(
                    new_raw_spinlock!(
                        Channel {
                            open: None,
                            closed: BlockList::new(),
                            cache: BlockList::new(),
                            demand: 0,
                            starved: false,
                            queued: 0,
                            emergency: 0,
                            closed_blocks: 0,
                        },
                        "rcu_lab_kfree_batch_channel"
                    ),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
        }
        let seq = BLOCK_CACHES.fetch_add(1, Relaxed);
        let blocks = SlabCache::new(
            CString::try_from_fmt(fmt!("rcu_lab_kfree_blocks_{}", seq))?,
            PAGE_SIZE,
            true,
        )?;
        let inner = Inner {
            cpus,
            blocks,
            config,
            counters: Counters::default(),
            _objects: PhantomData,
        };
        let this = KBox::pin_init(
            pin_init!(&this in Self {
                // SAFETY: `this` is the engine that contains the
                // `Deferred`, pinned in its box; `drain` is the first
                // field and `PinnedDrop` stops it before anything else.
                drain <- unsafe { Deferred::new(this.as_ptr().cast_const()) },
                draining <- new_mutex!((), "rcu_lab_kfree_batch_drain"),
                inner,
            }),
            GFP_KERNEL,
        )?;
        this.drain.now();
        Ok(this)
    }

    /// The block cache (`/sys/kernel/slab/<name>/`).
    pub(crate) fn block_cache(&self) -> &SlabCache {
        &self.inner.blocks
    }

    /// Frees `obj` after a grace period. Any context but NMI, including
    /// hardirq and under a raw spinlock on PREEMPT_RT: it never allocates
    /// (unless [`Config::inline_atomic`]), never sleeps, never takes a
    /// sleeping lock and never queues work.
    pub(crate) fn kfree_rcu<O: KfreeRcu + 'a>(&self, obj: O) {
        let p = obj.into_raw();
        let cfg = &self.inner.config;
        let (mut closed, mut low) = (false, false);
        let placed = {
            let _irq = local_interrupt_disable();
            let mut ch = self.inner.cpus[cpu::CpuId::current().as_u32() as usize].lock();
            ch.queued += 1;
            if ch
                .open
                .as_ref()
                .is_some_and(|b| b.len() >= cfg.block_entries)
            {
                if let Some(mut full) = ch.open.take() {
                    // INVARIANT: the cookie is taken after the last add.
                    full.h_mut().gp = GpState::start();
                    ch.closed.push_back(full);
                    ch.closed_blocks += 1;
                    closed = true;
                }
            }
            if ch.open.is_none() {
                ch.open = if cfg.inline_atomic {
                    self.page_allocated(BlockPage::alloc_atomic())
                } else {
                    ch.cache.pop_front().map(|mut b| {
                        b.reopen();
                        b
                    })
                };
                if ch.open.is_some() {
                    ch.demand += 1;
                } else {
                    ch.starved = true;
                }
                low = ch.cache.len * 2 < ch.target(cfg);
            }
            match ch.open.as_mut().map(|b| b.push(p)) {
                Some(Ok(())) => true,
                Some(Err(_)) | None => {
                    ch.emergency += 1;
                    false
                }
            }
        };
        if !placed {
            // SAFETY: `p` is an owned, unqueued object whose first bytes may
            // be its `rcu_head` (`KfreeRcu`); the callback frees it. The
            // engine's drop runs `rcu_barrier()`, so it runs before the
            // memory `'a` protects, or the module, goes away.
            unsafe { bindings::call_rcu(p.as_ptr().cast(), Some(emergency_free)) };
        }
        if closed || (low && !cfg.inline_atomic) {
            self.drain.now();
        } else {
            self.drain.later(cfg.drain_delay_ns);
        }
    }

    fn page_allocated(&self, b: Option<BlockPage>) -> Option<BlockPage> {
        if b.is_some() {
            let c = &self.inner.counters;
            c.pages_allocated.fetch_add(1, Relaxed);
            let live = c.pages_live.fetch_add(1, Relaxed) + 1;
            c.pages_peak.fetch_max(live, Relaxed);
        }
        b
    }

    fn page_freed(&self, b: BlockPage) {
        drop(b);
        self.inner.counters.pages_live.fetch_sub(1, Relaxed);
    }

    /// One pass of the drain: closes blocks open longer than the drain
    /// delay (all of them with `flush`), frees the objects of closed blocks
    /// whose grace period has ended, recycles or frees their pages. Returns
    /// what is left. Sleeps (it calls `cond_resched()` between CPUs).
    fn drain_once(&self, flush: bool) -> Pending {
        let _draining = self.draining.lock();
        let c = &self.inner.counters;
        let cfg = &self.inner.config;
        let mut pending = Pending::default();
        for lock in self.inner.cpus.iter() {
            let mut ready = BlockList::new();
            {
                let mut ch = lock.lock_irqsave();
                let stale = ch.open.as_ref().is_some_and(|b| {
                    b.len() > 0 && (flush || b.h().opened.elapsed_ns() >= cfg.drain_delay_ns)
                });
                if stale {
                    if let Some(mut b) = ch.open.take() {
                        // INVARIANT: cookie after the block's last add.
                        b.h_mut().gp = GpState::start();
                        ch.closed.push_back(b);
                        ch.closed_blocks += 1;
                    }
                }
                while ch.closed.front().is_some_and(|h| h.gp.completed()) {
                    if let Some(b) = ch.closed.pop_front() {
                        ready.push_back(b);
                    }
                }
                if let Some(h) = ch.closed.back() {
                    pending.newest = Some(h.gp);
                }
                pending.open |= ch.open.as_ref().is_some_and(|b| b.len() > 0);
            }
            let mut spare = BlockList::new();
            while let Some(mut b) = ready.pop_front() {
                // SAFETY: The block's cookie has completed, and it was taken
                // after its last object was added (type invariant).
                let n = unsafe { b.free_objects() };
                c.freed_in_blocks.fetch_add(n, Relaxed);
                spare.push_back(b);
            }
            if spare.len > 0 {
                let mut ch = lock.lock_irqsave();
                let target = ch.target(cfg);
                while ch.cache.len < target {
                    match spare.pop_front() {
                        Some(b) => ch.cache.push_back(b),
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

    /// Fills every CPU's page cache with `GFP_KERNEL` pages. Sleeps.
    fn refill(&self) {
        let cfg = &self.inner.config;
        if cfg.inline_atomic {
            return;
        }
        for lock in self.inner.cpus.iter() {
            let target = {
                let mut ch = lock.lock_irqsave();
                let t = ch.target(cfg);
                ch.demand = 0;
                ch.starved = false;
                t
            };
            loop {
                if lock.lock_irqsave().cache.len >= target {
                    break;
                }
                let Some(b) = self
                    .page_allocated(self.inner.blocks.alloc_noretry().map(BlockPage::from_slab))
                else {
                    self.inner.counters.refill_failures.fetch_add(1, Relaxed);
                    return;
                };
                let extra = {
                    let mut ch = lock.lock_irqsave();
                    if ch.cache.len < target {
                        ch.cache.push_back(b);
                        None
                    } else {
                        Some(b)
                    }
                };
                if let Some(b) = extra {
                    self.page_freed(b);
                    break;
                }
            }
        }
    }

    /// Fills every CPU's page cache now, in the caller's context (the
    /// drain's worker does it too, later). Sleeps.
    pub(crate) fn fill_caches(&self) {
        self.refill();
    }

    /// Closes every open block and waits until every object queued before
    /// the call is freed, emergency ones included. Sleeps.
    pub(crate) fn barrier(&self) {
        while let Some(gp) = self.drain_once(true).newest {
            // Poll the cookie rather than `cond_synchronize_rcu()`, whose
            // `synchronize_rcu()` would wait for a grace period of its own,
            // one more than the blocks need.
            while !gp.completed() {
                fsleep(Delta::from_millis(1));
            }
        }
        super::barrier();
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        let (mut queued, mut emergency, mut blocks_closed) = (0, 0, 0);
        for lock in self.inner.cpus.iter() {
            let ch = lock.lock_irqsave();
            queued += ch.queued;
            emergency += ch.emergency;
            blocks_closed += ch.closed_blocks;
        }
        Stats {
            queued,
            freed_in_blocks: c.freed_in_blocks.load(Relaxed),
            emergency,
            blocks_closed,
            pages_live: c.pages_live.load(Relaxed),
            pages_peak: c.pages_peak.load(Relaxed),
            pages_allocated: c.pages_allocated.load(Relaxed),
            refill_failures: c.refill_failures.load(Relaxed),
            shrunk: c.shrunk.load(Relaxed),
        }
    }
}

/// A page held to find the zone block pages come from, for reading this
/// CPU's per-CPU free-list count of that zone.
///
/// The negative test enqueues, under its raw spinlock, enough objects that
/// an [`Config::inline_atomic`] engine must allocate one page more than the
/// count: one of those allocations must refill the list under `zone->lock`
/// (lockdep ignores the list's own trylock).
pub(crate) struct ZoneProbe(BlockPage);

impl ZoneProbe {
    /// A probe; `None` if no page could be had.
    pub(crate) fn new() -> Option<Self> {
        BlockPage::alloc_atomic().map(Self)
    }

    /// Pages on this CPU's per-CPU lists of the probe page's zone (all
    /// orders and migrate types), read with interrupts off.
    pub(crate) fn pcp_pages(&self) -> usize {
        let _irq = local_interrupt_disable();
        // SAFETY: The probe page is live; interrupts are off.
        let n = unsafe { helpers::rcu_lab_pcp_count(self.0 .0.as_ptr().cast()) };
        n.max(0) as usize
    }
}

impl DeferredRun for Engine<'_> {
    fn run(&self) {
        let pending = self.drain_once(false);
        self.refill();
        if pending.newest.is_some() {
            self.drain
                .later(POLL_NS.min(self.inner.config.drain_delay_ns));
        } else if pending.open {
            self.drain.later(self.inner.config.drain_delay_ns);
        }
    }
}

impl Shrink for Engine<'_> {
    fn count(&self) -> usize {
        self.inner
            .cpus
            .iter()
            .map(|l| l.lock_irqsave().cache.len)
            .sum()
    }

    fn scan(&self, nr: usize) -> usize {
        let mut freed = 0;
        for lock in self.inner.cpus.iter() {
            while freed < nr {
                let Some(b) = lock.lock_irqsave().cache.pop_front() else {
                    break;
                };
                self.page_freed(b);
                freed += 1;
            }
        }
        self.inner.counters.shrunk.fetch_add(freed, Relaxed);
        freed
    }
}

#[pinned_drop]
impl PinnedDrop for Engine<'_> {
    fn drop(self: Pin<&mut Self>) {
        self.drain.stop();
        self.barrier();
        for lock in self.inner.cpus.iter() {
            let (open, mut cache) = {
                let mut ch = lock.lock_irqsave();
                let mut cache = BlockList::new();
                cache.append(&mut ch.cache);
                (ch.open.take(), cache)
            };
            // `barrier` emptied every block; what is left are empty pages.
            if let Some(b) = open {
                self.page_freed(b);
            }
            while let Some(b) = cache.pop_front() {
                self.page_freed(b);
            }
        }
    }
}
