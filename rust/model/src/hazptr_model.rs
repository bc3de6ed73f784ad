// SPDX-License-Identifier: GPL-2.0

//! The hazard-pointer protocol (`rust/protocol/hazptr.rs`) under loom.
//!
//! Two CPUs: a reader protects the object a cell publishes and reads it; an
//! updater publishes a new object, synchronises on the old one and frees it.
//! loom runs every interleaving and every value each load may return; a
//! reader access that is not ordered before the free is a data race loom
//! reports. Then the same with a nested (interrupt) reader on the reader's
//! CPU at each point where an interrupt can split the protocol, and with a
//! reader protecting the container (the cell) instead of the element.

use crate::{
    hazptr::{self, Cpus},
    machine::{assert_rejected, machine, Barrier, Machine, ModelCpu, Obj, RelaxedWord},
    publish,
    word::AtomicWord,
};
use loom::{
    sync::{atomic::AtomicUsize, Arc},
    thread,
};

/// A two-CPU machine.
fn slots<S>(new: impl Fn() -> S) -> Arc<Machine<S>> {
    machine(2, new)
}

/// Reader on CPU 0: protects the element `cell` publishes, reads it.
fn element_reader<S: AtomicWord>(cpu: &ModelCpu<S>, cell: &AtomicUsize) -> bool {
    match hazptr::protect(cpu, cell) {
        Some((addr, held)) => {
            Obj::read(addr);
            hazptr::release(cpu, held);
            true
        }
        None => false,
    }
}

/// Updater on CPU 1: replaces the element of `cell`, waits for readers of
/// the old one (and of `also`, e.g. the container), frees it.
fn updater<S: AtomicWord>(cpu: &ModelCpu<S>, cell: &AtomicUsize, also: Option<usize>) -> usize {
    let new = Obj::alloc();
    let old = publish::publish(cell, new);
    match also {
        Some(c) => hazptr::synchronize(cpu, &[old, c]),
        None => hazptr::synchronize(cpu, &[old]),
    }
    Obj::free(old);
    old
}

/// One reader and one updater on a machine with `barrier` and slots made by
/// `slot`.
fn element_model<S: AtomicWord + Send + Sync + 'static>(
    barrier: Barrier,
    slot: fn() -> S,
) -> impl Fn() + Sync + Send + 'static {
    move || {
        let slots = slots(slot);
        let first = Obj::alloc();
        let cell = Arc::new(AtomicUsize::new(first));
        let (s, c) = (slots.clone(), cell.clone());
        let reader = thread::spawn(move || {
            let cpu = ModelCpu::new(&s, 0, barrier);
            element_reader(&cpu, &c);
        });
        let cpu = ModelCpu::new(&slots, 1, barrier);
        let old = updater(&cpu, &cell, None);
        reader.join().unwrap();
        Obj::reclaim(old);
        Obj::reclaim(cell.load(loom::sync::atomic::Ordering::Relaxed));
    }
}

fn new_slot() -> AtomicUsize {
    AtomicUsize::new(hazptr::EMPTY)
}

fn new_relaxed_slot() -> RelaxedWord {
    RelaxedWord(AtomicUsize::new(hazptr::EMPTY))
}

#[test]
fn element_protection() {
    loom::model(element_model(Barrier::Full, new_slot));
}

#[test]
fn container_protection() {
    loom::model(|| {
        let slots = slots(new_slot);
        let first = Obj::alloc();
        let cell = Arc::new(AtomicUsize::new(first));
        let container = &*cell as *const AtomicUsize as usize;
        let (s, c) = (slots.clone(), cell.clone());
        let reader = thread::spawn(move || {
            let cpu = ModelCpu::new(&s, 0, Barrier::Full);
            // Protect the container, then load from it: no re-load needed.
            let held = hazptr::acquire(&cpu, &*c as *const AtomicUsize as usize);
            let addr = publish::subscribe(&*c);
            Obj::read(addr);
            hazptr::release(&cpu, held);
        });
        let cpu = ModelCpu::new(&slots, 1, Barrier::Full);
        let old = updater(&cpu, &cell, Some(container));
        reader.join().unwrap();
        Obj::reclaim(old);
        Obj::reclaim(cell.load(loom::sync::atomic::Ordering::Relaxed));
    });
}

