// SPDX-License-Identifier: GPL-2.0

//! Block pages: one page of entries of a [`Contents`], and FIFO lists of
//! them.

use super::Contents;
use crate::{helpers, mm::slab::SlabObj, rcu::GpState, time::Instant};
use core::{
    mem::MaybeUninit,
    ptr::{self, NonNull},
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
};
use kernel::{bindings, page::PAGE_SIZE, prelude::*};

/// Header of a block page.
///
/// While a block is a CPU's open block (see `channel.rs`), its owner CPU
/// writes `nr` and the entries, and the drain may read `opened` and `nr`
/// (through [`Block::peek`]) at the same time; the other fields belong to
/// whoever holds the block as a [`BlockPage`].
#[repr(C)]
pub(super) struct BlockHeader<C: Contents> {
    next: *mut Block<C>,
    /// The grace period its objects wait for, once closed.
    pub(super) gp: GpState,
    /// Closed by the drain while its owner may still have been adding to
    /// it: `gp` first covers the owner's adds, then a second cookie the
    /// objects' readers (see `Engine::drain_once`).
    pub(super) stolen: bool,
    opened: Instant,
    nr: AtomicUsize,
    /// From the engine's block cache (else an atomic page).
    slab: bool,
}

/// Words of entries after the header of a block page (the header does not
/// depend on the contents' type: only a `PhantomData` of it).
pub(super) const BLOCK_WORDS: usize =
    (PAGE_SIZE - size_of::<BlockHeader<super::Kfree>>()) / size_of::<usize>();

/// Object pointers per block page (the kernel's `KVFREE_BULK_MAX_ENTR`):
/// [`Contents::CAPACITY`] of one-pointer entries.
pub(crate) const BLOCK_ENTRIES: usize = BLOCK_WORDS;

/// A page of entries: [`Contents::CAPACITY`] of them, in word-aligned
/// storage typed by [`Block::entries`].
#[repr(C)]
pub(super) struct Block<C: Contents> {
    h: BlockHeader<C>,
    words: [MaybeUninit<usize>; BLOCK_WORDS],
}

kernel::static_assert!(size_of::<Block<super::Kfree>>() <= PAGE_SIZE);

impl<C: Contents> Block<C> {
    /// Where the entries start.
    ///
    /// # Safety
    ///
    /// `b` points to a live block.
    unsafe fn entries(b: *mut Self) -> *mut C::Entry {
        // Entries fit the words and their alignment (`Contents`' checks).
        let () = C::FITS;
        // SAFETY: The block is live (the caller's guarantee).
        unsafe { ptr::addr_of_mut!((*b).words).cast() }
    }

    /// Appends `obj` to the open block `b` if it holds fewer than `cap`
    /// entries; gives it back if not. One load and two plain stores: no
    /// lock, no atomic read-modify-write.
    ///
    /// # Safety
    ///
    /// `b` is the open block of the calling CPU, which holds its channel's
    /// `busy` flag with preemption disabled (no other context writes the
    /// block meanwhile: only its owner CPU adds to an open block);
    /// `cap <= C::CAPACITY`; `obj` is an entry the caller gives up
    /// ([`Contents`]).
    pub(super) unsafe fn push_owned(
        b: NonNull<Self>,
        obj: C::Entry,
        cap: usize,
    ) -> Result<(), C::Entry> {
        let b = b.as_ptr();
        // SAFETY: `b` is a live block (the caller's guarantee); `nr` is
        // only written by this CPU, so a relaxed load sees its own value.
        let nr = unsafe { (*b).h.nr.load(Relaxed) };
        if nr >= cap {
            return Err(obj);
        }
        // SAFETY: `nr < cap <= C::CAPACITY`, so entry `nr` is within the
        // page; it is not yet published (the drain reads entries only a
        // grace period after it took the block, after this
        // preemption-disabled section).
        unsafe { Self::entries(b).add(nr).write(obj) };
        // SAFETY: As above. A relaxed store: the drain reads `nr` to decide
        // whether the block is worth closing, and again after a grace
        // period, which orders this store before that read.
        unsafe { (*b).h.nr.store(nr + 1, Relaxed) };
        Ok(())
    }

