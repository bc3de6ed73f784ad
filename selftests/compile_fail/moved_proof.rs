// SPDX-License-Identifier: GPL-2.0
//
// The proof moved into a struct before locking, and used from inside the
// critical section: the lock borrowed it from the struct, so the second
// use is a second mutable borrow.
//
// expect: E0499

use crate::{
    context::Sleep,
    rcu::{
        batch::{Batch, Typed},
        Retired,
    },
    sync::RawSpinLock,
};

struct Holder<'a> {
    proof: &'a mut Sleep,
}

case! {
    fn f(ctx: &mut Sleep, lock: &RawSpinLock<()>, e: &Batch<'static, Typed<u64>>, old: Retired<u64>) {
        let h = Holder { proof: ctx };
        let _g = lock.lock(&mut *h.proof);
        e.call_rcu_nowait(h.proof, old);
    }
}

twin! {
    fn f(ctx: &mut Sleep, lock: &RawSpinLock<()>, e: &Batch<'static, Typed<u64>>, old: Retired<u64>) {
        let h = Holder { proof: ctx };
        drop(lock.lock(&mut *h.proof));
        e.call_rcu_nowait(h.proof, old);
    }
}
