// SPDX-License-Identifier: GPL-2.0

//! A hash table of RCU hlists, shaped like lockdep's key hash
//! (`lock_keys_hash[]`, kernel/locking/lockdep.c): `2^bits` buckets indexed
//! by `hash_long(key, bits)`, changed under one global lock taken with
//! interrupts off, walked by readers that take no lock.
//!
//! C header: [`include/linux/rculist.h`](srctree/include/linux/rculist.h).
//! Neither rcu_lab nor the 7.3 crate had an RCU `hlist`; the bucket
//! operations are `rust/protocol/hlist.rs` (model-checked with the bucket's
//! hazard-pointer protection).
//!
//! An entry is an [`RcuBox`] holding an [`Entry<T>`]: the `rcu_head` at
//! offset 0, then the hlist node, then the `T`. Its key is its address
//! ([`Key`]), as a `lock_class_key`'s address is its key. The layout keeps
//! the node out of the first 16 bytes, which every deferred free may reuse
//! while readers may still be on the node: `call_rcu()` and the batching
//! engine's emergency path write an `rcu_head` there, seed 003's pending
//! lists ([`super::PendingFree`]) their link.
//!
//! How readers are protected is the table's type parameter, as a lock's
//! backend is `Lock`'s ([`Protection`]):
//!
//! * [`ByRcu`]: readers walk inside an RCU read-side critical section
//!   ([`HashTable::find`] takes the [`Guard`](super::Guard)); an unhashed
//!   entry is an [`rcu::Retired`](super::Retired), freed after a grace
//!   period by any of its strategies.
//! * [`ByHazptr`]: readers publish the bucket's address in this CPU's
//!   hazard-pointer slot ([`HashTable::find_hazptr`]), as Boqun Feng's
//!   shazptr series did for `is_dynamic_key()`; an unhashed entry is a
//!   [`hazptr::Retired`], freed once no slot holds its bucket's address (or
//!   the wildcard): the wait covers that bucket's readers only.
//!
//! So a table's readers and its updater always agree on the protection:
//! an entry of a [`ByHazptr`] table cannot be freed after an RCU grace
//! period, nor an entry of a [`ByRcu`] table after a hazard-pointer scan.

use super::{RcuBox, Retired};
use crate::{
    context::{Atomic, Context, MaySleep},
    hazptr, new_raw_spinlock,
    protocol::hlist::{self as proto, Head, Node},
    sync::RawSpinLock,
};
use core::{marker::PhantomData, ptr::NonNull, sync::atomic::AtomicUsize};
use kernel::{bindings, prelude::*};

/// An entry: the hlist node, then the value.
///
/// # Invariants
///
/// Lives in an [`RcuBox`] allocated by [`HashTable::insert`]; `node` is in
/// the table's bucket for the entry's address from insertion until
/// [`HashTable::remove`] unlinks it, and is left intact after that.
#[repr(C)]
pub(crate) struct Entry<T> {
    node: Node<AtomicUsize>,
    value: T,
}

impl<T> core::ops::Deref for Entry<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

// The node must stay clear of the `rcu_head` (and of the engine's or the
// pending lists' reuse of it) that precedes it in the `RcuBox`.
kernel::static_assert!(
    RcuBox::<Entry<u64>>::VALUE_OFFSET + core::mem::offset_of!(Entry<u64>, node)
        >= core::mem::size_of::<bindings::callback_head>()
);

/// An entry's key: its address (`lock_class_key *`). A copy stays valid as
/// a number after the entry is gone; looking it up then misses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Key(usize);

impl Key {
    /// The key as a number (0 is no key).
    pub(crate) fn addr(self) -> usize {
        self.0
    }

    /// A key from [`Key::addr`]'s number: looking it up finds the entry
    /// only while it is in the table.
    pub(crate) fn from_addr(addr: usize) -> Self {
        Key(addr)
    }

    /// A key that no entry has (odd, so never an allocation's address),
    /// for lookups that must miss.
    pub(crate) fn absent(seed: usize) -> Self {
        Key((seed << 4) | 1)
    }
}

