// SPDX-License-Identifier: GPL-2.0
//
// An allocating call while rcu_lab's interrupt-disable guard lives: it
// lends `Atomic`.
//
// expect: E0277

use crate::{
    context::{self, Sleep},
    rcu::{
        batch::{Batch, Typed},
        Retired,
    },
};

case! {
    fn f(ctx: &mut Sleep, e: &Batch<'static, Typed<u64>>, old: Retired<u64>) {
        let mut off = context::irqs_off(ctx);
        e.call_rcu_nowait(off.ctx(), old);
    }
}

twin! {
    fn f(ctx: &mut Sleep, e: &Batch<'static, Typed<u64>>, old: Retired<u64>) {
        drop(context::irqs_off(ctx));
        e.call_rcu_nowait(ctx, old);
    }
}