/// A task on CPU 0 protects the element of cell A; an interrupt arrives at
/// interrupt window `window` of the task's protocol and protects the element
/// of cell B. The updater retires B's element (`retire_b`) or A's.
fn nested_model(window: usize, retire_b: bool) {
    loom::model(move || {
        let slots = slots(new_slot);
        let (a0, b0) = (Obj::alloc(), Obj::alloc());
        let cell_a = Arc::new(AtomicUsize::new(a0));
        let cell_b = Arc::new(AtomicUsize::new(b0));
        let (s, ca, cb) = (slots.clone(), cell_a.clone(), cell_b.clone());
        let reader = thread::spawn(move || {
            let cpu = ModelCpu::new(&s, 0, Barrier::Full);
            let nested = Arc::new(loom::sync::atomic::AtomicBool::new(false));
            let n = nested.clone();
            cpu.interrupt_at(window, move |cpu| {
                // The interrupt's own protocol, on the same CPU and slot.
                if let Some((addr, held)) = hazptr::protect(cpu, &*cb) {
                    n.store(held.is_nested(), loom::sync::atomic::Ordering::Relaxed);
                    Obj::read(addr);
                    hazptr::release(cpu, held);
                }
            });
            let (addr, held) = hazptr::protect(&cpu, &*ca).unwrap();
            Obj::read(addr);
            hazptr::release(&cpu, held);
            assert!(cpu.interrupt_ran(), "window {window} was never reached");
            // The task's windows: 0 between reading and writing the depth
            // (the interrupt finds it at 0 and owns the slot), 1 between
            // the depth and the slot store, 2 before the re-load (both: the
            // interrupt is nested and stores the wildcard), 3 in the release
            // after the depth went back to 0 (the interrupt owns the slot).
            // When A is retired the task may re-load once more, which adds
            // a window and shifts the later ones: only safety is checked.
            if retire_b {
                assert_eq!(
                    nested.load(loom::sync::atomic::Ordering::Relaxed),
                    window == 1 || window == 2
                );
            }
        });
        let cpu = ModelCpu::new(&slots, 1, Barrier::Full);
        let old = updater(&cpu, if retire_b { &cell_b } else { &cell_a }, None);
        reader.join().unwrap();
        Obj::reclaim(old);
        Obj::reclaim(cell_a.load(loom::sync::atomic::Ordering::Relaxed));
        Obj::reclaim(cell_b.load(loom::sync::atomic::Ordering::Relaxed));
    });
}

#[test]
fn irq_between_depth_load_and_store() {
    nested_model(0, true);
    nested_model(0, false);
}

#[test]
fn irq_between_depth_and_slot_store() {
    nested_model(1, true);
    nested_model(1, false);
}

#[test]
fn irq_before_reload_uses_wildcard() {
    nested_model(2, true);
    nested_model(2, false);
}

#[test]
fn irq_during_release() {
    nested_model(3, true);
    nested_model(3, false);
}

#[test]
fn guards_released_out_of_order() {
    // One task protects A, then B (nested: wildcard), then releases A
    // first, as Rust guards may be dropped in any order, and only then
    // reads B: B's element must still be protected.
    loom::model(|| {
        let slots = slots(new_slot);
        let (a0, b0) = (Obj::alloc(), Obj::alloc());
        let cell_a = Arc::new(AtomicUsize::new(a0));
        let cell_b = Arc::new(AtomicUsize::new(b0));
        let (s, ca, cb) = (slots.clone(), cell_a.clone(), cell_b.clone());
        let reader = thread::spawn(move || {
            let cpu = ModelCpu::new(&s, 0, Barrier::Full);
            let (a, held_a) = hazptr::protect(&cpu, &*ca).unwrap();
            let (b, held_b) = hazptr::protect(&cpu, &*cb).unwrap();
            assert!(held_b.is_nested());
            Obj::read(a);
            hazptr::release(&cpu, held_a);
            Obj::read(b);
            hazptr::release(&cpu, held_b);
        });
        let cpu = ModelCpu::new(&slots, 1, Barrier::Full);
        let old = updater(&cpu, &cell_b, None);
        reader.join().unwrap();
        Obj::reclaim(old);
        Obj::reclaim(cell_a.load(loom::sync::atomic::Ordering::Relaxed));
        Obj::reclaim(cell_b.load(loom::sync::atomic::Ordering::Relaxed));
    });
}

