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
    machine::{assert_rejected, machine, Barrier, ModelCpu, Obj, RelaxedWord},
    publish,
    word::AtomicWord,
};
use loom::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering, Ordering::Relaxed},
        Arc,
    },
    thread,
};

/// The cells of a model: each publishes one object's address.
type Cells = Arc<Vec<AtomicUsize>>;

/// The address of cell `i`, which container readers protect.
fn cell_addr(cells: &Cells, i: usize) -> usize {
    &cells[i] as *const AtomicUsize as usize
}

/// One model of the protocol on a two-CPU machine with `barrier` and slots
/// made by `slot`: `n` cells, each publishing a fresh object; a reader
/// thread on CPU 0 runs `reader`; the updater on CPU 1 publishes a new
/// object in cell `retire`, synchronises on the old one (and on the cell
/// itself when `container`), and frees it. loom runs it exhaustively.
fn model<S, R>(
    barrier: Barrier,
    slot: fn() -> S,
    n: usize,
    retire: usize,
    container: bool,
    reader: R,
) -> impl Fn() + Sync + Send + 'static
where
    S: AtomicWord + Send + Sync + 'static,
    R: Fn(&ModelCpu<S>, &Cells) + Send + Sync + 'static,
{
    // Made outside the model, so a std Arc, not loom's.
    let reader = std::sync::Arc::new(reader);
    move || {
        let machine = machine(2, slot);
        let cells: Cells = Arc::new((0..n).map(|_| AtomicUsize::new(Obj::alloc())).collect());
        let (m, c, r) = (machine.clone(), cells.clone(), reader.clone());
        let thread = thread::spawn(move || r(&ModelCpu::new(&m, 0, barrier), &c));
        let cpu = ModelCpu::new(&machine, 1, barrier);
        let new = Obj::alloc();
        let old = publish::publish(&cells[retire], new);
        if container {
            hazptr::synchronize(&cpu, &[old, cell_addr(&cells, retire)]);
        } else {
            hazptr::synchronize(&cpu, &[old]);
        }
        Obj::free(old);
        thread.join().unwrap();
        Obj::reclaim(old);
        for c in cells.iter() {
            Obj::reclaim(c.load(Relaxed));
        }
    }
}

/// Protects the element `cell` publishes, reads it, releases.
fn read_element<S: AtomicWord>(cpu: &ModelCpu<S>, cell: &AtomicUsize) {
    if let Some((addr, held)) = hazptr::protect(cpu, cell) {
        Obj::read(addr);
        hazptr::release(cpu, held);
    }
}

fn new_slot() -> AtomicUsize {
    AtomicUsize::new(hazptr::EMPTY)
}

fn new_relaxed_slot() -> RelaxedWord {
    RelaxedWord(AtomicUsize::new(hazptr::EMPTY))
}

/// One reader, one element.
fn element_model<S: AtomicWord + Send + Sync + 'static>(
    barrier: Barrier,
    slot: fn() -> S,
) -> impl Fn() + Sync + Send + 'static {
    model(barrier, slot, 1, 0, false, |cpu, cells| {
        read_element(cpu, &cells[0])
    })
}

/// A reader protects the element of cell 0 and then, in a second round,
/// the element of cell 1, while the updater retires the first one: the
/// updater may read the slot store of the *second* protection and must
/// still be ordered after the first round's accesses.
fn two_round_model<S: AtomicWord + Send + Sync + 'static>(
    slot: fn() -> S,
) -> impl Fn() + Sync + Send + 'static {
    model(Barrier::Full, slot, 2, 0, false, |cpu, cells| {
        read_element(cpu, &cells[0]);
        read_element(cpu, &cells[1]);
    })
}

#[test]
fn element_protection() {
    loom::model(element_model(Barrier::Full, new_slot));
}

#[test]
fn container_protection() {
    // Protect the cell, then load from it: no re-load needed.
    loom::model(model(Barrier::Full, new_slot, 1, 0, true, |cpu, cells| {
        let held = hazptr::acquire(cpu, cell_addr(cells, 0));
        Obj::read(publish::subscribe(&cells[0]));
        hazptr::release(cpu, held);
    }));
}

