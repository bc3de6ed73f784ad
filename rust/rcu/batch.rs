// SPDX-License-Identifier: GPL-2.0

//! `kfree_rcu()` batching: objects freed after a grace period, a page of
//! pointers at a time.
//!
//! The design of the kernel's page-block path (5.11, now in
//! `mm/slab_common.c`), built from rcu_lab's safe types, with an enqueue
//! that costs what 7.3's sheaf path costs:
//!
//! * Each CPU has a channel ([`channel`]): an open block, which only that
//!   CPU fills, with interrupts off and with no lock and no atomic
//!   read-modify-write per object; and, under a raw spinlock taken once per
//!   block, the closed blocks waiting for their grace period and a cache of
//!   empty block pages.
//! * A block ([`block`]) is one page holding [`BLOCK_ENTRIES`] object
//!   pointers, as the kernel's `KVFREE_BULK_MAX_ENTR`. Its CPU closes it
//!   when it is full, with a cookie from `start_poll_synchronize_rcu()`,
//!   which starts a grace period only when none is already on its way:
//!   blocks closed close together share one. The drain closes a block that
//!   stayed open longer than the drain delay from wherever it runs, with a
//!   compare-exchange, and pays one more grace period for it (its CPU may
//!   have been adding to it in that instant): no IPI, no per-CPU timer, and
//!   the blocks of a CPU that went offline are closed the same way.
//! * The drain ([`drain`], process context, [`Deferred`]) frees every block
//!   whose cookie has completed with `kfree_bulk()` and recycles its page;
//!   it also refills the page caches with `GFP_KERNEL`. Enqueueing never
//!   refills a cache itself and never queues work: once per block it kicks
//!   the drain through a hard interrupt hrtimer, as the kernel kicks its
//!   refill worker.
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
//! preemption model. [`Config::inline`] turns on the designs that allocate
//! a block page in the caller's context when the cache is empty, each legal
//! in fewer contexts (experiment 2 measures where): the design the seed
//! thread rejected (`GFP_ATOMIC`, which the negative test provokes lockdep
//! with), `GFP_NOWAIT`, and `GFP_NOWAIT` under a run-time check or a lockdep
//! override.
//!
//! See `Documentation/kfree_batching.rst`.

use crate::{
    context::{self, Context, MayAlloc, MaySleep, Sleep},
    deferred::Deferred,
    helpers,
    irq::local_interrupt_disable,
    mm::shrinker::{Shrink, Shrinker},
    mm::slab::SlabCache,
    reclaim::Reclaim,
    task,
};
use core::{
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
};
use kernel::{bindings, cpu, new_mutex, page::PAGE_SIZE, prelude::*, str::CString, sync::Mutex};

mod block;
mod callbacks;
mod channel;
mod drain;

use block::BlockPage;
pub(crate) use block::BLOCK_ENTRIES;
pub(crate) use callbacks::{Callbacks, Typed};
use channel::Channel;

/// What a block holds, and how its entries end once their grace period is
/// over: the one thing that varies between the engine's users, as
/// `kernel::sync::lock::Backend` is for locks.
///
/// * [`Kfree`]: object pointers, freed with one `kfree_bulk()` per block
///   (`kfree_rcu()`);
/// * [`Callbacks`]: (`rcu_head`, callback) pairs, for objects of any type
///   (a batched `call_rcu()`);
/// * [`Typed<T>`]: pointers to `RcuBox<T>`, dropped by a monomorphised loop
///   and freed with one `kfree_bulk()` per block.
///
/// # Safety
///
/// An entry owns what it refers to (the engine holds it, copies of it are
/// never used once it is handed over) and may be sent to another CPU's
/// drain (it is `Send` in all but name); `release` ends
/// each entry it is given exactly once, and `emergency` hands its entry to
/// `call_rcu()` (or another deferral that waits for a grace period and ends
/// it once), so that nothing an entry refers to is used by the engine's
/// caller again. Both may rely on a full grace period having elapsed
/// (`release`) or being waited for (`emergency`) since the entry's object
/// was unlinked from readers.
pub(crate) unsafe trait Contents: Send + Sync {
    /// One entry of a block: plain data, at most word-aligned.
    type Entry: Copy;

