// SPDX-License-Identifier: GPL-2.0
//
// An allocating call while a `RawSpinLock` guard lives: the guard lends
// `Atomic`, which does not prove `MayAlloc`.
//
// expect: E0277

use crate::{
    context::Sleep,
    rcu::{
        batch::{Batch, Typed},
        Retired,
    },
    sync::RawSpinLock,
};

case! {
    fn f(ctx: &mut Sleep, lock: &RawSpinLock<()>, e: &Batch<'static, Typed<u64>>, old: Retired<u64>) {
        let mut g = lock.lock(ctx);
        e.call_rcu_nowait(g.ctx(), old);
    }
}

twin! {
    fn f(ctx: &mut Sleep, lock: &RawSpinLock<()>, e: &Batch<'static, Typed<u64>>, old: Retired<u64>) {
        drop(lock.lock(ctx));
        e.call_rcu_nowait(ctx, old);
    }
}