/// `hash_long(val, bits)` on a 64-bit kernel: `hash_64()` with
/// `GOLDEN_RATIO_64` (include/linux/hash.h).
pub(crate) fn hash_long(val: usize, bits: u32) -> usize {
    const GOLDEN_RATIO_64: u64 = 0x61c8_8646_80b5_83eb;
    ((val as u64).wrapping_mul(GOLDEN_RATIO_64) >> (64 - bits)) as usize
}

/// How a [`HashTable`]'s readers are protected, and so what an unhashed
/// entry must wait for.
pub(crate) trait Protection: 'static {
    /// An unhashed entry, which readers may still be on.
    type Unhashed<T: Send + Sync + 'static>: Send;

    /// Hands out an entry just unlinked from the bucket at `bucket`.
    ///
    /// # Safety
    ///
    /// `ptr` came from `KBox::into_raw` in [`HashTable::insert`], was just
    /// unlinked under the table's lock and is owned by nobody else.
    unsafe fn unhashed<T: Send + Sync + 'static>(
        ptr: NonNull<RcuBox<Entry<T>>>,
        bucket: usize,
    ) -> Self::Unhashed<T>;
}

/// Readers walk inside RCU read-side critical sections.
pub(crate) struct ByRcu;

/// Readers protect the bucket with this CPU's hazard pointer.
pub(crate) struct ByHazptr;

impl Protection for ByRcu {
    type Unhashed<T: Send + Sync + 'static> = Retired<Entry<T>>;

    unsafe fn unhashed<T: Send + Sync + 'static>(
        ptr: NonNull<RcuBox<Entry<T>>>,
        _bucket: usize,
    ) -> Retired<Entry<T>> {
        // SAFETY: From `KBox::<RcuBox<_>>::into_raw`, unlinked, owned by
        // nobody else (the caller); readers are RCU readers.
        unsafe { Retired::from_raw(ptr.as_ptr()) }
    }
}

impl Protection for ByHazptr {
    type Unhashed<T: Send + Sync + 'static> = hazptr::Retired<RcuBox<Entry<T>>>;

    unsafe fn unhashed<T: Send + Sync + 'static>(
        ptr: NonNull<RcuBox<Entry<T>>>,
        bucket: usize,
    ) -> hazptr::Retired<RcuBox<Entry<T>>> {
        // SAFETY: From `KBox::into_raw`, unlinked, owned by nobody else (the
        // caller); every reader of a `ByHazptr` table published the
        // bucket's address before reaching the entry (`find_hazptr`) and
        // holds the guard while on it.
        unsafe { hazptr::Retired::from_raw(ptr, bucket) }
    }
}

/// A hash table of RCU hlists with one update lock; see the module docs.
///
/// # Invariants
///
/// `buckets` has `1 << bits` heads, never moves or shrinks while the table
/// lives; every node in a bucket is the node of a live [`Entry<T>`] in an
/// [`RcuBox`] from `KBox::into_raw`, owned by the table, hashed to that
/// bucket. Buckets change only under `lock`. An unlinked entry is handed
/// to `P::unhashed`, which frees it only after the readers `P` names.
#[pin_data(PinnedDrop)]
pub(crate) struct HashTable<T: Send + Sync + 'static, P: Protection> {
    #[pin]
    lock: RawSpinLock<usize>,
    buckets: KVec<Head<AtomicUsize>>,
    bits: u32,
    _p: PhantomData<(KBox<RcuBox<Entry<T>>>, P)>,
}

// SAFETY: The table owns its entries and may free them on any thread
// (`T: Send`); readers on any thread get `&T` (`T: Sync`); buckets change
// only under the lock, and readers load them atomically.
unsafe impl<T: Send + Sync + 'static, P: Protection> Send for HashTable<T, P> {}
// SAFETY: As above: every method takes `&self` and is safe concurrently.
unsafe impl<T: Send + Sync + 'static, P: Protection> Sync for HashTable<T, P> {}

/// What a lookup found.
#[derive(Clone, Copy, Default)]
pub(crate) struct Found {
    /// The key is in the table.
    pub(crate) hit: bool,
    /// Nodes visited.
    pub(crate) visited: usize,
    /// The hazard-pointer guard nested and stored the wildcard.
    pub(crate) nested: bool,
}

