// SPDX-License-Identifier: GPL-2.0

//! Dynamic lockdep keys that may be dropped in any context (experiment 3).
//!
//! C header: [`include/linux/lockdep.h`](srctree/include/linux/lockdep.h).
//!
//! Dropping a dynamic key unregisters it: `lockdep_unregister_key()` zaps
//! the key's classes under `lockdep_lock()` and then waits for an expedited
//! grace period (kernel/locking/lockdep.c:6678-6726), so it sleeps, and a
//! teardown of N keys waits N times. The crate's `LockClassKey` does that in
//! its `PinnedDrop`, whatever the context (its docs name no rule), and so
//! does rcu_lab's [`LockClass::Dynamic`](super::LockClass) when its last
//! holder goes. A [`ReapedKey`] is a reference-counted dynamic key whose
//! last drop only moves ownership: it pushes the key on a lock-free list
//! and kicks its [`KeyReaper`] (a hard-interrupt hrtimer that queues work,
//! rcu_lab's `Deferred`). No allocation, no free, no lock, no wake-up in the
//! caller: legal under a raw spinlock, in hard interrupt and in an RCU
//! callback, on PREEMPT_RT too (where `kfree()` may take a sleeping lock).
//!
//! The reaper's work takes the whole list and hands the keys to a pool of
//! kernel threads made with the reaper ([`KeyReaper::new`]'s `threads`, of
//! which [`KeyReaper::set_pool`] lets `pool` work at once; persistent, as
//! spawning threads per batch cost more than the waits they hide: measured
//! in Documentation/key_unregister.rst), which unregister them concurrently: the
//! zaps serialise on `lockdep_lock()`, but the grace-period waits overlap
//! and share grace periods (concurrent `synchronize_rcu_expedited()` calls
//! are funnelled into one expedited grace period; on PREEMPT_RT, where the
//! wait is a normal grace period, concurrent waiters share it too). A pool
//! as large as one grace period divided by one zap hides every wait behind
//! the zaps; more threads only queue on `lockdep_lock()`. Each key's memory
//! is freed by the thread that unregistered it, after
//! `lockdep_unregister_key()` returned. Dropping the reaper (module exit)
//! waits until every key pushed so far is unregistered and freed.

use crate::{
    context::{MaySleep, Sleep},
    deferred::{Deferred, DeferredRun},
    task::KThread,
};
use core::{
    ptr::NonNull,
    sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering},
};
use kernel::{
    bindings, new_condvar, new_mutex,
    prelude::*,
    sync::{Arc, CondVar, CondVarTimeoutResult, Mutex},
    types::Opaque,
};

/// A key on the heap, with its reference count and its link on the
/// reaper's list.
///
/// # Invariants
///
/// `key` was registered with `lockdep_register_key()` at this address and
/// stays registered until the reaper unregisters it; the node is freed only
/// after that, by the reaper.
struct KeyNode {
    /// The next node on the reaper's list (an address, 0 at the end).
    next: AtomicUsize,
    refs: AtomicUsize,
    reaper: Arc<Inner>,
    key: Opaque<bindings::lock_class_key>,
}

/// A dynamic lockdep key that any context may drop; see the module docs.
///
/// Clones share the key; the last drop hands it to the [`KeyReaper`] that
/// made it, which unregisters it later in process context.
///
/// # Invariants
///
/// `node` points to a live [`KeyNode`] from `KBox::into_raw`, whose `refs`
/// counts this handle.
pub(crate) struct ReapedKey {
    node: NonNull<KeyNode>,
}

// SAFETY: The handle may be dropped on any thread (the reaper takes over);
// the key is used only through its address.
unsafe impl Send for ReapedKey {}
// SAFETY: Shared access only reads the key's address.
unsafe impl Sync for ReapedKey {}

impl ReapedKey {
    fn node(&self) -> &KeyNode {
        // SAFETY: Live while this handle counts in `refs` (type invariant).
        unsafe { self.node.as_ref() }
    }

    /// The key, for a lock's initialisation; valid while `self` lives.
    pub(crate) fn as_ptr(&self) -> *mut bindings::lock_class_key {
        self.node().key.get()
    }
}

impl Clone for ReapedKey {
    fn clone(&self) -> Self {
        self.node().refs.fetch_add(1, Ordering::Relaxed);
        // INVARIANT: counted just now.
        Self { node: self.node }
    }
}

impl Drop for ReapedKey {
    /// Any context but NMI: a decrement and, by the last handle, a
    /// lock-free push and a kick of the reaper's hrtimer.
    fn drop(&mut self) {
        if self.node().refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Every other handle's uses happen before the reaper's.
        fence(Ordering::Acquire);
        let node = self.node();
        node.reaper.push(self.node);
    }
}

/// Unregisters and frees [`ReapedKey`]s in process context, concurrently;
/// see the module docs.
///
/// Its owner holds it, and dropping it (in process context) waits until
/// every key it made was dropped, unregistered and freed, then stops its
/// threads: keys hold a reference to the reaper's state, which must not be
/// the last one (the state's drop stops the work the last key may be
/// handed over in).
pub(crate) struct KeyReaper {
    inner: Arc<Inner>,
    threads: usize,
    workers: Workers,
}

