// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/debug/rcu_lab/selftest`: in-kernel test cases, one at a time.
//!
//! Writing a case name runs that case synchronously; reading the file lists
//! the cases and the result of the last one as a KTAP line:
//!
//! ```text
//! # echo lock_mutual_exclusion > /sys/kernel/debug/rcu_lab/selftest
//! # tail -1 /sys/kernel/debug/rcu_lab/selftest
//! ok lock_mutual_exclusion # 2 threads x 50000 ...
//! ```
//!
//! Each result also goes to dmesg. Cases marked negative provoke a detector
//! report on purpose and belong in a boot of their own. An unknown name
//! fails with `EINVAL` and a dmesg line. Cases run one at a time.

// Test cases use only the safe types; the negative tests' deliberate misuse
// is the named exception, each item `#[allow(unsafe_code)]` with its note.
#![deny(unsafe_code)]

use crate::{context::Sleep, debugfs::FileOps, print::pr_warn_ratelimited};
use kernel::{new_mutex, prelude::*, str::CString, sync::Mutex};

mod batch;
mod hazptr;
mod keys;
mod locks;
mod matrix;
mod rcu;

/// What a case found: whether it passed, and what it measured.
pub(crate) struct Outcome {
    pass: bool,
    detail: CString,
}

impl Outcome {
    /// An outcome with a formatted detail line.
    pub(crate) fn new(pass: bool, detail: core::fmt::Arguments<'_>) -> Result<Self> {
        Ok(Self {
            pass,
            detail: CString::try_from_fmt(detail)?,
        })
    }
}

/// A named test case.
pub(crate) struct Case {
    /// Name written to the `selftest` file.
    pub(crate) name: &'static str,
    /// Provokes a detector report: run it only in a boot of its own.
    pub(crate) negative: bool,
    /// One line on what it checks.
    pub(crate) about: &'static str,
    /// Runs the case. `Err` means it could not run (e.g. `ENOMEM`).
    pub(crate) run: fn(&mut Sleep) -> Result<Outcome>,
}

fn cases() -> impl Iterator<Item = &'static Case> {
    [
        locks::CASES,
        rcu::CASES,
        hazptr::CASES,
        batch::CASES,
        matrix::CASES,
        keys::CASES,
    ]
    .into_iter()
    .flatten()
}

/// The `selftest` file.
#[pin_data]
pub(crate) struct Selftest {
    /// KTAP line of the last case run; held while a case runs.
    #[pin]
    last: Mutex<Option<CString>>,
}

impl Selftest {
    /// A `selftest` file that has run nothing yet.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            last <- new_mutex!(None, "rcu_lab_selftest"),
        })
    }
}

impl FileOps for Selftest {
    const WRITABLE: bool = true;

    fn show(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for c in cases() {
            writeln!(
                f,
                "# {:<28} {}{}",
                c.name,
                if c.negative {
                    "[negative: own boot] "
                } else {
                    ""
                },
                c.about
            )?;
        }
        if let Some(line) = self.last.lock().as_ref() {
            writeln!(f, "{}", line.to_str().map_err(|_| core::fmt::Error)?)?;
        }
        Ok(())
    }

    fn write(&self, ctx: &mut Sleep, name: &str) -> Result {
        let Some(case) = cases().find(|c| c.name == name) else {
            pr_warn_ratelimited!(
                "selftest: unknown case '{}'\n",
                format_args!("{}", name.escape_debug())
            );
            return Err(EINVAL);
        };
        let mut last = self.last.lock();
        let line = match (case.run)(ctx) {
            Ok(o) => CString::try_from_fmt(fmt!(
                "{} {} # {}",
                if o.pass { "ok" } else { "not ok" },
                case.name,
                &*o.detail
            ))?,
            Err(e) => CString::try_from_fmt(fmt!(
                "not ok {} # could not run: error {}",
                case.name,
                e.to_errno()
            ))?,
        };
        pr_info!("selftest: {}\n", &*line);
        *last = Some(line);
        Ok(())
    }
}
