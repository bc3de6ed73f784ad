// SPDX-License-Identifier: GPL-2.0

//! rcu_lab: the kernel's locking and deferred-reclamation machinery as safe
//! Rust types, and experiments that use them.
//!
//! This is the crate root of `rcu_lab.ko`. Safe wrapper types live in their
//! own files ([`sync`] for locks and lock classes, [`rcu`] and [`hazptr`]
//! for deferred reclamation, [`debugfs`], [`hrtimer`], [`task`], [`irq`],
//! [`system`], [`time`]); the lock-free algorithms they share with the host
//! model checker are in [`protocol`]; the C shim they call is
//! `rust/helpers.c`. [`selftests`] holds the in-kernel test cases and [`bench`] the
//! micro-benchmarks; both use only the safe types. Results are read under `/sys/kernel/debug/rcu_lab/`.

use kernel::{c_str, prelude::*, sync::Arc};

mod bench;
mod debugfs;
mod hazptr;
mod helpers;
mod hrtimer;
mod info;
mod irq;
mod protocol;
mod rcu;
mod selftests;
mod sync;
mod system;
mod task;
mod time;

module! {
    type: RcuLab,
    name: "rcu_lab",
    author: "rcu_lab developers",
    description: "Safe Rust types for kernel locks and RCU, and experiments on them",
    license: "GPL",
}

struct RcuLab {
    /// `/sys/kernel/debug/rcu_lab/`; `None` only during `drop`.
    debugfs: Option<debugfs::Dir>,
}

impl kernel::Module for RcuLab {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut dir = debugfs::Dir::new(c_str!("rcu_lab"))?;
        dir.add_file(c_str!("info"), Arc::new(info::Info, GFP_KERNEL)?)?;
        dir.add_file(
            c_str!("bench"),
            Arc::pin_init(bench::Bench::new(), GFP_KERNEL)?,
        )?;
        dir.add_file(
            c_str!("selftest"),
            Arc::pin_init(selftests::Selftest::new(), GFP_KERNEL)?,
        )?;
        pr_info!(
            "rcu_lab {} loaded on {} ({} CPUs, preempt {}, lockdep {})\n",
            system::module_version(),
            system::kernel_release(),
            system::online_cpus(),
            system::preempt_model(),
            system::Lockdep::current().as_str()
        );
        Ok(RcuLab { debugfs: Some(dir) })
    }
}

impl Drop for RcuLab {
    fn drop(&mut self) {
        // No new work can start once the files are gone ...
        drop(self.debugfs.take());
        // ... and no callback of ours may run after the text is freed (nor
        // any kfree_rcu() of ours be pending: leak checks see the truth).
        rcu::barrier();
        rcu::kvfree_barrier();
        pr_info!("rcu_lab unloaded\n");
    }
}