/// The worker threads, joined when the reaper is dropped.
struct Workers(KVec<KThread>);

// SAFETY: A `KThread` may only be waited for by one thread at a time; the
// reaper touches its workers only through `&mut` (creation and `Drop`),
// never through a shared reference, so sharing the reaper shares nothing of
// them.
unsafe impl Sync for Workers {}

/// The keys handed to the workers.
struct Queue {
    /// Node addresses, each owned by the queue.
    nodes: KVec<usize>,
    /// The owner is going: workers return.
    stop: bool,
}

/// The reaper's state, shared with its keys and its workers.
///
/// # Invariants
///
/// Every node on `list` and in `queue` is a [`KeyNode`] whose handles are
/// all gone, owned by the list or the queue; `live` counts the nodes made
/// and not yet freed, `pending` those handed over and not yet freed.
#[pin_data(PinnedDrop)]
struct Inner {
    #[pin]
    kick: Deferred<Inner>,
    /// Address of the first node, 0 if none (a Treiber stack: pushed from
    /// any context, taken whole by the work).
    list: AtomicUsize,
    #[pin]
    queue: Mutex<Queue>,
    /// Workers wait here for keys.
    #[pin]
    more: CondVar,
    /// Flushes wait here for `pending` to reach 0.
    #[pin]
    done: CondVar,
    /// Workers that take keys (the others wait).
    pool: AtomicUsize,
    live: AtomicUsize,
    pending: AtomicUsize,
    unregistered: AtomicU64,
    batches: AtomicU64,
}

impl DeferredRun for Inner {
    fn run(&self, _ctx: &mut Sleep) {
        self.take_list();
    }
}

impl KeyReaper {
    /// A reaper with `threads` workers (1 to 64), all of which unregister
    /// at once until [`KeyReaper::set_pool`] says otherwise. Sleeps: `ctx`
    /// proves it may.
    pub(crate) fn new(_ctx: &mut impl MaySleep, threads: usize) -> Result<Self> {
        let threads = threads.clamp(1, 64);
        let inner = Arc::pin_init(
            pin_init!(&this in Inner {
                // SAFETY: `this` is the pinned state; its `PinnedDrop` stops
                // the kick before anything `run` uses goes away.
                kick <- unsafe { Deferred::new(this.as_ptr()) },
                list: AtomicUsize::new(0),
                queue <- new_mutex!(Queue { nodes: KVec::new(), stop: false }, "rcu_lab_key_queue"),
                more <- new_condvar!("rcu_lab_key_more"),
                done <- new_condvar!("rcu_lab_key_done"),
                pool: AtomicUsize::new(threads),
                live: AtomicUsize::new(0),
                pending: AtomicUsize::new(0),
                unregistered: AtomicU64::new(0),
                batches: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )?;
        let mut reaper = KeyReaper {
            inner,
            threads,
            workers: Workers(KVec::with_capacity(threads, GFP_KERNEL)?),
        };
        for i in 0..threads {
            let inner = reaper.inner.clone();
            // On failure, the drop stops the workers made so far.
            let w = KThread::spawn(c"rcu_lab/unreg", None, move |_| inner.work(i))?;
            reaper.workers.0.push(w, GFP_KERNEL)?;
        }
        Ok(reaper)
    }

    /// A new key, registered with lockdep, that this reaper unregisters
    /// when its last handle is dropped. Sleeps (allocates).
    pub(crate) fn key(&self, _ctx: &mut impl MaySleep) -> Result<ReapedKey> {
        let node = KBox::into_raw(KBox::new(
            KeyNode {
                next: AtomicUsize::new(0),
                refs: AtomicUsize::new(1),
                reaper: self.inner.clone(),
                key: Opaque::uninit(),
            },
            GFP_KERNEL,
        )?);
        self.inner.live.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `node` is a valid, never-moving heap object; registering
        // its key initialises it for lockdep (a no-op without lockdep).
        unsafe { bindings::lockdep_register_key((*node).key.get()) };
        // INVARIANT: registered at its final address; one handle.
        Ok(ReapedKey {
            // SAFETY: `KBox::into_raw` never returns null.
            node: unsafe { NonNull::new_unchecked(node) },
        })
    }

    /// Lets `pool` workers (1 to the threads made) unregister at once.
    pub(crate) fn set_pool(&self, pool: usize) {
        let pool = pool.clamp(1, self.threads);
        self.inner.pool.store(pool, Ordering::Relaxed);
        self.inner.more.notify_all();
    }

    /// Keys handed over and not yet freed; keys unregistered so far; runs
    /// of the work that found keys.
    pub(crate) fn counts(&self) -> (usize, u64, u64) {
        (
            self.inner.pending.load(Ordering::Relaxed),
            self.inner.unregistered.load(Ordering::Relaxed),
            self.inner.batches.load(Ordering::Relaxed),
        )
    }

    /// Waits until every key whose last handle was dropped before the call
    /// is unregistered and freed. Sleeps: `ctx` proves it may.
    pub(crate) fn flush(&self, _ctx: &mut impl MaySleep) {
        self.flush_unchecked();
    }

    /// [`KeyReaper::flush`] for the reaper's own drop, which sleeps by its
    /// documented rule.
    fn flush_unchecked(&self) {
        self.inner.take_list();
        let mut q = self.inner.queue.lock();
        while self.inner.pending.load(Ordering::Acquire) != 0 {
            // Workers notify under the lock, so no wake-up is lost. With a
            // signal pending the wait returns at once: nap instead of
            // spinning (the flush is bounded by the keys' zaps and waits).
            if let CondVarTimeoutResult::Signal { .. } =
                self.inner.done.wait_interruptible_timeout(&mut q, 10)
            {
                drop(q);
                kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
                q = self.inner.queue.lock();
            }
        }
    }
}

impl Drop for KeyReaper {
    /// Waits until every key of this reaper is freed, then stops its
    /// workers. A handle kept beyond the reaper's owner is a bug that would
    /// leave a key registered in a module that is gone: this waits for it,
    /// and says so every 10 s. Sleeps.
    fn drop(&mut self) {
        let mut waited = 0u32;
        loop {
            self.flush_unchecked();
            let live = self.inner.live.load(Ordering::Acquire);
            if live == 0 {
                break;
            }
            waited += 1;
            if waited % 1000 == 0 {
                pr_warn!("rcu_lab: a key reaper waits for {} keys still held\n", live);
            }
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(10));
        }
        self.inner.queue.lock().stop = true;
        self.inner.more.notify_all();
        // Dropping the threads joins them.
        self.workers.0.clear();
    }
}

impl Inner {
    /// Pushes a node whose last handle is gone and kicks the work. Any
    /// context but NMI.
    fn push(&self, node: NonNull<KeyNode>) {
        self.pending.fetch_add(1, Ordering::Relaxed);
        // SAFETY: The node is live and now owned by this push.
        let n = unsafe { node.as_ref() };
        let addr = node.as_ptr().expose_provenance();
        let mut first = self.list.load(Ordering::Relaxed);
        loop {
            n.next.store(first, Ordering::Relaxed);
            // INVARIANT: the list owns the node once the exchange succeeds.
            match self
                .list
                .compare_exchange_weak(first, addr, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => first = now,
            }
        }
        self.kick.now();
    }