    /// Names the engine's block cache (`rcu_lab_<NAME>_blocks_<n>`).
    const NAME: &'static str;

    /// Entries per block page.
    const CAPACITY: usize = block::BLOCK_WORDS * size_of::<usize>() / size_of::<Self::Entry>();

    /// Compile-time check that entries fit the block's word storage.
    const FITS: () = assert!(
        align_of::<Self::Entry>() <= align_of::<usize>()
            && size_of::<Self::Entry>() > 0
            && size_of::<Self::Entry>() <= size_of::<usize>() * block::BLOCK_WORDS
    );

    /// Ends `entries` (frees or drops what they refer to). Runs in the
    /// drain's process context, with no lock held.
    ///
    /// # Safety
    ///
    /// Each entry was handed to the engine once, and a full grace period
    /// has elapsed since; the caller does not use them afterwards.
    unsafe fn release(entries: &mut [Self::Entry]);

    /// The emergency path: the entry goes through `call_rcu()` with its
    /// object's own `rcu_head`. Any context but NMI.
    ///
    /// # Safety
    ///
    /// The entry was handed to the engine and is in no block.
    unsafe fn emergency(entry: Self::Entry);
}

/// Blocks of object pointers freed with `kfree_bulk()`: `kfree_rcu()`.
pub(crate) struct Kfree;

// SAFETY: An entry is a [`KfreeRcu`] object given up by `into_raw`, owned by
// the entry. `release` frees each once with `kfree_bulk()` (the objects are
// slab memory with no destructor), and `emergency` frees it once in a
// `call_rcu()` callback through the `rcu_head` its first bytes may hold.
unsafe impl Contents for Kfree {
    type Entry = NonNull<c_void>;
    const NAME: &'static str = "kfree";

    unsafe fn release(entries: &mut [NonNull<c_void>]) {
        // SAFETY: Slab objects owned by the entries, their readers gone
        // (the caller's guarantee); `kmem_cache_free_bulk(NULL, ...)` is
        // `kfree_bulk()`, and a `NonNull<c_void>` is a `void *`.
        unsafe {
            bindings::kmem_cache_free_bulk(
                core::ptr::null_mut(),
                entries.len(),
                entries.as_mut_ptr().cast(),
            )
        };
    }

    unsafe fn emergency(p: NonNull<c_void>) {
        // SAFETY: `p` is an owned, unqueued object whose first bytes may be
        // its `rcu_head` (`KfreeRcu`); the callback frees it. The engine's
        // drop runs `rcu_barrier()`, so it runs before the memory the
        // engine's lifetime protects, or the module, goes away.
        unsafe { bindings::call_rcu(p.as_ptr().cast(), Some(emergency_free)) };
    }
}

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

// SAFETY: `into_ptr` gives up a slab object (which `kfree()` frees) of at
// least an `rcu_head` (`SlabObj`'s invariant), owned by nobody else and not
// queued; it has no destructor beyond being freed.
unsafe impl<'c> KfreeRcu for crate::mm::slab::SlabObj<'c> {
    fn into_raw(self) -> NonNull<c_void> {
        self.into_ptr()
    }
}

/// Tunables of a [`Engine`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// Entries per block, at least 1; a page holds at most
    /// [`Contents::CAPACITY`] (for [`Kfree`]: [`BLOCK_ENTRIES`]), and a
    /// larger value means a full page (the default).
    pub(crate) block_entries: usize,
    /// Empty pages each CPU keeps at least (the kernel's
    /// `rcu_min_cached_objs`: 5); [`Engine::tune`] changes it.
    pub(crate) cache_pages: usize,
    /// How long a block may stay open before the drain closes it;
    /// [`Engine::tune`] changes it.
    pub(crate) drain_delay_ns: u64,
    /// What an enqueue does when its block is full and its CPU's cache is
    /// empty: take the emergency path ([`Inline::Never`], the default), or
    /// allocate a page in the caller's context by a policy.
    pub(crate) inline: Inline,
}

