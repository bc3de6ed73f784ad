// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/debug/rcu_lab/info`: what this module runs on.
//!
//! One `key: value` per line, stable names, for scripts and people alike.

use crate::debugfs::{FileOps, SeqFile};
use crate::system::{self, Lockdep};
use kernel::prelude::*;

/// The `info` file.
pub(crate) struct Info;

impl FileOps for Info {
    fn show(&self, m: &mut SeqFile<'_>) -> Result {
        m.print(format_args!(
            "module_version: {}\n",
            system::module_version()
        ));
        m.print(format_args!(
            "kernel_release: {}\n",
            system::kernel_release()
        ));
        m.print(format_args!("preempt_model: {}\n", system::preempt_model()));
        m.print(format_args!(
            "preempt_dynamic: {}\n",
            if system::preempt_dynamic() {
                "yes"
            } else {
                "no"
            }
        ));
        m.print(format_args!("lockdep: {}\n", Lockdep::current().as_str()));
        m.print(format_args!("cpus_online: {}\n", system::online_cpus()));
        m.print(format_args!("cpus_possible: {}\n", system::possible_cpus()));
        Ok(())
    }
}