    /// Moves every node on the list to the workers' queue. Sleeps.
    fn take_list(&self) {
        let first = self.list.swap(0, Ordering::Acquire);
        if first == 0 {
            return;
        }
        self.batches.fetch_add(1, Ordering::Relaxed);
        let mut q = self.queue.lock();
        let mut addr = first;
        while addr != 0 {
            // SAFETY: Nodes on the taken list are live and owned here.
            let n = unsafe { &*core::ptr::with_exposed_provenance::<KeyNode>(addr) };
            let next = n.next.load(Ordering::Relaxed);
            // INVARIANT: the queue owns the node from here.
            if q.nodes.push(addr, GFP_KERNEL).is_err() {
                // No memory to queue it: unregister it here.
                drop(q);
                self.unregister(addr);
                q = self.queue.lock();
            }
            addr = next;
        }
        drop(q);
        self.more.notify_all();
    }

    /// Worker `i`'s loop: takes keys while it is among the first `pool`
    /// workers, until the owner stops the reaper. Sleeps.
    fn work(&self, i: usize) {
        loop {
            let addr = {
                let mut q = self.queue.lock();
                loop {
                    if q.stop {
                        return;
                    }
                    if i < self.pool.load(Ordering::Relaxed) {
                        if let Some(a) = q.nodes.pop() {
                            break a;
                        }
                    }
                    // Interruptible, so an idle worker is not a hung task;
                    // a kthread gets no signals, and a spurious wake-up
                    // loops.
                    let _ = self.more.wait_interruptible(&mut q);
                }
            };
            self.unregister(addr);
        }
    }

    /// Unregisters the key of the node at `addr` and frees the node.
    /// Sleeps.
    fn unregister(&self, addr: usize) {
        let node = core::ptr::with_exposed_provenance_mut::<KeyNode>(addr);
        // SAFETY: The node is live, owned by this caller and registered
        // (type invariants); no handle is left, so no lock uses the key.
        unsafe { bindings::lockdep_unregister_key((*node).key.get()) };
        // SAFETY: From `KBox::into_raw` in `key`; unregistered just now.
        drop(unsafe { KBox::from_raw(node) });
        self.unregistered.fetch_add(1, Ordering::Relaxed);
        self.live.fetch_sub(1, Ordering::Release);
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _q = self.queue.lock();
            self.done.notify_all();
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Inner {
    fn drop(self: Pin<&mut Self>) {
        // The owner waited until no key was left and joined the workers;
        // stopping the kick waits for a run of the work still returning.
        self.kick.stop();
    }
}
