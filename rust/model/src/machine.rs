// SPDX-License-Identifier: GPL-2.0

//! The machine the protocols run on in the model: loom threads as CPUs,
//! loom atomics as memory, and objects whose every access loom checks.

use crate::{hazptr, word::AtomicWord};
use loom::{
    cell::UnsafeCell,
    sync::{
        atomic::{fence, AtomicUsize, Ordering},
        Arc,
    },
};
use std::cell::{Cell, RefCell};

impl AtomicWord for AtomicUsize {
    fn load(&self, order: Ordering) -> usize {
        AtomicUsize::load(self, order)
    }

    fn store(&self, val: usize, order: Ordering) {
        AtomicUsize::store(self, val, order)
    }

    fn swap(&self, val: usize, order: Ordering) -> usize {
        AtomicUsize::swap(self, val, order)
    }
}

/// A word whose accesses all lose their ordering: a machine (or compiler)
/// that honours none of the acquire/release annotations. Used to show that
/// the checker rejects a protocol that relies on them.
pub(crate) struct RelaxedWord(pub(crate) AtomicUsize);

impl AtomicWord for RelaxedWord {
    fn load(&self, _order: Ordering) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn store(&self, val: usize, _order: Ordering) {
        self.0.store(val, Ordering::Relaxed)
    }

    fn swap(&self, val: usize, _order: Ordering) -> usize {
        self.0.swap(val, Ordering::Relaxed)
    }
}

/// What `smp_mb()` does on a model CPU.
#[derive(Clone, Copy)]
pub(crate) enum Barrier {
    /// A full barrier: a sequentially consistent fence.
    Full,
    /// The bug under test: only an acquire-release fence, which does not
    /// order an earlier store before a later load.
    AcqRelOnly,
}

/// A nested reader run at the `n`th interrupt window of the outer one.
type Irq<S> = (usize, Box<dyn FnOnce(&ModelCpu<S>)>);

/// The per-CPU hazard-pointer state of a model machine.
pub(crate) struct Machine<S> {
    cpus: Vec<hazptr::CpuState<S>>,
}

/// A machine of `n` CPUs whose words are made by `new`.
pub(crate) fn machine<S>(n: usize, new: impl Fn() -> S) -> Arc<Machine<S>> {
    Arc::new(Machine {
        cpus: (0..n)
            .map(|_| hazptr::CpuState {
                slot: new(),
                depth: new(),
            })
            .collect(),
    })
}

/// One CPU of the model machine, used by one loom thread.
pub(crate) struct ModelCpu<S: 'static> {
    machine: Arc<Machine<S>>,
    me: usize,
    barrier: Barrier,
    windows: Cell<usize>,
    irq: RefCell<Option<Irq<S>>>,
}

impl<S: AtomicWord> ModelCpu<S> {
    /// CPU `me` of `machine`.
    pub(crate) fn new(machine: &Arc<Machine<S>>, me: usize, barrier: Barrier) -> Self {
        Self {
            machine: machine.clone(),
            me,
            barrier,
            windows: Cell::new(0),
            irq: RefCell::new(None),
        }
    }

    /// Runs `f` as an interrupt at the `window`th interrupt window (0-based)
    /// that this CPU passes through.
    pub(crate) fn interrupt_at(&self, window: usize, f: impl FnOnce(&Self) + 'static) {
        *self.irq.borrow_mut() = Some((window, Box::new(f)));
    }

    /// Whether the interrupt set with `interrupt_at` has run.
    pub(crate) fn interrupt_ran(&self) -> bool {
        self.irq.borrow().is_none()
    }
}

impl<S: AtomicWord> hazptr::Cpus for ModelCpu<S> {
    type Slot = S;

    fn enter(&self) -> &hazptr::CpuState<S> {
        &self.machine.cpus[self.me]
    }

    fn exit(&self) {}

    fn for_each_slot(&self, mut f: impl FnMut(&S)) {
        for c in self.machine.cpus.iter() {
            f(&c.slot);
        }
    }

    fn smp_mb(&self) {
        match self.barrier {
            Barrier::Full => fence(Ordering::SeqCst),
            Barrier::AcqRelOnly => fence(Ordering::AcqRel),
        }
    }

    fn relax(&self) {
        loom::thread::yield_now();
    }

    fn cond_resched(&self) {}

    fn irq_window(&self) {
        let n = self.windows.get();
        self.windows.set(n + 1);
        let due = matches!(*self.irq.borrow(), Some((w, _)) if w == n);
        if due {
            // Taken out first: the nested reader passes through windows too.
            let (_, f) = self.irq.borrow_mut().take().unwrap();
            f(self);
        }
    }
}

/// Value of a live object's payload.
pub(crate) const LIVE: u64 = 0x11fe;
/// Value written when an object is freed.
pub(crate) const FREED: u64 = 0xdead;

/// A heap object readers reach through a published address. Every access to
/// its payload is checked by loom against the others.
pub(crate) struct Obj {
    payload: UnsafeCell<u64>,
}

impl Obj {
    /// Allocates an object and initialises it; returns its address. The
    /// allocation lives until [`Obj::reclaim`].
    pub(crate) fn alloc() -> usize {
        let o = Box::new(Obj {
            payload: UnsafeCell::new(0),
        });
        // SAFETY: The object was just allocated; no other thread can see it.
        o.payload.with_mut(|p| unsafe { *p = LIVE });
        Box::into_raw(o) as usize
    }

    fn at<'a>(addr: usize) -> &'a Obj {
        // SAFETY: `addr` came from `alloc` and the box is only released by
        // `reclaim`, after every thread of the model has been joined.
        unsafe { &*(addr as *const Obj) }
    }

    /// A reader's access: must see a live object.
    pub(crate) fn read(addr: usize) {
        // SAFETY: `p` points to the live payload (`at`). Whether this read
        // races with the updater's write is exactly what loom checks: it
        // reports such a race instead of performing it.
        let v = Obj::at(addr).payload.with(|p| unsafe { *p });
        assert_eq!(v, LIVE, "a reader used a freed object");
    }

    /// The updater's free: a write loom checks against every reader.
    pub(crate) fn free(addr: usize) {
        // SAFETY: As in `read`: loom reports a write that races with a
        // reader instead of performing it.
        Obj::at(addr).payload.with_mut(|p| unsafe { *p = FREED });
    }

    /// Releases the memory once all threads are joined.
    pub(crate) fn reclaim(addr: usize) {
        // SAFETY: `addr` came from `Box::into_raw` in `alloc` and no thread
        // that could use it is left.
        drop(unsafe { Box::from_raw(addr as *mut Obj) });
    }
}

/// Runs `f` under loom and says whether loom rejected it, with the reason.
fn rejected(f: impl Fn() + Sync + Send + 'static) -> Option<String> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| loom::model(f)));
    r.err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

/// Checks that loom rejects the model `f` of `what` because a reader used a
/// freed (or not yet initialised) object.
pub(crate) fn assert_rejected(what: &str, f: impl Fn() + Sync + Send + 'static) {
    let why = rejected(f).unwrap_or_else(|| panic!("loom accepted {what}"));
    assert!(
        why.contains("Causality violation") || why.contains("a reader used a freed object"),
        "loom rejected {what} for another reason: {why}"
    );
}