/// Whether and how an enqueue allocates a block page in the caller's
/// context when its CPU's cache is empty (experiment 2's variants; see
/// `rcu_lab_inline_page_alloc()` in `rust/helpers.h`). A policy that
/// declines, or an allocation that fails, sends the entry down the
/// emergency path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inline {
    /// Never: the 5.11 design (experiment 2's `raw`), legal everywhere.
    Never,
    /// `GFP_ATOMIC`: the design the seed thread rejected; lockdep reports
    /// it under a raw spinlock (the negative test).
    Atomic,
    /// `GFP_NOWAIT`, always: the 2020 proposal as first made.
    Nowait,
    /// `can_fill_pool()`'s policy: `GFP_NOWAIT` under a lockdep wait-type
    /// override on non-RT; on RT only when `preemptible()` and not blocked
    /// on a PI lock.
    Override,
    /// `GFP_NOWAIT` only when `preemptible()` (Paul McKenney's check).
    RuntimeCheck,
}

impl Inline {
    /// The policy's `RCU_LAB_INLINE_*` number; `None` for `Never`.
    fn policy(self) -> Option<u32> {
        match self {
            Inline::Never => None,
            Inline::Atomic => Some(helpers::RCU_LAB_INLINE_ATOMIC),
            Inline::Nowait => Some(helpers::RCU_LAB_INLINE_NOWAIT),
            Inline::Override => Some(helpers::RCU_LAB_INLINE_OVERRIDE),
            Inline::RuntimeCheck => Some(helpers::RCU_LAB_INLINE_RUNTIME_CHECK),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            block_entries: usize::MAX,
            cache_pages: 5,
            drain_delay_ns: 20_000_000,
            inline: Inline::Never,
        }
    }
}

/// Block caches created so far: each engine's has a name of its own.
static BLOCK_CACHES: AtomicUsize = AtomicUsize::new(0);

/// Counters of a [`Engine`]; see [`Engine::stats`].
#[derive(Default)]
struct Counters {
    freed_in_blocks: AtomicUsize,
    pages_live: AtomicUsize,
    pages_peak: AtomicUsize,
    pages_allocated: AtomicUsize,
    refill_failures: AtomicUsize,
    shrunk: AtomicUsize,
    inline_allocated: AtomicUsize,
    inline_declined: AtomicUsize,
    inline_failed: AtomicUsize,
    /// Entries sent down the emergency path (a rare, slow path: an atomic
    /// increment is fine there).
    emergency: AtomicUsize,
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
    /// Block pages allocated in the caller's context ([`Config::inline`]),
    /// allocations the policy declined in the caller's context, and
    /// allocations that failed.
    pub(crate) inline_allocated: usize,
    pub(crate) inline_declined: usize,
    pub(crate) inline_failed: usize,
}

impl Stats {
    /// What happened since `before`, an earlier snapshot of the same
    /// engine: counts as differences; `pages_live` now; `pages_peak` as
    /// recorded since the last [`Engine::reset_peak`].
    pub(crate) fn since(&self, before: &Stats) -> Stats {
        Stats {
            queued: self.queued - before.queued,
            freed_in_blocks: self.freed_in_blocks - before.freed_in_blocks,
            emergency: self.emergency - before.emergency,
            blocks_closed: self.blocks_closed - before.blocks_closed,
            pages_live: self.pages_live,
            pages_peak: self.pages_peak,
            pages_allocated: self.pages_allocated - before.pages_allocated,
            refill_failures: self.refill_failures - before.refill_failures,
            shrunk: self.shrunk - before.shrunk,
            inline_allocated: self.inline_allocated - before.inline_allocated,
            inline_declined: self.inline_declined - before.inline_declined,
            inline_failed: self.inline_failed - before.inline_failed,
        }
    }
}

struct Inner<'a, C: Contents> {
    /// One channel per possible CPU. Before `blocks`: every block is
    /// freed before the block cache.
    cpus: KVec<Pin<KBox<Channel<C>>>>,
    /// Where block pages come from (4096-byte objects, `SLAB_NO_MERGE`):
    /// kmemleak scans them, and failslab's `cache-filter` can target them.
    blocks: SlabCache,
    config: Config,
    /// `config.cache_pages` and `config.drain_delay_ns` as tuned now.
    cache_pages: AtomicUsize,
    drain_delay_ns: AtomicU64,
    counters: Counters,
    /// Invariant in `'a`: an engine for long-lived objects cannot pass
    /// for one that takes short-lived ones (it would free them after their
    /// memory went away), nor the reverse.
    _objects: PhantomData<fn(&'a ()) -> &'a ()>,
}