    /// Entries and opening time of the open block `b`, read while its owner
    /// may be adding to it (only `nr`, atomically, and the `opened` stamp,
    /// which does not change while the block is open).
    ///
    /// # Safety
    ///
    /// `b` is a live block that no one frees during the call.
    pub(super) unsafe fn peek(b: NonNull<Self>) -> (usize, Instant) {
        let b = b.as_ptr();
        // SAFETY: Live (the caller's guarantee); only these two fields are
        // read, `nr` atomically, `opened` written before the block was
        // published with a release store.
        unsafe { ((*b).h.nr.load(Relaxed), ptr::addr_of!((*b).h.opened).read()) }
    }
}

/// One block page, owned.
///
/// # Invariants
///
/// `0` points to a page owned by this value (an object of the engine's
/// block cache if `slab`, else from `rcu_lab_atomic_page_alloc()`) whose
/// header is initialised; its first `nr` entries are entries (see
/// [`Contents`]) owned by the block; `next` is null unless the block is in
/// a [`BlockList`].
pub(super) struct BlockPage<C: Contents>(NonNull<Block<C>>);

// SAFETY: A block page is plain memory owned by this value, and the entries
// it owns are `Send` (`Contents`' contract).
unsafe impl<C: Contents> Send for BlockPage<C> {}

impl<C: Contents> BlockPage<C> {
    /// Makes `p`, a page-sized piece of memory owned by the caller, an
    /// empty block.
    ///
    /// # Safety
    ///
    /// `p` must be valid for `size_of::<Block<C>>()` bytes and owned by the
    /// caller; it comes from the engine's block cache if `slab`, else from
    /// `rcu_lab_atomic_page_alloc()`.
    unsafe fn init(p: NonNull<c_void>, slab: bool) -> Self {
        let b = p.cast::<Block<C>>();
        // SAFETY: `p` is valid for a `Block` and ours (the caller's
        // guarantee); writing the header initialises it.
        unsafe {
            ptr::write(
                ptr::addr_of_mut!((*b.as_ptr()).h),
                BlockHeader {
                    next: ptr::null_mut(),
                    gp: GpState::current(),
                    stolen: false,
                    opened: Instant::now(),
                    nr: AtomicUsize::new(0),
                    slab,
                },
            )
        };
        // INVARIANT: an owned page with an initialised, empty header.
        Self(b)
    }

    /// A block in an object of the engine's block cache (4096 bytes).
    pub(super) fn from_slab(obj: SlabObj<'_>) -> Self {
        // SAFETY: The block cache's objects are `PAGE_SIZE` bytes, at least
        // a `Block` (static assertion); `into_ptr` hands it over.
        unsafe { Self::init(obj.into_ptr(), true) }
    }

    /// The rejected design: a page allocated inline with `GFP_ATOMIC`.
    pub(super) fn alloc_atomic() -> Option<Self> {
        // SAFETY: May be called in any context but NMI; returns a page or
        // null.
        let p = NonNull::new(unsafe { helpers::rcu_lab_atomic_page_alloc() })?;
        // SAFETY: A page is a `Block`'s size, and it is ours.
        Some(unsafe { Self::init(p, false) })
    }

    /// A page allocated in the caller's context by an inline policy (a
    /// `RCU_LAB_INLINE_*` of `rust/helpers.h`): `Err(())` when the policy
    /// declined to allocate here, `Ok(None)` when the allocation failed.
    pub(super) fn alloc_inline(policy: u32) -> Result<Option<Self>, ()> {
        let mut declined = false;
        // SAFETY: Any context but NMI; `declined` is a valid place to
        // write. Returns a page or null.
        let p = unsafe { helpers::rcu_lab_inline_page_alloc(policy as c_int, &mut declined) };
        if declined {
            return Err(());
        }
        // SAFETY: A page is a `Block`'s size, and it is ours; it is freed
        // with `rcu_lab_atomic_page_free()`, as atomic pages are.
        Ok(NonNull::new(p).map(|p| unsafe { Self::init(p, false) }))
    }

