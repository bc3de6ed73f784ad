// SPDX-License-Identifier: GPL-2.0

//! rcu_lab: the kernel's locking and deferred-reclamation machinery as safe
//! Rust types, and experiments that use them.
//!
//! This is the crate root of `rcu_lab.ko`, built against Linux 7.3 and its
//! `kernel`, `macros` and `pin-init` crates. rcu_lab's own safe types live
//! in their own files ([`sync`] for the raw spinlock and lock classes,
//! [`rcu`] and [`hazptr`] for deferred reclamation, [`debugfs`], [`hrtimer`],
//! [`task`], [`irq`], [`print`], [`system`], [`time`]); the lock-free
//! algorithms they share with the host model checker are in [`protocol`];
//! the C shim they call is `rust/helpers.c`. [`selftests`] holds the
//! in-kernel test cases and [`bench`] the micro-benchmarks; both use only the
//! safe types. Results are read under `/sys/kernel/debug/rcu_lab/`.

use kernel::prelude::*;

mod bench;
mod context;
mod debugfs;
mod deferred;
mod experiments;
mod hazptr;
mod helpers;
mod info;
mod irq;
mod mm;
mod print;
mod protocol;
mod rcu;
mod reclaim;
mod selftests;
mod stats;
mod sync;
mod system;
mod task;
mod text;
mod time;

module! {
    type: RcuLab,
    name: "rcu_lab",
    authors: ["rcu_lab developers"],
    description: "Safe Rust types for kernel locks and RCU, and experiments on them",
    license: "GPL",
}

struct RcuLab {
    /// `/sys/kernel/debug/rcu_lab/`; `None` only during `drop`.
    debugfs: Option<debugfs::Dir>,
}

impl kernel::Module for RcuLab {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut dir = debugfs::Dir::new(c"rcu_lab")?;
        dir.add_file(c"info", Ok::<_, Error>(info::Info))?;
        dir.add_file(c"bench", bench::Bench::new())?;
        dir.add_file(c"selftest", selftests::Selftest::new())?;
        // SAFETY: A module's init runs in the task of `insmod`, holding no
        // lock: it may sleep.
        unsafe { context::enter(|ctx| experiments::register(ctx, &mut dir)) }?;
        pr_info!(
            "rcu_lab {} loaded on {} ({} CPUs, preempt {}, {} RCU, lockdep {})\n",
            system::module_version(),
            system::kernel_release(),
            system::online_cpus(),
            system::preempt_model(),
            system::rcu_flavour(),
            system::Lockdep::current().as_str()
        );
        Ok(RcuLab { debugfs: Some(dir) })
    }
}

impl Drop for RcuLab {
    fn drop(&mut self) {
        // No new work can start once the files are gone ...
        drop(self.debugfs.take());
        // ... and no callback of ours may run after the text is freed.
        // SAFETY: Module exit runs in the task of `rmmod`, holding no lock:
        // it may sleep.
        unsafe { context::enter(|ctx: &mut context::Sleep| rcu::barrier(ctx)) };
        pr_info!("rcu_lab unloaded\n");
    }
}
