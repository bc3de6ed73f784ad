// SPDX-License-Identifier: GPL-2.0
//
// An allocating call while a hazard-pointer guard (preemption off) lives:
// legal on lazy and full, where the guard lends `NoWait`; refused on
// PREEMPT_RT, where it lends `Atomic` (`GFP_NOWAIT` may take a sleeping
// lock there). The types differ by model, so the cases build once per
// kernel.
//
// expect: none
// expect-rt: E0277

use crate::{
    context::Sleep,
    hazptr::HazPtr,
    rcu::{
        batch::{Batch, Typed},
        Retired,
    },
};

case! {
    fn f(ctx: &mut Sleep, hp: &HazPtr<u64>, e: &Batch<'static, Typed<u64>>, old: Retired<u64>) {
        if let Some(mut g) = hp.protect(ctx) {
            e.call_rcu_nowait(g.ctx(), old);
        }
    }
}

twin! {
    fn f(ctx: &mut Sleep, hp: &HazPtr<u64>, e: &Batch<'static, Typed<u64>>, old: Retired<u64>) {
        drop(hp.protect(ctx));
        e.call_rcu_nowait(ctx, old);
    }
}