/// The batching engine: entries (`C`) of objects of lifetime `'a` ended
/// after a grace period in page-sized blocks; its shrinker gives cached
/// pages back.
///
/// # Examples
///
/// ```ignore
/// let batch = KfreeBatch::new(c"demo", Config::default())?;
/// batch.kfree_rcu(cache.alloc(GFP_KERNEL)?); // any context, even hardirq
/// batch.barrier();                           // everything freed
/// ```
pub(crate) struct Batch<'a, C: Contents> {
    /// Dropped first: no shrinker callback runs once the engine goes.
    _shrinker: Shrinker,
    engine: Pin<KBox<Engine<'a, C>>>,
}

/// The `kfree_rcu()` engine.
pub(crate) type KfreeBatch<'a> = Batch<'a, Kfree>;

impl<'a, C: Contents> Batch<'a, C> {
    /// A new engine with a shrinker named `rcu_lab-<name>`. Sleeps.
    pub(crate) fn new(ctx: &mut impl MaySleep, name: &CStr, config: Config) -> Result<Self> {
        let engine = Engine::new(ctx.sleep(), config)?;
        // SAFETY: The engine is pinned in its box, which outlives the
        // shrinker: `_shrinker` is dropped before `engine`.
        let shrinker = unsafe { Shrinker::register(name, &*engine as *const Engine<'a, C>) }?;
        Ok(Self {
            _shrinker: shrinker,
            engine,
        })
    }
}

impl KfreeBatch<'static> {
    /// Lends a long-lived (warm) engine to objects that live at least `'c`
    /// (objects of a slab cache the caller destroys afterwards, say): `f`
    /// gets a [`Scope`] to hand them over with, and every object handed
    /// over inside is freed before `scope` returns (a full
    /// [`Engine::barrier`]), so none outlives `'c`. `f` gets the caller's
    /// token back. Sleeps.
    pub(crate) fn scope<'c, R>(
        &self,
        ctx: &mut impl MaySleep,
        f: impl for<'s> FnOnce(&'s Scope<'s, 'c>, &mut Sleep) -> R,
    ) -> R {
        let ctx = ctx.sleep();
        let r = f(
            &Scope {
                engine: &self.engine,
                _objects: PhantomData,
            },
            ctx,
        );
        self.engine.barrier(ctx);
        r
    }
}

/// A warm engine lent to objects of lifetime `'c`; see [`KfreeBatch::scope`].
pub(crate) struct Scope<'s, 'c> {
    engine: &'s Engine<'static, Kfree>,
    /// Invariant in `'c`: a scope for short-lived objects cannot pass for
    /// one with a longer lifetime, nor the reverse.
    _objects: PhantomData<fn(&'c ()) -> &'c ()>,
}

impl<'c> Scope<'_, 'c> {
    /// [`Engine::kfree_rcu`] for an object that lives at least `'c`; the
    /// scope frees it before it ends. Any context but NMI, as there.
    pub(crate) fn kfree_rcu<O: KfreeRcu + 'c>(&self, obj: O) {
        self.engine.enqueue(obj.into_raw());
    }
}

impl<'c, O: KfreeRcu + 'c> Reclaim<O> for Scope<'_, 'c> {
    const NAME: &'static str = "engine";
    const WAITS: bool = false;

    /// [`Scope::kfree_rcu`].
    fn reclaim(&self, old: O) {
        self.kfree_rcu(old);
    }
}

impl<'a, C: Contents> core::ops::Deref for Batch<'a, C> {
    type Target = Engine<'a, C>;

    fn deref(&self) -> &Engine<'a, C> {
        &self.engine
    }
}

