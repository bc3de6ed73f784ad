// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/debug/rcu_lab/info`: what this module runs on.
//!
//! One `key: value` per line, stable names, for scripts and people alike.

use crate::debugfs::FileOps;
use crate::system::{self, Lockdep};
use core::fmt;

/// The `info` file.
pub(crate) struct Info;

impl FileOps for Info {
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "module_version: {}", system::module_version())?;
        writeln!(f, "kernel_release: {}", system::kernel_release())?;
        writeln!(f, "preempt_model: {}", system::preempt_model())?;
        let dynamic = if system::preempt_dynamic() {
            "yes"
        } else {
            "no"
        };
        writeln!(f, "preempt_dynamic: {dynamic}")?;
        writeln!(f, "rcu_flavour: {}", system::rcu_flavour())?;
        writeln!(f, "lockdep: {}", Lockdep::current().as_str())?;
        writeln!(f, "cpus_online: {}", system::online_cpus())?;
        writeln!(f, "cpus_possible: {}", system::possible_cpus())
    }
}
