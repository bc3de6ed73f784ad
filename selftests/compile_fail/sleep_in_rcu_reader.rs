// SPDX-License-Identifier: GPL-2.0
//
// A sleeping call inside an RCU read guard: the guard lends at most
// `NoWait`, which does not prove `MaySleep`.
//
// expect: E0277

use crate::{
    context::{self, Sleep},
    rcu,
};

case! {
    fn f(ctx: &mut Sleep) {
        let mut g = context::rcu_read_lock(ctx);
        rcu::synchronize(g.ctx());
    }
}

twin! {
    fn f(ctx: &mut Sleep) {
        drop(context::rcu_read_lock(ctx));
        rcu::synchronize(ctx);
    }
}