/// The engine behind a [`Batch`].
///
/// # Invariants
///
/// Every entry handed to [`Engine::enqueue`] is owned by exactly one block
/// (open or closed) of one channel, or passed to [`Contents::emergency`],
/// until it is released; a closed block's cookie was taken after its last
/// entry was added (for a `stolen` block: its second cookie, taken after the
/// first completed). Dropping the engine releases every entry and frees
/// every page (a full [`Engine::barrier`]).
#[pin_data(PinnedDrop)]
pub(crate) struct Engine<'a, C: Contents> {
    /// First field: stopped (and waited for) before anything else goes.
    #[pin]
    drain: Deferred<Engine<'a, C>>,
    /// Held by a drain pass and by a refill: a barrier's pass waits for the
    /// worker's, whose freed blocks it could not see (only a drain pass
    /// frees blocks), and a refill waits for a pass, whose blocks taken off
    /// their lists still hold their pages until it recycles or frees them.
    #[pin]
    draining: Mutex<()>,
    inner: Inner<'a, C>,
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

impl<'a, C: Contents> Engine<'a, C> {
    /// A new engine, its page caches filled. Sleeps.
    fn new(ctx: &mut Sleep, mut config: Config) -> Result<Pin<KBox<Self>>> {
        if config.block_entries == 0 {
            return Err(EINVAL);
        }
        config.block_entries = config.block_entries.min(C::CAPACITY);
        let n = cpu::nr_cpu_ids() as usize;
        let mut cpus = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            cpus.push(KBox::pin_init(Channel::new(), GFP_KERNEL)?, GFP_KERNEL)?;
        }
        let seq = BLOCK_CACHES.fetch_add(1, Relaxed);
        let blocks = SlabCache::new(
            ctx,
            CString::try_from_fmt(fmt!("rcu_lab_{}_blocks_{}", C::NAME, seq))?,
            PAGE_SIZE,
            true,
        )?;
        let inner = Inner {
            cpus,
            blocks,
            cache_pages: AtomicUsize::new(config.cache_pages),
            drain_delay_ns: AtomicU64::new(config.drain_delay_ns),
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
        // Filled here rather than by kicking the drain: a new engine runs
        // no worker until something is queued, so nothing refills behind
        // the caller's back (the shrinker test raced with that kick).
        this.fill_caches(ctx);
        Ok(this)
    }

    /// The block cache (`/sys/kernel/slab/<name>/`).
    pub(crate) fn block_cache(&self) -> &SlabCache {
        &self.inner.blocks
    }

    /// Ends `entry` after a grace period: [`Contents::release`] from the
    /// drain, or [`Contents::emergency`]. Any context but NMI, including
    /// hardirq and under a raw spinlock on PREEMPT_RT: it never allocates
    /// (unless [`Config::inline`] says so), never sleeps, never takes a
    /// sleeping lock and never queues work. Per entry it disables
    /// preemption, sets and clears this CPU's reentrancy flag, loads the
    /// open block and stores the entry and the count (no atomic
    /// read-modify-write, no interrupt masking); once per block it takes
    /// this CPU's raw spinlock and kicks the drain. An interrupt that
    /// enqueues on top of an enqueue of its CPU takes the emergency path.
    /// The typed front ends ([`Engine::kfree_rcu`], ...) make the entry
    /// from an object that lives at least `'a` (their bounds say so).
    fn enqueue(&self, p: C::Entry) {
        // SAFETY: The enqueue is given no token, and calls no code that was
        // given one (objects end later, in the drain or a callback).
        unsafe { context::untracked(|ctx| self.enqueue_in(ctx, p, self.inner.config.inline)) }
    }

    /// [`Engine::enqueue`] with the caller's token: a block-page miss
    /// allocates a page with `GFP_NOWAIT` here, in the caller's context,
    /// when the token's type carries that proof ([`Context::may_alloc`]),
    /// and takes the emergency path when it does not. The type decides, at
    /// compile time; the engine's own [`Config::inline`] is not consulted.
    /// Any context but NMI.
    #[inline]
    fn enqueue_typed<X: Context>(&self, ctx: &mut X, p: C::Entry) {
        match ctx.may_alloc() {
            Some(nowait) => self.enqueue_nowait(nowait, p),
            None => self.enqueue_in(ctx, p, Inline::Never),
        }
    }

    /// [`Engine::enqueue`] that allocates a block page with `GFP_NOWAIT`
    /// on a miss, in the caller's context, which `ctx` proves legal.
    #[inline]
    fn enqueue_nowait(&self, ctx: &mut impl MayAlloc, p: C::Entry) {
        self.enqueue_in(ctx, p, Inline::Nowait)
    }

