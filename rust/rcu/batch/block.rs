// SPDX-License-Identifier: GPL-2.0

//! Block pages: one page of object pointers, and FIFO lists of them.

use super::KfreeRcu;
use crate::{helpers, mm::slab::SlabObj, rcu::GpState, time::Instant};
use core::{
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
pub(super) struct BlockHeader {
    next: *mut Block,
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

/// Object pointers per block page (the kernel's `KVFREE_BULK_MAX_ENTR`).
pub(crate) const BLOCK_ENTRIES: usize =
    (PAGE_SIZE - size_of::<BlockHeader>()) / size_of::<*mut c_void>();

/// A page of object pointers.
#[repr(C)]
pub(super) struct Block {
    h: BlockHeader,
    ptrs: [*mut c_void; BLOCK_ENTRIES],
}

kernel::static_assert!(size_of::<Block>() <= PAGE_SIZE);

impl Block {
    /// Appends `obj` to the open block `b` if it holds fewer than `cap`
    /// entries; gives it back if not. One load and two plain stores: no
    /// lock, no atomic read-modify-write.
    ///
    /// # Safety
    ///
    /// `b` is the open block of the calling CPU, which holds its channel's
    /// `busy` flag with preemption disabled (no other context writes the
    /// block meanwhile: only its owner CPU adds to an open block);
    /// `cap <= BLOCK_ENTRIES`; `obj` is an object the caller gives up
    /// ([`super::KfreeRcu`]).
    pub(super) unsafe fn push_owned(
        b: NonNull<Block>,
        obj: NonNull<c_void>,
        cap: usize,
    ) -> Result<(), NonNull<c_void>> {
        let b = b.as_ptr();
        // SAFETY: `b` is a live block (the caller's guarantee); `nr` is
        // only written by this CPU, so a relaxed load sees its own value.
        let nr = unsafe { (*b).h.nr.load(Relaxed) };
        if nr >= cap {
            return Err(obj);
        }
        // SAFETY: `nr < cap <= BLOCK_ENTRIES`; entry `nr` is not yet
        // published (the drain reads entries only a grace period after it
        // took the block, after this preemption-disabled section).
        unsafe { ptr::addr_of_mut!((*b).ptrs[nr]).write(obj.as_ptr()) };
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
    pub(super) unsafe fn peek(b: NonNull<Block>) -> (usize, Instant) {
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
/// header is initialised; `ptrs[..nr]` are objects (see [`super::KfreeRcu`])
/// owned by the block; `next` is null unless the block is in a
/// [`BlockList`].
pub(super) struct BlockPage(NonNull<Block>);

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
        // a `Block` (static assertion); `into_raw` hands it over.
        unsafe { Self::init(obj.into_raw(), true) }
    }

    /// The rejected design: a page allocated inline with `GFP_ATOMIC`.
    pub(super) fn alloc_atomic() -> Option<Self> {
        // SAFETY: May be called in any context but NMI; returns a page or
        // null.
        let p = NonNull::new(unsafe { helpers::rcu_lab_atomic_page_alloc() })?;
        // SAFETY: A page is a `Block`'s size, and it is ours.
        Some(unsafe { Self::init(p, false) })
    }

    /// Gives up ownership: the block becomes a CPU's open block.
    pub(super) fn into_raw(self) -> NonNull<Block> {
        core::mem::ManuallyDrop::new(self).0
    }

    /// Takes back a block given up with [`BlockPage::into_raw`].
    ///
    /// # Safety
    ///
    /// `b` came from `into_raw` and no one else owns it now (entries its
    /// former owner CPU may still be adding are the caller's business:
    /// see [`BlockHeader::stolen`]).
    pub(super) unsafe fn from_raw(b: NonNull<Block>) -> Self {
        // INVARIANT: ownership comes back (the caller's guarantee).
        Self(b)
    }

    pub(super) fn h(&self) -> &BlockHeader {
        // SAFETY: The header is initialised and owned (type invariant).
        unsafe { &(*self.0.as_ptr()).h }
    }

    pub(super) fn h_mut(&mut self) -> &mut BlockHeader {
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

    /// Adds an object if the page has room; gives it back if not.
    pub(super) fn push(&mut self, obj: NonNull<c_void>) -> Result<(), NonNull<c_void>> {
        // SAFETY: An owned block: no other context writes it.
        unsafe { Block::push_owned(self.0, obj, BLOCK_ENTRIES) }
    }

    /// Frees the block's objects with `kfree_bulk()`; returns how many.
    ///
    /// # Safety
    ///
    /// A full grace period must have elapsed since every object was added.
    pub(super) unsafe fn free_objects(&mut self) -> usize {
        let nr = self.len();
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
        self.h().nr.store(0, Relaxed);
        nr
    }

    /// The page's address, for reading its zone.
    pub(super) fn addr(&self) -> *const c_void {
        self.0.as_ptr().cast()
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
/// owned by the list as a [`BlockPage`] (handed over in `push_back`); both
/// are null when `len` is 0.
pub(super) struct BlockList {
    head: *mut Block,
    tail: *mut Block,
    pub(super) len: usize,
}

// SAFETY: The list owns its blocks, which are `Send`.
unsafe impl Send for BlockList {}

impl BlockList {
    pub(super) const fn new() -> Self {
        Self {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
            len: 0,
        }
    }

    pub(super) fn push_back(&mut self, b: BlockPage) {
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

    pub(super) fn pop_front(&mut self) -> Option<BlockPage> {
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

    pub(super) fn front(&self) -> Option<&BlockHeader> {
        // SAFETY: The first block is owned by the list (type invariant)
        // and lives as long as the borrow of it.
        NonNull::new(self.head).map(|p| unsafe { &(*p.as_ptr()).h })
    }

    /// The last block pushed: in a FIFO of closed blocks, the newest.
    pub(super) fn back(&self) -> Option<&BlockHeader> {
        // SAFETY: The last block is owned by the list (type invariant)
        // and lives as long as the borrow of it.
        NonNull::new(self.tail).map(|p| unsafe { &(*p.as_ptr()).h })
    }
}

impl Drop for BlockList {
    fn drop(&mut self) {
        while self.pop_front().is_some() {}
    }
}
