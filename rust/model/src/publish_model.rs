// SPDX-License-Identifier: GPL-2.0

//! The pointer-publication protocol (`rust/protocol/publish.rs`) under loom.
//!
//! A writer initialises an object and publishes its address; a reader that
//! sees the address reads the object. Without the release/acquire pair the
//! reader's access races with the initialisation, which loom reports.

use crate::{
    machine::{assert_rejected, Obj, RelaxedWord},
    publish,
    word::AtomicWord,
};
use loom::{
    sync::{atomic::AtomicUsize, Arc},
    thread,
};

fn model<W: AtomicWord + Send + Sync + 'static>(
    new: fn() -> W,
) -> impl Fn() + Sync + Send + 'static {
    move || {
        let cell = Arc::new(new());
        let c = cell.clone();
        let writer = thread::spawn(move || {
            let addr = Obj::alloc();
            let old = publish::publish(&*c, addr);
            assert_eq!(old, 0);
        });
        let addr = publish::subscribe(&*cell);
        if addr != 0 {
            Obj::read(addr);
        }
        writer.join().unwrap();
        Obj::reclaim(cell.load(loom::sync::atomic::Ordering::Relaxed));
    }
}

#[test]
fn publication() {
    loom::model(model(|| AtomicUsize::new(0)));
}

#[test]
fn exchange_hands_each_old_value_to_one_updater() {
    loom::model(|| {
        let cell = Arc::new(AtomicUsize::new(Obj::alloc()));
        let c = cell.clone();
        let other = thread::spawn(move || publish::publish(&*c, Obj::alloc()));
        let mine = publish::publish(&*cell, Obj::alloc());
        let theirs = other.join().unwrap();
        assert_ne!(mine, theirs);
        // Each displaced object is owned by one updater, which may free it.
        Obj::free(mine);
        Obj::free(theirs);
        Obj::reclaim(mine);
        Obj::reclaim(theirs);
        Obj::reclaim(cell.load(loom::sync::atomic::Ordering::Relaxed));
    });
}

mod broken {
    use super::*;

    #[test]
    fn relaxed_publication() {
        assert_rejected(
            "a relaxed publication",
            model(|| RelaxedWord(AtomicUsize::new(0))),
        );
    }
}
