// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/debug/rcu_lab/bench`: micro-benchmarks, run on request.
//!
//! Writing a benchmark name runs it synchronously in the writer's context;
//! reading the file lists the benchmarks and shows the last report. Reports
//! are plain text tables with a `#` header that states the method.
//! Timings under QEMU TCG mean something only as ratios within one boot.

// Benchmarks use only the safe types; the C reference loops
// (`c_reference.rs`) are the named exceptions, each `#[allow(unsafe_code)]`.
#![deny(unsafe_code)]

pub(crate) use crate::text::Text;
use crate::{context::Sleep, debugfs::FileOps, print::pr_warn_ratelimited};
use core::fmt;
use kernel::{new_mutex, prelude::*, sync::Mutex};

mod c_reference;
mod grace_periods;
mod locks;
mod measure;
mod readers;

/// A named benchmark.
struct Benchmark {
    name: &'static str,
    about: &'static str,
    run: fn(&mut Sleep, &mut Text) -> Result,
}

const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        name: "locks",
        about: "lock+unlock cost of the Rust lock types against the same C loops",
        run: locks::run,
    },
    Benchmark {
        name: "readers",
        about: "read-section cost of RCU and hazard-pointer guards against C rcu_read_lock()",
        run: readers::run,
    },
    Benchmark {
        name: "gp",
        about: "update-side wait: synchronize_rcu (normal, expedited) vs hazard pointers",
        run: grace_periods::run,
    },
];

/// The `bench` file.
#[pin_data]
pub(crate) struct Bench {
    /// The last report; held while a benchmark runs.
    #[pin]
    last: Mutex<Option<KVec<u8>>>,
}

impl Bench {
    /// A `bench` file that has run nothing yet.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            last <- new_mutex!(None, "rcu_lab_bench"),
        })
    }
}

impl FileOps for Bench {
    const WRITABLE: bool = true;

    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in BENCHMARKS {
            writeln!(f, "# {:<10} {}", b.name, b.about)?;
        }
        if let Some(text) = self.last.lock().as_ref() {
            // Reports are built from `str`s only.
            f.write_str(core::str::from_utf8(text).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }

    fn write(&self, ctx: &mut Sleep, name: &str) -> Result {
        let Some(b) = BENCHMARKS.iter().find(|b| b.name == name) else {
            pr_warn_ratelimited!(
                "bench: unknown benchmark '{}'\n",
                format_args!("{}", name.escape_debug())
            );
            return Err(EINVAL);
        };
        let mut last = self.last.lock();
        let mut text = Text::new();
        (b.run)(ctx, &mut text)?;
        pr_info!("bench: {} done\n", b.name);
        *last = Some(text.into_bytes());
        Ok(())
    }
}
