// SPDX-License-Identifier: GPL-2.0
//
// A proof forged in safe code: making a token is an `unsafe fn`. (Twin:
// the same in an `unsafe` block, which safe floors deny by lint and review.)
//
// expect: E0133

use crate::{
    context::{Context, Sleep},
    rcu::{
        batch::{Batch, Typed},
        Retired,
    },
};

case! {
    fn f(e: &Batch<'static, Typed<u64>>, old: Retired<u64>) {
        let mut proof = <Sleep as Context>::assume();
        e.call_rcu_nowait(&mut proof, old);
    }
}

twin! {
    fn f(e: &Batch<'static, Typed<u64>>, old: Retired<u64>) {
        // SAFETY: Only compiled, never run: the twin of a compile-fail case.
        let mut proof = unsafe { <Sleep as Context>::assume() };
        e.call_rcu_nowait(&mut proof, old);
    }
}
