// SPDX-License-Identifier: GPL-2.0

//! The RCU hash-list bucket (`rust/protocol/hlist.rs`) protected by a
//! hazard pointer on the bucket (`rust/protocol/hazptr.rs`), under loom.
//!
//! Two CPUs: a reader on CPU 0 protects the bucket's address, walks it and
//! reads every node's object, as the experiment's `is_dynamic_key()`
//! replica does; the updater on CPU 1 deletes a node, synchronises on the
//! bucket's address and frees the node's object. loom reports a reader
//! access that is not ordered before the free. Then the broken variants
//! the issue asks the model to reject: the updater synchronising on the
//! node's address only, and the reader loading the bucket's first node
//! before publishing the bucket.

use crate::{
    hazptr,
    hlist::{self, Head, Node},
    machine::{assert_rejected, machine, Barrier, ModelCpu, Obj},
};
use loom::{
    sync::{atomic::AtomicUsize, atomic::Ordering::Relaxed, Arc},
    thread,
};

/// A node of the model and the object its entry owns.
#[repr(C)]
struct Entry {
    node: Node<AtomicUsize>,
    obj: usize,
}

/// How the model's reader and updater do their parts.
#[derive(Clone, Copy)]
enum Variant {
    /// As the protocol says.
    Bucket,
    /// The updater synchronises on the deleted node's address only.
    SyncOnNode,
    /// The reader loads `first` before publishing the bucket.
    LoadBeforeProtect,
}

/// A bucket of `n` entries; the updater deletes entry `victim` (0: the
/// first one the reader meets).
fn model(variant: Variant, n: usize, victim: usize) -> impl Fn() + Sync + Send + 'static {
    move || {
        let machine = machine(2, || AtomicUsize::new(hazptr::EMPTY));
        let head = Arc::new(Head {
            first: AtomicUsize::new(0),
        });
        // Added in reverse, so the walk meets entry 0 first.
        let mut entries = Vec::new();
        for _ in 0..n {
            let e = Box::into_raw(Box::new(Entry {
                node: Node {
                    next: AtomicUsize::new(0),
                    pprev: AtomicUsize::new(0),
                },
                obj: Obj::alloc(),
            })) as usize;
            entries.push(e);
        }
        for &e in entries.iter().rev() {
            // SAFETY: Before the threads start; `e` is a live node (the
            // `Entry` starts with it, `#[repr(C)]`) in no bucket.
            unsafe { hlist::add_head(&*head, e) };
        }
        let bucket = &*head as *const Head<AtomicUsize> as usize;
        let (m, h) = (machine.clone(), head.clone());
        let reader = thread::spawn(move || {
            let cpu = ModelCpu::new(&m, 0, Barrier::Full);
            let early = match variant {
                Variant::LoadBeforeProtect => h.first.load(Relaxed),
                _ => 0,
            };
            let held = hazptr::acquire(&cpu, bucket);
            let visit = |pos: usize| {
                // SAFETY: Nodes are freed only after the threads joined.
                Obj::read(unsafe { &*(pos as *const Entry) }.obj);
                false
            };
            if early != 0 {
                // The broken reader starts from what it loaded unprotected.
                let mut pos = early;
                while pos != 0 {
                    visit(pos);
                    // SAFETY: As above.
                    pos = unsafe { &*(pos as *const Entry) }
                        .node
                        .next
                        .load(loom::sync::atomic::Ordering::Acquire);
                }
            } else {
                // SAFETY: The bucket is protected (published, `smp_mb()`);
                // the nodes themselves outlive the model's threads.
                unsafe { hlist::walk(&*h, visit) };
            }
            hazptr::release(&cpu, held);
        });
        let cpu = ModelCpu::new(&machine, 1, Barrier::Full);
        let victim_addr = entries[victim];
        // SAFETY: The only updater (its "lock"); the bucket's nodes are live.
        unsafe { hlist::del::<AtomicUsize>(victim_addr) };
        let on = match variant {
            Variant::SyncOnNode => victim_addr,
            _ => bucket,
        };
        hazptr::synchronize(&cpu, &[on]);
        // SAFETY: The entry is live until reclaimed below.
        let obj = unsafe { &*(victim_addr as *const Entry) }.obj;
        Obj::free(obj);
        reader.join().unwrap();
        for &e in &entries {
            // SAFETY: From `Box::into_raw` above; every thread is joined.
            let e = unsafe { Box::from_raw(e as *mut Entry) };
            Obj::reclaim(e.obj);
        }
    }
}

#[test]
fn bucket_protection_first_entry() {
    loom::model(model(Variant::Bucket, 2, 0));
}

#[test]
fn bucket_protection_second_entry() {
    loom::model(model(Variant::Bucket, 2, 1));
}

#[test]
fn deleted_node_keeps_its_next() {
    // The reader may stand on the deleted first entry and must still reach
    // the second, live one: checked by the walk reading it, and by the
    // deleted node's `next` left as it was.
    loom::model(|| {
        let head = Head {
            first: AtomicUsize::new(0),
        };
        let a = Box::into_raw(Box::new(Node {
            next: AtomicUsize::new(0),
            pprev: AtomicUsize::new(0),
        }));
        let b = Box::into_raw(Box::new(Node {
            next: AtomicUsize::new(0),
            pprev: AtomicUsize::new(0),
        }));
        // SAFETY: One thread; both nodes live until the end.
        unsafe {
            hlist::add_head(&head, b as usize);
            hlist::add_head(&head, a as usize);
            hlist::del::<AtomicUsize>(a as usize);
            assert_eq!((*a).next.load(Relaxed), b as usize);
            assert_eq!((*a).pprev.load(Relaxed), hlist::POISON);
            assert_eq!(head.first.load(Relaxed), b as usize);
            assert_eq!(
                (*b).pprev.load(Relaxed),
                &head.first as *const AtomicUsize as usize
            );
            drop(Box::from_raw(a));
            drop(Box::from_raw(b));
        }
    });
}

/// The broken variants: loom must reject each, for a use after free.
mod broken {
    use super::*;

    #[test]
    fn synchronize_on_the_node_only() {
        assert_rejected(
            "a bucket reader with the updater waiting on the node's address",
            model(Variant::SyncOnNode, 2, 0),
        );
    }

    #[test]
    fn load_before_protecting_the_bucket() {
        assert_rejected(
            "a reader that loads the first node before protecting the bucket",
            model(Variant::LoadBeforeProtect, 2, 0),
        );
    }
}
