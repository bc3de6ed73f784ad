// SPDX-License-Identifier: GPL-2.0
//
// An allocating call in a hard-interrupt timer callback: the callback gets
// `&mut Atomic`. (Twin: the same in a softirq timer, which gets `NoWait`.)
//
// expect: E0277

use crate::{
    rcu::{
        batch::{Batch, Typed},
        RcuPtr,
    },
    time::hrtimer::{PeriodicSoftTimer, PeriodicTimer},
};
use kernel::{prelude::*, sync::Arc};

case! {
    fn f(e: Arc<Batch<'static, Typed<u64>>>, cell: Arc<RcuPtr<u64>>) -> Result {
        let t = KBox::pin_init(
            PeriodicTimer::new(100_000, move |irq| {
                if let Some(old) = cell.swap(None) {
                    e.call_rcu_nowait(irq, old);
                }
            }),
            GFP_KERNEL,
        )?;
        drop(t);
        Ok(())
    }
}

twin! {
    fn f(e: Arc<Batch<'static, Typed<u64>>>, cell: Arc<RcuPtr<u64>>) -> Result {
        let t = KBox::pin_init(
            PeriodicSoftTimer::new(100_000, move |soft| {
                if let Some(old) = cell.swap(None) {
                    e.call_rcu_nowait(soft, old);
                }
            }),
            GFP_KERNEL,
        )?;
        drop(t);
        drop(PeriodicTimer::new(100_000, |_| ()));
        Ok(())
    }
}