    /// Gives up ownership: the block becomes a CPU's open block.
    pub(super) fn into_raw(self) -> NonNull<Block<C>> {
        core::mem::ManuallyDrop::new(self).0
    }

    /// Takes back a block given up with [`BlockPage::into_raw`].
    ///
    /// # Safety
    ///
    /// `b` came from `into_raw` and no one else owns it now (entries its
    /// former owner CPU may still be adding are the caller's business:
    /// see [`BlockHeader::stolen`]).
    pub(super) unsafe fn from_raw(b: NonNull<Block<C>>) -> Self {
        // INVARIANT: ownership comes back (the caller's guarantee).
        Self(b)
    }

    pub(super) fn h(&self) -> &BlockHeader<C> {
        // SAFETY: The header is initialised and owned (type invariant).
        unsafe { &(*self.0.as_ptr()).h }
    }

    pub(super) fn h_mut(&mut self) -> &mut BlockHeader<C> {
        // SAFETY: The header is initialised and owned (type invariant).
        unsafe { &mut (*self.0.as_ptr()).h }
    }

    pub(super) fn len(&self) -> usize {
        self.h().nr.load(Relaxed)
    }

    /// Reuses an empty block: opened now, not stolen.
    pub(super) fn reopen(&mut self) {
        let h = self.h_mut();
        h.opened = Instant::now();
        h.stolen = false;
    }

    /// Adds an entry if the page has room; gives it back if not.
    pub(super) fn push(&mut self, obj: C::Entry) -> Result<(), C::Entry> {
        // SAFETY: An owned block: no other context writes it.
        unsafe { Block::push_owned(self.0, obj, C::CAPACITY) }
    }

    /// Ends the block's entries with [`Contents::release`] (frees or drops
    /// them); returns how many.
    ///
    /// # Safety
    ///
    /// A full grace period must have elapsed since every entry was added.
    pub(super) unsafe fn release(&mut self) -> usize {
        let nr = self.len();
        // SAFETY: The first `nr` entries are initialised and owned by the
        // block (type invariant), and nobody else uses the page; their
        // readers are gone (the caller's guarantee).
        unsafe {
            C::release(core::slice::from_raw_parts_mut(
                Block::entries(self.0.as_ptr()),
                nr,
            ))
        };
        // INVARIANT: the entries are gone; the block is empty.
        self.h().nr.store(0, Relaxed);
        nr
    }

    /// The page's address, for reading its zone.
    pub(super) fn addr(&self) -> *const c_void {
        self.0.as_ptr().cast()
    }
}

impl<C: Contents> Drop for BlockPage<C> {
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
/// owned by the list as a [`BlockPage`] (handed over in `push_back`); both
/// are null when `len` is 0.
pub(super) struct BlockList<C: Contents> {
    head: *mut Block<C>,
    tail: *mut Block<C>,
    pub(super) len: usize,
}

// SAFETY: The list owns its blocks, which are `Send`.
unsafe impl<C: Contents> Send for BlockList<C> {}

impl<C: Contents> BlockList<C> {
    pub(super) const fn new() -> Self {
        Self {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
            len: 0,
        }
    }

    pub(super) fn push_back(&mut self, b: BlockPage<C>) {
        let p = b.into_raw().as_ptr();
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

    pub(super) fn pop_front(&mut self) -> Option<BlockPage<C>> {
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

    pub(super) fn front(&self) -> Option<&BlockHeader<C>> {
        // SAFETY: The first block is owned by the list (type invariant)
        // and lives as long as the borrow of it.
        NonNull::new(self.head).map(|p| unsafe { &(*p.as_ptr()).h })
    }

    /// The last block pushed: in a FIFO of closed blocks, the newest.
    pub(super) fn back(&self) -> Option<&BlockHeader<C>> {
        // SAFETY: The last block is owned by the list (type invariant)
        // and lives as long as the borrow of it.
        NonNull::new(self.tail).map(|p| unsafe { &(*p.as_ptr()).h })
    }
}

impl<C: Contents> Drop for BlockList<C> {
    fn drop(&mut self) {
        while self.pop_front().is_some() {}
    }
}