    /// [`Engine::enqueue`] with `inline`'s policy on a miss, its raw locks
    /// and preemption-disabled sections taken with `ctx`.
    fn enqueue_in(&self, ctx: &mut impl Context, p: C::Entry, inline: Inline) {
        // SAFETY: `p` was given up by its front end.
        let Some(slow) = (unsafe { self.enqueue_here::<false>(ctx, p) }) else {
            return;
        };
        let mut placed = slow.placed;
        if let (Err(p), Some(policy), false) = (placed, inline.policy(), slow.nested) {
            // No page: an inline policy may allocate one, here, in the
            // caller's own context (outside the per-CPU section, whose
            // disabled preemption would make every context atomic), and
            // the object tries again with it in this CPU's cache.
            if let Some(b) = self.alloc_inline(policy) {
                let again = {
                    let mut preempt = task::preempt_disable(ctx);
                    self.inner.cpus[cpu::CpuId::current().as_u32() as usize]
                        .give_page(preempt.ctx(), b);
                    // SAFETY: As above; already counted as queued.
                    unsafe { self.enqueue_here::<true>(preempt.ctx(), p) }
                };
                placed = again.map_or(Ok(()), |s| s.placed);
            }
        }
        if let Err(p) = placed {
            self.inner.counters.emergency.fetch_add(1, Relaxed);
            // SAFETY: Given up by the front end and in no block.
            unsafe { C::emergency(p) };
        }
        if slow.closed || slow.low || placed.is_err() {
            self.drain.now();
        } else {
            // A new block: the drain closes it if it stays open too long.
            self.drain.later(self.drain_delay_ns());
        }
    }

    /// One attempt on this CPU's channel, with preemption disabled for it:
    /// `None` when the fast path placed the entry.
    ///
    /// # Safety
    ///
    /// `p` was given up by a front end (`RETRY`: and counted already).
    unsafe fn enqueue_here<const RETRY: bool>(
        &self,
        ctx: &mut impl Context,
        p: C::Entry,
    ) -> Option<channel::Slow<C::Entry>> {
        let mut preempt = task::preempt_disable(ctx);
        let ch = &self.inner.cpus[cpu::CpuId::current().as_u32() as usize];
        // SAFETY: This CPU's channel, preemption off until `preempt` goes;
        // `block_entries <= C::CAPACITY` (checked in `new`); `p` was given
        // up (the caller's guarantee).
        unsafe { ch.enqueue::<RETRY>(preempt.ctx(), p, &self.inner.config, self.cache_pages()) }
    }

    /// The least pages each CPU's cache keeps, as tuned now.
    fn cache_pages(&self) -> usize {
        self.inner.cache_pages.load(Relaxed)
    }

    /// How long a block may stay open, as tuned now.
    fn drain_delay_ns(&self) -> u64 {
        self.inner.drain_delay_ns.load(Relaxed)
    }

    /// Sets [`Config::cache_pages`] and [`Config::drain_delay_ns`] for
    /// what comes next (a warm engine serves runs with other parameters);
    /// the caches follow at the next refill. Any context.
    pub(crate) fn tune(&self, cache_pages: usize, drain_delay_ns: u64) {
        self.inner.cache_pages.store(cache_pages, Relaxed);
        self.inner.drain_delay_ns.store(drain_delay_ns, Relaxed);
    }

    /// Restarts the peak of block pages from the pages live now, so that
    /// [`Stats::pages_peak`] covers what follows. Any context.
    pub(crate) fn reset_peak(&self) {
        let c = &self.inner.counters;
        c.pages_peak.store(c.pages_live.load(Relaxed), Relaxed);
    }

    fn page_allocated(&self, b: Option<BlockPage<C>>) -> Option<BlockPage<C>> {
        if b.is_some() {
            let c = &self.inner.counters;
            c.pages_allocated.fetch_add(1, Relaxed);
            let live = c.pages_live.fetch_add(1, Relaxed) + 1;
            c.pages_peak.fetch_max(live, Relaxed);
        }
        b
    }