impl<T: Send + Sync + 'static, P: Protection> HashTable<T, P> {
    /// An empty table of `1 << bits` buckets (`bits` 1 to 16). Sleeps.
    pub(crate) fn new(bits: u32) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            lock <- new_raw_spinlock!(0, "rcu_lab_hash_lock"),
            buckets: {
                if !(1..=16).contains(&bits) {
                    return Err(EINVAL);
                }
                let n = 1usize << bits;
                let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
                for _ in 0..n {
                    v.push(Head { first: AtomicUsize::new(0) }, GFP_KERNEL)?;
                }
                v
            },
            bits,
            _p: PhantomData,
        }? Error)
    }

    fn bucket(&self, key: Key) -> &Head<AtomicUsize> {
        &self.buckets[hash_long(key.0, self.bits)]
    }

    /// Entries in the table. Any context.
    pub(crate) fn len(&self, ctx: &mut impl Context) -> usize {
        *self.lock.lock_irqsave(ctx)
    }

    /// Allocates an entry holding `value` and adds it at the head of its
    /// bucket (`lockdep_register_key()`: `hlist_add_head_rcu()` under the
    /// lock, interrupts off). Returns its key. Sleeps (allocates).
    pub(crate) fn insert(&self, ctx: &mut impl MaySleep, value: T) -> Result<Key> {
        let b = RcuBox::new(
            Entry {
                node: Node {
                    next: AtomicUsize::new(0),
                    pprev: AtomicUsize::new(0),
                },
                value,
            },
            GFP_KERNEL,
        )?;
        let p = KBox::into_raw(b);
        let key = Key(p.addr());
        // SAFETY: `p` is valid; the node is inside the box, which the
        // table now owns.
        let entry: &Entry<T> = unsafe { &*p };
        let node = core::ptr::from_ref(&entry.node).addr();
        let mut n = self.lock.lock_irqsave(ctx);
        // SAFETY: The lock is held; the node is in no bucket and stays
        // live until it is unlinked and `P` frees it (type invariant).
        unsafe { proto::add_head(self.bucket(key), node) };
        *n += 1;
        Ok(key)
    }

    /// Unlinks the entry with `key` (`lockdep_unregister_key()`'s
    /// `hlist_del_rcu()`), runs `under_lock` while still holding the lock
    /// with interrupts off (lockdep zaps the key's classes there), and
    /// returns the entry, which readers may still be on. `None` if no entry
    /// has the key. Any context; `under_lock` runs under a raw spinlock
    /// with interrupts off, and gets the token lent there.
    pub(crate) fn remove(
        &self,
        ctx: &mut impl Context,
        key: Key,
        under_lock: impl FnOnce(&mut Atomic),
    ) -> Option<P::Unhashed<T>> {
        let head = self.bucket(key);
        let mut n = self.lock.lock_irqsave(ctx);
        // SAFETY: The lock is held, so every node of the bucket is live.
        let node = unsafe { proto::walk(head, |pos| entry_of::<T>(pos).addr() == key.0) }?;
        // SAFETY: The lock is held; the node is in this bucket.
        unsafe { proto::del::<AtomicUsize>(node) };
        *n -= 1;
        under_lock(n.ctx());
        drop(n);
        // INVARIANT: unlinked under the lock and handed to `P`.
        // SAFETY: The entry came from `KBox::into_raw` in `insert` (type
        // invariant), was unlinked just now, and the table gives it up.
        Some(unsafe {
            P::unhashed(
                NonNull::new_unchecked(entry_of::<T>(node)),
                core::ptr::from_ref(head).addr(),
            )
        })
    }

    /// Walks the bucket of `key`, calling `visit` on each entry met, and
    /// says whether the key is there. The caller ensures the entries stay
    /// live ([`HashTable::find`], [`HashTable::find_hazptr`]).
    ///
    /// # Safety
    ///
    /// Every node reachable from the bucket stays live until this returns.
    #[inline(always)]
    unsafe fn walk(&self, key: Key, mut visit: impl FnMut(&T)) -> Found {
        let mut found = Found::default();
        // SAFETY: The caller keeps the nodes live.
        let hit = unsafe {
            proto::walk(self.bucket(key), |pos| {
                let e = entry_of::<T>(pos);
                found.visited += 1;
                // SAFETY: A live entry (caller), read-only.
                let entry: &Entry<T> = &*e;
                visit(&entry.value);
                e.addr() == key.0
            })
        };
        found.hit = hit.is_some();
        found
    }
}