#[test]
fn synchronize_waits_for_wildcard() {
    // The interrupt's wildcard must keep the updater waiting for the
    // *outer* element too, which the interrupt never named.
    loom::model(|| {
        let slots = slots(new_slot);
        let a0 = Obj::alloc();
        let cell = Arc::new(AtomicUsize::new(a0));
        let (s, c) = (slots.clone(), cell.clone());
        let reader = thread::spawn(move || {
            let cpu = ModelCpu::new(&s, 0, Barrier::Full);
            let (addr, outer) = hazptr::protect(&cpu, &*c).unwrap();
            // A nested user takes and drops the slot: it must not clear it.
            let inner = hazptr::acquire(&cpu, 0x1000);
            assert!(inner.is_nested());
            hazptr::release(&cpu, inner);
            Obj::read(addr);
            hazptr::release(&cpu, outer);
        });
        let cpu = ModelCpu::new(&slots, 1, Barrier::Full);
        let old = updater(&cpu, &cell, None);
        reader.join().unwrap();
        Obj::reclaim(old);
        Obj::reclaim(cell.load(loom::sync::atomic::Ordering::Relaxed));
    });
}

/// A reader protects the element of `cell` and then, in a second round,
/// the element of another cell, while the updater retires the first one:
/// the updater may read the slot store of the *second* protection and must
/// still be ordered after the first round's accesses.
fn two_round_model<S: AtomicWord + Send + Sync + 'static>(
    slot: fn() -> S,
) -> impl Fn() + Sync + Send + 'static {
    move || {
        let slots = slots(slot);
        let (first, other) = (Obj::alloc(), Obj::alloc());
        let cell = Arc::new(AtomicUsize::new(first));
        let cell2 = Arc::new(AtomicUsize::new(other));
        let (s, c, c2) = (slots.clone(), cell.clone(), cell2.clone());
        let reader = thread::spawn(move || {
            let cpu = ModelCpu::new(&s, 0, Barrier::Full);
            element_reader(&cpu, &c);
            element_reader(&cpu, &c2);
        });
        let cpu = ModelCpu::new(&slots, 1, Barrier::Full);
        let old = updater(&cpu, &cell, None);
        reader.join().unwrap();
        Obj::reclaim(old);
        Obj::reclaim(cell.load(loom::sync::atomic::Ordering::Relaxed));
        Obj::reclaim(other);
    }
}

#[test]
fn reader_protects_twice() {
    loom::model(two_round_model(new_slot));
}

/// A slot whose publishing stores are relaxed while its clearing store keeps
/// release ordering (the variant the protocol's comment rules out).
struct RelaxedPublishSlot(AtomicUsize);

impl AtomicWord for RelaxedPublishSlot {
    fn load(&self, order: loom::sync::atomic::Ordering) -> usize {
        self.0.load(order)
    }

    fn store(&self, val: usize, order: loom::sync::atomic::Ordering) {
        let order = if val == hazptr::EMPTY {
            order
        } else {
            loom::sync::atomic::Ordering::Relaxed
        };
        self.0.store(val, order)
    }

    fn swap(&self, val: usize, order: loom::sync::atomic::Ordering) -> usize {
        self.0.swap(val, order)
    }
}

/// The broken variants: loom must reject each, for a use after free.
mod broken {
    use super::*;

    #[test]
    fn without_full_barrier() {
        assert_rejected(
            "hazard pointers without smp_mb()",
            element_model(Barrier::AcqRelOnly, new_slot),
        );
    }

    #[test]
    fn relaxed_slot_stores() {
        assert_rejected(
            "a relaxed clearing store",
            element_model(Barrier::Full, new_relaxed_slot),
        );
    }

    #[test]
    fn relaxed_publishing_store() {
        assert_rejected(
            "a relaxed publishing store",
            two_round_model(|| RelaxedPublishSlot(AtomicUsize::new(hazptr::EMPTY))),
        );
    }
}

#[test]
fn model_cpu_counts_all_slots() {
    // The machine itself: synchronize() must visit both CPUs' slots.
    loom::model(|| {
        let slots = slots(new_slot);
        let cpu = ModelCpu::new(&slots, 1, Barrier::Full);
        let mut n = 0;
        cpu.for_each_slot(|_| n += 1);
        assert_eq!(n, 2);
    });
}
