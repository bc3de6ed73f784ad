// SPDX-License-Identifier: GPL-2.0
//
// A `spinlock_t` taken inside a raw spinlock (seed 002's nesting, which
// lockdep reports at run time as "Invalid wait context"): taking a
// `SpinLock` needs `MayAlloc`, and the raw guard lends `Atomic`.
//
// expect: E0277

use crate::{
    context::Sleep,
    sync::{RawSpinLock, SpinLock},
};

case! {
    fn f(ctx: &mut Sleep, raw: &RawSpinLock<()>, spin: &SpinLock<()>) {
        let mut g = raw.lock(ctx);
        drop(spin.lock(g.ctx()));
    }
}

twin! {
    fn f(ctx: &mut Sleep, raw: &RawSpinLock<()>, spin: &SpinLock<()>) {
        let mut g = spin.lock(ctx);
        drop(raw.lock(g.ctx()));
    }
}