/// The `RcuBox<Entry<T>>` whose node is at `node`.
fn entry_of<T>(node: usize) -> *mut RcuBox<Entry<T>> {
    let off = RcuBox::<Entry<T>>::VALUE_OFFSET + core::mem::offset_of!(Entry<T>, node);
    core::ptr::with_exposed_provenance_mut::<RcuBox<Entry<T>>>(node - off)
}

impl<T: Send + Sync + 'static> HashTable<T, ByRcu> {
    /// Looks `key` up inside the RCU read-side critical section `_guard`
    /// (`is_dynamic_key()`), calling `visit` on each entry walked past.
    /// Any context.
    #[inline]
    pub(crate) fn find(&self, _guard: &super::Guard, key: Key, visit: impl FnMut(&T)) -> Found {
        // SAFETY: Entries unlinked from a `ByRcu` table are freed only after
        // a grace period (`Retired`), which cannot end while `_guard` lives.
        unsafe { self.walk(key, visit) }
    }
}

impl<T: Send + Sync + 'static> HashTable<T, ByHazptr> {
    /// Looks `key` up with the bucket protected by this CPU's hazard
    /// pointer (the shazptr version of `is_dynamic_key()`): preemption is
    /// off during the walk; nested in another user of the slot (an
    /// interrupt on top of a reader), the guard stores the wildcard.
    /// Any context but NMI.
    #[inline]
    pub(crate) fn find_hazptr(
        &self,
        ctx: &mut impl Context,
        key: Key,
        visit: impl FnMut(&T),
    ) -> Found {
        let head = self.bucket(key);
        let guard = hazptr::protect_addr(ctx, core::ptr::from_ref(head).addr());
        // SAFETY: The bucket's address was published (and `smp_mb()` ran)
        // before the walk loads its first node; an entry unlinked from a
        // `ByHazptr` table is freed only after `hazptr::synchronize` found
        // no slot holding its bucket's address or the wildcard.
        let mut found = unsafe { self.walk(key, visit) };
        found.nested = guard.is_nested();
        drop(guard);
        found
    }
}

impl<T: Send + Sync + 'static, P: Protection> HashTable<T, P> {
    /// Looks `key` up with no protection at all: the reader the negative
    /// test `key_unregister_unprotected` runs against a [`ByHazptr`]
    /// table, to show that its updater waits only for protected readers.
    ///
    /// # Safety
    ///
    /// Every node reachable from the bucket must stay live until this
    /// returns (no unregister may run meanwhile).
    pub(crate) unsafe fn find_unprotected(&self, key: Key, visit: impl FnMut(&T)) -> Found {
        // SAFETY: The caller keeps the nodes live.
        unsafe { self.walk(key, visit) }
    }
}

#[pinned_drop]
impl<T: Send + Sync + 'static, P: Protection> PinnedDrop for HashTable<T, P> {
    fn drop(self: Pin<&mut Self>) {
        for head in self.buckets.iter() {
            let mut pos = head.first.load(core::sync::atomic::Ordering::Relaxed);
            while pos != 0 {
                let e = entry_of::<T>(pos);
                // SAFETY: The table is being dropped, so no reader borrows
                // it; the entry is live and owned by the table. Read `next`
                // before freeing.
                let entry: &Entry<T> = unsafe { &*e };
                pos = entry.node.next.load(core::sync::atomic::Ordering::Relaxed);
                // SAFETY: From `KBox::into_raw` in `insert`, owned.
                drop(unsafe { KBox::from_raw(e) });
            }
        }
    }
}
