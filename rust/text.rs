// SPDX-License-Identifier: GPL-2.0

//! Report text built in memory: benchmark and experiment results.

use crate::system;
use core::fmt;
use kernel::prelude::*;

/// Report text being built.
pub(crate) struct Text(KVec<u8>);

impl Text {
    /// Empty text.
    pub(crate) fn new() -> Self {
        Text(KVec::new())
    }

    /// Appends one line; fails only when the report cannot grow.
    pub(crate) fn line(&mut self, args: fmt::Arguments<'_>) -> Result {
        fmt::Write::write_fmt(self, format_args!("{args}\n")).map_err(|_| ENOMEM)
    }

    /// Appends the line that says what the report was measured on.
    pub(crate) fn system_line(&mut self) -> Result {
        self.line(format_args!(
            "# kernel {} preempt {} lockdep {} cpus {}",
            system::kernel_release(),
            system::preempt_model(),
            system::Lockdep::current().as_str(),
            system::online_cpus()
        ))
    }
}

impl fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| fmt::Error)
    }
}

impl Text {
    /// The text as bytes (always UTF-8: it is built from `str`s).
    pub(crate) fn into_bytes(self) -> KVec<u8> {
        self.0
    }
}