    /// A block page allocated in the caller's context by `policy`,
    /// counted.
    fn alloc_inline(&self, policy: u32) -> Option<BlockPage<C>> {
        let c = &self.inner.counters;
        match BlockPage::alloc_inline(policy) {
            Err(()) => {
                c.inline_declined.fetch_add(1, Relaxed);
                None
            }
            Ok(None) => {
                c.inline_failed.fetch_add(1, Relaxed);
                None
            }
            Ok(b) => {
                c.inline_allocated.fetch_add(1, Relaxed);
                self.page_allocated(b)
            }
        }
    }

    fn page_freed(&self, b: BlockPage<C>) {
        drop(b);
        self.inner.counters.pages_live.fetch_sub(1, Relaxed);
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        let (mut queued, mut blocks_closed) = (0, 0);
        for ch in self.inner.cpus.iter() {
            queued += ch.queued();
            // SAFETY: Given no token; only reads a counter under the lock.
            blocks_closed +=
                unsafe { context::untracked(|ctx| ch.locked.lock_irqsave(ctx).closed_blocks) };
        }
        let emergency = c.emergency.load(Relaxed);
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
            inline_allocated: c.inline_allocated.load(Relaxed),
            inline_declined: c.inline_declined.load(Relaxed),
            inline_failed: c.inline_failed.load(Relaxed),
        }
    }
}

impl<'a> Engine<'a, Kfree> {
    /// Frees `obj` after a grace period, in a block freed with
    /// `kfree_bulk()` ([`Engine::enqueue`] says how). Any context but NMI,
    /// including hardirq and under a raw spinlock on PREEMPT_RT.
    pub(crate) fn kfree_rcu<O: KfreeRcu + 'a>(&self, obj: O) {
        self.enqueue(obj.into_raw());
    }
}

/// A page held to find the zone block pages come from, for reading this
/// CPU's per-CPU free-list count of that zone.
///
/// The negative test enqueues, under its raw spinlock, enough objects that
/// an [`Inline::Atomic`] engine must allocate one page more than the
/// count: one of those allocations must refill the list under `zone->lock`
/// (lockdep ignores the list's own trylock).
pub(crate) struct ZoneProbe(BlockPage<Kfree>);

// SAFETY: A `ZoneProbe` owns its page and only reads the page's address
// (`pcp_pages`); the page allocator frees a page from any thread.
unsafe impl Send for ZoneProbe {}
// SAFETY: `&ZoneProbe` only reads the page's address.
unsafe impl Sync for ZoneProbe {}

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
        let n = unsafe { helpers::rcu_lab_pcp_count(self.0.addr()) };
        n.max(0) as usize
    }
}

impl<C: Contents> Shrink for Engine<'_, C> {
    fn count(&self) -> usize {
        self.inner
            .cpus
            .iter()
            // SAFETY: A shrinker callback is given no token; only reads a
            // length under the lock.
            .map(|ch| unsafe { context::untracked(|ctx| ch.locked.lock_irqsave(ctx).cache.len) })
            .sum()
    }

    fn scan(&self, nr: usize) -> usize {
        let mut freed = 0;
        for ch in self.inner.cpus.iter() {
            while freed < nr {
                // SAFETY: A shrinker callback is given no token; only pops a
                // page under the lock.
                let b = unsafe {
                    context::untracked(|ctx| ch.locked.lock_irqsave(ctx).cache.pop_front())
                };
                let Some(b) = b else {
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
impl<C: Contents> PinnedDrop for Engine<'_, C> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Dropping an engine sleeps (`Batch` says so) and its owner
        // drops it in task context holding nothing (module exit, a test's
        // end): no token of the caller's can be used meanwhile.
        let mut ctx = unsafe { <Sleep as Context>::assume() };
        self.drain.stop();
        self.barrier(&mut ctx);
        for ch in self.inner.cpus.iter() {
            // SAFETY: `Pin<&mut Self>`: nobody else holds the engine, so no
            // enqueue runs or can begin.
            let open = unsafe { ch.take_open() };
            let mut cache = core::mem::replace(
                &mut ch.locked.lock_irqsave(&mut ctx).cache,
                block::BlockList::new(),
            );
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