/// A task on CPU 0 protects the element of cell 0; an interrupt arrives at
/// interrupt window `window` of the task's protocol and protects the element
/// of cell 1. The updater retires the interrupt's element (`retire_irq`) or
/// the task's.
fn nested_model(window: usize, retire_irq: bool) {
    let retire = if retire_irq { 1 } else { 0 };
    loom::model(model(
        Barrier::Full,
        new_slot,
        2,
        retire,
        false,
        move |cpu, cells| {
            let nested = Arc::new(AtomicBool::new(false));
            let (n, c) = (nested.clone(), cells.clone());
            cpu.interrupt_at(window, move |cpu| {
                // The interrupt's own protocol, on the same CPU and slot.
                if let Some((addr, held)) = hazptr::protect(cpu, &c[1]) {
                    n.store(held.is_nested(), Relaxed);
                    Obj::read(addr);
                    hazptr::release(cpu, held);
                }
            });
            let (addr, held) = hazptr::protect(cpu, &cells[0]).unwrap();
            Obj::read(addr);
            hazptr::release(cpu, held);
            assert!(cpu.interrupt_ran(), "window {window} was never reached");
            // The task's windows: 0 between reading and writing the depth (the
            // interrupt finds it at 0 and owns the slot), 1 between the depth
            // and the slot store, 2 before the re-load (both: the interrupt is
            // nested and stores the wildcard), 3 in the release after the depth
            // went back to 0 (the interrupt owns the slot). When the task's
            // element is retired the task may re-load once more, which adds a
            // window and shifts the later ones: only safety is checked then.
            if retire_irq {
                assert_eq!(nested.load(Relaxed), window == 1 || window == 2);
            }
        },
    ));
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
    // One task protects cell 0's element, then cell 1's (nested: wildcard),
    // then releases the first guard first, as Rust guards may be dropped in
    // any order, and only then reads the second: it must still be
    // protected.
    loom::model(model(Barrier::Full, new_slot, 2, 1, false, |cpu, cells| {
        let (a, held_a) = hazptr::protect(cpu, &cells[0]).unwrap();
        let (b, held_b) = hazptr::protect(cpu, &cells[1]).unwrap();
        assert!(held_b.is_nested());
        Obj::read(a);
        hazptr::release(cpu, held_a);
        Obj::read(b);
        hazptr::release(cpu, held_b);
    }));
}

#[test]
fn synchronize_waits_for_wildcard() {
    // A nested user's wildcard must keep the updater waiting for the
    // *outer* element too, which the nested user never named, and the
    // nested user must not clear the slot on release.
    loom::model(model(Barrier::Full, new_slot, 1, 0, false, |cpu, cells| {
        let (addr, outer) = hazptr::protect(cpu, &cells[0]).unwrap();
        let inner = hazptr::acquire(cpu, 0x1000);
        assert!(inner.is_nested());
        hazptr::release(cpu, inner);
        Obj::read(addr);
        hazptr::release(cpu, outer);
    }));
}

#[test]
fn reader_protects_twice() {
    loom::model(two_round_model(new_slot));
}

/// A slot whose publishing stores are relaxed while its clearing store keeps
/// release ordering (the variant the protocol's comment rules out).
struct RelaxedPublishSlot(AtomicUsize);

impl AtomicWord for RelaxedPublishSlot {
    fn load(&self, order: Ordering) -> usize {
        self.0.load(order)
    }

    fn store(&self, val: usize, order: Ordering) {
        let order = if val == hazptr::EMPTY { order } else { Relaxed };
        self.0.store(val, order)
    }

    fn swap(&self, val: usize, order: Ordering) -> usize {
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
        let machine = machine(2, new_slot);
        let cpu = ModelCpu::new(&machine, 1, Barrier::Full);
        let mut n = 0;
        cpu.for_each_slot(|_| n += 1);
        assert_eq!(n, 2);
    });
}
